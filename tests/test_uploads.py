"""Uploads land in content-addressed folders with sanitised names."""

import pytest

from survival_core.errors import InputError
from survival_core.io.uploads import safe_name, store_upload


def test_same_bytes_same_folder_different_bytes_different_folder():
    first = store_upload([("scan.zip", b"abc")])
    assert store_upload([("scan.zip", b"abc")]) == first
    assert store_upload([("scan.zip", b"abd")]) != first
    assert (first / "scan.zip").read_bytes() == b"abc"


def test_order_of_files_does_not_matter():
    a = store_upload([("a.nii.gz", b"1"), ("b.nii.gz", b"2")])
    b = store_upload([("b.nii.gz", b"2"), ("a.nii.gz", b"1")])
    assert a == b


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\scan.zip", "scan.zip"),
        ("my scan.nii.gz", "my_scan.nii.gz"),
    ],
)
def test_path_components_are_stripped(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize("files", [[], [("..", b"x")], [("a.nii", b"1"), ("a.nii", b"2")]])
def test_bad_uploads_are_refused(files):
    with pytest.raises(InputError):
        store_upload(files)
