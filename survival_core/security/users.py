"""The users file: local accounts with bcrypt-hashed passwords and the roles of OIDC identities.

The file is YAML in the layout streamlit-authenticator reads (``credentials.usernames`` with
``name``, ``password`` as a bcrypt hash and ``roles``), plus ``oidc``: a mapping from the e-mail
an identity provider reports to a role. It lives outside the repository (``$RADSURV_AUTH_FILE``, default
``~/.config/radsurv/users.yaml``) so it is never committed or served, is written atomically with
mode 0600 in a 0700 folder, and holds no plain-text password. Nothing here logs a password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from survival_core.errors import ConfigError
from survival_core.io.atomic import write_text
from survival_core.security.roles import check_role

DEFAULT_FILE = Path("~/.config/radsurv/users.yaml")
REPOSITORY = Path(__file__).resolve().parents[2]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: bcrypt reads at most 72 bytes; a longer password would be silently cut, so it is refused.
PASSWORD_BYTES = (10, 72)
#: Checked against when the username is unknown, so that costs as much as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"no such account", bcrypt.gensalt(rounds=12)).decode("ascii")


def users_file() -> Path:
    """Where the users file is: ``$RADSURV_AUTH_FILE`` or ``~/.config/radsurv/users.yaml``.

    A path inside the repository is refused: the file would end up in a commit or an archive.
    """
    path = Path(os.environ.get("RADSURV_AUTH_FILE") or DEFAULT_FILE).expanduser().resolve()
    if path.is_relative_to(REPOSITORY):
        raise ConfigError(
            f"The users file {path} is inside the RadSurv folder {REPOSITORY}; keep it outside "
            "(set RADSURV_AUTH_FILE, default ~/.config/radsurv/users.yaml) so that password "
            "hashes are never committed."
        )
    return path


@dataclass
class Users:
    """The parsed users file (empty when the file does not exist yet)."""

    path: Path
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> dict[str, dict[str, Any]]:
        return self.document.setdefault("credentials", {}).setdefault("usernames", {})

    @property
    def oidc(self) -> dict[str, str]:
        return self.document.setdefault("oidc", {})

    @property
    def configured(self) -> bool:
        """Whether anyone can log in: at least one local account or OIDC identity."""
        return bool(self.local or self.oidc)

    def local_role(self, username: str) -> str | None:
        entry = self.local.get(username.lower())
        return None if entry is None else entry["roles"][0]

    def oidc_role(self, email: str) -> str | None:
        return self.oidc.get(email.lower())

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` matches the account's bcrypt hash (False for an unknown account,
        after the same work, so a wrong name and a wrong password take equally long)."""
        entry = self.local.get(username.strip().lower())
        stored = (entry or {}).get("password", _DUMMY_HASH).encode("ascii")
        raw = password.encode("utf-8")
        matches = len(raw) <= PASSWORD_BYTES[1] and bcrypt.checkpw(raw, stored)
        return matches and entry is not None

    def display_name(self, username: str) -> str:
        entry = self.local.get(username.lower(), {})
        return entry.get("name") or username

    def entries(self) -> list[dict[str, str]]:
        """Every account without its hash: username, name, role, kind (local or oidc)."""
        rows = [
            {"username": u, "name": e.get("name", ""), "role": e["roles"][0], "kind": "local"}
            for u, e in sorted(self.local.items())
        ]
        rows += [
            {"username": m, "name": "", "role": r, "kind": "oidc"}
            for m, r in sorted(self.oidc.items())
        ]
        return rows


