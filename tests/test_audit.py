"""The audit log: one JSON line per action, appended whole even under concurrent writers, and
identifiers refused."""

from __future__ import annotations

import json
import multiprocessing
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from survival_core.audit import audit, audit_path, read_audit
from survival_core.errors import InputError


@pytest.fixture()
def log(tmp_path, monkeypatch):
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    return audit_path()


def test_one_line_per_action_with_time_user_action_target_outcome(log):
    before = datetime.now(UTC)
    audit("alice", "login")
    audit("alice", "score_case", "RS-0123456789", model="coxph-v2")
    audit("bob", "promote_model", "hcc-default", outcome="refused", version=3)
    entries = read_audit()
    assert [e["action"] for e in entries] == ["login", "score_case", "promote_model"]
    assert entries[1] == {
        "time": entries[1]["time"],
        "user": "alice",
        "action": "score_case",
        "target": "RS-0123456789",
        "outcome": "ok",
        "model": "coxph-v2",
    }
    assert entries[2]["outcome"] == "refused" and entries[2]["version"] == 3
    stamp = datetime.fromisoformat(entries[0]["time"])
    assert stamp.tzinfo is not None and before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
    assert len(log.read_text().splitlines()) == 3
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_earlier_lines_are_never_rewritten(log):
    audit("alice", "login")
    first = log.read_bytes()
    audit("alice", "logout")
    assert log.read_bytes().startswith(first)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"action": "upload_case", "target": "Zyxwv^Qwerty"}, InputError),
        ({"action": "upload_case", "target": "RS-1", "patient": "Doe^Jane"}, InputError),
        ({"action": "upload_case", "target": "x" * 500}, InputError),
        ({"action": "steal_data", "target": "RS-1"}, ValueError),
        ({"action": "login", "target": "", "outcome": "maybe"}, ValueError),
        ({"action": "login", "target": "", "time": "yesterday"}, ValueError),
    ],
)
def test_identifiers_and_unknown_actions_are_refused(log, kwargs, error):
    with pytest.raises(error):
        audit("alice", **kwargs)
    assert read_audit() == []


def _write_many(args: tuple[str, int]) -> None:
    user, n = args
    for k in range(n):
        audit(user, "score_case", f"RS-{k:010d}", padding="p" * 150)


def _check_lines(text: str, expected: int) -> None:
    lines = text.splitlines()
    assert len(lines) == expected
    for line in lines:  # a torn or interleaved line would not parse
        entry = json.loads(line)
        assert entry["action"] == "score_case" and len(entry["padding"]) == 150


def test_concurrent_threads_do_not_interleave(log):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(_write_many, [(f"user{i}", 50) for i in range(8)]))
    _check_lines(log.read_text(), 400)


def test_concurrent_processes_do_not_interleave(log):
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_write_many, [(f"proc{i}", 100) for i in range(4)])
    _check_lines(log.read_text(), 400)
    assert {e["user"] for e in read_audit()} == {f"proc{i}" for i in range(4)}
