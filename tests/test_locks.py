"""One writer per folder (:func:`folder_lock`) and what a killed writer left
(:func:`remove_leftovers`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from survival_core.errors import ConfigError
from survival_core.io.atomic import temp_sibling
from survival_core.io.locks import folder_lock, is_temp_sibling, remove_leftovers


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_writer_is_refused_until_the_first_dies(tmp_path: Path) -> None:
    """Another process holds the lock: refused, naming what runs; killed, it holds it no more."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from survival_core.io.locks import folder_lock\n"
            f"with folder_lock(Path({str(tmp_path)!r}), '.x.lock', 'import'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(ConfigError, match=rf"Another import into {tmp_path} is running"),
            folder_lock(tmp_path, ".x.lock", "import"),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with (
        folder_lock(tmp_path, ".x.lock", "import"),  # the kernel dropped the dead one's lock
        pytest.raises(ConfigError),  # and one process's second open is another writer
        folder_lock(tmp_path, ".x.lock", "import"),
    ):
        pass


def test_only_a_dead_writers_leftovers_are_removed(tmp_path: Path) -> None:
    """A set-aside folder whose replacement is in place is removed; one whose writer died
    before renaming its replacement in is the only copy: it is put back."""
    dead = tmp_path / f".manifest.csv.tmp-{_dead_pid()}-0a1b2c3d"
    dead.write_text("half")
    (tmp_path / "model").mkdir()
    (old := tmp_path / f".model.old-{_dead_pid()}-deadbeef").mkdir()
    (only := tmp_path / f".fitted.old-{_dead_pid()}-0123abcd").mkdir()
    (only / "model.json").write_text("{}")
    live = temp_sibling(tmp_path / "clinical.csv")  # this process's: a write in progress
    live.write_text("writing")
    (tmp_path / ".hidden.tmp-notes").write_text("the user's")
    assert sorted(remove_leftovers(tmp_path)) == sorted([dead.name, old.name])
    kept = ["fitted", "model", live.name, ".hidden.tmp-notes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert (tmp_path / "fitted" / "model.json").is_file()
    assert is_temp_sibling(live.name) and not is_temp_sibling(".hidden.tmp-notes")
