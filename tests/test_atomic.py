"""Atomic writes: whole new content or the old content, never a half-written file or folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from survival_core.io import atomic


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def copy_checking_midway(check):
    """A ``shutil.copyfile`` that calls ``check()`` when half of a file is written: the moment a
    non-atomic writer would leave a partial file visible."""

    def copyfile(src, dst, *, follow_symlinks=True):
        data = Path(src).read_bytes()
        with open(dst, "wb") as target:
            target.write(data[: len(data) // 2])
            target.flush()
            check()
            target.write(data[len(data) // 2 :])
        return dst

    return copyfile


def visible_files_whole(folder: Path, names: set[str], size: int) -> bool:
    """Whether ``folder`` holds exactly ``names``, each ``size`` bytes of one repeated value."""
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return set(files) == names and all(
        len(data) == size and data.count(data[:1]) == size for data in files.values()
    )


def _make_tree(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(
    ("write", "value", "read"),
    [
        (atomic.write_bytes, b"\x00\x01binary", Path.read_bytes),
        (atomic.write_text, "c-index 0.71 \u2265 0.7", Path.read_text),
        (
            atomic.write_json,
            {"c_index": 0.71, "folds": [1, 2]},
            lambda p: json.loads(p.read_text()),
        ),
    ],
)
def test_writes_create_parents_replace_and_leave_no_temp_files(tmp_path, write, value, read):
    path = tmp_path / "a" / "b" / "out"
    write(path, value)
    write(path, value)  # replacing an existing file
    assert read(path) == value
    assert os.listdir(path.parent) == ["out"]


def test_write_json_refuses_nan_and_keeps_old_content(tmp_path):
    path = atomic.write_json(tmp_path / "m.json", {"c_index": 0.7})
    with pytest.raises(ValueError):
        atomic.write_json(path, {"c_index": float("nan")})
    assert json.loads(path.read_text()) == {"c_index": 0.7}
    assert os.listdir(tmp_path) == ["m.json"]


def test_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    path = atomic.write_text(tmp_path / "config.yaml", "old: 1\n")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_text(path, "new: 2\n" * 1000)
    monkeypatch.undo()
    assert path.read_text() == "old: 1\n" and os.listdir(tmp_path) == ["config.yaml"]


def _half_copy_then_crash(calls: list[str]):
    """A ``shutil.copy2`` that writes half of the second file it copies, then fails."""
    real = shutil.copy2

    def copy2(src, dst, **kwargs):
        calls.append(src)
        if len(calls) == 2:
            data = Path(src).read_bytes()
            Path(dst).write_bytes(data[: len(data) // 2])
            raise OSError("I/O error mid-copy")
        return real(src, dst, **kwargs)

    return copy2


def test_copy_file_crash_mid_copy_keeps_old_file(tmp_path, monkeypatch):
    src = _make_tree(tmp_path / "src", {"a.bin": b"A" * 10, "b.bin": b"B" * 1000})
    dst = tmp_path / "out" / "b.bin"
    atomic.copy_file(src / "a.bin", dst)
    monkeypatch.setattr(shutil, "copy2", _half_copy_then_crash([str(src / "a.bin")]))
    with pytest.raises(OSError, match="mid-copy"):
        atomic.copy_file(src / "b.bin", dst)
    assert dst.read_bytes() == b"A" * 10 and os.listdir(dst.parent) == ["b.bin"]


def test_copy_tree_new_and_replacing_with_another_file_set(tmp_path):
    first = _make_tree(tmp_path / "v1", {"model.json": b"{1}", "old_only.txt": b"x"})
    second = _make_tree(tmp_path / "v2", {"model.json": b"{2}", "sub/weights.pt": b"W" * 4096})
    dst = tmp_path / "out" / "model"
    assert atomic.copy_tree(first, dst) == dst and _tree(dst) == _tree(first)
    atomic.copy_tree(second, dst)
    assert _tree(dst) == _tree(second)  # the old-only file is gone, nothing mixed
    assert os.listdir(dst.parent) == ["model"]


@pytest.mark.parametrize("crash_at", ["copy", "swap"])
def test_copy_tree_crash_keeps_old_folder_and_no_stray_temp(tmp_path, monkeypatch, crash_at):
    old = _make_tree(tmp_path / "old", {"model.json": b"{old}", "card.json": b"{card}"})
    new = _make_tree(tmp_path / "new", {"model.json": b"{new}" * 500, "card.json": b"{n}" * 500})
    dst = tmp_path / "out" / "model"
    atomic.copy_tree(old, dst)
    if crash_at == "copy":
        monkeypatch.setattr(shutil, "copy2", _half_copy_then_crash([]))
    else:  # the new copy is complete and the old folder renamed aside; renaming the new one in fails
        real_replace, seen = os.replace, []

        def replace(src, dst_):
            seen.append(src)
            if len(seen) == 2:
                raise OSError("rename failed")
            return real_replace(src, dst_)

        monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError):
        atomic.copy_tree(new, dst)
    monkeypatch.undo()
    assert _tree(dst) == _tree(old)
    assert os.listdir(dst.parent) == ["model"]


def test_a_folder_another_writer_swaps_in_meanwhile_is_replaced_in_turn(tmp_path, monkeypatch):
    """Two saves into one model folder at the same instant: the other writer's folder came in
    between setting ours aside and renaming ours in, and the save failed with 'Directory not
    empty', the set-aside copy left behind for good. The last writer wins, whole."""
    dst = _make_tree(tmp_path / "model", {"model.json": b"{first}"})
    other = _make_tree(tmp_path / ".other", {"model.json": b"{other}", "card.json": b"{other}"})
    real_replace, calls = os.replace, []

    def replace(src, target):
        calls.append(Path(src).name)
        if len(calls) == 2:  # ours set aside; the other writer renames its folder in first
            real_replace(other, dst)
        return real_replace(src, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with atomic.replaced_folder(dst) as folder:
        (folder / "model.json").write_bytes(b"{ours}")
        (folder / "card.json").write_bytes(b"{ours}")
    monkeypatch.undo()
    assert _tree(dst) == {"model.json": b"{ours}", "card.json": b"{ours}"}
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_no_half_written_file_is_ever_visible(tmp_path, monkeypatch):
    """Replacing a folder of files again and again: at the middle of every file copy, the
    destination holds one whole version (every file complete), never a partial file."""
    size, names = 64 * 1024, {"f0.bin", "f1.bin", "f2.bin"}
    versions = [
        _make_tree(tmp_path / f"v{v}", {name: bytes([v]) * size for name in names})
        for v in range(2)
    ]
    dst = tmp_path / "out" / "plots"
    atomic.copy_tree(versions[0], dst)
    checks: list[bool] = []
    check = copy_checking_midway(lambda: checks.append(visible_files_whole(dst, names, size)))
    monkeypatch.setattr(shutil, "copyfile", check)
    for r in range(4):
        atomic.copy_tree(versions[(r + 1) % 2], dst)
    monkeypatch.undo()
    assert checks == [True] * 12
    assert _tree(dst) == _tree(versions[0]) and os.listdir(dst.parent) == ["plots"]


def test_json_ready_gives_strict_json_data():
    import math

    import numpy as np

    from survival_core.io.atomic import json_ready

    value = {1: (np.float64(0.5), np.int64(3)), "x": [math.nan, np.float32(np.inf), "a"]}
    assert json_ready(value) == {"1": [0.5, 3], "x": [None, None, "a"]}
    assert isinstance(json_ready(np.int64(3)), int)


def _modes_at_rename(monkeypatch) -> list[int]:
    """The permission bits of each file ``os.replace`` renames into place, as it renames it."""
    real, modes = os.replace, []

    def replace(src, dst):
        modes.append(stat.S_IMODE(os.stat(src).st_mode))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return modes


@pytest.fixture()
def umask_022():
    """The common umask (files 0644 by default) for the test, the previous one restored."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_private_file_is_private_before_it_is_renamed_into_place(
    tmp_path, monkeypatch, umask_022
):
    """A file of password hashes was renamed in with 0644 and only then chmodded to 0600."""
    modes = _modes_at_rename(monkeypatch)
    path = atomic.write_text(tmp_path / "secret.yaml", "hash: x\n", mode=0o600)
    atomic.write_bytes(path, b"hash: y\n", mode=0o600)  # replacing keeps it private too
    assert modes == [0o600, 0o600] and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "hash: y\n"
    atomic.write_text(tmp_path / "plain.txt", "x")  # without a mode: 0666 less the umask
    assert modes[-1] == 0o644


def test_a_folder_replaced_through_a_symlink_replaces_the_folder_it_names(tmp_path):
    """`fit --out active`, a link to the model in use: the link was moved aside and removing it
    failed ('Cannot call rmtree on a symbolic link') after the model was written, the link gone
    and its folder keeping the old model."""
    (tmp_path / "store" / "v1").mkdir(parents=True)
    (tmp_path / "store" / "v1" / "model.json").write_text("old")
    (tmp_path / "active").symlink_to(tmp_path / "store" / "v1")
    with atomic.replaced_folder(tmp_path / "active") as folder:
        (folder / "model.json").write_text("new")
    assert (tmp_path / "active").is_symlink()
    assert (tmp_path / "store" / "v1" / "model.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["active", "store"]
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["v1"]
