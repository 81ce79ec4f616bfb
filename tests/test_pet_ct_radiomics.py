"""PET/CT radiomics in one model: the CT and PET feature tables of one cohort join with each
feature named after its modality, the model card keeps each modality's settings, and a case that
brings both images (volume files or DICOM series in one frame of reference) is scored on features
equal to its training rows. Also: the companion image a case keeps (which PET of a study, when
none), imports that keep it or take the PET, run configs, the Case page, mixed cohorts, and the
real sarcoma CT + MR study."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset

from survival_core.case import Case
from survival_core.cli.main import main
from survival_core.errors import InputError, MaskError
from survival_core.features.case_row import case_features
from survival_core.features.presets import get_preset
from survival_core.features.table import write_feature_table
from survival_core.io.case_loader import load_case
from survival_core.io.dicom_series import read_dicom
from survival_core.io.modality_view import modality_view
from survival_core.io.tables import load_model_table
from survival_core.models.scoring import load_scoring_model
from tests.dicom_fixtures import ct_slices, rtstruct, square, write
from tests.test_pet_suv import activity, case_page_upload, pet_slices

N_PATIENTS = 14


def _volume(array: np.ndarray, spacing: tuple[float, float, float], path: Path) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin((-40.0, -40.0, 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)


def write_patient(root: Path, index: int) -> None:
    """One patient in HECKTOR's layout: CT (2 x 2 x 3 mm), PET in SUV (4 x 4 x 6 mm) and the
    label map on the CT's grid (1 = primary tumour, 2 = a node); the tumour's size and uptake
    vary by patient."""
    rng = np.random.default_rng(index)
    name = f"CHUP-{index:03d}"
    ct = rng.normal(40, 25, (16, 40, 40)).astype(np.int16)
    label = np.zeros(ct.shape, np.uint8)
    side = 6 + index % 5
    label[4:12, 10 : 10 + side, 12 : 12 + side] = 1
    label[6:9, 30:34, 28:32] = 2
    ct[label == 1] += np.int16(20 + 3 * index)
    pet = rng.gamma(2.0, 0.5, (8, 20, 20)).astype(np.float32)
    pet[2:6, 5 : 5 + side // 2, 6 : 6 + side // 2] += 3.0 + index / 2
    _volume(ct, (2.0, 2.0, 3.0), root / "imagesTr" / f"{name}__CT.nii.gz")
    _volume(pet, (4.0, 4.0, 6.0), root / "imagesTr" / f"{name}__PT.nii.gz")
    _volume(label, (2.0, 2.0, 3.0), root / "labelsTr" / f"{name}.nii.gz")


@pytest.fixture(scope="module")
def pet_ct_model(tmp_path_factory) -> dict[str, Path]:
    """A downloaded PET/CT dataset imported twice (CT, PT), each extracted, the CT cohort's
    PETs extracted too (--companion PT), a PET/CT model fitted on the outcomes and the two
    imports' tables: the paths of the cohorts, tables, model and download."""
    tmp = tmp_path_factory.mktemp("petct")
    download = tmp / "download"
    for i in range(N_PATIENTS):
        write_patient(download, i)
    roi_map = tmp / "roi.yaml"
    roi_map.write_text("default: {gtv: ['label.nii.gz:1']}\n")
    paths = {"download": download}
    for modality in ("CT", "PT"):
        cohort = tmp / modality
        args = ["--images", str(download), "--out", str(cohort), "--roi-map", str(roi_map)]
        assert main(["cohort", "import", *args, "--modality", modality, "--workers", "1"]) == 0
        table = tmp / f"{modality}.parquet"
        extract = ["--cohort", str(cohort), "--preset", "han2020", "--out", str(table)]
        assert main(["extract", *extract, "--workers", "1"]) == 0
        paths[modality] = table
        paths[f"{modality}_cohort"] = cohort
    paths["PT_beside_CT"] = tmp / "pt_beside_ct.parquet"  # one import: the CT cohort's PETs
    extract = ["--cohort", str(paths["CT_cohort"]), "--preset", "han2020", "--companion", "PT"]
    assert main(["extract", *extract, "--out", str(paths["PT_beside_CT"]), "--workers", "1"]) == 0
    ids = pd.read_parquet(paths["CT"]).index
    rng = np.random.default_rng(1)
    outcome = pd.DataFrame(
        {"time": rng.integers(100, 2000, ids.size), "event": np.arange(ids.size) % 3 != 0},
        index=ids,
    )
    paths["clinical"] = tmp / "outcome.csv"
    outcome.to_csv(paths["clinical"])
    paths["model"] = tmp / "model"
    tables = [str(paths[k]) for k in ("clinical", "CT", "PT")]
    fit = ["fit", *(a for t in tables for a in ("--table", t)), "--model", "coxph"]
    fit += ["--param", "penalizer=1.0", "--features", "firstorder__(Mean|Maximum)$"]
    assert main([*fit, "--out", str(paths["model"])]) == 0
    return paths


