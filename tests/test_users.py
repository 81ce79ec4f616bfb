"""The users file: accounts with bcrypt hashes and roles, outside the repository, written
atomically and privately; the ``users`` command; no password ever printed or logged."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import stat
from pathlib import Path

import bcrypt
import pytest
from streamlit_authenticator.utilities import Hasher

from survival_core.cli import users as users_cli
from survival_core.errors import ConfigError
from survival_core.security import users
from tests.conftest import ROOT

PASSWORD = "correct horse battery staple"


@pytest.fixture()
def auth_file(tmp_path, monkeypatch):
    path = tmp_path / "config" / "radsurv" / "users.yaml"
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(path))
    return path


def test_the_default_file_is_in_the_home_config_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("RADSURV_AUTH_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert users.users_file() == tmp_path / ".config" / "radsurv" / "users.yaml"


@pytest.mark.parametrize("inside", ["users.yaml", "data/users.yaml", ".streamlit/users.yaml"])
def test_a_users_file_inside_the_repository_is_refused(monkeypatch, inside):
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(ROOT / inside))
    with pytest.raises(ConfigError, match="outside"):
        users.users_file()
    with pytest.raises(ConfigError, match="outside"):
        users.add_user("alice", "viewer", PASSWORD)
    assert not (ROOT / inside).exists()


def test_add_stores_a_bcrypt_hash_outside_the_repo_privately(auth_file):
    assert users.add_user("Alice", "clinician", PASSWORD, name="Dr Alice") == "alice"
    path = users.users_file()
    assert path == auth_file and not path.is_relative_to(ROOT)
    text = path.read_text()
    assert PASSWORD not in text
    stored = users.read_users().local["alice"]
    assert stored["name"] == "Dr Alice" and stored["roles"] == ["clinician"]
    assert bcrypt.checkpw(PASSWORD.encode(), stored["password"].encode())
    assert not bcrypt.checkpw(b"correct horse battery stapler", stored["password"].encode())
    # the login widget's own check accepts the same hash
    assert Hasher.check_pw(PASSWORD, stored["password"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    loaded = users.read_users()
    assert loaded.check_password("ALICE ", PASSWORD)
    assert not loaded.check_password("alice", PASSWORD + "!")
    assert not loaded.check_password("alice", PASSWORD + "x" * 80)  # beyond bcrypt's 72 bytes
    assert not loaded.check_password("mallory", PASSWORD)


def test_a_password_typed_with_combining_marks_is_the_same_password(auth_file):
    """'Grüße' set with composed letters (NFC) was refused when typed decomposed (NFD)."""
    import unicodedata

    composed = unicodedata.normalize("NFC", "Grüße aus Köln 2024")
    users.add_user("uma", "viewer", composed)
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed and users.read_users().check_password("uma", decomposed)


def single_sign_on(home: Path, monkeypatch) -> None:
    """Single sign-on set up: ``[auth]`` in ``~/.streamlit/secrets.toml`` (``home``, HOME)."""
    secrets = home / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text('[auth]\nredirect_uri = "https://radsurv.hospital.org/oauth2callback"\n')
    monkeypatch.setenv("HOME", str(home))


def test_set_role_and_remove(auth_file, tmp_path, monkeypatch):
    single_sign_on(tmp_path / "home", monkeypatch)  # carol, an OIDC identity, can log in
    users.add_user("bob", "admin", PASSWORD)
    users.add_user("carol@hospital.org", "clinician")  # an OIDC identity: no password
    assert users.read_users().local_role("bob") == "admin"
    users.set_role("Carol@Hospital.org", "admin")
    users.set_role("bob", "physicist")  # carol is admin now: bob need not stay one
    listed = {e["username"]: (e["role"], e["kind"]) for e in users.read_users().entries()}
    assert listed == {"bob": ("physicist", "local"), "carol@hospital.org": ("admin", "oidc")}
    users.remove_user("bob")
    loaded = users.read_users()
    assert [e["username"] for e in loaded.entries()] == ["carol@hospital.org"]
    assert loaded.local_role("bob") is None and loaded.oidc_role("carol@hospital.org") == "admin"


def test_the_last_admin_who_can_log_in_stays(auth_file, tmp_path, monkeypatch):
    """`users remove admin` went through as an OIDC e-mail held admin, though single sign-on was
    not set up: nobody could log in any more. Nor does an account edited by hand count, whose
    password is no bcrypt hash."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no secrets.toml
    users.add_user("admin", "admin", PASSWORD)
    users.add_user("boss@example.org", "admin")
    auth_file.write_text(
        auth_file.read_text().replace(
            "usernames:\n", "usernames:\n    kim: {password: secret12345, roles: [admin]}\n", 1
        )
    )
    assert users.read_users().local_role("kim") == "admin"
    with pytest.raises(ConfigError, match=r"'admin' is the last admin who can log in \("):
        users.remove_user("admin")
    with pytest.raises(ConfigError, match="an OIDC identity counts only with single sign-on"):
        users.set_role("admin", "viewer")
    single_sign_on(tmp_path / "home", monkeypatch)
    users.remove_user("admin")  # boss logs in with single sign-on
    assert users.read_users().oidc_role("boss@example.org") == "admin"


