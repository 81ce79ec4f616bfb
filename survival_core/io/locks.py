"""One writer at a time per folder, and what killed writers left behind.

:func:`folder_lock` holds an exclusive ``flock`` on a hidden file of the folder for as long as a
writer works there: two cohort imports into one folder each deleted the other's half-built
cases, and two processes preparing the demo each renamed the other's staging folder away. The
kernel drops the lock when its process dies, so a killed writer never blocks the next one.

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

from survival_core.errors import ConfigError

#: Name of a :func:`~.atomic.temp_sibling`: '.manifest.csv.tmp-15983-0a1b2c3d'.
_SIBLING = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}")


@contextmanager
def folder_lock(folder: Path, lock_name: str, what: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the lock ``lock_name`` (a hidden file) of ``folder`` (created) while the block runs.
    Another holder: wait for it (``wait``), else :class:`ConfigError` naming ``what`` runs."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / lock_name, "a") as stream:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ConfigError(
                f"Another {what} into {folder} is running: wait for it to finish, then run this "
                "again (it goes on from what the other wrote)."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


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
