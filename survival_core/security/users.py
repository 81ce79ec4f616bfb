"""The users file: local accounts with bcrypt-hashed passwords and the roles of OIDC identities.

The file is YAML in the layout streamlit-authenticator reads (``credentials.usernames`` with
``name``, ``password`` as a bcrypt hash and ``roles``), plus ``oidc``: a mapping from the e-mail
an identity provider reports to a role. It lives outside the repository (``$RADSURV_AUTH_FILE``, default
``~/.config/radsurv/users.yaml``) so it is never committed or served, is written atomically with
mode 0600 in a 0700 folder, and holds no plain-text password. Nothing here logs a password.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from survival_core.audit import MAX_VALUE_CHARS, loggable
from survival_core.errors import ConfigError
from survival_core.io.atomic import write_text
from survival_core.security.passwords import PASSWORD_BYTES, check_length, check_policy
from survival_core.security.roles import check_role

DEFAULT_FILE = Path("~/.config/radsurv/users.yaml")
REPOSITORY = Path(__file__).resolve().parents[2]
#: The secrets.toml files Streamlit reads: an ``[auth]`` section in one turns single sign-on on.
SECRETS_FILES = (REPOSITORY / ".streamlit" / "secrets.toml", Path("~/.streamlit/secrets.toml"))
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A bcrypt hash as the users file stores it ('$2b$12$' + 53 characters of salt and hash).
BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")
log = logging.getLogger(__name__)
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


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's settings ({} when there is no such file); ConfigError when unreadable."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"Cannot read {path}: {err}") from err


def sign_on_set_up(secrets: Mapping[str, Any]) -> bool:
    """Whether ``secrets`` (a secrets.toml's settings, or ``st.secrets``) set up single sign-on:
    a non-empty ``[auth]`` mapping. The one rule of the app and the ``users`` command: an empty
    ``[auth]`` counted here, not in the app, and the last local admin could be removed."""
    auth = secrets.get("auth")
    return isinstance(auth, Mapping) and bool(auth)


def oidc_configured() -> bool:
    """Whether single sign-on (``st.login``) is set up in one of :data:`SECRETS_FILES`
    (:func:`sign_on_set_up`). Without it an OIDC identity's role lets nobody log in."""
    return any(sign_on_set_up(read_toml(path.expanduser())) for path in SECRETS_FILES)


@dataclass
class Users:
    """The parsed users file (empty when the file does not exist yet); ``version`` is the hash
    of the bytes read ("" for no file), which an edit checks before it writes."""

    path: Path
    document: dict[str, Any] = field(default_factory=dict)
    version: str = ""

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

    def credential(self, username: str) -> str | None:
        """A fingerprint of the account's password hash (None for no such account): a session
        holds the one it logged in with, so a password reset (remove, add again) or a name
        given to someone else ends the sessions opened before."""
        entry = self.local.get(username.strip().lower())
        if entry is None:
            return None
        return hashlib.sha256(str(entry["password"]).encode("ascii")).hexdigest()[:16]

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` matches the account's bcrypt hash (False for an unknown account,
        after the same work, so a wrong name and a wrong password take equally long)."""
        entry = self.local.get(username.strip().lower())
        stored = str((entry or {}).get("password", _DUMMY_HASH))
        if not BCRYPT_HASH.fullmatch(stored):  # no hash (edited by hand): nobody logs in as it
            entry, stored = None, _DUMMY_HASH
        # NFC, or as typed: a password hashed before NFC was applied still matches
        typed = {_typed(password), password.encode("utf-8")}
        matches = any(
            len(raw) <= PASSWORD_BYTES[1] and bcrypt.checkpw(raw, stored.encode("ascii"))
            for raw in typed
        )
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
    # edited by hand: an emptied section (null) was an AttributeError on every page and command
    credentials = document["credentials"] = _section(path, document, "credentials")
    local = credentials["usernames"] = _section(path, credentials, "usernames", "credentials.")
    document["oidc"] = _section(path, document, "oidc")
    for username, entry in local.items():
        roles = entry.get("roles") if isinstance(entry, dict) else None
        if not isinstance(roles, list) or len(roles) != 1 or not entry.get("password"):
            raise ConfigError(
                f"User {username!r} in {path} needs a password hash and exactly one role "
                "(roles: [viewer|clinician|physicist|admin])."
            )
        _checked_in(path, f"user {username!r}", roles[0])
        # edited by hand: the others still log in, the entry is said to be fixed by hand
        for why in _why_no_login(username, entry):
            log.warning("User %r in %s cannot log in: %s", username, path, why)
    for email, role in document["oidc"].items():
        _checked_in(path, f"OIDC identity {email!r}", role)
    return document


def _why_no_login(username: str, entry: dict[str, Any]) -> list[str]:
    """Why a local account of the users file cannot log in ([] when it can): logins and the
    users command look names up in lower case ('Alice' could never log in), and a plain-text
    password broke every login as that user. The one rule of the file's warnings and of the
    admins counted (:func:`_admins`)."""
    why = []
    if not USERNAME.fullmatch(username):
        why.append(
            "a username is 1-64 characters among a-z, 0-9, '.', '_', '-' (lower case); rename "
            "the entry in the file."
        )
    if not BCRYPT_HASH.fullmatch(str(entry["password"])):
        why.append(
            "its password is not a bcrypt hash; delete the entry in the file and add the user "
            "again with `python -m survival_core users add`."
        )
    return why


def _section(path: Path, parent: dict[Any, Any], key: str, above: str = "") -> dict[str, Any]:
    """``parent[key]``, a mapping keyed by text ({} when absent or left empty); a ConfigError
    naming the file and the section or entry otherwise."""
    section = parent.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(
            f"'{above}{key}' in the users file {path} holds {str(section)[:40]}, not a mapping "
            "of names to entries; correct the file by hand."
        )
    for name in section:
        if not isinstance(name, str):
            raise ConfigError(
                f"The entry {name!r} under '{above}{key}' in the users file {path} is not text: "
                "write the username or e-mail in quotes (or remove the entry)."
            )
    return section


def _checked_in(path: Path, who: str, role: str) -> None:
    try:
        check_role(role)
    except ConfigError as err:
        raise ConfigError(f"{who} in {path}: {err}") from err


def read_users(path: Path | None = None) -> Users:
    """The users file at ``path`` (default ``users_file()``), validated; empty if absent."""
    path = users_file() if path is None else path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Users(path)
    except OSError as err:
        raise ConfigError(f"Cannot read the users file {path}: {err.strerror}.") from err
    try:
        document = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"The users file {path} is not valid YAML: {err}") from err
    return Users(path, _check_document(path, document), hashlib.sha256(raw).hexdigest())


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock (``<users file>.lock``) while the file is read, changed and written:
    edits from several processes or server threads are applied one after the other."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _private_folder(folder: Path) -> None:
    """Make the users file's folder 0700 when others can reach into it (a folder made earlier
    with 0755 kept its mode). A shared folder (the home folder, a sticky one such as /tmp) is
    never changed, and neither it nor one that cannot be changed passes silently: a warning
    names it."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not mode & 0o077:
        return
    if mode & stat.S_ISVTX or folder == Path.home().resolve():
        reason = "it is a shared folder, left as it is"
    else:
        try:
            os.chmod(folder, 0o700)
            return
        except OSError as err:
            reason = f"it cannot be changed: {err.strerror}"
    log.warning(
        "The users file's folder %s has mode %o, not 0700 (%s): other accounts can see which "
        "files it holds. Keep the users file (RADSURV_AUTH_FILE) in a folder of its own.",
        folder,
        mode,
        reason,
    )


def write_users(users: Users) -> Path:
    """Replace the users file atomically (mode 0600 from its creation, in a 0700 folder: it
    holds password hashes)."""
    users.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _private_folder(users.path.parent)
    write_text(users.path, yaml.safe_dump(users.document, sort_keys=False), mode=0o600)
    return users.path


def _edit(path: Path | None, change: Callable[[Users], Any], expected: str | None) -> Any:
    """Read, ``change`` and write the users file under its lock: a compare-and-swap when
    ``expected`` (the ``version`` the editor was shown) is given, so an edit made on a stale view
    is refused with a message instead of silently undoing another admin's edit."""
    path = users_file() if path is None else path
    with _file_lock(path):
        users = read_users(path)
        if expected is not None and users.version != expected:
            raise ConfigError(
                f"The users file {path} was changed by someone else since you loaded it; "
                "nothing was changed. Reload to see the current accounts and try again."
            )
        result = change(users)
        write_users(users)
    return result


def hash_password(password: str) -> str:
    """A bcrypt hash (salted, cost 12) of ``password``, which must be 10-72 bytes in UTF-8."""
    check_length(password)
    return bcrypt.hashpw(_typed(password), bcrypt.gensalt(rounds=12)).decode("ascii")


def _typed(password: str) -> bytes:
    """A password's bytes as hashed and checked: UTF-8 of its NFC form, so 'ü' typed as one
    character or as 'u' + a combining mark (macOS and some keyboards) is the same password."""
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _identity(username: str, oidc: bool) -> str:
    name = username.strip().lower()
    if oidc and not EMAIL.match(name):
        raise ConfigError(f"{username!r} is not an e-mail address; OIDC roles are keyed by e-mail.")
    if not oidc and not USERNAME.match(name):
        raise ConfigError(
            f"Username {username!r} is not valid: 1-64 characters among a-z, 0-9, '.', '_', '-'."
        )
    return _audited(name)


def _audited(key: str) -> str:
    """``key`` when the audit log can name it (it names every account edit); a ConfigError before
    anything is written otherwise (the edit was written, then its audit line refused)."""
    if not loggable(key):
        raise ConfigError(
            f"{key!r} cannot be added, re-roled or removed here: every account edit is audited, "
            "and the audit log refuses a name with '^' (a DICOM person name's separator) or of "
            f"more than {MAX_VALUE_CHARS} characters (such an entry in the users file is changed "
            "there, by hand)."
        )
    return key


def add_user(
    username: str,
    role: str,
    password: str | None = None,
    name: str | None = None,
    path: Path | None = None,
    expected: str | None = None,
) -> str:
    """Add a local account (with ``password``, checked against the password policy) or, without
    a password, give an OIDC e-mail a role; ``expected``: see :func:`_edit`.

    Returns the stored (lower-case) username. Refuses an existing one: change a role with
    ``set_role``.
    """
    check_role(role)
    key = _identity(username, oidc=password is None)
    hashed = None
    if password is not None:
        check_policy(password, key)
        hashed = hash_password(password)

    def add(users: Users) -> str:
        if key in users.local or key in users.oidc:
            raise ConfigError(f"{key!r} already exists in {users.path}; use set-role to change it.")
        if hashed is None:
            users.oidc[key] = role
        else:
            users.local[key] = {"name": name or key, "password": hashed, "roles": [role]}
        return key

    return _edit(path, add, expected)


def _admins(users: Users) -> tuple[int, int]:
    """How many admins could log in: local accounts with a valid name and a bcrypt hash, and
    OIDC identities (who can only with single sign-on set up)."""
    local = [
        name
        for name, entry in users.local.items()
        if entry["roles"][0] == "admin" and not _why_no_login(name, entry)
    ]
    return len(local), list(users.oidc.values()).count("admin")


def _sign_on_for_admins() -> tuple[bool, str]:
    """Whether single sign-on is set up, for counting OIDC admins, and why none counts when a
    secrets file cannot be read (then no OIDC admin is counted: a refusal says so)."""
    try:
        return oidc_configured(), ""
    except ConfigError as err:
        return False, f"; none counts now: {err}"


def _keep_an_admin(users: Users, key: str, before: tuple[int, int]) -> None:
    """Refuse a change that leaves no admin who can log in, of those there were (``before``, as
    :func:`_admins` counts them): nobody could manage users; an OIDC admin without single
    sign-on set up was counted. Single sign-on is read only when no local admin is left: an
    unrelated broken secrets.toml refused every edit."""
    local, oidc = _admins(users)
    if local or not any(before):
        return
    sign_on, unread = _sign_on_for_admins()
    if (sign_on and oidc) or not (before[0] or sign_on):  # an OIDC admin left, or none before
        return
    raise ConfigError(
        f"{key!r} is the last admin who can log in ({users.path}); make someone else admin "
        "first (an OIDC identity counts only with single sign-on set up: [auth] in "
        f".streamlit/secrets.toml{unread})."
    )


def set_role(
    username: str, role: str, path: Path | None = None, expected: str | None = None
) -> None:
    """Give an existing local account or OIDC identity another role (``expected``: see
    :func:`_edit`)."""
    check_role(role)
    key = _audited(username.strip().lower())

    def change(users: Users) -> None:
        before = _admins(users)
        if key in users.local:
            users.local[key]["roles"] = [role]
        elif key in users.oidc:
            users.oidc[key] = role
        else:
            raise ConfigError(f"No user {key!r} in {users.path}.")
        _keep_an_admin(users, key, before)

    _edit(path, change, expected)


def remove_user(username: str, path: Path | None = None, expected: str | None = None) -> None:
    """Remove a local account or OIDC identity (its sessions lose access at their next click;
    ``expected``: see :func:`_edit`)."""
    key = _audited(username.strip().lower())

    def remove(users: Users) -> None:
        before = _admins(users)
        if users.local.pop(key, None) is None and users.oidc.pop(key, None) is None:
            raise ConfigError(f"No user {key!r} in {users.path}.")
        _keep_an_admin(users, key, before)

    _edit(path, remove, expected)
