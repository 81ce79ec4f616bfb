"""Append-only audit log: who did what to which pseudonymised case or run, and how it ended.

One JSON object per line in ``<data>/logs/audit.log``: ``time`` (UTC, ISO 8601), ``user`` (the
login name; "demo" in demo mode), ``action`` (one of :data:`ACTIONS`), ``target`` (a case
pseudonym, run id or model name), ``outcome`` ("ok", "refused", "error") and optional short
details. Each line is written with a single ``write`` on a descriptor opened with ``O_APPEND``
while holding an exclusive ``flock``, so concurrent sessions, threads or processes never
interleave lines. Identifiers never enter: targets must be pseudonyms or ids, and values are
checked against :func:`looks_identifying` before writing.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from survival_core.errors import InputError
from survival_core.paths import data_subdir

AUDIT_FILE = "audit.log"
#: Actions the app records (others are refused, so a typo cannot hide an event).
ACTIONS = frozenset(
    {
        "login",
        "logout",
        "login_failed",
        "login_refused",
        "login_locked",
        "unlock_login",
        "session_expired",
        "access_denied",
        "upload_case",
        "load_case",
        "score_case",
        "explain_case",
        "export_report",
        "train_start",
        "train_cancel",
        "train_finish",
        "import_start",
        "import_cancel",
        "schema_edit",
        "promote_model",
        "delete_run",
        "user_add",
        "user_remove",
        "role_change",
        "cleanup",
    }
)
OUTCOMES = frozenset({"ok", "refused", "error"})
#: Fields every line has; details cannot overwrite them.
RESERVED = frozenset({"time", "user", "action", "target", "outcome"})
#: Longest value written for a target or a detail, in characters.
MAX_VALUE_CHARS = 200
#: Set in a background job's environment (survival_core.runs.jobs) to the app user who started
#: it: what the job does (a model made active by its run) is theirs.
JOB_USER_ENV = "RADSURV_JOB_USER"
_lock = threading.Lock()


def os_user() -> str:
    """The operating-system user running this process, for what a command (not an app login)
    does: a cleanup, a model made active by `train --activate` typed at a shell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        return "cli"


def command_user() -> str:
    """Who a command acts for: the app user who started it as a background job
    (:data:`JOB_USER_ENV`), else the operating-system user (a command typed at a shell)."""
    return os.environ.get(JOB_USER_ENV) or os_user()


def audit_path() -> Path:
    """The audit log file (its folder is created on first use)."""
    return data_subdir("logs") / AUDIT_FILE


def looks_identifying(value: str) -> bool:
    """Whether a value looks like a DICOM person name ('Family^Given'), which has no place in the
    audit log (run ids hold dates, so dates cannot be refused here)."""
    return "^" in value


def loggable(text: str) -> bool:
    """Whether a line may hold ``text`` as its user, target or a detail: at most
    :data:`MAX_VALUE_CHARS` characters, nothing like a person name. What is edited and then
    audited (an account) is checked with it first, so no edit is left unaudited."""
    return len(text) <= MAX_VALUE_CHARS and not looks_identifying(text)


def _clean(name: str, value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    if not loggable(text):
        raise InputError(
            f"Audit {name} {text[:40]!r} is refused: it is too long or looks like a person name; "
            "log pseudonymised ids only."
        )
    return text


def audit(user: str, action: str, target: str = "", outcome: str = "ok", **details: Any) -> dict:
    """Append one audit line and return it as written.

    ``target`` is the pseudonymised case id (``RS-...``), run id or model name; ``details`` are
    short extra facts (model name, number of files), never identifiers.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; expected one of {sorted(ACTIONS)}")
    clash = sorted(set(details) & RESERVED)
    if clash:
        raise ValueError(f"audit details cannot be named {clash}: those fields are set here")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}; expected one of {sorted(OUTCOMES)}")
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": _clean("user", user),
        "action": action,
        "target": _clean("target", target),
        "outcome": outcome,
        **{key: _clean(key, value) for key, value in details.items()},
    }
    line = (json.dumps(entry, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
    with _lock:  # flock is per open file description; the lock orders this process's threads
        fd = os.open(audit_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"audit log: short write ({written} of {len(line)} bytes)")
        finally:
            os.close(fd)  # closing releases the flock
    return entry


def read_audit(path: Path | None = None) -> list[dict]:
    """All audit entries, oldest first (for the admin page and tests)."""
    path = path or audit_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