def test_tables_of_two_modalities_join_with_the_modality_in_each_name(pet_ct_model) -> None:
    tables = [pet_ct_model[k] for k in ("clinical", "CT", "PT")]
    joined = load_model_table(tables)
    ct, pt = pd.read_parquet(pet_ct_model["CT"]), pd.read_parquet(pet_ct_model["PT"])
    assert joined.X.shape == (N_PATIENTS, ct.shape[1] + pt.shape[1])
    name = "gtv__1mm_original__firstorder__Mean"
    assert name in ct.columns
    np.testing.assert_array_equal(joined.X[f"CT:{name}"], ct.loc[joined.X.index, name])
    np.testing.assert_array_equal(joined.X[f"PT:{name}"], pt.loc[joined.X.index, name])
    assert any("Radiomics of CT and PT: each feature is named" in note for note in joined.notes)
    # the same modality twice still clashes: which table's values would be meant is unknown
    for twice in ("CT", "PT"):
        tables = [pet_ct_model[k] for k in ("clinical", "CT", "PT", twice)]
        with pytest.raises(InputError, match="Columns appear in more than one table"):
            load_model_table(tables)


def test_a_table_without_its_modality_is_not_renamed(pet_ct_model, tmp_path: Path) -> None:
    """Features of unsaid modality cannot be named after it: the clash is refused as before."""
    ct = pd.read_parquet(pet_ct_model["CT"])
    unsaid = write_feature_table(ct, tmp_path / "unsaid.parquet", get_preset("han2020", "CT"))
    with pytest.raises(InputError, match="Columns appear in more than one table"):
        load_model_table([pet_ct_model["clinical"], pet_ct_model["PT"], unsaid])


def test_the_card_keeps_each_modality_settings(pet_ct_model) -> None:
    card = json.loads((pet_ct_model["model"] / "card.json").read_text())
    assert card["radiomics_settings"] is None and card["radiomics_modality"] is None
    assert sorted(card["radiomics_by_modality"]) == ["CT", "PT"]
    assert get_preset("han2020", "PT").to_json() == card["radiomics_by_modality"]["PT"]
    inputs = load_scoring_model(pet_ct_model["model"]).inputs
    assert {i.split(":")[0] for i in inputs} == {"CT", "PT"}


def _patient_folder(download: Path, index: int, folder: Path, pet: bool = True) -> Path:
    """One patient's files as a clinician would give them: CT, PET and the GTV."""
    name = f"CHUP-{index:03d}"
    folder.mkdir(parents=True)
    (folder / "CT.nii.gz").write_bytes((download / "imagesTr" / f"{name}__CT.nii.gz").read_bytes())
    if pet:
        pet_file = download / "imagesTr" / f"{name}__PT.nii.gz"
        (folder / "PT.nii.gz").write_bytes(pet_file.read_bytes())
    label = sitk.ReadImage(str(download / "labelsTr" / f"{name}.nii.gz"))
    sitk.WriteImage(sitk.Cast(label == 1, sitk.sitkUInt8), str(folder / "gtv.nii.gz"))
    return folder


def test_a_case_with_both_images_scores_on_its_training_features(pet_ct_model, tmp_path) -> None:
    """Features the scorer computes from a patient's folder (the PET's GTV moved from the CT's
    grid as at import) equal that patient's rows of both training tables."""
    loaded = load_scoring_model(pet_ct_model["model"])
    ct, pt = pd.read_parquet(pet_ct_model["CT"]), pd.read_parquet(pet_ct_model["PT"])
    for index in (0, 7):
        case = load_case(_patient_folder(pet_ct_model["download"], index, tmp_path / f"p{index}"))
        assert case.modality == "CT" and list(case.companions) == ["PT"] and not case.warnings
        row, _ = case_features(case, loaded)
        ct_names = [c[3:] for c in row.columns if c.startswith("CT:")]
        distance = (ct[ct_names] - row[[f"CT:{n}" for n in ct_names]].to_numpy()).abs().max(axis=1)
        patient = distance.idxmin()
        assert distance[patient] < 1e-9 and (distance.drop(patient) > 1e-3).all()
        pt_names = [c[3:] for c in row.columns if c.startswith("PT:")]
        np.testing.assert_allclose(
            row[[f"PT:{n}" for n in pt_names]].to_numpy()[0], pt.loc[patient, pt_names], rtol=1e-9
        )
    out = main(["score", "--model", str(pet_ct_model["model"]), "--case", str(tmp_path / "p0")])
    assert out == 0


def test_a_case_without_its_pet_is_refused_naming_it(pet_ct_model, tmp_path, capsys) -> None:
    folder = _patient_folder(pet_ct_model["download"], 3, tmp_path / "ct_only", pet=False)
    loaded = load_scoring_model(pet_ct_model["model"])
    with pytest.raises(InputError, match=r"no PT image beside its CT.*PT\.nii\.gz"):
        case_features(load_case(folder), loaded)
    code = main(["score", "--model", str(pet_ct_model["model"]), "--case", str(folder), "--json"])
    assert code == 2 and "has no PT image beside its CT" in capsys.readouterr().err


def test_companions_count_in_the_content_digest() -> None:
    """Two uploads of one CT with different PETs must not share cached PET/CT scores."""
    image = sitk.GetImageFromArray(np.zeros((4, 8, 8), np.float32))
    pets = [sitk.GetImageFromArray(np.full((2, 4, 4), v, np.float32)) for v in (1.0, 2.0)]
    digests = {Case("A", image, companions={"PT": p}).content_digest() for p in pets}
    assert len(digests) == 2 and Case("A", image).content_digest() not in digests


