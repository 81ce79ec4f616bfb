"""Whether the server is reachable from other machines, and the refusal to serve it that way
without a login.

Streamlit listens on every interface when ``server.address`` is unset, so only an explicit
loopback address counts as local. Demo mode (no login, every role) is allowed only there.
"""

from __future__ import annotations

import ipaddress

from survival_core.errors import ConfigError

LOCAL_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback(address: str | None) -> bool:
    """True for ``localhost`` and loopback IPs (127.0.0.0/8, ::1); False for unset, 0.0.0.0,
    host names and every other address."""
    if not address:
        return False
    text = address.strip().strip("[]").lower()
    if text in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_exposure(address: str | None, auth_configured: bool, users_path: str) -> None:
    """Refuse (ConfigError with the fix) to serve beyond localhost when nobody has to log in."""
    if auth_configured or is_loopback(address):
        return
    shown = address or "every interface (server.address unset)"
    raise ConfigError(
        f"RadSurv would listen on {shown}, reachable from other machines, but no login is "
        "configured, so anyone could open patient data. Either add an administrator with "
        "`python -m survival_core users add NAME --role admin` (stored in "
        f"{users_path}; set RADSURV_AUTH_FILE to keep it elsewhere), or configure OIDC in "
        ".streamlit/secrets.toml [auth] and map e-mails to roles with "
        "`python -m survival_core users add EMAIL --role viewer --oidc`; or serve on "
        'localhost only (server.address = "localhost").'
    )
