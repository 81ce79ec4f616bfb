"""PET series read as body-weight SUV from their headers: each decay-correction mode, a scan past
midnight, a series re-processed on the console, de-identified uploads, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from survival_core.case import Case
from survival_core.errors import DicomError
from survival_core.features.pet_uptake import PEAK_RADIUS_MM, peak_kernel, pet_uptake
from survival_core.features.presets import PET_BIN_WIDTH_SUV, get_preset
from survival_core.io.dicom_series import read_series
from survival_core.io.uploads import store_upload
from tests.dicom_fixtures import ct_slices, write

WEIGHT_KG, DOSE_BQ, HALF_LIFE_S = 75.0, 370e6, 6586.2  # F-18
PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"


def activity(suv: float, minutes_after_injection: float) -> float:
    """Bq/mL a tissue of ``suv`` shows ``minutes_after_injection`` (physical decay of F-18)."""
    decayed = DOSE_BQ * 2 ** (-minutes_after_injection * 60 / HALF_LIFE_S)
    return suv * decayed / (WEIGHT_KG * 1000)


def pet_slices(
    values: list[float],
    *,
    correction: str = "START",
    injection: str = "100000",
    series: tuple[str, str] = ("20240305", "110000"),
    acquisitions: list[str] | None = None,
    size: int = 6,
    **header: object,
) -> list[Dataset]:
    """A PET series of ``size`` x ``size`` slices, slice k holding ``values[k]`` Bq/mL."""
    volume = np.stack([np.full((size, size), v) for v in values])
    datasets = ct_slices(volume, intercept=0.0, modality="MR")
    for k, ds in enumerate(datasets):
        ds.Modality, ds.SOPClassUID = "PT", PET_STORAGE
        ds.file_meta.MediaStorageSOPClassUID = PET_STORAGE
        ds.Units, ds.DecayCorrection, ds.PatientWeight = "BQML", correction, WEIGHT_KG
        ds.PatientID, ds.PatientName = "PET-TEST-1", "Test^Pet"
        ds.SeriesDate, ds.SeriesTime = series
        ds.AcquisitionDate, ds.AcquisitionTime = series[0], (acquisitions or [series[1]] * 99)[k]
        drug = Dataset()
        drug.RadionuclideTotalDose, drug.RadionuclideHalfLife = DOSE_BQ, HALF_LIFE_S
        drug.RadiopharmaceuticalStartTime = injection
        ds.RadiopharmaceuticalInformationSequence = Sequence([drug])
        for keyword, value in header.items():
            setattr(ds, keyword, value)
    return datasets


def suv_of(datasets: list[Dataset], folder: Path) -> np.ndarray:
    for k, ds in enumerate(datasets):
        write(ds, folder / f"{k}.dcm")
    image, info = read_series(folder)
    assert any(w.startswith("PET converted to SUVbw") for w in info.warnings)
    return sitk.GetArrayFromImage(image)


def test_start_corrected_series_by_hand(tmp_path: Path) -> None:
    # 5000 Bq/mL x 75000 g / (370 MBq x 2^(-3600 s / 6586.2 s) = 253.33 MBq) = 1.4803
    suv = suv_of(pet_slices([5000.0] * 4), tmp_path)
    np.testing.assert_allclose(suv, 1.4803, rtol=2e-4)


@pytest.mark.parametrize(
    ("case", "correction", "minutes", "options"),
    [
        ("decay corrected to the series start", "START", [60] * 4, {}),
        ("decay corrected to the injection", "ADMIN", [0] * 4, {}),
        (
            "not decay corrected: each slice at its own time",
            "NONE",
            [60, 62, 64, 66],
            {"acquisitions": ["110000", "110200", "110400", "110600"]},
        ),
        (
            "injected before midnight, scanned after",
            "START",
            [60] * 4,
            {"injection": "233000", "series": ("20240306", "003000")},
        ),
        (
            "series time reset by re-processing: the first acquisition counts",
            "START",
            [60] * 4,
            {"series": ("20240305", "143000"), "acquisitions": ["110000"] * 4},
        ),
    ],
)
def test_uptake_of_two_recovered(tmp_path, case, correction, minutes, options) -> None:
    """Slices showing the activity a tissue of SUV 2 has at their reference time read as SUV 2."""
    values = [activity(2.0, m) for m in minutes]
    suv = suv_of(pet_slices(values, correction=correction, **options), tmp_path)
    np.testing.assert_allclose(suv, 2.0, rtol=5e-4, err_msg=case)


def test_de_identified_upload_keeps_the_suv(tmp_path: Path) -> None:
    datasets = pet_slices([activity(3.0, 60)] * 4)
    for ds in datasets:  # a date-time of injection: shifted with the other dates
        del ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime
        ds.RadiopharmaceuticalInformationSequence[
            0
        ].RadiopharmaceuticalStartDateTime = "20240305100000"
    files = []
    for k, ds in enumerate(datasets):
        files.append((f"{k}.dcm", write(ds, tmp_path / f"{k}.dcm").read_bytes()))
    stored = store_upload(files)
    shifted = next(p for p in stored.iterdir() if p.suffix == ".dcm")
    assert "PET-TEST-1" not in shifted.read_bytes().decode("latin-1")
    image, _ = read_series(stored)
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), 3.0, rtol=5e-4)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"PatientWeight": None}, "no PatientWeight; SUV needs the patient's weight in kg"),
        ({"PatientWeight": 0}, "PatientWeight 0: the weight was not recorded; SUV needs"),
        (  # an export writing grams
            {"PatientWeight": 75000},
            "PatientWeight 75000 is not a plausible weight in kg .1 to 500; in grams, 75 kg.",
        ),
        ({"Units": "CNTS"}, "PET in units CNTS.*Export the series in Bq/mL"),
        ({"DecayCorrection": "DECAY"}, "DecayCorrection DECAY is not START, ADMIN or NONE"),
        ({"RadiopharmaceuticalInformationSequence": Sequence()}, "injected dose is needed"),
    ],
)
def test_refusals_name_what_is_missing(tmp_path: Path, change: dict, expected: str) -> None:
    with pytest.raises(DicomError, match=expected):
        suv_of(pet_slices([5000.0] * 3, **change), tmp_path)


def test_scan_before_injection_refused(tmp_path: Path) -> None:
    datasets = pet_slices([5000.0] * 3)
    for ds in datasets:
        ds.RadiopharmaceuticalInformationSequence[
            0
        ].RadiopharmaceuticalStartDateTime = "20240305120000"
    with pytest.raises(
        DicomError,
        match="RadiopharmaceuticalStartDateTime 20240305120000 puts the injection at 2024-03-05 "
        "12:00:00, 1.0 h after the scan's start 2024-03-05 11:00:00 .SeriesDate 20240305, "
        "SeriesTime 110000",
    ):
        suv_of(datasets, tmp_path)


@pytest.mark.parametrize(("correction", "minutes"), [("START", -0.5), ("ADMIN", 0.0)])
def test_an_injection_just_after_the_scan_start_is_a_dynamic_scan(
    tmp_path: Path, correction: str, minutes: float
) -> None:
    """A dynamic acquisition starts with the injection: a RadiopharmaceuticalStartTime 30 s
    after the SeriesTime is of the same day (uptake about 0, said), not the day before (1440 min
    of decay: every SUV 8800 times too high)."""
    datasets = pet_slices(
        [activity(2.0, minutes)] * 4,
        correction=correction,
        injection="100030",
        series=("20240305", "100000"),
    )
    np.testing.assert_allclose(suv_of(datasets, tmp_path), 2.0, rtol=5e-4)
    _, info = read_series(tmp_path)
    assert "injected 0.5 min after the scan's start (a dynamic acquisition" in info.warnings[-1]


@pytest.mark.parametrize(
    ("drug", "expected"),
    [
        (  # a typo: read as the day before it was 1410 min of decay, SUVs 5000 times too high
            {"RadiopharmaceuticalStartTime": "113000"},
            "RadiopharmaceuticalStartTime 113000 puts the injection at 2024-03-05 11:30:00, 30.0 "
            "min after the scan's start 2024-03-05 11:00:00 .SeriesDate 20240305, SeriesTime "
            "110000, first AcquisitionDate 20240305, first AcquisitionTime 110000.; .*on the day "
            "before it would be over 6 half-lives of 109.8 min",
        ),
        (  # FDG 14 h after its injection, the StartTime (10:00) not its time of day
            {"RadiopharmaceuticalStartDateTime": "20240304210000"},
            "RadiopharmaceuticalStartDateTime 20240304210000 puts the injection at 2024-03-04 "
            "21:00:00, 14.0 h before the scan's start .*over 6 half-lives of 109.8 min .11.0 h.",
        ),
    ],
)
def test_an_implausible_uptake_is_refused_naming_the_times(
    tmp_path: Path, drug: dict, expected: str
) -> None:
    datasets = pet_slices([5000.0] * 3)
    for ds in datasets:
        for keyword, value in drug.items():
            setattr(ds.RadiopharmaceuticalInformationSequence[0], keyword, value)
    with pytest.raises(DicomError, match=expected):
        suv_of(datasets, tmp_path)


@pytest.mark.parametrize("injection", ["RadiopharmaceuticalStartTime", "StartDateTime"])
@pytest.mark.parametrize(
    ("correction", "minutes"), [("START", [60] * 4), ("NONE", [60, 75, 90, 95])]
)
def test_a_scan_past_midnight_without_acquisition_date(
    tmp_path: Path, injection: str, correction: str, minutes: list[int]
) -> None:
    """Slices acquired after midnight, dated by the SeriesDate alone (no AcquisitionDate), are
    of the next day: not the day's earliest acquisition, nor before the injection."""
    datasets = pet_slices(
        [activity(2.0, m) for m in minutes],
        correction=correction,
        injection="223000",
        series=("20240305", "233000"),
        acquisitions=["233000", "234500", "000000", "000500"],
    )
    for ds in datasets:
        del ds.AcquisitionDate
        drug = ds.RadiopharmaceuticalInformationSequence[0]
        if injection == "StartDateTime":
            del drug.RadiopharmaceuticalStartTime
            drug.RadiopharmaceuticalStartDateTime = "20240305223000"
    np.testing.assert_allclose(suv_of(datasets, tmp_path), 2.0, rtol=5e-4)


