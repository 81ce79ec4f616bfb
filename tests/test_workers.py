"""Pool workers die with their parent: a SIGKILLed import or extraction leaves no process behind
working on a cohort folder that a rerun is about to resume."""

from __future__ import annotations

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
