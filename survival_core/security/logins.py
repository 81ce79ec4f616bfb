"""Failed logins: per-account and per-client backoff, a temporary lock, and the idle limit.

After each failed login of an account (known or not: an unknown name is tracked the same way,
so a lock never tells whether an account exists) its next attempt must wait 1, 2, 4, ... s (at
most ``backoff_cap_s``); after ``max_failures`` failures in a row the account is locked for
``lock_minutes``, during which even its correct password is refused. A client address is tracked
the same way with its own limit (``client_max_failures``, 0 = no client rule: behind a reverse
proxy every browser shares the proxy's address). A success clears the account's and the client's
failures; an administrator can unlock earlier (``users unlock``, the Users page).

A name no account has is recorded as :func:`unknown_name`, a keyed hash: users type their
password into the Username box, and the record (and the Users page's list of locks) would hold it.

The record is a JSON file beside the users file (``login-attempts.json``, mode 0600), changed
under an exclusive lock, so every server thread and process and the CLI share it. Entries whose
failures no longer matter are dropped, and at most :data:`MAX_ENTRIES` are kept, so guessing
random names cannot grow it without bound.

Settings come from the environment: ``RADSURV_LOGIN_MAX_FAILURES`` (5),
``RADSURV_LOGIN_LOCK_MINUTES`` (15), ``RADSURV_LOGIN_CLIENT_MAX_FAILURES`` (30) and
``RADSURV_SESSION_IDLE_MINUTES`` (30; 0 = sessions do not expire).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from survival_core.errors import ConfigError
from survival_core.io.atomic import write_text

ATTEMPTS_FILE = "login-attempts.json"
#: The record's two parts: failures per account name and per client address.
KINDS = ("account", "client")
#: Most accounts and clients remembered; the oldest are forgotten first.
MAX_ENTRIES = 10_000
_SETTINGS = {  # field: (environment variable, smallest accepted value)
    "max_failures": ("RADSURV_LOGIN_MAX_FAILURES", 1),
    "lock_minutes": ("RADSURV_LOGIN_LOCK_MINUTES", 0.1),
    "client_max_failures": ("RADSURV_LOGIN_CLIENT_MAX_FAILURES", 0),
    "idle_minutes": ("RADSURV_SESSION_IDLE_MINUTES", 0),
}
log = logging.getLogger(__name__)


def unknown_name(typed: str) -> str:
    """How the record names what was typed as a username when no account has it: a keyed hash
    (the de-identification key's), the same for the same text, never the text."""
    from survival_core.io.deid import load_key

    text = typed.strip().lower().encode()
    return (
        "unknown name " + hmac.new(load_key(), b"login\0" + text, hashlib.sha256).hexdigest()[:12]
    )


@dataclass(frozen=True)
class LoginPolicy:
    """Limits on guessing passwords and on idle sessions (see the module docstring)."""

    max_failures: int = 5
    lock_minutes: float = 15.0
    client_max_failures: int = 30
    idle_minutes: float = 30.0
    backoff_cap_s: float = 30.0

    @classmethod
    def from_env(cls) -> LoginPolicy:
        """The policy with any setting given in the environment (ConfigError for a bad one)."""
        values: dict[str, Any] = {}
        for name, (variable, lowest) in _SETTINGS.items():
            text = os.environ.get(variable, "").strip()
            if not text:
                continue
            kind = int if isinstance(getattr(cls, name), int) else float
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or value < lowest:
                raise ConfigError(
                    f"{variable}={text!r} is not valid: give a {kind.__name__} >= {lowest}."
                )
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Refusal:
    """Why a login attempt is refused before its password is checked, and until when."""

    until: float  # epoch seconds
    locked: bool  # a lock (else a backoff wait)
    who: str  # "account" or "client"

    def message(self, now: float) -> str:
        if self.locked:
            clock = time.strftime("%H:%M UTC", time.gmtime(self.until))
            whom = "this account" if self.who == "account" else "this computer"
            return (
                f"Too many failed logins: {whom} is locked until {clock}. Try again then, or "
                "ask an administrator to unlock it."
            )
        return f"Too many failed logins: wait {max(1, round(self.until - now))} s and try again."


def _entries(part: Any) -> dict[str, dict[str, float]]:
    """The entries of one part of the record that are as :meth:`LoginAttempts.record_failure`
    writes them (failures, last failure and end of the wait as numbers); the others left out."""
    if not isinstance(part, dict):
        return {}
    return {
        key: entry
        for key, entry in part.items()
        if isinstance(entry, dict)
        and all(
            isinstance(entry.get(field), int | float) and not isinstance(entry.get(field), bool)
            for field in ("failures", "last", "until")
        )
    }


class LoginAttempts:
    """The shared record of failed logins (see the module docstring); ``clock`` for tests."""

    def __init__(
        self,
        path: Path | None = None,
        policy: LoginPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if path is None:
            from survival_core.security.users import users_file

            path = users_file().with_name(ATTEMPTS_FILE)
        self.path = path
        self.policy = policy or LoginPolicy.from_env()
        self.clock = clock

    @contextmanager
    def _record(self, write: bool) -> Iterator[dict[str, dict[str, dict[str, float]]]]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            record = self._read()
            yield record
            if write:
                self._prune(record)
                write_text(self.path, json.dumps(record, sort_keys=True), mode=0o600)
        finally:
            os.close(fd)

    def _read(self) -> dict[str, dict[str, dict[str, float]]]:
        """The record on disk. One that is not JSON, or not of the shape written here (edited by
        hand, a disk fault), was a traceback at every login: what is malformed in it is left
        out, with a warning, and the rest kept (its locks hold). Only the server's account can
        write the file, which it could as well delete."""
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:  # none yet
            return {who: {} for who in KINDS}
        except ValueError:  # not JSON (or not UTF-8)
            found = None
        parts = found if isinstance(found, dict) else {}
        record = {who: _entries(parts.get(who)) for who in KINDS}
        if record != found:
            log.warning(
                "The failed-login record %s is not as RadSurv writes it (edited by hand, or a "
                "disk fault): what is malformed in it is left out, and the next login rewrites it.",
                self.path,
            )
        return record

    def _limit(self, who: str) -> int:
        return self.policy.max_failures if who == "account" else self.policy.client_max_failures

    def _current(self, entry: dict[str, float] | None, now: float) -> dict[str, float] | None:
        """The entry, or None once its failures no longer count (a lock has ended, or no
        failure for a lock's length of time)."""
        if not entry:
            return None
        lock_s = self.policy.lock_minutes * 60
        if entry.get("locked") and now >= entry["until"]:
            return None
        if not entry.get("locked") and now - entry["last"] >= lock_s:
            return None
        return entry

    def _prune(self, record: dict[str, dict[str, dict[str, float]]]) -> None:
        now = self.clock()
        for who, entries in record.items():
            kept = {k: e for k, e in entries.items() if self._current(e, now) is not None}
            newest = sorted(kept.items(), key=lambda item: item[1]["last"])[-MAX_ENTRIES:]
            record[who] = dict(newest)

    def _keys(self, username: str, client: str | None) -> list[tuple[str, str]]:
        keys = [("account", username.strip().lower())]
        if client and self.policy.client_max_failures:
            keys.append(("client", client))
        return keys

    def refusal(self, username: str, client: str | None) -> Refusal | None:
        """Why an attempt now must be refused unchecked (the longest wait), or None."""
        now = self.clock()
        with self._record(write=False) as record:
            found = [
                Refusal(entry["until"], bool(entry.get("locked")), who)
                for who, key in self._keys(username, client)
                if (entry := self._current(record[who].get(key), now)) and now < entry["until"]
            ]
        return max(found, key=lambda r: (r.locked, r.until), default=None)

    def record_failure(self, username: str, client: str | None) -> list[str]:
        """Count a failed attempt; returns what it has just locked ("account", "client")."""
        now = self.clock()
        locked = []
        with self._record(write=True) as record:
            for who, key in self._keys(username, client):
                entry = self._current(record[who].get(key), now) or {"failures": 0}
                failures = int(entry["failures"]) + 1
                lock = failures >= self._limit(who)
                wait = (
                    self.policy.lock_minutes * 60
                    if lock
                    else min(2.0 ** (failures - 1), self.policy.backoff_cap_s)
                )
                record[who][key] = {
                    "failures": failures, "last": now, "until": now + wait, "locked": lock,
                }  # fmt: skip
                if lock and not entry.get("locked"):
                    locked.append(who)
        return locked

    def record_success(self, username: str, client: str | None) -> None:
        """A correct password: the account's and the client's failures are forgotten."""
        with self._record(write=True) as record:
            for who, key in self._keys(username, client):
                record[who].pop(key, None)

    def unlock(self, name: str) -> bool:
        """Clear the failures of an account (or client address) ``name``; whether it had any."""
        with self._record(write=True) as record:
            found = [record[who].pop(name.strip().lower(), None) for who in record]
        return any(found)

    def locks(self) -> list[dict[str, Any]]:
        """Accounts and clients locked now: who, kind, failures and until (UTC, ISO 8601)."""
        now = self.clock()
        with self._record(write=False) as record:
            return [
                {
                    "name": key,
                    "kind": who,
                    "failures": int(entry["failures"]),
                    "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry["until"])),
                }
                for who, entries in record.items()
                for key, entry in sorted(entries.items())
                if entry.get("locked") and self._current(entry, now)
            ]