@pytest.mark.parametrize(
    ("secrets", "set_up"),
    [("[auth]\n", False), ('[auth]\nredirect_uri = "https://radsurv.org/oauth2callback"\n', True)],
)
def test_the_users_command_and_the_app_agree_on_single_sign_on(
    auth_file, tmp_path, monkeypatch, secrets, set_up
):
    """An empty [auth] was single sign-on to the users command (the key is there) and not to the
    app: `users remove` took the last local admin away beside an OIDC admin, and the app said
    nobody could log in. Both count a non-empty [auth] alone."""
    import tomllib

    from streamlit.testing.v1 import AppTest

    (tmp_path / "home" / ".streamlit").mkdir(parents=True)
    (tmp_path / "home" / ".streamlit" / "secrets.toml").write_text(secrets)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def page() -> None:
        import streamlit as st

        from ui.auth import _oidc_configured

        st.write(f"single sign-on: {_oidc_configured()}")

    app = AppTest.from_function(page)
    app.secrets.update(tomllib.loads(secrets))
    assert [m.value for m in app.run().markdown] == [f"single sign-on: {set_up}"]
    users.add_user("bob", "admin", PASSWORD)
    users.add_user("carol@hospital.org", "admin")
    if set_up:
        users.remove_user("bob")  # carol logs in with single sign-on
        assert [e["username"] for e in users.read_users().entries()] == ["carol@hospital.org"]
    else:
        with pytest.raises(ConfigError, match=r"^'bob' is the last admin who can log in \("):
            users.remove_user("bob")


def test_a_broken_secrets_file_stops_only_an_edit_that_needs_single_sign_on(
    auth_file, tmp_path, monkeypatch
):
    """`users set-role` and `users remove` failed on an unrelated broken secrets.toml ('Cannot
    read ...: Expected ']'...') whatever they changed: it is read only when no local admin would
    be left, and then no OIDC admin is counted, the refusal saying why."""
    secrets = tmp_path / "home" / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text("[auth\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    users.add_user("bob", "admin", PASSWORD)
    users.add_user("eve", "clinician", PASSWORD)
    users.add_user("boss@example.org", "admin")
    users.set_role("eve", "admin")
    users.remove_user("eve")
    with pytest.raises(ConfigError) as refused:
        users.remove_user("bob")
    assert str(refused.value) == (
        f"'bob' is the last admin who can log in ({auth_file}); make someone else admin first "
        "(an OIDC identity counts only with single sign-on set up: [auth] in "
        f".streamlit/secrets.toml; none counts now: Cannot read {secrets}: Expected ']' at the "
        "end of a table declaration (at line 1, column 6))."
    )
    assert [e["username"] for e in users.read_users().entries()] == ["bob", "boss@example.org"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: users.add_user("dave", "nurse", PASSWORD), "Unknown role 'nurse'"),
        (lambda: users.add_user("dave", "viewer", "short"), "10 to 72 bytes"),
        (lambda: users.add_user("dave", "viewer", "é" * 40), "10 to 72 bytes"),  # 80 bytes
        (lambda: users.add_user("da ve", "viewer", PASSWORD), "not valid"),
        (lambda: users.add_user("not-an-email", "viewer"), "not an e-mail"),
        (lambda: users.add_user("eve", "viewer", PASSWORD), "already exists"),
        (lambda: users.set_role("nobody", "viewer"), "No user 'nobody'"),
        (lambda: users.set_role("eve", "root"), "Unknown role"),
        (lambda: users.remove_user("nobody"), "No user 'nobody'"),
        (lambda: users.set_role("root", "physicist"), "last admin"),
        (lambda: users.remove_user("root"), "last admin"),
        # the audit log refuses it: it was written, then not audited
        (lambda: users.add_user("a" * 200 + "@hospital.org", "viewer"), "more than 200 char"),
    ],
)
def test_bad_requests_are_refused_and_leave_the_file_alone(auth_file, call, message):
    users.add_user("eve", "viewer", PASSWORD)
    users.add_user("root", "admin", PASSWORD)
    before = auth_file.read_bytes()
    with pytest.raises(ConfigError, match=message):
        call()
    assert auth_file.read_bytes() == before