def test_a_gtv_smaller_than_half_a_pet_voxel_is_refused() -> None:
    ct = sitk.GetImageFromArray(np.zeros((8, 16, 16), np.float32))
    mask = np.zeros((8, 16, 16), np.uint8)
    mask[4, 8, 8] = 1
    gtv = sitk.GetImageFromArray(mask)
    pet = sitk.GetImageFromArray(np.ones((2, 4, 4), np.float32))
    pet.SetSpacing((4.0, 4.0, 4.0))
    case = Case("A", ct, masks={"gtv": gtv}, companions={"PT": pet})
    with pytest.raises(MaskError, match="covers no PT voxel"):
        modality_view(case, "PT")


def write_dicom_pet_ct(folder: Path, same_frame: bool = True, patient: int = 1) -> Path:
    """A PET/CT study as exported: the CT (0.8 x 0.9 x 2.5 mm) with an RTSTRUCT GTV drawn on
    it, and the PET (16 x 16 pixels of 2 mm, 5 mm slices) in the CT's frame of reference, its
    lesion of SUV 8 under the GTV (background SUV 2)."""
    frame = f"1.2.826.0.1.3680043.8.498.700{patient}"
    ct = ct_slices(np.random.default_rng(patient).normal(40, 20, (12, 40, 36)), frame_uid=frame)
    for ds in ct:
        ds.PatientID = f"PETCT-{patient}"
    for k, ds in enumerate(ct):
        write(ds, folder / "ct" / f"{k}.dcm")
    centre = (-100.0 + 0.8 * 18, -120.0 + 0.9 * 20)
    contours = [square(centre, 8.0, float(ds.ImagePositionPatient[2])) for ds in ct[4:8]]
    structure_set = rtstruct(ct, {"GTV": contours})
    structure_set.PatientID = ct[0].PatientID
    write(structure_set, folder / "rs.dcm")
    frame = frame if same_frame else frame + ".2"
    write_pet_series(folder / "pet", ct[0], frame, CorrectedImage=["DECY", "ATTN", "SCAT"])
    return folder


def write_pet_series(folder: Path, ct: Dataset, frame: str, lesion: float = 8.0, **header) -> None:
    """A PET series of ``ct``'s patient and study in ``frame``: 16 x 16 pixels of 2 mm, 5 mm
    slices, a lesion of SUV ``lesion`` (+-3 % across) under the CT's GTV (background SUV 2)."""
    pet = pet_slices([activity(2.0, 60)] * 8, size=16, **header)
    for k, ds in enumerate(pet):
        ds.PixelSpacing, ds.SliceThickness = [2.0, 2.0], 5.0
        ds.ImagePositionPatient = [-100.0, -120.0, 40.0 + 5.0 * k]
        ds.FrameOfReferenceUID = frame
        ds.PatientID, ds.PatientName = ct.PatientID, ct.get("PatientName", "")
        ds.StudyInstanceUID = ct.StudyInstanceUID
        pixels = ds.pixel_array.copy()
        ramp = 1 + 0.01 * (np.arange(4, 11) - 7)  # 3 % across: texture features need a range
        pixels[6:12, 4:11] = np.round(activity(lesion, 60) * ramp)  # rows 12-24, columns 8-22 mm
        ds.PixelData = pixels.astype(np.int16).tobytes()
        write(ds, folder / f"{k}.dcm")


def test_a_pet_ct_study_reads_its_attenuation_corrected_pet(tmp_path: Path) -> None:
    """Real PET/CT exports carry more PETs than one: the NAC reconstruction (in counts) and MIPs
    ride along. The attenuation-corrected PET is the companion; two of them, none (said); a PET
    that cannot be made SUV is left out with the reason, the CT case still loads."""
    study = write_dicom_pet_ct(tmp_path / "study")
    ct = next(p for p in (study / "ct").iterdir())
    header, frame = read_dicom(ct), read_dicom(ct).FrameOfReferenceUID
    write_pet_series(study / "nac", header, frame, lesion=3.0, CorrectedImage=["DECY"])
    write_pet_series(study / "mip", header, frame, lesion=5.0, ImageType=["DERIVED", "MIP"])
    case = load_case(study)
    assert list(case.companions) == ["PT"]
    assert sitk.GetArrayFromImage(case.companions["PT"]).max() == pytest.approx(8.24, rel=0.01)
    write_pet_series(study / "ac2", header, frame, CorrectedImage=["DECY", "ATTN"])
    case = load_case(study)
    assert case.companions == {}
    assert any("2 PT series share the CT's frame of reference" in w for w in case.warnings)
    for folder in ("nac", "mip", "ac2"):
        shutil.rmtree(study / folder)
    for path in (study / "pet").iterdir():  # no weight: no SUV
        ds = read_dicom(path)
        del ds.PatientWeight
        ds.save_as(path)
    case = load_case(study)
    assert case.companions == {} and case.modality == "CT"
    assert any(w.startswith("The PT beside the CT is not read:") for w in case.warnings)


def test_a_nac_pet_alone_gives_no_suv(tmp_path: Path) -> None:
    """A study whose only PET is its NAC reconstruction (CorrectedImage without ATTN): its
    activity is no SUV (half the true uptake deep in a thigh), so the CT case keeps no PET and
    says which series and why; read as its own image, the NAC PET is refused with the reason."""
    study = write_dicom_pet_ct(tmp_path / "study")
    shutil.rmtree(study / "pet")
    header = read_dicom(next((study / "ct").iterdir()))
    nac = ["DECY", "DTIM", "RAN", "NORM"]
    options = {"CorrectedImage": nac, "SeriesDescription": "PET NAC", "SeriesNumber": 6}
    write_pet_series(study / "nac", header, header.FrameOfReferenceUID, lesion=4.0, **options)
    case = load_case(study)
    assert case.companions == {} and case.modality == "CT"
    assert any(
        w.startswith("The PT beside the CT is not read:")
        and "(PT series 6, 'PET NAC'" in w
        and "not attenuation-corrected (CorrectedImage DECY/DTIM/RAN/NORM, without ATTN)" in w
        for w in case.warnings
    )
    with pytest.raises(InputError, match="'PET NAC'.*not attenuation-corrected"):
        load_case(study / "nac")


