"""Values on the wrong scale for the modality (CT without its rescale intercept, normalised CT,
PET in Bq/ml) are said, on real scans first: none of the real CTs in ../shared/data is flagged,
the same scans shifted by +1024 or normalised are."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.io.case_loader import load_case
from survival_core.io.intensity_scale import in_suv, scale_warnings


def _real_ct(shared_data: Path, name: str) -> sitk.Image:
    path = shared_data / "pyradiomics" / f"{name}_image.nrrd"
    if not path.is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    return sitk.ReadImage(str(path))


def test_real_ct_in_hu_is_not_flagged(shared_data: Path) -> None:
    for name in ("lung1", "lung2"):
        assert scale_warnings(_real_ct(shared_data, name), "CT") == []
    sarcoma = shared_data / "sts_sarcoma" / "STS_001"
    if sarcoma.is_dir():  # cropped 5 cm around the tumour, in a thigh
        case = load_case(sarcoma / "CT", require=())
        assert not [w for w in case.warnings if "Hounsfield" in w]
        mr = load_case(sarcoma / "MR_T1", require=())  # no absolute scale: never flagged
        assert scale_warnings(mr.image, mr.modality) == []


def test_real_ct_without_its_intercept_or_normalised_is_flagged(
    shared_data: Path, tmp_path: Path
) -> None:
    ct = _real_ct(shared_data, "lung2")
    raw = sitk.Cast(ct, sitk.sitkFloat32) + 1024.0
    (warning,) = scale_warnings(raw, "CT")
    assert "without the rescale intercept" in warning and "no value below 11" in warning
    array = sitk.GetArrayFromImage(ct).astype(np.float32)
    normalised = sitk.GetImageFromArray((array - array.min()) / np.ptp(array))
    assert "not Hounsfield units" in scale_warnings(normalised, "CT")[0]
    # through a case folder: the raw CT with the real GTV label
    sitk.WriteImage(sitk.Cast(raw, sitk.sitkInt16), str(tmp_path / "image.nrrd"))
    label = shared_data / "pyradiomics" / "lung2_label.nrrd"
    sitk.WriteImage(sitk.ReadImage(str(label)), str(tmp_path / "gtv.nrrd"))
    case = load_case(tmp_path)
    assert any("without the rescale intercept" in w for w in case.warnings)


def test_real_ct_with_signed_values_read_as_unsigned_is_flagged(shared_data: Path) -> None:
    """Negative HU stored as two's complement and read as unsigned: air at about 64,500."""
    array = sitk.GetArrayFromImage(_real_ct(shared_data, "lung2")).astype(np.int16)
    wrapped = sitk.GetImageFromArray(array.view(np.uint16).astype(np.float32))
    (warning,) = scale_warnings(wrapped, "CT")
    assert "99th percentile is 6" in warning and "PixelRepresentation" in warning


def test_pet_volume_in_bq_per_ml_is_flagged() -> None:
    rng = np.random.default_rng(0)
    suv = rng.gamma(2.0, 0.6, (20, 40, 40)).astype(np.float32)
    suv[8:12, 15:20, 15:20] = 12.0  # a lesion
    assert scale_warnings(sitk.GetImageFromArray(suv), "PT") == []
    bq_per_ml = sitk.GetImageFromArray(suv * 5300.0)  # 370 MBq into 70 kg
    (warning,) = scale_warnings(bq_per_ml, "PT")
    assert "not SUVbw" in warning
    # a DICOM series is told what its SUV came from, not only to upload the DICOM series it is
    assert "of a DICOM series, check its PatientWeight, injected dose and injection time" in warning
    assert scale_warnings(bq_per_ml, "MR") == []


def test_only_a_pet_whose_values_pass_as_suv_reads_as_suv(shared_data: Path) -> None:
    """SUV windows (from 0) apply to a PT image in SUVbw, not to one in Bq/ml, an MR or a CT."""
    rng = np.random.default_rng(0)
    suv = sitk.GetImageFromArray(rng.gamma(2.0, 0.6, (20, 40, 40)).astype(np.float32))
    assert in_suv(suv, "PT") and in_suv(suv, " pt")
    assert not in_suv(suv * 5300.0, "PT")
    assert not in_suv(suv, "MR") and not in_suv(suv, None)
    assert not in_suv(_real_ct(shared_data, "lung1"), "CT")


