"""One writer at a time per folder, and what killed writers left behind.

:func:`folder_lock` holds an exclusive ``flock`` on a hidden file of the folder for as long as a
writer works there: two cohort imports into one folder each deleted the other's half-built
cases, and two processes preparing the demo each renamed the other's staging folder away. The
kernel drops the lock when its process dies, so a killed writer never blocks the next one. A
folder replaced whole (a fitted model) keeps its lock beside it (``beside``): a lock file inside
would be swapped away with the folder, and the next writer would lock a new one. Such a lock,
outside the folder, holds its holder's pid for a refusal to name and is removed with the lock (a
refused fit left it in the working folder); one inside a folder is never written (a rerun import
touches no file of its cohort).

:func:`remove_leftovers` deletes the hidden temporary siblings (:func:`~.atomic.temp_sibling`)
whose writer is no longer running (:func:`process_alive`, which the run store and the jobs use
too): a writer killed between writing and renaming leaves one, and a rerun must neither refuse
the folder for it nor keep it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from survival_core.errors import ConfigError

#: Name of a :func:`~.atomic.temp_sibling`: '.manifest.csv.tmp-15983-0a1b2c3d'.
_SIBLING = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}")


#: What a refused writer is told to do when the other writer goes on from what each wrote.
RERUN = "wait for it to finish, then run this again (it goes on from what the other wrote)."


@contextmanager
def folder_lock(
    folder: Path,
    lock_name: str,
    what: str,
    *,
    wait: bool = False,
    beside: bool = False,
    advice: str = RERUN,
) -> Iterator[None]:
    """Hold the lock ``lock_name`` (a hidden file) of ``folder`` while the block runs: in it
    (created), or ``beside`` it in its parent (``.<folder name>.<lock_name>``, holding the
    holder's pid, removed afterwards). Another holder: wait for it (``wait``), else
    :class:`ConfigError` naming ``what`` runs (and its pid, when known) and ``advice``."""
    if beside:
        folder.parent.mkdir(parents=True, exist_ok=True)
        path = folder.parent / f".{folder.name}.{lock_name.lstrip('.')}"
    else:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / lock_name
    while True:
        stream = open(path, "a+")  # noqa: SIM115 - held past this loop, closed below
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _holder(stream)
            stream.close()
            raise ConfigError(
                f"Another {what} into {folder} is running{holder}: {advice}"
            ) from None
        if not beside or _names(path, stream):
            break
        stream.close()  # its holder removed it as this one waited: lock the one there now
    with stream:
        if beside:
            os.ftruncate(stream.fileno(), 0)
            stream.write(str(os.getpid()))
            stream.flush()
        try:
            yield
        finally:
            if beside:  # removed while held: a writer that opened it sees it gone, and retries
                path.unlink(missing_ok=True)
            fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


def _names(path: Path, stream: IO[str]) -> bool:
    """Whether ``path`` still names the file open as ``stream`` (not removed, nor made anew)."""
    try:
        return path.stat().st_ino == os.fstat(stream.fileno()).st_ino
    except FileNotFoundError:
        return False


def _holder(stream: IO[str]) -> str:
    """' (pid N)' of the process holding the lock file ``stream`` (one beside its folder holds
    it), or ''."""
    stream.seek(0)
    pid = stream.read().strip()
    return f" (pid {pid})" if pid.isdigit() else ""


def is_temp_sibling(name: str) -> bool:
    """Whether ``name`` is a :func:`~.atomic.temp_sibling`'s (a write in progress or left)."""
    return _SIBLING.fullmatch(name) is not None


def remove_leftovers(folder: Path) -> list[str]:
    """Delete the temporary siblings in ``folder`` whose writer is no longer running, their
    names; a set-aside folder whose replacement never came (its writer killed between the two
    renames) is put back instead: it is the only copy. Writers are told alive by their pid on
    this host: a folder shared with another host's writers is not for this."""
    removed = []
    for path in folder.iterdir():
        found = _SIBLING.fullmatch(path.name)
        if found is None or process_alive(int(found["pid"])):
            continue
        if found["kind"] == "old" and not (folder / found["name"]).exists():
            os.replace(path, folder / found["name"])
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``; '' elsewhere).
    With the pid it names a process uniquely, even after the pid is reused."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_alive(pid: int, start: str = "") -> bool:
    """Whether process ``pid`` (started at ``start``, see :func:`process_start`) still runs on
    this host; a zombie (killed, not yet reaped by its parent) counts as gone."""
    if Path("/proc/self/stat").exists():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return False
        return fields[0] != "Z" and (not start or fields[19] == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
