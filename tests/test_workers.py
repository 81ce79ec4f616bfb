"""Pool workers die with their parent: a SIGKILLed import or extraction leaves no process behind
working on a cohort folder that a rerun is about to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = """
import os, sys, time
from survival_core.engine import ProcessMapper

def report_and_sleep(seconds):
    print(os.getpid(), flush=True)
    time.sleep(seconds)
    return seconds

if __name__ == "__main__":
    for _ in ProcessMapper(2).map_unordered(report_and_sleep, [60, 60]):
        pass
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_killed_parent_takes_its_workers_along(tmp_path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    workers = [int(parent.stdout.readline()) for _ in range(2)]
    assert all(_alive(pid) for pid in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), workers


KILLED_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from survival_core.engine import ProcessMapper

MARK = Path(sys.argv[1])

def work(item):
    if item == "always" or item == "once" and not (MARK / "killed").exists():
        (MARK / "killed").write_text("x")
        os.kill(os.getpid(), signal.SIGKILL)  # at once: another item is running beside it
    time.sleep(0.2)
    return item.upper()

if __name__ == "__main__":
    items = ["always", "a", "once", "b", "c", "d", "e", "f"]
    for item, result in sorted(ProcessMapper(2).map_unordered(work, items)):
        print(item, type(result).__name__, result if isinstance(result, str) else "", flush=True)
"""


def _run_script(tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess:
    """Script ``text`` written to ``tmp_path/name`` and run with ``tmp_path`` as its argument."""
    script = tmp_path / name
    script.write_text(text)
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_a_killed_worker_fails_only_what_it_ran_each_time(tmp_path) -> None:
    """One radiomics worker killed (out of memory, kill -9) broke the pool: every case still
    waiting failed with BrokenProcessPool, 13 of 30 patients left out of a training run. The
    waiting items run again in a new pool, the running ones alone; one that kills its worker
    each time fails alone, not the items running beside it."""
    done = _run_script(tmp_path, "pool.py", KILLED_SCRIPT)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert {k: v.split()[0] for k, v in lines.items()} == {
        "a": "str", "always": "WorkerKilled", "b": "str", "c": "str", "d": "str", "e": "str",
        "f": "str", "once": "str",
    }  # fmt: skip
    assert lines["once"] == "str ONCE"


FOLDS_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from survival_core.engine import process_fold_map

MARK = Path(sys.argv[1])

def fold(item):
    if item == "always" or item == "once" and not (MARK / "killed").exists():
        (MARK / "killed").write_text("x")
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    time.sleep(0.2)
    return item.upper()

if __name__ == "__main__":
    folds = process_fold_map(2)
    print(list(folds(fold, ["a", "once", "b", "c"])), flush=True)
    try:
        list(folds(fold, ["a", "always", "b"]))
    except Exception as error:
        print(type(error).__name__, error, flush=True)
"""


def test_a_killed_fold_worker_runs_its_fold_again_then_fails_with_a_message(tmp_path) -> None:
    """`cv --workers 2` with a fold worker killed (out of memory, kill -9) ended in a raw
    BrokenProcessPool traceback, exit 1 and no JSON line: the fold runs again, results in the
    folds' order; one whose worker is killed each time fails as a RadSurvError (cv's error line
    and JSON)."""
    done = _run_script(tmp_path, "folds.py", FOLDS_SCRIPT)
    assert done.stdout.splitlines() == [
        "['A', 'ONCE', 'B', 'C']",
        "WorkerKilled the worker process was killed each of the 3 times it ran this (out of "
        "memory, or stopped from outside): too large for this machine's memory with this many "
        "workers? Run it again with fewer workers.",
    ], done.stderr[-3000:]


def _workers(pid: int) -> list[int]:
    """The pool workers of process ``pid``: its children running multiprocessing's spawn_main
    (Linux ``/proc``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def _interrupt_when(process: subprocess.Popen, ready, after: float = 0.0) -> None:
    """Ctrl-C to ``process``'s whole process group, as a terminal sends it, ``after`` seconds
    once ``ready()``."""
    deadline = time.monotonic() + 60
    while not ready():
        assert process.poll() is None and time.monotonic() < deadline, "never ready"
        time.sleep(0.02)
    time.sleep(after)
    os.killpg(process.pid, signal.SIGINT)


def test_ctrl_c_while_workers_start_is_one_line_not_their_tracebacks(tmp_path) -> None:
    """Ctrl-C reaches every process of the terminal's group: `demo-cohort --workers 2`
    interrupted while its workers started printed a KeyboardInterrupt traceback from each
    (multiprocessing's spawn.py) before `error: interrupted`. Workers leave it to the parent."""
    command = [sys.executable, "-m", "survival_core", "demo-cohort", "--out", str(tmp_path / "c")]
    run = subprocess.Popen(
        [*command, "--n", "40", "--workers", "2", "--json"], cwd=ROOT, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        workers: set[int] = set()
        ready = lambda: workers.update(_workers(run.pid)) or len(workers) >= 2  # noqa: E731
        _interrupt_when(run, ready, after=0.3)  # importing what they run
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    assert run.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "error: interrupted; nothing more was done."
    assert json.loads(out.strip().splitlines()[-1])["kind"] == "KeyboardInterrupt"
    assert not any(_alive(pid) for pid in workers)


BUSY_SCRIPT = """
import os, time
from survival_core.engine import ProcessMapper

def report_and_sleep(seconds):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: the two workers' lines stay whole
    time.sleep(seconds)

if __name__ == "__main__":
    for _ in ProcessMapper(2).map_unordered(report_and_sleep, [3600, 3600]):
        pass
"""


def test_ctrl_c_stops_busy_workers_at_once(tmp_path) -> None:
    """Workers ignoring Ctrl-C must not make the parent wait for the work they hold (an hour
    here): interrupted, it kills them and ends."""
    script = tmp_path / "pool.py"
    script.write_text(BUSY_SCRIPT)
    run = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        workers = [int(run.stdout.readline()) for _ in range(2)]  # both at work
        started = time.monotonic()
        _interrupt_when(run, lambda: True)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    assert time.monotonic() - started < 30
    assert err.count("Traceback") == 1 and "pool.py" in err  # the script's own, none of theirs
    assert not any(_alive(pid) for pid in workers)


SERVER = """
import time
from survival_core.workflows.case_pool import CasePool

pool = CasePool(workers=2)
print("started", flush=True)
try:
    time.sleep(120)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    pool.shutdown()
"""


def test_ctrl_c_to_the_server_is_not_a_traceback_from_each_case_worker(tmp_path) -> None:
    """The dashboard's case pool (its own pool, not :func:`worker_pool`): Ctrl-C to `make run`
    printed a KeyboardInterrupt traceback from each case worker still importing its modules."""
    (script := tmp_path / "server.py").write_text(SERVER)
    run = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert run.stdout.readline().strip() == "started"
        _interrupt_when(run, lambda: len(_workers(run.pid)) >= 2, after=0.3)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    assert out.strip() == "interrupted" and "Traceback" not in err, err[-3000:]
