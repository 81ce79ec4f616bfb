"""Fuzzing the RTSTRUCT converter: mutated structure sets end in masks or an RTSTRUCT/mask error.

Inputs are pydicom's rtstruct.dcm (implicit VR, no preamble) and a generated structure set over a
generated CT, changed by element-level mutations aimed at the contour module (ContourData replaced by
NaN, infinite, huge, negative values or odd counts; ROI numbers, names, geometric types and
referenced UIDs replaced; sequences removed; lengths changed) and then byte-level ones. Each input is
read with :func:`read_rtstruct`, rasterised with :func:`rtstruct_to_masks` on its image and its
structure names mapped to roles.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from survival_core.errors import RTStructError
from survival_core.io.dicom_series import SeriesInfo, read_dicom, rtstruct_references
from survival_core.io.rtstruct import read_rtstruct, rtstruct_to_masks
from survival_core.io.structures import map_roles
from tests.dicom_fixtures import ct_slices, rtstruct, square, write
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

RTSTRUCT_TAGS = frozenset(
    {
        0x00080016,  # SOPClassUID
        0x00080060,  # Modality
        0x00081155,  # ReferencedSOPInstanceUID
        0x0020000E,  # SeriesInstanceUID
        0x00200052,  # FrameOfReferenceUID
        0x30060010,  # ReferencedFrameOfReferenceSequence
        0x30060020,  # StructureSetROISequence
        0x30060022,  # ROINumber
        0x30060024,  # ReferencedFrameOfReferenceUID
        0x30060026,  # ROIName
        0x30060039,  # ROIContourSequence
        0x30060040,  # ContourSequence
        0x30060042,  # ContourGeometricType
        0x30060046,  # NumberOfContourPoints
        0x30060050,  # ContourData
        0x30060084,  # ReferencedROINumber
    }
)


def _info(series: str, frame: str, sops: tuple[str, ...], n_slices: int) -> SeriesInfo:
    return SeriesInfo(series, "", frame, "CT", "", sops, tuple(range(n_slices)), ())


def _generated() -> tuple[bytes, sitk.Image, SeriesInfo]:
    """A 4-slice CT (2 mm pixels, 2.5 mm slices) with a liver and a GTV square on every slice."""
    slices = ct_slices(np.zeros((4, 16, 16)), spacing=(2.0, 2.0, 2.5), origin=(0.0, 0.0, 0.0))
    for k, ds in enumerate(slices):  # fixed UIDs: the same fuzz inputs on every run
        ds.SOPInstanceUID = f"{UID_ROOT}.10.{k}"
        ds.SeriesInstanceUID, ds.FrameOfReferenceUID, ds.StudyInstanceUID = (
            f"{UID_ROOT}.{n}" for n in (1, 2, 3)
        )
    rois = {
        "Liver": [square((16, 16), 20, 2.5 * k) for k in range(4)],
        "GTV": [square((14, 14), 6, 2.5 * k) for k in range(1, 3)],
    }
    structure_set = rtstruct(slices, rois)
    structure_set.SOPInstanceUID = structure_set.file_meta.MediaStorageSOPInstanceUID = (
        f"{UID_ROOT}.20"
    )
    structure_set.SeriesInstanceUID = f"{UID_ROOT}.21"
    with tempfile.TemporaryDirectory() as tmp:
        data = write(structure_set, Path(tmp) / "rs.dcm").read_bytes()
    image = sitk.Image(16, 16, 4, sitk.sitkFloat32)
    image.SetSpacing((2.0, 2.0, 2.5))
    sops = tuple(s.SOPInstanceUID for s in slices)
    return data, image, _info(slices[0].SeriesInstanceUID, slices[0].FrameOfReferenceUID, sops, 4)


def _pydicom_sample() -> tuple[bytes, sitk.Image, SeriesInfo]:
    """pydicom's rtstruct.dcm on a 10 mm grid covering its body contour (z -200 to -180 mm)."""
    path = get_testdata_file("rtstruct.dcm")
    refs = rtstruct_references(read_dicom(path))
    image = sitk.Image(41, 31, 3, sitk.sitkFloat32)
    image.SetSpacing((10.0, 10.0, 10.0))
    image.SetOrigin((-200.0, -150.0, -200.0))
    info = _info(refs.series_uids[0], refs.frame_of_reference_uids[0], (), 3)
    return Path(path).read_bytes(), image, info