def test_a_failed_write_keeps_the_previous_file_whole(auth_file, monkeypatch):
    users.add_user("frank", "viewer", PASSWORD)
    before = auth_file.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        users.set_role("frank", "admin")
    monkeypatch.undo()
    assert auth_file.read_bytes() == before
    left = sorted(p.name for p in auth_file.parent.iterdir())
    assert left == ["users.yaml", "users.yaml.lock"]  # no temp left (the lock file stays)


HASH = bcrypt.hashpw(b"a long password", bcrypt.gensalt(rounds=4)).decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("credentials: [unclosed", "not valid YAML"),
        ("- a\n- list\n", "not a YAML mapping"),
        ("credentials:\n  usernames:\n    gil: {password: x, roles: [nurse]}\n", "Unknown role"),
        ("credentials:\n  usernames:\n    gil: {roles: [viewer]}\n", "password hash"),
        ("oidc:\n  gil@hospital.org: superuser\n", "OIDC identity"),
        # edited by hand: AttributeError or TypeError ('<' in `users list`) on every page
        ("credentials: x\n", "'credentials' in the users file"),
        ("credentials: {usernames: [a, b]}\n", "'credentials.usernames' in the users file"),
        ("oidc: [a]\n", "'oidc' in the users file"),
        (
            f"credentials:\n  usernames:\n    123: {{password: '{HASH}', roles: [admin]}}\n"
            f"    bob: {{password: '{HASH}', roles: [viewer]}}\n",
            "The entry 123 under 'credentials.usernames' in the users file",
        ),
        ("oidc: {null: viewer}\n", "The entry None under 'oidc' in the users file"),
    ],
)
def test_a_broken_users_file_is_an_error_naming_it(auth_file, content, message):
    auth_file.parent.mkdir(parents=True)
    auth_file.write_text(content)
    with pytest.raises(ConfigError, match=message) as refused:
        users.read_users()
    assert str(auth_file) in str(refused.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["add", "O^Brien@hospital.org", "--oidc", "--role", "viewer"],
        ["set-role", "o^brien@hospital.org", "admin"],  # an entry written by hand
        ["remove", "o^brien@hospital.org"],
    ],
)
def test_an_identity_the_audit_log_cannot_name_is_never_changed_unaudited(auth_file, capsys, argv):
    """An e-mail with '^' was added (or, written by hand, re-roled or removed), and then its audit
    line refused: the change in the users file, nothing in the audit log."""
    from survival_core.audit import read_audit
    from survival_core.cli.main import main

    users.add_user("root", "admin", PASSWORD)
    if argv[0] != "add":
        auth_file.write_text(auth_file.read_text() + "oidc: {o^brien@hospital.org: viewer}\n")
    before, logged = auth_file.read_bytes(), len(read_audit())
    assert main(["users", *argv]) == 2
    said = capsys.readouterr().err
    assert "'o^brien@hospital.org' cannot be added, re-roled or removed here" in said
    assert "the audit log refuses a name with '^'" in said
    assert auth_file.read_bytes() == before and len(read_audit()) == logged


@pytest.mark.parametrize(
    ("content", "listed"),
    [
        ("credentials:\n", []),
        ("credentials: {usernames: null}\noidc: {a@b.co: admin}\n", ["a@b.co"]),
        ("oidc:\n", []),
    ],
)
def test_an_emptied_section_of_the_users_file_is_empty(
    auth_file, capsys, monkeypatch, content, listed
):
    """A section left empty by hand ('credentials:' with nothing under it) was an AttributeError
    on every page and command."""
    auth_file.parent.mkdir(parents=True)
    auth_file.write_text(content)
    assert [u["username"] for u in _cli(capsys, monkeypatch, "list")["users"]] == listed
    users.add_user("bob", "admin", PASSWORD)  # and it can be edited
    assert [u["username"] for u in _cli(capsys, monkeypatch, "list")["users"]] == ["bob", *listed]


def test_an_entry_edited_by_hand_is_said_and_breaks_no_login(auth_file, caplog):
    """'Gil' could never log in (names are looked up in lower case), and a plain-text password
    broke every login as that user with a bcrypt traceback; the other accounts still log in."""
    auth_file.parent.mkdir(parents=True)
    auth_file.write_text(
        "credentials:\n  usernames:\n"
        f"    Gil: {{password: '{HASH}', roles: [viewer]}}\n"
        "    kim: {password: secret12345, roles: [viewer]}\n"
        f"    lee: {{password: '{HASH}', roles: [admin]}}\n"
    )
    accounts = users.read_users()
    assert "'Gil'" in caplog.text and "lower case" in caplog.text
    assert "'kim'" in caplog.text and "not a bcrypt hash" in caplog.text
    assert not accounts.check_password("kim", "secret12345")  # no traceback, no login
    assert accounts.check_password("lee", "a long password")