@pytest.mark.parametrize(("dose", "shown"), [("370", "370 Bq"), ("3.7e11", "3.7e\\+11 Bq")])
def test_an_implausible_dose_is_refused_saying_dicom_stores_bq(
    tmp_path: Path, dose: str, shown: str
) -> None:
    """A dose written in MBq (370) would make SUVs a million times too high."""
    datasets = pet_slices([5000.0] * 3)
    for ds in datasets:
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = dose
    with pytest.raises(
        DicomError, match=f"RadionuclideTotalDose {dose} is {shown}.*stores the dose in Bq"
    ):
        suv_of(datasets, tmp_path)


def test_a_date_shifted_injection_datetime_gives_way_to_its_time(tmp_path: Path) -> None:
    """A RadiopharmaceuticalStartDateTime whose date a de-identification shifted, beside a
    StartTime agreeing with the scan: the StartTime on the scan's day counts, said; without the
    StartTime the case is refused."""
    datasets = pet_slices([activity(2.0, 60)] * 4)
    for k, ds in enumerate(datasets):
        ds.RadiopharmaceuticalInformationSequence[
            0
        ].RadiopharmaceuticalStartDateTime = "20140302100000"
        write(ds, tmp_path / f"{k}.dcm")
    image, info = read_series(tmp_path)
    np.testing.assert_allclose(sitk.GetArrayFromImage(image), 2.0, rtol=5e-4)
    note = next(w for w in info.warnings if w.startswith("PET converted to SUVbw"))
    assert "StartDateTime 2014-03-02 10:00:00 is 3656 days from the scan" in note
    assert "taken at 2024-03-05 10:00:00 by RadiopharmaceuticalStartTime" in note
    for ds in datasets:
        del ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime
    with pytest.raises(
        DicomError, match="injection at 2014-03-02 10:00:00, 3656 days before the scan's start"
    ):
        suv_of(datasets, tmp_path)


