"""Failed logins: backoff, the temporary lock (even the right password refused), unlock, the
client rule, bounded memory, the password policy and edits of the users file that race."""

from __future__ import annotations

import threading

import pytest

from survival_core.errors import ConfigError
from survival_core.security import users
from survival_core.security.logins import LoginAttempts, LoginPolicy
from survival_core.security.passwords import check_policy


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def attempts(tmp_path, clock) -> LoginAttempts:
    policy = LoginPolicy(max_failures=3, lock_minutes=10, client_max_failures=5)
    return LoginAttempts(tmp_path / "login-attempts.json", policy, clock)


def test_each_failure_doubles_the_wait_before_the_next_attempt(attempts, clock):
    assert attempts.refusal("ann", "10.0.0.1") is None
    assert attempts.record_failure("ann", "10.0.0.1") == []
    refusal = attempts.refusal("ann", "10.0.0.1")
    assert refusal is not None and not refusal.locked and refusal.until == clock.now + 1
    assert "wait 1 s" in refusal.message(clock.now)
    clock.now += 1
    assert attempts.refusal("ann", "10.0.0.1") is None  # the wait is over
    attempts.record_failure("ann", "10.0.0.1")
    assert attempts.refusal("ann", "10.0.0.1").until == clock.now + 2


def test_repeated_failures_lock_the_account_even_for_its_right_password(attempts, clock):
    for n in range(3):
        locked = attempts.record_failure("Ann ", f"10.0.0.{n}")  # names are case-insensitive
        clock.now += 10
    assert locked == ["account"]
    refusal = attempts.refusal("ann", "10.0.0.99")  # from another computer too
    assert refusal.locked and refusal.who == "account"
    assert "locked until" in refusal.message(clock.now) and "administrator" in refusal.message(0)
    assert [lock["name"] for lock in attempts.locks()] == ["ann"]
    clock.now += 9 * 60
    assert attempts.refusal("ann", None).locked  # still locked: the correct password waits
    clock.now += 61
    assert attempts.refusal("ann", None) is None  # the lock has ended ...
    assert attempts.record_failure("ann", None) == []  # ... and its failures with it
    assert attempts.locks() == []


def test_an_administrator_unlocks_early_and_a_success_clears_the_failures(attempts, clock):
    for _ in range(3):
        attempts.record_failure("bob", "10.0.0.2")
    assert attempts.refusal("bob", None).locked
    assert attempts.unlock("BOB") is True and attempts.unlock("bob") is False
    assert attempts.refusal("bob", None) is None
    attempts.record_failure("bob", "10.0.0.2")
    attempts.record_success("bob", "10.0.0.2")
    assert attempts.refusal("bob", "10.0.0.2") is None


@pytest.mark.parametrize(
    "content", ["[]", '{"account": {"u1": 5}}', '{"account": [], "client": "x"}', "{not json"]
)
def test_a_malformed_record_is_left_out_with_a_warning(attempts, caplog, content):
    """A login-attempts.json of another shape ('[]', a number for an entry) made every login an
    AttributeError, and `users locks` too."""
    attempts.path.write_text(content)
    assert attempts.refusal("bob", "10.0.0.1") is None and attempts.locks() == []
    assert f"The failed-login record {attempts.path} is not as RadSurv writes it" in caplog.text
    assert attempts.record_failure("bob", "10.0.0.1") == []  # written whole again
    caplog.clear()
    assert attempts.refusal("bob", None) is not None and caplog.text == ""


def test_a_lock_beside_a_malformed_entry_holds(attempts, caplog):
    """Only the malformed entry is left out: editing the file must not lift the locks in it."""
    for _ in range(3):
        attempts.record_failure("ann", None)
    text = attempts.path.read_text()
    attempts.path.write_text(text.replace('"account": {', '"account": {"u1": 5, ', 1))
    assert attempts.refusal("ann", None).locked
    assert [lock["name"] for lock in attempts.locks()] == ["ann"] and "u1" not in caplog.text


def test_one_client_guessing_many_accounts_is_locked(attempts, clock):
    for n in range(5):
        locked = attempts.record_failure(f"user{n}", "10.0.0.3")
    assert locked == ["client"]
    refusal = attempts.refusal("someone-else", "10.0.0.3")
    assert refusal.locked and refusal.who == "client" and "this computer" in refusal.message(0)
    assert attempts.refusal("someone-else", "10.0.0.4") is None
    no_client_rule = LoginAttempts(attempts.path, LoginPolicy(client_max_failures=0), clock)
    assert no_client_rule.refusal("someone-else", "10.0.0.3") is None


