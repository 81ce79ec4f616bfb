"""Serving beyond localhost needs a login: the address check and the ``serve`` pre-flight."""

from __future__ import annotations

import argparse
import json

import pytest

from survival_core.cli import serve
from survival_core.errors import ConfigError, InputError
from survival_core.security.exposure import check_exposure, is_loopback
from survival_core.security.users import add_user


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        (None, False),  # Streamlit then listens on every interface
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("radsurv.hospital.org", False),
        ("localhost.evil.org", False),
    ],
)
def test_only_loopback_addresses_are_local(address, local):
    assert is_loopback(address) is local


@pytest.mark.parametrize("address", [None, "0.0.0.0", "10.1.2.3"])
def test_a_reachable_address_without_login_is_refused_with_the_fix(address):
    with pytest.raises(ConfigError) as refused:
        check_exposure(address, auth_configured=False, users_path="/etc/radsurv/users.yaml")
    message = str(refused.value)
    assert "users add" in message and "/etc/radsurv/users.yaml" in message
    assert "[auth]" in message and "localhost" in message
    check_exposure(address, auth_configured=True, users_path="x")


def test_localhost_without_login_is_demo_mode():
    check_exposure("localhost", auth_configured=False, users_path="x")


def _serve(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


@pytest.fixture()
def no_login(tmp_path, monkeypatch):
    """No users file and no personal secrets.toml."""
    monkeypatch.setenv("RADSURV_AUTH_FILE", str(tmp_path / "auth" / "users.yaml"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    return tmp_path / "auth" / "users.yaml"


def test_serve_refuses_a_public_address_before_starting(no_login, monkeypatch):
    started = []
    monkeypatch.setattr(serve.os, "execv", lambda *a: started.append(a))
    with pytest.raises(ConfigError, match="users add"):
        serve.run(_serve("--address", "0.0.0.0"))
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "0.0.0.0")
    with pytest.raises(ConfigError, match="reachable from other machines"):
        serve.run(_serve())
    assert not started


def test_serve_starts_streamlit_in_demo_mode_on_localhost(no_login, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: started.append(argv))
    serve.run(_serve("--address", "127.0.0.1", "--port", "8600", "--json"))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["local"] is True and result["mode"].startswith("demo")
    (argv,) = started
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4].endswith("app.py")
    assert argv[5:] == ["--server.port", "8600", "--server.address", "127.0.0.1"]


def test_serve_accepts_a_public_address_once_a_user_exists(no_login, capsys):
    add_user("chief", "admin", "a long enough password")
    serve.run(_serve("--address", "0.0.0.0", "--check", "--json"))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == {
        "address": "0.0.0.0",
        "local": False,
        "users_file": str(no_login),
        "mode": "login",
        "ray_address": None,
    }


def test_serve_counts_an_oidc_section_as_login(no_login, capsys):
    secrets = no_login.parent.parent / "home" / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text('[auth]\nredirect_uri = "https://radsurv.hospital.org/oauth2callback"\n')
    serve.run(_serve("--address", "0.0.0.0", "--check", "--json"))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mode"] == "login"


def test_serve_check_refuses_a_case_pool_cluster_nothing_answers_at(no_login, monkeypatch, capsys):
    """`serve --check` passed with a wrong RADSURV_RAY_ADDRESS, whose dashboard then showed a
    traceback on every page: the setting is checked and named; blank is none."""
    monkeypatch.setenv("RADSURV_RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(InputError) as refused:
        serve.run(_serve("--address", "127.0.0.1", "--check"))
    assert str(refused.value).startswith(
        "RADSURV_RAY_ADDRESS in the server's environment: Cannot reach the Ray cluster at "
        "'127.0.0.1:1'"
    )
    monkeypatch.setenv("RADSURV_RAY_ADDRESS", " ")
    serve.run(_serve("--address", "127.0.0.1", "--check", "--json"))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ray_address"] is None
    # 'auto' (the cluster `ray start` made here, as the case pool reads it) is Ray's to find
    monkeypatch.setenv("RADSURV_RAY_ADDRESS", "auto")
    serve.run(_serve("--address", "127.0.0.1", "--check", "--json"))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ray_address"] == "auto"
    monkeypatch.setenv("RADSURV_CASE_WORKERS", "two")  # an int() traceback on every page
    with pytest.raises(ConfigError, match="RADSURV_CASE_WORKERS in the server's environment"):
        serve.run(_serve("--address", "127.0.0.1", "--check"))