def test_a_real_mr_volume_read_as_ct_is_flagged(shared_data: Path) -> None:
    """pyradiomics' brain1 MR (no modality in its file) given as CT: no air or fat in HU."""
    path = shared_data / "pyradiomics" / "brain1_image.nrrd"
    if not path.is_file():
        pytest.skip("pyradiomics samples not in ../shared/data")
    mr = sitk.ReadImage(str(path))
    (warning,) = scale_warnings(mr, "CT")
    assert "An MR or PET volume read as CT" in warning
    assert scale_warnings(mr, "MR") == []


def test_real_ct_without_its_intercept_is_named_so_even_with_lungs_keeping_the_median_low(
    shared_data: Path,
) -> None:
    """lung1 stored without its intercept (air near 0, water near 1024) has a median of about
    150, its lungs being air: it was called 'an MR or PET volume read as CT?'."""
    raw = sitk.Cast(_real_ct(shared_data, "lung1"), sitk.sitkFloat32) + 1024.0
    (warning,) = scale_warnings(raw, "CT")
    assert "without the rescale intercept" in warning


@pytest.mark.parametrize("name", ["lung1", "lung2", "sarcoma"])
def test_real_ct_with_its_intercept_applied_twice_is_flagged(shared_data: Path, name: str):
    """Hounsfield units stored with the header's intercept kept, applied again on reading: air at
    -2024, soft tissue near -1000. The real sarcoma CT so shifted was read, extracted and scored
    (a GTV mean of -995 HU) without a word. Its padding (-3024 outside the scan circle, -1024
    clipped air) is no sign: the scans so padded are not flagged."""
    if name == "sarcoma":
        ct = load_case(shared_data / "sts_sarcoma" / "STS_001" / "CT", require=()).image
    else:
        ct = sitk.Cast(_real_ct(shared_data, name), sitk.sitkFloat32)
    (warning,) = scale_warnings(ct - 1024.0, "CT")
    assert "the rescale intercept looks applied twice" in warning
    array = sitk.GetArrayFromImage(ct)
    padded = array.copy()
    padded[:, :12, :] = -3024.0  # outside the reconstruction circle
    assert scale_warnings(sitk.GetImageFromArray(padded), "CT") == []


def test_lossy_ct_padding_kept_as_values_is_named_as_padding(tmp_path: Path) -> None:
    """pydicom's real JPEG 2000 lossy CT (693_J2KI) declares padding at -3024 HU, which its
    coding moved (kept as values: its pixels no longer match it); 23 % of its values near it
    were blamed on 'the rescale intercept applied twice'. They are named as that padding."""
    from pydicom.data import get_testdata_file

    shutil.copy(get_testdata_file("693_J2KI.dcm"), tmp_path)
    case = load_case(tmp_path, require=())
    (said,) = [w for w in case.warnings if "-1100 HU" in w]
    assert (
        "declares pixel padding (outside the scanner's reconstruction circle) at -3024 HU" in said
    )
    assert (
        "23% of its values lie below -1100 HU (1st percentile -3156), likely that padding" in said
    )
    assert "applied twice" not in said
    image = case.image - 1024.0  # still found where no padding is declared
    assert "the rescale intercept looks applied twice" in scale_warnings(image, "CT")[0]


def test_a_scan_without_missing_values_is_told_so_without_copying_it() -> None:
    """Finding a 600 x 600 x 900 scan's voxels without a value built two masks of the whole
    volume (0.6 GB) even when it had none; one pass over its values now tells."""
    import tracemalloc

    from survival_core.io.intensity_scale import fill_missing_values

    image = sitk.Image(256, 256, 160, sitk.sitkFloat32)  # 42 MB of values: masks of 10 MB each
    tracemalloc.start()
    try:
        same, _, notes = fill_missing_values(image, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert same is image and notes == [] and peak < 2e6