def test_unknown_names_are_tracked_alike_and_the_record_stays_bounded(attempts, clock, monkeypatch):
    import survival_core.security.logins as logins

    monkeypatch.setattr(logins, "MAX_ENTRIES", 4)
    for n in range(10):
        clock.now += 1
        attempts.record_failure(f"nobody{n}", None)
    assert attempts.refusal("nobody9", None) is not None  # same answer as a real account
    import json

    kept = json.loads(attempts.path.read_text())["account"]
    assert sorted(kept) == ["nobody6", "nobody7", "nobody8", "nobody9"]
    assert oct(attempts.path.stat().st_mode & 0o777) == "0o600"
    clock.now += 10 * 60  # failures that no longer count are dropped at the next write
    attempts.record_failure("late", None)
    assert sorted(json.loads(attempts.path.read_text())["account"]) == ["late"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RADSURV_LOGIN_MAX_FAILURES", "0", "RADSURV_LOGIN_MAX_FAILURES='0' is not valid"),
        ("RADSURV_LOGIN_LOCK_MINUTES", "soon", "give a float"),
        ("RADSURV_SESSION_IDLE_MINUTES", "-1", ">= 0"),
    ],
)
def test_policy_settings_are_read_and_checked(monkeypatch, variable, value, message):
    monkeypatch.setenv("RADSURV_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("RADSURV_SESSION_IDLE_MINUTES", "0")
    policy = LoginPolicy.from_env()
    assert policy.max_failures == 7 and policy.idle_minutes == 0 and policy.lock_minutes == 15
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        LoginPolicy.from_env()


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("short", "ann", "10 to 72 bytes"),
        ("annabel-lee-1849", "annabel", "may not contain the username"),
        ("kim.lee.2024", "kim@hospital.org", "may not contain the username"),
        ("aaaaaaaaaaaa", "ann", "5 different characters"),
        ("1234567890", "ann", "too common"),
        ("Password2024!", "ann", "too common"),
        ("QWERTYUIOP", "ann", "too common"),
        ("Hospital#2026", "ann", "too common"),
        # decoration before, look-alikes, accents (all were accepted)
        ("2024Password!", "ann", "too common"),
        ("Pa55word2024!", "ann", "too common"),
        ("Pässword2024", "ann", "too common"),
        ("P@ssw0rd!!", "ann", "too common"),
        ("4dmin2024!", "ann", "too common"),  # a look-alike at the word's edge, by its padding
    ],
)
def test_the_password_policy_refuses_weak_passwords(password, username, message):
    with pytest.raises(ConfigError, match=message):
        check_policy(password, username)


def test_the_password_policy_accepts_a_passphrase():
    check_policy("violet tractor mango sails", "ann")
    check_policy("Tr4ck-Orbit-Lantern", "ann")


def test_users_add_applies_the_policy(tmp_path):
    path = tmp_path / "users.yaml"
    with pytest.raises(ConfigError, match="too common"):
        users.add_user("ann", "viewer", "Welcome2026!", path=path)
    assert not path.exists()


def test_an_edit_made_on_a_stale_view_is_refused_not_lost(tmp_path):
    path = tmp_path / "users.yaml"
    users.add_user("root", "admin", "violet tractor mango", path=path)
    users.add_user("ann", "viewer", "violet tractor mango", path=path)
    first, second = users.read_users(path), users.read_users(path)  # two admins' pages
    users.set_role("ann", "physicist", path=path, expected=first.version)
    with pytest.raises(ConfigError, match="changed by someone else"):
        users.remove_user("ann", path=path, expected=second.version)
    assert users.read_users(path).local_role("ann") == "physicist"  # the first edit stands
    users.remove_user("ann", path=path, expected=users.read_users(path).version)
    assert users.read_users(path).local_role("ann") is None


def test_simultaneous_edits_are_applied_one_after_the_other(tmp_path, monkeypatch):
    path = tmp_path / "users.yaml"
    users.add_user("root", "admin", "violet tractor mango", path=path)
    monkeypatch.setattr(users, "hash_password", lambda password: "$2b$12$" + "x" * 53)
    names = [f"user{n}" for n in range(12)]
    errors: list[BaseException] = []

    def add(name: str) -> None:
        try:
            users.add_user(name, "viewer", "violet tractor mango", path=path)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(names) <= set(users.read_users(path).local)  # none lost


def test_the_users_command_lists_and_unlocks_locked_accounts(tmp_path, monkeypatch, capsys):
    import json

    from survival_core.audit import read_audit
    from survival_core.cli.main import main

    monkeypatch.setenv("RADSURV_AUTH_FILE", str(tmp_path / "users.yaml"))
    monkeypatch.setenv("RADSURV_LOGIN_MAX_FAILURES", "2")
    since = len(read_audit())  # the audit log is the session's: this test's lines only
    for _ in range(2):
        LoginAttempts().record_failure("ann", None)
    assert main(["users", "locks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["locks"]
    assert [(lock["name"], lock["kind"], lock["failures"]) for lock in listed] == [
        ("ann", "account", 2)
    ]
    assert main(["users", "unlock", "ANN", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["locks"] == []
    assert LoginAttempts().refusal("ann", None) is None
    unlocked = [e for e in read_audit()[since:] if e["action"] == "unlock_login"]
    assert [e["target"] for e in unlocked] == ["ann"] and unlocked[0]["user"].startswith("cli:")
    assert main(["users", "unlock", "ann"]) == 2  # nothing to unlock: a message, not a traceback
    assert "no failed logins on record" in capsys.readouterr().err