def test_a_dicom_pet_ct_case_reads_its_pet_in_suv(tmp_path: Path) -> None:
    """The CT is the case's image (its RTSTRUCT is drawn on it), the PET of its frame of
    reference its companion in SUV; the GTV on the PET's grid averages the lesion's SUV."""
    from survival_core.features.radiomics import extract_case

    case = load_case(write_dicom_pet_ct(tmp_path / "study"))
    assert case.modality == "CT" and list(case.companions) == ["PT"]
    suv = sitk.GetArrayFromImage(case.companions["PT"])
    assert suv.max() == pytest.approx(8.24, rel=0.01) and np.median(suv) == pytest.approx(2.0, 0.01)
    view = modality_view(case, "PT")
    assert view.image is case.companions["PT"] and view.mask_array("gtv").sum() > 0
    assert any("resampled" in w for w in view.warnings)
    features = extract_case(view, get_preset("full", "PT"))
    assert features["gtv__original__firstorder__Mean"] == pytest.approx(8.0, rel=0.05)
    other = load_case(write_dicom_pet_ct(tmp_path / "other", same_frame=False))
    assert other.companions == {}  # a PET of another frame of reference is not this CT's
    frame = "1.2.826.0.1.3680043.8.498.7001"
    assert any(  # said, naming the series and why
        w.startswith("PT series left out beside the CT: ")
        and "(PT, 'synthetic MR', 8 slices of 5 mm), frame of reference " + frame + ".2." in w
        and f"not the CT's ({frame}), so the CT's contours cannot be placed on it" in w
        for w in other.warnings
    )


def test_case_page_shows_the_suv_of_a_pet_ct_upload(tmp_path: Path) -> None:
    """A zipped PET/CT study on the Case page: the case is the CT, and the GTV's SUV figures
    come from the PET beside it (the lesion's SUV 8)."""
    app = case_page_upload(write_dicom_pet_ct(tmp_path / "study"), "petct.zip")
    series = next(s for s in app.selectbox if s.label == "Image series")
    assert series.options[series.index].startswith("CT")  # the series its RTSTRUCT is drawn on
    next(b for b in app.button if b.label == "Load case").click().run()
    assert not app.exception and not app.error
    assert app.subheader[0].value.split(" · ")[1] == "CT"
    assert any("With the patient's PT" in c.value for c in app.caption)
    shown = {m.label: m.value for m in app.metric}
    assert float(shown["SUVmax"]) == pytest.approx(8.24, rel=0.01)
    assert float(shown["SUVmean"]) == pytest.approx(8.0, rel=0.05)
    assert any(w.value.startswith("The PT beside the CT: PET converted") for w in app.warning)
    # the Radiomics tab reads either image; the PET's are its SUVs in the GTV moved onto it
    app.selectbox(key="radiomics-preset").set_value("full")
    app.selectbox(key="radiomics-image").set_value("PT").run()
    app.button(key="radiomics-run").click().run()
    assert not app.exception and not app.error
    table = next(d.value for d in app.dataframe if "feature" in d.value.columns)
    mean = table[(table["feature"] == "Mean") & (table["setting"] == "original")]["value"]
    assert float(mean.iloc[0]) == pytest.approx(8.0, rel=0.05)


def test_a_dicom_pet_ct_cohort_imports_its_pet_with_the_ct_contours(tmp_path: Path) -> None:
    """PET/CT studies whose RTSTRUCT is drawn on the CT, each with a NAC PET beside the AC one:
    imported without --modality, each case is the CT with its AC PET kept beside it (`pt/`), so
    `extract --companion PT` reads it; `--modality PT` takes each patient's AC PET (the same
    pseudonyms), the GTV rasterised on it; a modality no series of that frame has is named."""
    import csv

    from survival_core.cohort.importer import import_images

    for patient in (1, 2):
        study = write_dicom_pet_ct(tmp_path / "download" / f"p{patient}", patient=patient)
        ct = read_dicom(next((study / "ct").iterdir()))
        write_pet_series(study / "nac", ct, ct.FrameOfReferenceUID, lesion=3.0)
    ids = {}
    for modality in (None, "PT"):
        out = tmp_path / f"cohort_{modality}"
        result = import_images(tmp_path / "download", out, modality=modality, workers=1)
        assert result.counts()["imported"] == 2, [o.reason for o in result.outcomes]
        rows = list(csv.DictReader((out / "manifest.csv").open()))
        assert {r["modality"] for r in rows} == {modality or "CT"}
        ids[modality] = sorted(r["case_id"] for r in rows)
        folder = out / rows[0]["image"].rsplit("/", 1)[0]
        case = load_case(folder)
        assert case.modality == (modality or "CT")
        pet = case.image if modality == "PT" else case.companions["PT"]
        assert sitk.GetArrayFromImage(pet).max() == pytest.approx(8.24, rel=0.01)  # not the NAC
        if modality is None:
            assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["ct", "pt"]
            table = tmp_path / "pt_beside.parquet"
            extract = ["--cohort", str(out), "--preset", "han2020", "--companion", "PT"]
            assert main(["extract", *extract, "--out", str(table), "--workers", "1"]) == 0
            means = pd.read_parquet(table).filter(like="original__firstorder__Mean")
            assert means.iloc[:, 0].to_numpy() == pytest.approx([8.0, 8.0], rel=0.05)
        else:
            assert not (folder / "ct").exists()  # the CT would be read as the image
            suv = sitk.GetArrayFromImage(case.image)[case.mask_array("gtv")]
            assert suv.mean() == pytest.approx(8.0, rel=0.02)
    assert ids[None] == ids["PT"]
    result = import_images(tmp_path / "download", tmp_path / "mr", modality="MR", workers=1)
    assert result.counts()["failed"] == 2
    assert "no MR series share its frame of reference" in result.outcomes[0].reason


