"""Work done once per key: concurrent callers share one computation, failures are not kept,
results are dropped when no longer valid; uploads stored and classified once per content."""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import InputError
from survival_core.io import upload_case, uploads
from survival_core.io.upload_case import describe_upload
from survival_core.io.uploads import store_upload
from survival_core.once import OncePerKey


def _at_once(count: int, work) -> list:
    """``work()`` in ``count`` threads released together."""
    start = threading.Barrier(count)

    def run():
        start.wait()
        return work()

    with ThreadPoolExecutor(count) as threads:
        return [f.result() for f in [threads.submit(run) for _ in range(count)]]


def test_callers_asking_at_once_share_one_computation():
    once, calls = OncePerKey(), []

    def slow(value: int) -> int:
        calls.append(value)
        time.sleep(0.2)
        return value * 2

    assert _at_once(8, lambda: once.get("k", slow, 21)) == [42] * 8
    assert calls == [21]
    assert once.get("k", slow, 5) == 42  # remembered under its key
    assert once.get("other", slow, 5) == 10 and calls == [21, 5]


def test_a_failure_reaches_every_waiting_caller_and_is_not_kept():
    once, calls = OncePerKey(), []

    def failing() -> int:
        calls.append(1)
        time.sleep(0.2)
        raise InputError("bad upload")

    def ask():
        with pytest.raises(InputError, match="bad upload"):
            once.get("k", failing)
        return True

    assert all(_at_once(4, ask))
    assert len(calls) == 1
    assert once.get("k", lambda: 7) == 7  # asked again: computed again


def test_an_invalid_result_is_computed_again_and_the_oldest_key_goes_first():
    once, valid = OncePerKey(size=2), {"a": False}
    assert once.get("a", lambda: "first") == "first"
    assert once.get("a", lambda: "second", still_valid=lambda r: valid["a"]) == "second"
    once.get("b", lambda: 1)
    once.get("c", lambda: 2)  # "a" was the least recently used of three
    assert once.get("a", lambda: "third") == "third"
    once.clear()
    assert once.get("b", lambda: "new") == "new"


def _nifti_bytes(tmp_path, name: str, value: int) -> bytes:
    path = tmp_path / name
    sitk.WriteImage(sitk.GetImageFromArray(np.full((3, 4, 5), value, np.int16)), str(path))
    return path.read_bytes()


def test_sessions_uploading_the_same_files_store_and_classify_them_once(tmp_path, monkeypatch):
    files = [
        ("CT.nii", _nifti_bytes(tmp_path, "a.nii", 100)),
        ("GTV.nii", _nifti_bytes(tmp_path, "b.nii", 1)),
    ]
    stores, describes = [], []
    real_store, real_describe = uploads._store, upload_case._describe
    monkeypatch.setattr(uploads, "_store", lambda *a: stores.append(1) or real_store(*a))
    monkeypatch.setattr(
        upload_case, "_describe", lambda *a: describes.append(1) or real_describe(*a)
    )
    folders = _at_once(8, lambda: store_upload(files))
    contents = _at_once(8, lambda: describe_upload(folders[0]))
    assert len(set(folders)) == 1 and len(stores) == 1
    assert all(c is contents[0] for c in contents) and len(describes) == 1
    assert contents[0].kind == "volumes" and sorted(contents[0].volumes) == ["CT.nii", "GTV.nii"]
    shutil.rmtree(folders[0])  # removed (retention): stored again when uploaded again
    assert store_upload(files) == folders[0] and folders[0].is_dir() and len(stores) == 2
    # the same content in the same folder: its classification still holds
    assert describe_upload(folders[0]) is contents[0] and len(describes) == 1
    shutil.rmtree(folders[0])
    with pytest.raises(InputError, match="no longer exists"):  # gone: not answered from memory
        describe_upload(folders[0])
    other = store_upload([("CT.nii", files[0][1]), ("GTV.nii", files[0][1])])
    assert other != folders[0] and len(stores) == 3  # other content: its own folder
