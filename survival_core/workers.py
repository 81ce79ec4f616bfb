"""Start-up of the worker processes of RadSurv's process pools (feature extraction, import).

A pool's workers are spawned children; if the parent is killed outright (SIGKILL, the OOM
killer) they would be re-parented to init and go on working on a cohort folder nobody watches,
racing the rerun that resumes it. On Linux each worker asks the kernel to kill it when its parent
dies; elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

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