def test_pet_presets_bin_suv_without_standardisation() -> None:
    full, han = get_preset("full", "PT"), get_preset("han2020", "PT")
    assert full.standardisation is None and han.standardisation is None
    assert full.discretisations[0].bin_width == PET_BIN_WIDTH_SUV == full.intensity.bin_width
    assert get_preset("full", "MR").standardisation is not None


def write_pet_case(folder: Path) -> Path:
    """A PET series (a 10 x 10-pixel lesion of SUV 8 on 6 of 8 slices, background SUV 2) with an
    RTSTRUCT contouring a square well inside the lesion."""
    from tests.dicom_fixtures import rtstruct, square

    datasets = pet_slices([activity(2.0, 60)] * 8, size=16)
    hot = activity(8.0, 60)
    for ds in datasets[1:7]:
        pixels = ds.pixel_array.copy()
        pixels[3:13, 3:13] = round(hot)
        ds.PixelData = pixels.astype(np.int16).tobytes()
    for k, ds in enumerate(datasets):
        write(ds, folder / "pet" / f"{k}.dcm")
    first = np.asarray(datasets[0].ImagePositionPatient, float)
    centre = first[:2] + 7.5 * np.array([0.8, 0.9])  # the lesion's middle, pixel (7.5, 7.5)
    inner = datasets[3:5]  # contoured well inside the lesion: no partial volume
    contours = [square(tuple(centre), 4.0, float(ds.ImagePositionPatient[2])) for ds in inner]
    write(rtstruct(datasets, {"GTV": contours}), folder / "rs.dcm")
    return folder