def test_real_ct_with_its_mr_reads_the_mr_as_the_mr_case_does(tmp_path, shared_data) -> None:
    """The real sarcoma study: its CT (with the CT's RTSTRUCT) and its T1 MR share a frame of
    reference, so loaded together the MR is the CT case's companion, and the CT's GTV on it
    gives the MR features the MR case with its own RTSTRUCT gives."""
    import dataclasses

    from survival_core.features.radiomics import extract_case
    from survival_core.features.settings import Scale

    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    shutil.copytree(study / "CT", tmp_path / "study" / "ct")
    shutil.copytree(study / "MR_T1" / "image", tmp_path / "study" / "mr")
    case = load_case(tmp_path / "study")
    assert case.modality == "CT" and list(case.companions) == ["MR"]
    mr = load_case(study / "MR_T1")
    view = modality_view(case, "MR")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(view.image), mr.array())
    np.testing.assert_array_equal(view.mask_array("gtv"), mr.mask_array("gtv"))
    settings = dataclasses.replace(get_preset("han2020", "MR"), scales=(Scale(),))
    assert extract_case(view, settings) == pytest.approx(extract_case(mr, settings), rel=1e-12)


def test_one_ct_import_gives_the_pet_radiomics_of_a_pet_import(pet_ct_model) -> None:
    """The CT cohort's case folders keep each patient's PET (PT.nii.gz), so `extract --companion
    PT` gives the PET features the separate PT import gives, as a PT table."""
    from survival_core.io.tables import parquet_metadata

    beside, imported = (pd.read_parquet(pet_ct_model[k]) for k in ("PT_beside_CT", "PT"))
    pd.testing.assert_frame_equal(beside, imported.loc[beside.index], rtol=1e-12)
    assert parquet_metadata(pet_ct_model["PT_beside_CT"])[b"radsurv.modality"] == b"PT"
    # a PET case keeps no CT beside it: its contours are the CT's, read by the CT import
    assert not list((pet_ct_model["PT_cohort"] / "cases").glob("*/CT.nii.gz"))
    assert len(list((pet_ct_model["CT_cohort"] / "cases").glob("*/PT.nii.gz"))) == N_PATIENTS
    joined = load_model_table([pet_ct_model[k] for k in ("clinical", "CT", "PT_beside_CT")])
    assert {c.split(":")[0] for c in joined.X.columns} == {"CT", "PT"}


