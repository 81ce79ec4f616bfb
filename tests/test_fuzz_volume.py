"""Fuzzing NIfTI reading: mutated headers and files end in a volume or an InputError, never a crash.

Inputs are a small int16 NIfTI-1 volume written by SimpleITK, as .nii and .nii.gz. Header fields are
overwritten (dims, pixdim zero/negative/NaN/infinite, datatype and bitpix, vox_offset, scaling,
qform/sform codes, quaternion and affine rows, magic), then bytes are mutated (bit flips, truncation,
insertions); the .nii.gz is compressed afterwards and its gzip stream may be damaged as well. Each
input is read with :func:`read_volume`.
"""

from __future__ import annotations

import gzip
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import strategies as st

from survival_core.errors import InputError
from survival_core.io.volume import read_volume
from tests.fuzzing import BYTE_OPS, MAX_EXAMPLES, Fuzzer, apply_byte_ops, fuzz_test

#: NIfTI-1 header fields: name -> (offset, struct format, number of values).
FIELDS = {
    "sizeof_hdr": (0, "i", 1),
    "dim_info": (39, "b", 1),
    "dim": (40, "h", 8),
    "datatype": (70, "h", 1),
    "bitpix": (72, "h", 1),
    "pixdim": (76, "f", 8),
    "vox_offset": (108, "f", 1),
    "scl_slope": (112, "f", 1),
    "scl_inter": (116, "f", 1),
    "xyzt_units": (123, "b", 1),
    "qform_code": (252, "h", 1),
    "sform_code": (254, "h", 1),
    "quatern": (256, "f", 6),
    "srow": (280, "f", 12),
    "magic": (344, "4s", 1),
}
_LIMITS = {"b": 2**7, "h": 2**15, "i": 2**31}

VALUES = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 4, 7, 8, 16, 64, 255, 512, 1024, 32767, -32768]),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from(
        [0.0, -0.0, -1.0, 1e-30, 1e30, 3.4e38, float("nan"), float("inf"), -float("inf")]
    ),
    st.floats(width=32),
    st.sampled_from([b"n+1\0", b"ni1\0", b"n+2\0", b"\0\0\0\0"]),
    st.binary(min_size=4, max_size=4),
)
HEADER_OPS = st.tuples(st.sampled_from(sorted(FIELDS)), st.integers(0, 11), VALUES)


def _pack(fmt: str, value: int | float | bytes) -> bytes:
    """``value`` as a little-endian field of type ``fmt``: floats clipped to float32's range,
    integers wrapped to the field's width, bytes taken as they are (as the integer they spell)."""
    if isinstance(value, bytes):
        return value if fmt == "4s" else _pack(fmt, int.from_bytes(value, "little", signed=True))
    if fmt in ("f", "4s") and isinstance(value, float):
        return struct.pack(
            "<f", float(np.clip(value, -3.4e38, 3.4e38)) if np.isfinite(value) else value
        )
    number = int(value) if np.isfinite(value) else 0
    fmt = "i" if fmt == "4s" else fmt
    if fmt == "f":
        return struct.pack("<f", float(number))
    limit = _LIMITS[fmt]
    return struct.pack("<" + fmt, (number + limit) % (2 * limit) - limit)


def apply_header_ops(data: bytes, ops: list[tuple]) -> bytes:
    """Write each value into its field (element ``index`` of an array field)."""
    buffer = bytearray(data)
    for field, index, value in ops:
        offset, fmt, count = FIELDS[field]
        at = offset + (index % count) * struct.calcsize(fmt)
        packed = _pack(fmt, value)
        buffer[at : at + len(packed)] = packed
    return bytes(buffer)


def _nifti() -> bytes:
    image = sitk.GetImageFromArray(
        (np.arange(5 * 6 * 7) % 300 - 100).astype(np.int16).reshape(5, 6, 7)
    )
    image.SetSpacing((0.8, 0.9, 2.5))
    image.SetOrigin((-10.0, 20.0, 30.0))
    with tempfile.TemporaryDirectory() as tmp:
        sitk.WriteImage(image, str(Path(tmp) / "v.nii"))
        return (Path(tmp) / "v.nii").read_bytes()


NIFTI = _nifti()


def test_unmutated_inputs_read(tmp_path: Path) -> None:
    (tmp_path / "v.nii").write_bytes(NIFTI)
    (tmp_path / "v.nii.gz").write_bytes(gzip.compress(NIFTI))
    for name in ("v.nii", "v.nii.gz"):
        image = read_volume(tmp_path / name)
        assert image.GetSize() == (7, 6, 5)
        assert np.allclose(image.GetSpacing(), (0.8, 0.9, 2.5))
    assert apply_header_ops(NIFTI, [("dim", 1, 7), ("pixdim", 1, 0.8)]) == NIFTI


def _read_checked(path: Path) -> None:
    """Read, and check that an accepted volume has a usable geometry."""
    image = read_volume(path)
    assert min(image.GetSpacing()) > 0
    assert np.all(np.isfinite([*image.GetSpacing(), *image.GetOrigin(), *image.GetDirection()]))


def _feed(
    run: Callable, compressed: bool, header_ops: list, byte_ops: list, gzip_ops: list
) -> None:
    """A mutated NIfTI (gzip-compressed, its stream damaged too, when ``compressed``) read from a
    temporary file."""
    data = apply_byte_ops(apply_header_ops(NIFTI, header_ops), byte_ops)
    name = "image.nii"
    if compressed:
        data, name = apply_byte_ops(gzip.compress(data, mtime=0), gzip_ops), "image.nii.gz"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        run(lambda: _read_checked(path))


FUZZER = Fuzzer(
    "NIfTI reader",
    st.fixed_dictionaries(
        {
            "compressed": st.booleans(),
            "header_ops": st.lists(HEADER_OPS, max_size=4),
            "byte_ops": st.lists(BYTE_OPS, max_size=2),
            "gzip_ops": st.lists(BYTE_OPS, max_size=2),
        }
    ),
    _feed,
)


def test_fuzz_nifti_reader() -> None:
    outcomes = fuzz_test(FUZZER)
    assert sum(outcomes.values()) >= MAX_EXAMPLES
    assert outcomes["success"] > 0 and len(outcomes) > 1  # read some, refused others


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([("vox_offset", 0, float("nan"))], "invalid voxel offset"),
        ([("vox_offset", 0, -352.0)], "invalid voxel offset"),
        ([("pixdim", 1, float("nan"))], "invalid voxel size"),
        ([("pixdim", 2, float("inf"))], "invalid voxel size"),
        ([("dim", 1, 32767), ("dim", 2, 32767), ("dim", 3, 32767)], "truncated"),
    ],
)
def test_found_by_fuzzing(tmp_path: Path, ops: list, message: str) -> None:
    """Inputs the fuzzer turned up (a NaN offset crashed the size check, a NaN voxel size became 1 mm) end in InputError."""
    path = tmp_path / "image.nii"
    path.write_bytes(apply_header_ops(NIFTI, ops))
    with pytest.raises(InputError, match=message):
        read_volume(path)