def test_pet_case_with_its_contour_gives_suv_radiomics(tmp_path: Path) -> None:
    """A PET upload with an RTSTRUCT: the case is PT, and the `full` PET variant extracts features
    whose mean in the GTV is the lesion's SUV."""
    from survival_core.features.radiomics import extract_case
    from survival_core.io.case_loader import load_case

    case = load_case(write_pet_case(tmp_path / "case"))
    assert case.modality == "PT"
    features = extract_case(case, get_preset("full", "PT"))
    assert features["gtv__original__firstorder__Mean"] == pytest.approx(8.0, rel=0.02)
    assert np.isfinite(list(features.values())).all()


def case_page_upload(folder: Path, name: str):
    """The app's Case page after uploading ``folder``'s DICOM files as the zip ``name``."""
    import io
    import zipfile

    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.dcm")):
            archive.write(path, path.relative_to(folder).as_posix())
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.segmented_control[0].set_value("Upload").run()
    return app.file_uploader[0].set_value((name, buffer.getvalue(), "application/zip")).run()


def test_case_page_shows_the_uptake_of_a_pet_upload(tmp_path: Path) -> None:
    app = case_page_upload(write_pet_case(tmp_path / "case"), "pet.zip")
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "PT"
    shown = {m.label: m.value for m in app.metric}
    assert float(shown["SUVmax"]) == pytest.approx(8.0, rel=1e-3)
    assert float(shown["SUVmean"]) == pytest.approx(8.0, rel=1e-3)
    assert any(w.value.startswith("PET converted to SUVbw") for w in app.warning)


def hot_sphere(slices: int = 30) -> Case:
    """A PT case: a sphere of SUV 8 (radius 15 mm, its centre on slice 15) in a background of 2,
    one voxel of 20 at its centre, on a grid of 2 x 2 x 3 mm; its first ``slices`` slices (16:
    the field of view ends on the hot voxel's slice)."""
    spacing = (2.0, 2.0, 3.0)
    z, y, x = np.mgrid[:slices, :40, :40]
    distance = np.sqrt(((x - 20) * 2.0) ** 2 + ((y - 20) * 2.0) ** 2 + ((z - 15) * 3.0) ** 2)
    sphere = distance <= 15.0
    suv = np.where(sphere, 8.0, 2.0).astype(np.float32)
    suv[15, 20, 20] = 20.0
    image = sitk.GetImageFromArray(suv)
    image.SetSpacing(spacing)
    mask = sitk.GetImageFromArray(sphere.astype(np.uint8))
    mask.CopyInformation(image)
    return Case(case_id="P", image=image, masks={"gtv": mask}, clinical={}, modality="PT")


def test_uptake_figures_of_a_hot_sphere() -> None:
    case = hot_sphere()
    sphere, image = case.mask_array("gtv"), case.image

    figures = pet_uptake(case)
    kernel = peak_kernel(case.spacing)
    assert pytest.approx(6.2035, abs=1e-4) == PEAK_RADIUS_MM  # 4/3 pi r^3 = 1000 mm^3
    n_sphere = int((kernel > 0).sum())  # voxels of the 1 cm^3 sphere on this grid
    assert figures["suv_max"] == 20.0
    assert figures["suv_peak"] == pytest.approx(8.0 + 12.0 / n_sphere)  # centred on the hot voxel
    mtv = sphere.sum() * 12.0 / 1000.0
    assert figures["mtv_ml"] == pytest.approx(mtv)
    assert figures["suv_mean"] == pytest.approx(8.0 + 12.0 / sphere.sum())
    assert figures["tlg"] == pytest.approx(figures["suv_mean"] * mtv)
    assert not any("SUVpeak" in w for w in case.warnings)
    with pytest.raises(Exception, match="need a PET"):
        pet_uptake(Case(case_id="C", image=image, masks=case.masks, clinical={}, modality="CT"))


def test_suvpeak_takes_whole_spheres_at_the_field_of_view_edge() -> None:
    """The field of view ends on the hot voxel's slice: the sphere centred on it is cut (its
    mean over the voxels inside overstates any 1 cm^3 sphere), so SUVpeak is the whole sphere
    two slices (6 mm) in, which reaches the hot voxel (PERCIST); the cut one is said."""
    case = hot_sphere(slices=16)
    kernel = peak_kernel(case.spacing)
    below = kernel[: kernel.shape[0] // 2 + 1]  # the cut sphere: its centre's slice and below
    n_sphere, n_cut = int((kernel > 0).sum()), int((below > 0).sum())
    figures = pet_uptake(case)
    assert figures["suv_peak"] == pytest.approx(8.0 + 12.0 / n_sphere)
    cut = (
        "spheres cut by the PT's field-of-view edge, averaging only the voxels inside the image, "
        f"reach {8.0 + 12.0 / n_cut:.2f} and were not taken"
    )
    assert any(
        w.startswith(f"SUVpeak of the gtv {8.0 + 12.0 / n_sphere:.2f}: of whole 1 cm^3 spheres")
        and cut in w
        for w in case.warnings
    )