def test_a_cohort_case_scores_as_its_patient_folder(pet_ct_model, tmp_path, capsys) -> None:
    """A PET/CT model scores the CT cohort's own case folders (their PET kept beside the CT)."""
    folder = _patient_folder(pet_ct_model["download"], 5, tmp_path / "p5")
    case = load_case(folder)
    loaded = load_scoring_model(pet_ct_model["model"])
    ct = pd.read_parquet(pet_ct_model["CT"])
    row, _ = case_features(case, loaded)
    names = [c[3:] for c in row.columns if c.startswith("CT:")]
    patient = (ct[names] - row[[f"CT:{n}" for n in names]].to_numpy()).abs().max(axis=1).idxmin()
    cohort_case = pet_ct_model["CT_cohort"] / "cases" / patient
    assert sorted(p.name for p in cohort_case.glob("*.nii.gz")) == [
        "PT.nii.gz", "gtv.nii.gz", "image.nii.gz"
    ]  # fmt: skip
    model = str(pet_ct_model["model"])
    assert main(["score", "--model", model, "--case", str(folder), str(cohort_case), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cases"]
    assert scored[0]["risk"] == pytest.approx(scored[1]["risk"], rel=1e-9)
    assert scored[0]["uptake"] == pytest.approx(scored[1]["uptake"])  # SUVs of the PET beside
    assert scored[0]["uptake"]["suv_max"] > 3.0


def test_a_patient_folder_of_its_pet_alone_is_scored_by_a_pet_model(
    pet_ct_model, tmp_path, capsys
) -> None:
    """A folder of a patient's 'PT.nii.gz' and GTV alone was read as CT: a model on the PET's
    radiomics (`extract --companion PT`, then `fit`) refused it, asking for a 'PT.nii.gz' in the
    case folder, which it held. The lone image named for the PET is the PET: its features are
    its patient's training row. An image named for no modality (with the GTV on its grid) is
    refused saying how to say it is the PET, and scores alike once said."""
    model = tmp_path / "pet_model"
    tables = [str(pet_ct_model[k]) for k in ("clinical", "PT_beside_CT")]
    fit = ["fit", *(a for t in tables for a in ("--table", t)), "--model", "coxph"]
    fit += ["--param", "penalizer=1.0", "--features", "firstorder__(Mean|Maximum)$"]
    assert main([*fit, "--out", str(model), "--json"]) == 0
    folder = _patient_folder(pet_ct_model["download"], 5, tmp_path / "CHUP-005")
    (folder / "CT.nii.gz").unlink()
    case = load_case(folder)
    row, _ = case_features(case, load_scoring_model(model))
    pt = pd.read_parquet(pet_ct_model["PT_beside_CT"])
    names = [c.removeprefix("PT:") for c in row.columns]
    distance = (pt[names] - row.to_numpy()).abs().max(axis=1)
    patient = distance.idxmin()
    assert distance[patient] < 1e-9 and (distance.drop(patient) > 1e-3).all()
    capsys.readouterr()
    argv = ["score", "--model", str(model), "--case", str(folder), "--json"]
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scored["cautions"] == [] and scored["uptake"]["suv_max"] > 3.0
    (folder / "PT.nii.gz").rename(folder / "image.nii.gz")  # its GTV on its grid, as read
    sitk.WriteImage(case.masks["gtv"], str(folder / "gtv.nii.gz"))
    assert main(argv) == 2
    refused = capsys.readouterr().err
    assert "no PT image beside its CT" in refused
    assert "If the case's image is itself the PT, say so, `--modality PT`" in refused
    assert main([*argv, "--modality", "PT"]) == 0
    said = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert said["risk"] == pytest.approx(scored["risk"], rel=1e-12)


def test_a_training_run_takes_the_pet_beside_each_ct(pet_ct_model, tmp_path, capsys) -> None:
    """A run config's `companions: [PT]` trains on the CT cohort's CT and PET radiomics (each
    extracted once and reused), and the registered model scores the cohort's cases."""
    import yaml

    cohort = tmp_path / "cohort"
    shutil.copytree(pet_ct_model["CT_cohort"], cohort)
    outcome = pd.read_csv(pet_ct_model["clinical"], dtype={"case_id": str})
    outcome.to_csv(cohort / "clinical.csv", index=False)
    config = {
        "name": "petct",
        "cohort": str(cohort),
        "features": {
            "clinical": False,
            "radiomics": ["han2020"],
            "companions": ["PT"],
            "select": "original__firstorder__(Mean|Maximum)$",
        },
        "model": {"name": "coxph", "params": {"penalizer": 1.0}},
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 3},
        "bootstrap": 20,
    }
    path = tmp_path / "petct.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["status"] == "FINISHED"
    from survival_core.runs.store import RunStore

    model = RunStore().get_run(result["run_id"]).folder / "model"
    loaded = load_scoring_model(model)
    assert sorted(loaded.card.radiomics_by_modality) == ["CT", "PT"]
    assert {i.split(":")[0] for i in loaded.inputs} == {"CT", "PT"}
    case = load_case(next((cohort / "cases").iterdir()))
    row, _ = case_features(case, loaded)
    assert np.isfinite(row.to_numpy()).all()
    for features, said in (
        ({"radiomics": [], "companions": ["PT"]}, "give the presets"),
        ({"radiomics": ["han2020"], "companions": ["CT"]}, "lists CT, the modality of the"),
    ):
        path.write_text(yaml.safe_dump({**config, "name": "bad", "features": features}))
        assert main(["train", "--config", str(path)]) != 0
        assert said in capsys.readouterr().err


def test_real_ct_and_mr_study_imports_the_series_whose_gtv_the_map_names(
    tmp_path, shared_data
) -> None:
    """The real sarcoma study as downloaded: CT and T1 MR, each with its RTSTRUCT, linked to both
    series by frame of reference only. Refused naming both structure sets unless the ROI map
    names a GTV; then the series it was drawn on, alone in its case folder (the other, linked by
    frame only, could be read as the image); --modality MR the MR with its own."""
    import shutil

    from survival_core.cohort.importer import check_roi_map, import_images

    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    shutil.copytree(study, tmp_path / "download" / "STS_001")
    refused = import_images(tmp_path / "download", tmp_path / "none", workers=1)
    assert "or name its GTV in the ROI map" in refused.outcomes[0].reason
    for modality, gtv in ((None, "GTV_Mass_CT"), ("MR", "GTV_Mass_MR_T1")):
        out = tmp_path / f"cohort_{modality}"
        roi_map = check_roi_map({"default": {"gtv": [gtv]}})
        result = import_images(
            tmp_path / "download", out, roi_map=roi_map, modality=modality, workers=1
        )
        assert result.counts()["imported"] == 1, result.outcomes[0].reason
        [folder] = (out / "cases").iterdir()
        assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [
            (modality or "CT").lower()
        ]
        case = load_case(folder)
        assert case.modality == (modality or "CT") and case.companions == {}
        assert case.mask_array("gtv").sum() > 10000


def test_real_ct_and_mr_study_imports_the_set_drawn_on_the_modality_asked(
    tmp_path, shared_data
) -> None:
    """The real sarcoma CT and T1 MR, each with its RTSTRUCT, no ROI map: --modality MR was
    refused as "2 structure sets were drawn on MR series ...", the CT's set counted as drawn on
    the MR by its frame of reference, though its slices are CT Image Storage. --modality MR
    imports the MR with its own set; none asked is refused naming each set's image."""
    from survival_core.cohort.importer import import_images

    study = shared_data / "sts_sarcoma" / "STS_001"
    if not study.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    shutil.copytree(study, tmp_path / "download" / "STS_001")
    refused = import_images(tmp_path / "download", tmp_path / "none", workers=1)
    assert refused.outcomes[0].reason.startswith(
        "the structure sets were drawn on different images of one frame of reference (RS.dcm: "
        "GTV_Mass_CT on the CT; RS.dcm: GTV_Mass_MR_T1 on the MR); import with --modality"
    )
    result = import_images(tmp_path / "download", tmp_path / "mr", modality="MR", workers=1)
    assert result.counts()["imported"] == 1, result.outcomes[0].reason
    [folder] = (tmp_path / "mr" / "cases").iterdir()
    case = load_case(folder)
    assert (case.modality, list(case.structures)) == ("MR", ["GTV_Mass_MR_T1"])
    assert case.array()[case.mask_array("gtv")].mean() == pytest.approx(325.8, abs=0.1)


def test_a_cohort_mixing_ct_and_pet_cases_is_not_extracted_as_one(tmp_path, capsys) -> None:
    """PET/CT studies whose contours were drawn on the CT for one patient and on the PET for
    another import as a CT case and a PT case; extracting the cohort's CT features refuses the
    PT case naming its modality and the fix, rather than computing CT-settings features on SUVs;
    imported with --modality CT both are CT cases."""
    from survival_core.cohort.importer import import_images

    for patient in (1, 2):
        write_dicom_pet_ct(tmp_path / "download" / f"p{patient}", patient=patient)
    study = tmp_path / "download" / "p2"  # contoured on the PET instead
    pet = sorted(
        (read_dicom(p) for p in (study / "pet").iterdir()),
        key=lambda ds: float(ds.ImagePositionPatient[2]),
    )
    contours = [square((-85.6, -102.0), 8.0, float(ds.ImagePositionPatient[2])) for ds in pet[2:4]]
    structure_set = rtstruct(pet, {"GTV": contours})
    structure_set.PatientID = pet[0].PatientID
    write(structure_set, study / "rs.dcm")
    out = tmp_path / "mixed"
    result = import_images(tmp_path / "download", out, workers=1)
    assert result.counts()["imported"] == 2
    manifest = pd.read_csv(out / "manifest.csv")
    assert sorted(manifest["modality"]) == ["CT", "PT"]
    assert result.summary()["modalities"] == {"CT": 1, "PT": 1}
    assert "1 CT, 1 PT" in result.mixed_modalities() and "--modality" in result.mixed_modalities()
    table = tmp_path / "ct.parquet"
    argv = ["extract", "--cohort", str(out), "--preset", "han2020", "--out", str(table)]
    assert main([*argv, "--modality", "CT", "--workers", "1"]) == 0
    failures = pd.read_csv(tmp_path / "ct.failures.csv")
    assert len(failures) == 1 and "The case is PT" in failures["error"][0]
    assert "--modality CT" in failures["error"][0]
    as_ct = import_images(tmp_path / "download", tmp_path / "ct", modality="CT", workers=1)
    assert as_ct.counts()["imported"] == 2
    assert as_ct.modalities == {"CT": 2} and as_ct.mixed_modalities() is None
    assert set(pd.read_csv(tmp_path / "ct" / "manifest.csv")["modality"]) == {"CT"}


def test_suv_figures_of_a_pet_not_showing_the_gtv_are_left_out() -> None:
    """A PET/CT case whose PET does not cover the GTV (a shorter field of view) or whose GTV is
    below the PET's voxels shows no SUV figures, and the page does not fail; the PET/CT model
    refuses it naming why."""
    from survival_core.errors import GeometryError
    from survival_core.features.pet_uptake import gtv_uptake

    ct = sitk.GetImageFromArray(np.zeros((20, 16, 16), np.float32))
    mask = np.zeros((20, 16, 16), np.uint8)
    mask[14:18, 4:12, 4:12] = 1
    pet = sitk.GetImageFromArray(np.full((5, 8, 8), 2.0, np.float32))
    pet.SetSpacing((2.0, 2.0, 2.0))  # covers z 0-9 mm of the CT's 0-19: not the GTV at 14-17
    case = Case("A", ct, masks={"gtv": sitk.GetImageFromArray(mask)}, companions={"PT": pet})
    assert gtv_uptake(case) is None
    with pytest.raises(GeometryError, match="mostly outside"):
        modality_view(case, "PT")


@pytest.mark.parametrize("pet_spacing", [1.0, 2.0])
def test_a_gtv_partly_outside_the_pet_gives_partial_labelled_uptake(
    pet_spacing: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PET whose field of view ends inside the GTV (its last bed), on the CT's voxels or
    coarser: the uptake of the part inside, labelled with the share outside, which the case's
    warnings name; a GTV mostly outside gives none, the case's warnings saying why."""
    from types import SimpleNamespace

    from survival_core.cli.score import case_result as score_result
    from survival_core.features.pet_uptake import gtv_uptake

    ct = sitk.GetImageFromArray(np.zeros((20, 16, 16), np.float32))
    mask = np.zeros((20, 16, 16), np.uint8)
    mask[10:18, 4:12, 4:12] = 1
    n = int(16 / pet_spacing)
    pet = sitk.GetImageFromArray(np.full((n, n, n), 2.0, np.float32))
    pet.SetSpacing((pet_spacing,) * 3)  # covers z 0-15 mm of the CT's 0-19: GTV z 16, 17 outside
    pet.SetOrigin((pet_spacing / 2 - 0.5,) * 3)
    case = Case("A", ct, masks={"gtv": sitk.GetImageFromArray(mask)}, companions={"PT": pet})
    # `score --json` of a model reading no PET: its warnings were copied before the uptake's
    monkeypatch.setattr(
        "survival_core.workflows.scoring.score_case", lambda *_: SimpleNamespace(as_dict=dict)
    )
    scored = score_result(Case("A", ct, masks=case.masks, companions={"PT": pet}), None)
    assert any(
        "of the gtv mask lies outside the PT's field of view" in w for w in scored["warnings"]
    )
    uptake = gtv_uptake(case)
    assert uptake is not None and uptake["gtv_share_outside_fov"] == pytest.approx(0.25)
    assert uptake["mtv_ml"] == pytest.approx(6 * 8 * 8 / 1000)
    assert any(
        "25.0% of the gtv mask lies outside the PT's field of view" in w for w in case.warnings
    )
    mask[:, :, :] = 0
    mask[14:20, 4:12, 4:12] = 1  # 4 of its 6 slices outside: 67 %
    case = Case("B", ct, masks={"gtv": sitk.GetImageFromArray(mask)}, companions={"PT": pet})
    assert gtv_uptake(case) is None
    assert any(
        w.startswith("No PET uptake figures of the GTV") and "mostly outside" in w and "66.7%" in w
        for w in case.warnings
    )


def test_brats_sequences_beside_the_t1c_make_one_model(tmp_path, capsys) -> None:
    """BraTS's survival task reads several MR sequences. Imported with --image t1ce, each case
    keeps its FLAIR, T1 and T2 beside the T1c (FLAIR.nii.gz...); `extract --companion FLAIR`
    gives the FLAIR radiomics an import of the FLAIR as the image gives, and a model on the T1c
    and FLAIR tables (features MR:..., FLAIR:...) or on the FLAIR table alone scores a case on
    its FLAIR, not on its T1c."""
    from survival_core.cohort.importer import check_roi_map, import_images

    rng = np.random.default_rng(7)
    for k in range(12):
        case = f"BraTS20_Training_{k:03d}"
        seg = np.zeros((8, 20, 20), np.uint8)
        seg[2:6, 4 : 10 + k % 4, 4:14] = 4
        seg[3:5, 6:9, 6:9] = 1
        for sequence in ("t1", "t1ce", "t2", "flair"):
            array = rng.normal(300, 40, seg.shape) + (seg > 0) * (50 + 10 * k)
            _volume(
                array.astype(np.float32),
                (1.0, 1.0, 2.0),
                tmp_path / "brats" / case / f"{case}_{sequence}.nii.gz",
            )
        _volume(seg, (1.0, 1.0, 2.0), tmp_path / "brats" / case / f"{case}_seg.nii.gz")
    roi_map = check_roi_map({"default": {"gtv": ["seg.nii.gz:1", "seg.nii.gz:4"]}})
    common = {"roi_map": roi_map, "modality": "MR", "workers": 1}
    for image in ("t1ce", "flair"):
        result = import_images(tmp_path / "brats", tmp_path / image, image=image, **common)
        assert result.counts()["imported"] == 12, [o.reason for o in result.outcomes]
    folder = next((tmp_path / "t1ce" / "cases").iterdir())
    assert sorted(p.name for p in folder.glob("*.nii.gz")) == [
        "FLAIR.nii.gz", "T1.nii.gz", "T2.nii.gz", "gtv.nii.gz", "image.nii.gz"
    ]  # fmt: skip
    assert sorted(load_case(folder, modality="MR").companions) == ["FLAIR", "T1", "T2"]
    tables = {}
    for name, cohort, companion in (
        ("t1ce", "t1ce", []), ("flair_beside", "t1ce", ["--companion", "FLAIR"]),
        ("flair", "flair", []),
    ):  # fmt: skip
        tables[name] = tmp_path / f"{name}.parquet"
        argv = ["extract", "--cohort", str(tmp_path / cohort), "--preset", "han2020"]
        assert main([*argv, *companion, "--out", str(tables[name]), "--workers", "1"]) == 0
    beside, flair = (pd.read_parquet(tables[k]) for k in ("flair_beside", "flair"))
    pd.testing.assert_frame_equal(beside, flair.loc[beside.index], rtol=1e-12)
    outcome = pd.DataFrame(
        {"time": rng.integers(100, 900, 12), "event": np.arange(12) % 4 != 0}, index=beside.index
    )
    outcome.to_csv(tmp_path / "outcome.csv")
    for name, inputs in (("both", ["t1ce", "flair_beside"]), ("flair_only", ["flair_beside"])):
        argv = ["fit", "--table", str(tmp_path / "outcome.csv")]
        argv += [a for k in inputs for a in ("--table", str(tables[k]))]
        argv += ["--model", "coxph", "--param", "penalizer=1.0"]
        argv += ["--features", "original__firstorder__(Mean|Median)$"]
        assert main([*argv, "--out", str(tmp_path / name)]) == 0
        loaded = load_scoring_model(tmp_path / name)
        assert sorted(loaded.card.radiomics_by_modality) == (
            ["FLAIR", "MR"] if name == "both" else ["FLAIR"]
        )
        row, _ = case_features(load_case(folder, modality="MR"), loaded)
        for column in row.columns:
            image, feature = column.split(":", 1)
            source = flair if image == "FLAIR" else pd.read_parquet(tables["t1ce"])
            assert row[column].iloc[0] == pytest.approx(source.loc[folder.name, feature], rel=1e-9)