def _check_document(path: Path, document: Any) -> dict[str, Any]:
    """The document when its layout and roles are valid; a ConfigError naming the file otherwise."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"The users file {path} is not a YAML mapping.")
    local = (document.get("credentials") or {}).get("usernames") or {}
    for username, entry in local.items():
        roles = entry.get("roles") if isinstance(entry, dict) else None
        if not isinstance(roles, list) or len(roles) != 1 or not entry.get("password"):
            raise ConfigError(
                f"User {username!r} in {path} needs a password hash and exactly one role "
                "(roles: [viewer|clinician|physicist|admin])."
            )
        _checked_in(path, f"user {username!r}", roles[0])
    for email, role in (document.get("oidc") or {}).items():
        _checked_in(path, f"OIDC identity {email!r}", role)
    return document


def _checked_in(path: Path, who: str, role: str) -> None:
    try:
        check_role(role)
    except ConfigError as err:
        raise ConfigError(f"{who} in {path}: {err}") from err


def read_users(path: Path | None = None) -> Users:
    """The users file at ``path`` (default ``users_file()``), validated; empty if absent."""
    path = users_file() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Users(path)
    except OSError as err:
        raise ConfigError(f"Cannot read the users file {path}: {err.strerror}.") from err
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"The users file {path} is not valid YAML: {err}") from err
    return Users(path, _check_document(path, document))


def write_users(users: Users) -> Path:
    """Replace the users file atomically (mode 0600 in a 0700 folder: it holds password hashes)."""
    users.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_text(users.path, yaml.safe_dump(users.document, sort_keys=False))
    os.chmod(users.path, 0o600)
    return users.path


def hash_password(password: str) -> str:
    """A bcrypt hash (salted, cost 12) of ``password``, which must be 10-72 bytes in UTF-8."""
    raw = password.encode("utf-8")
    low, high = PASSWORD_BYTES
    if not low <= len(raw) <= high:
        raise ConfigError(
            f"A password must be {low} to {high} bytes long (bcrypt reads at most {high})."
        )
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=12)).decode("ascii")


def _identity(username: str, oidc: bool) -> str:
    name = username.strip().lower()
    if oidc and not EMAIL.match(name):
        raise ConfigError(f"{username!r} is not an e-mail address; OIDC roles are keyed by e-mail.")
    if not oidc and not USERNAME.match(name):
        raise ConfigError(
            f"Username {username!r} is not valid: 1-64 characters among a-z, 0-9, '.', '_', '-'."
        )
    return name


def add_user(
    username: str,
    role: str,
    password: str | None = None,
    name: str | None = None,
    path: Path | None = None,
) -> str:
    """Add a local account (with ``password``) or, without a password, give an OIDC e-mail a role.

    Returns the stored (lower-case) username. Refuses an existing one: change a role with
    ``set_role``.
    """
    check_role(role)
    users = read_users(path)
    key = _identity(username, oidc=password is None)
    if key in users.local or key in users.oidc:
        raise ConfigError(f"{key!r} already exists in {users.path}; use set-role to change it.")
    if password is None:
        users.oidc[key] = role
    else:
        users.local[key] = {
            "name": name or key,
            "password": hash_password(password),
            "roles": [role],
        }
    write_users(users)
    return key


def _keep_an_admin(users: Users, key: str, before: list[str]) -> None:
    """Refuse a change that takes the role of the last admin (nobody could manage users)."""
    if "admin" in before and "admin" not in [e["role"] for e in users.entries()]:
        raise ConfigError(
            f"{key!r} is the last admin in {users.path}; make someone else admin first."
        )


def set_role(username: str, role: str, path: Path | None = None) -> None:
    """Give an existing local account or OIDC identity another role."""
    check_role(role)
    users = read_users(path)
    before = [e["role"] for e in users.entries()]
    key = username.strip().lower()
    if key in users.local:
        users.local[key]["roles"] = [role]
    elif key in users.oidc:
        users.oidc[key] = role
    else:
        raise ConfigError(f"No user {key!r} in {users.path}.")
    _keep_an_admin(users, key, before)
    write_users(users)


def remove_user(username: str, path: Path | None = None) -> None:
    """Remove a local account or OIDC identity (its sessions lose access at their next click)."""
    users = read_users(path)
    before = [e["role"] for e in users.entries()]
    key = username.strip().lower()
    if users.local.pop(key, None) is None and users.oidc.pop(key, None) is None:
        raise ConfigError(f"No user {key!r} in {users.path}.")
    _keep_an_admin(users, key, before)
    write_users(users)