def _cli(capsys, monkeypatch, *argv: str, stdin: str = "") -> dict:
    parser = argparse.ArgumentParser()
    users_cli.register(parser.add_subparsers())
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert users_cli.run(parser.parse_args(["users", *argv, "--json"])) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_users_command_never_prints_or_logs_a_password(auth_file, capsys, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    added = _cli(
        capsys, monkeypatch, "add", "hana", "--role", "physicist", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added["users"] == [
        {"username": "hana", "name": "hana", "role": "physicist", "kind": "local"}
    ]
    _cli(capsys, monkeypatch, "add", "ivan@hospital.org", "--role", "viewer", "--oidc")
    _cli(capsys, monkeypatch, "set-role", "hana", "admin")
    listed = _cli(capsys, monkeypatch, "list")
    assert {u["username"]: u["role"] for u in listed["users"]} == {
        "hana": "admin",
        "ivan@hospital.org": "viewer",
    }
    assert (
        _cli(capsys, monkeypatch, "remove", "ivan@hospital.org")["users"][0]["username"] == "hana"
    )
    shown = json.dumps(listed) + caplog.text + capsys.readouterr().err
    assert PASSWORD not in shown and "$2b$" not in shown
    # every change of accounts is in the audit log, by the command's user (none was)
    from survival_core.audit import read_audit

    changes = [(e["action"], e["target"], e.get("role")) for e in read_audit()]
    assert changes == [
        ("user_add", "hana", "physicist"),
        ("user_add", "ivan@hospital.org", "viewer"),
        ("role_change", "hana", "admin"),
        ("user_remove", "ivan@hospital.org", None),
    ]


def test_the_prompted_password_must_be_typed_twice_alike(auth_file, monkeypatch):
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(users_cli.getpass, "getpass", lambda prompt: next(typed))
    parser = argparse.ArgumentParser()
    users_cli.register(parser.add_subparsers())
    with pytest.raises(ConfigError, match="differ"):
        users_cli.run(parser.parse_args(["users", "add", "jo", "--role", "viewer"]))
    assert not auth_file.exists()


def test_the_users_file_is_0600_when_renamed_into_a_folder_made_0700(auth_file, monkeypatch):
    """An existing 0755 folder was kept, and the file was 0644 until after its rename."""
    auth_file.parent.mkdir(mode=0o755, parents=True)
    os.chmod(auth_file.parent, 0o755)  # whatever the umask
    real, modes = os.replace, []

    def replace(src, dst):
        modes.append(stat.S_IMODE(os.stat(src).st_mode))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    users.add_user("kim", "admin", PASSWORD)
    users.set_role("kim", "admin")
    assert modes == [0o600, 0o600]
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(auth_file.parent.stat().st_mode) == 0o700


def test_a_folder_that_cannot_be_made_private_is_warned_about(auth_file, monkeypatch, caplog):
    auth_file.parent.mkdir(parents=True)
    os.chmod(auth_file.parent, 0o755)
    real_chmod = os.chmod

    def chmod(path, mode, **kwargs):
        if Path(path) == auth_file.parent:
            raise PermissionError(1, "Operation not permitted")
        return real_chmod(path, mode, **kwargs)

    monkeypatch.setattr(os, "chmod", chmod)
    users.add_user("lee", "admin", PASSWORD)
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert f"{auth_file.parent} has mode 755, not 0700" in caplog.text
    assert "Operation not permitted" in caplog.text


def test_a_shared_folder_is_left_alone_with_a_warning(tmp_path, monkeypatch, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(shared / "users.yaml"))
    users.add_user("max", "admin", PASSWORD)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "users.yaml").stat().st_mode) == 0o600
    assert "shared folder" in caplog.text


def test_no_terminal_to_ask_the_password_on_is_a_message(auth_file, monkeypatch):
    """``users add`` from a script without --password-stdin ended in getpass's EOFError
    traceback."""

    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr(users_cli.getpass, "getpass", no_terminal)
    parser = argparse.ArgumentParser()
    users_cli.register(parser.add_subparsers())
    with pytest.raises(ConfigError, match="--password-stdin"):
        users_cli.run(parser.parse_args(["users", "add", "jo", "--role", "viewer"]))
    assert not auth_file.exists()