SAMPLES = {"generated": _generated(), "pydicom": _pydicom_sample()}


def _convert(path: Path, image: sitk.Image, info: SeriesInfo) -> None:
    structure_set = read_rtstruct(path)
    rtstruct_to_masks(structure_set, image, info, structure_set.roi_names[:2])
    map_roles(structure_set.roi_names, required=())


def test_unmutated_inputs_convert(tmp_path: Path) -> None:
    for name, (data, image, info) in SAMPLES.items():
        (tmp_path / name).write_bytes(data)
        structure_set = read_rtstruct(tmp_path / name)
        masks = rtstruct_to_masks(structure_set, image, info, structure_set.roi_names[:1])
        assert sitk.GetArrayViewFromImage(next(iter(masks.values()))).sum() > 0


def _feed(run: Callable, sample: str, element_ops: list, byte_ops: list) -> None:
    """A mutated structure set written to a temporary file, converted on its sample's image."""
    data, image, info = SAMPLES[sample]
    data = apply_byte_ops(apply_element_ops(data, element_ops, RTSTRUCT_TAGS), byte_ops)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rs.dcm"
        path.write_bytes(data)
        run(lambda: _convert(path, image, info))


FUZZER = Fuzzer(
    "RTSTRUCT converter",
    st.fixed_dictionaries(
        {
            "sample": st.sampled_from(sorted(SAMPLES)),
            "element_ops": st.lists(ELEMENT_OPS, max_size=4),
            "byte_ops": st.lists(BYTE_OPS, max_size=2),
        }
    ),
    _feed,
)


def test_fuzz_rtstruct_converter() -> None:
    outcomes = fuzz_test(FUZZER)
    assert sum(outcomes.values()) >= MAX_EXAMPLES
    assert outcomes["success"] > 0 and len(outcomes) > 1  # read some, refused others


@pytest.mark.parametrize(
    ("contour", "message"),
    [
        (
            np.array([[0.0, 0.0, 2.5], [np.nan, 4.0, 2.5], [4.0, 4.0, 2.5]]),
            "non-finite coordinates",
        ),
        (
            np.array([[0.0, 0.0, 2.5], [np.inf, 4.0, 2.5], [4.0, 4.0, 2.5]]),
            "non-finite coordinates",
        ),
        (np.array([1.0, 2.0]), "2 coordinates"),
    ],
)
def test_bad_contour_data_is_refused(tmp_path: Path, contour: np.ndarray, message: str) -> None:
    """NaN or infinite contour points (int(round(nan)) crashed the rasteriser) and odd counts."""
    slices = ct_slices(np.zeros((4, 16, 16)), spacing=(2.0, 2.0, 2.5), origin=(0.0, 0.0, 0.0))
    write(rtstruct(slices, {"GTV": [contour]}), tmp_path / "rs.dcm")
    with pytest.raises(RTStructError, match=message):
        read_rtstruct(tmp_path / "rs.dcm")


@pytest.mark.parametrize(("tag", "value"), [(0x30060022, b"inf "), (0x30060084, b"1\\2 ")])
def test_bad_roi_numbers_are_refused(tmp_path: Path, tag: int, value: bytes) -> None:
    """ROI numbers the fuzzer turned up (int('inf'), a list) end in RTStructError."""
    data, image, info = SAMPLES["generated"]
    (tmp_path / "rs.dcm").write_bytes(
        apply_element_ops(data, [("value", 0, value)], frozenset({tag}))
    )
    with pytest.raises(RTStructError, match="damaged or invalid DICOM header"):
        _convert(tmp_path / "rs.dcm", image, info)
