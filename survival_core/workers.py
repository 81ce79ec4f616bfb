"""The worker processes of RadSurv's process pools (feature extraction, import, the synthetic
cohort, cross-validation folds) and their start-up.

:func:`worker_pool` is the one way a pool is made: spawned workers (fresh interpreters: forking a
process that has run ITK filters could deadlock on their thread pools) that leave Ctrl-C to their
parent. Ctrl-C reaches every process of the terminal's process group; workers taking it printed
a ``KeyboardInterrupt`` traceback each (in their start-up, or waiting for work) before the
parent's ``interrupted`` line. They start with SIGINT blocked instead, and when the parent is
interrupted (or its work fails) it kills them rather than waiting for the work they hold.

A pool's workers are spawned children; if the parent is killed outright (SIGKILL, the OOM
killer) they would be re-parented to init and go on working on a cohort folder nobody watches,
racing the rerun that resumes it. On Linux each worker asks the kernel to kill it when its parent
dies; elsewhere this is a no-op. The kernel's notice is tied to the parent *thread*, so workers
spawned from a short-lived thread (a web server's script run) watch the parent process instead
(:func:`exit_with_parent`).

Ray 2.60 puts the working folder of the process that started Ray first on each of its workers'
``sys.path``, where a user's folder named like a module a library probes for (a download folder
``dl``, which gdcm imports) shadows it: :func:`leave_out_of_path` takes it off again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

#: prctl(2) option: the signal a process gets when its parent thread dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have this process SIGKILLed when its parent dies (Linux); exit at once if it already has."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class _Worker(SpawnProcess):
    """A spawned process started with SIGINT blocked (the mask goes with it through fork and
    exec, and Python leaves it so): a Ctrl-C is its parent's to handle."""

    def start(self) -> None:
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:  # a Ctrl-C meanwhile was held for this process, not lost
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


class WorkerContext(SpawnContext):
    """The "spawn" context of one pool: its processes are :class:`_Worker` (a Ctrl-C is their
    parent's), listed to be killed."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[_Worker] = []

    def Process(self, *args: Any, **kwargs: Any) -> _Worker:  # noqa: N802 - multiprocessing's
        process = _Worker(*args, **kwargs)
        self.started.append(process)
        return process


@contextmanager
def worker_pool(
    workers: int, initializer: Callable[[], None] = die_with_parent
) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` spawned processes, each set up by ``initializer``, that leave Ctrl-C
    to this process. The block ends, the pool's work is waited for; it is interrupted (Ctrl-C,
    SIGTERM) or fails, the workers are killed at once (they would first finish the work they
    hold: a cross-validation fold, minutes)."""
    context = WorkerContext()
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)
    try:
        yield pool
    except BaseException:
        for process in context.started:
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def leave_out_of_path(folder: str) -> None:
    """Ray worker set-up hook: take ``folder`` (the driver's working folder) off ``sys.path``.
    Ray adds the driver's paths when the worker takes its first task, after this hook; they are
    added now (Ray does it once per worker) so that the folder can be taken off."""
    from ray._raylet import maybe_initialize_job_config

    maybe_initialize_job_config()
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != folder]


def exit_with_parent(every: float = 1.0) -> None:
    """End this process when its parent process ends (checked every ``every`` seconds by a daemon
    thread): for workers that must outlive the thread that spawned them."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
