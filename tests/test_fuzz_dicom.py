"""Fuzzing the DICOM series reader: mutated CT slices end in a volume or a DicomError, never a crash.

Inputs are a generated 3-slice CT series (one slice mutated) and pydicom's CT_small.dcm, changed by
element-level mutations (values replaced by NaN, huge, negative or malformed numbers, lengths
changed, elements removed) and then byte-level ones (bit flips, truncation, inserted and deleted
bytes). Each input is read as a series folder with :func:`read_series`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from survival_core.errors import DicomError
from survival_core.io.dicom_series import read_series
from tests.dicom_fixtures import ct_slices, write
from tests.fuzzing import (
    BYTE_OPS,
    ELEMENT_OPS,
    MAX_EXAMPLES,
    UID_ROOT,
    Fuzzer,
    apply_byte_ops,
    apply_element_ops,
    fuzz_test,
)

#: pydicom warns about every malformed value it meets; the fuzzer makes thousands on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: Tags the reader interprets: geometry, pixel description, rescale, UIDs, transfer syntax.
IMAGE_TAGS = frozenset(
    {
        0x00020010,  # TransferSyntaxUID
        0x00080016,  # SOPClassUID
        0x00080018,  # SOPInstanceUID
        0x00080060,  # Modality
        0x00180050,  # SliceThickness
        0x0020000E,  # SeriesInstanceUID
        0x00200032,  # ImagePositionPatient
        0x00200037,  # ImageOrientationPatient
        0x00280002,  # SamplesPerPixel
        0x00280004,  # PhotometricInterpretation
        0x00280008,  # NumberOfFrames
        0x00280010,  # Rows
        0x00280011,  # Columns
        0x00280030,  # PixelSpacing
        0x00280100,  # BitsAllocated
        0x00280101,  # BitsStored
        0x00280102,  # HighBit
        0x00280103,  # PixelRepresentation
        0x00281052,  # RescaleIntercept
        0x00281053,  # RescaleSlope
        0x7FE00010,  # PixelData
    }
)


def fixed_ct_slices() -> list:
    """A 3-slice CT series with fixed UIDs, so the fuzz inputs are the same bytes on every run."""
    volume = np.arange(3 * 6 * 8, dtype=float).reshape(3, 6, 8) * 10 - 500
    slices = ct_slices(
        volume,
        spacing=(0.8, 0.9, 2.5),
        series_uid=f"{UID_ROOT}.1",
        frame_uid=f"{UID_ROOT}.2",
        study_uid=f"{UID_ROOT}.3",
    )
    for k, ds in enumerate(slices):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{UID_ROOT}.10.{k}"
    return slices


def _series_bytes() -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        return [
            write(ds, Path(tmp) / f"s{k}.dcm").read_bytes()
            for k, ds in enumerate(fixed_ct_slices())
        ]


SERIES = _series_bytes()
CT_SMALL = Path(get_testdata_file("CT_small.dcm")).read_bytes()


def test_unmutated_inputs_read(tmp_path: Path) -> None:
    for k, data in enumerate(SERIES):
        (tmp_path / "series" / f"s{k}.dcm").parent.mkdir(exist_ok=True)
        (tmp_path / "series" / f"s{k}.dcm").write_bytes(data)
    image, info = read_series(tmp_path / "series")
    assert image.GetSize() == (8, 6, 3) and len(info.files) == 3
    (tmp_path / "single").mkdir()
    (tmp_path / "single" / "ct.dcm").write_bytes(CT_SMALL)
    assert read_series(tmp_path / "single")[0].GetSize() == (128, 128, 1)


def _feed(run: Callable, base: str, target: int, element_ops: list, byte_ops: list) -> None:
    """One slice of ``base`` mutated, the series read from a temporary folder."""
    files = list(SERIES) if base == "series" else [CT_SMALL]
    target %= len(files)
    files[target] = apply_byte_ops(
        apply_element_ops(files[target], element_ops, IMAGE_TAGS), byte_ops
    )
    with tempfile.TemporaryDirectory() as tmp:
        for k, data in enumerate(files):
            (Path(tmp) / f"slice{k}.dcm").write_bytes(data)
        run(lambda: read_series(tmp))


FUZZER = Fuzzer(
    "DICOM series reader",
    st.fixed_dictionaries(
        {
            "base": st.sampled_from(["series", "ct_small"]),
            "target": st.integers(0, 2),
            "element_ops": st.lists(ELEMENT_OPS, max_size=4),
            "byte_ops": st.lists(BYTE_OPS, max_size=3),
        }
    ),
    _feed,
)


def test_fuzz_dicom_series_reader() -> None:
    outcomes = fuzz_test(FUZZER)
    assert sum(outcomes.values()) >= MAX_EXAMPLES
    assert outcomes["success"] > 0 and len(outcomes) > 1  # read some, refused others


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [
        (0x00200032, b"nan\\0\\0", "invalid ImagePositionPatient"),
        (0x00200037, b"1 ", "invalid ImageOrientationPatient"),
        (0x00280030, b"0.8 ", "invalid PixelSpacing"),
        (0x00281053, b"1\\2 ", "invalid RescaleSlope"),
        (0x00281052, b"1/0 ", "damaged or invalid DICOM header|invalid RescaleIntercept"),
        (0x00180050, b"- ", "damaged or invalid DICOM header|invalid SliceThickness"),
    ],
)
def test_found_by_fuzzing(tmp_path: Path, tag: int, value: bytes, message: str) -> None:
    """Header values the fuzzer turned up (TypeError, ValueError, NaN positions) end in DicomError."""
    files = list(SERIES)
    files[1] = apply_element_ops(files[1], [("value", 0, value)], frozenset({tag}))
    for k, data in enumerate(files):
        (tmp_path / f"s{k}.dcm").write_bytes(data)
    with pytest.raises(DicomError, match=message) as err:
        read_series(tmp_path)
    assert "s1.dcm" in str(err.value)
