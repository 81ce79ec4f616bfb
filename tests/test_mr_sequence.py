"""An MR image's weighting: read from real headers and file names, carried through a cohort's
extraction (and its cache) into the model card, and a case of another weighting cautioned."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import SimpleITK as sitk
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from survival_core.features.cohort import extract_cases, write_cohort_features
from survival_core.features.settings import Discretisation, ExtractionSettings, FeatureClass
from survival_core.io.case_loader import load_case
from survival_core.io.mr_sequence import (
    file_sequence,
    header_sequence,
    mixed_sequences_note,
    sequence_caution,
)
from survival_core.io.tables import SEQUENCES_KEY
from survival_core.io.volume import volume_stem
from survival_core.models.card import ModelCard
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.case_builders import make_case

#: Few texture features of the GTV alone (no absolute intensities: MR has no scale; an MR case
#: carries no organ).
SETTINGS = ExtractionSettings(
    "test-mr",
    rois=("gtv",),
    classes=(FeatureClass("glcm", ("Contrast", "Correlation", "JointEnergy")),),
    discretisations=(Discretisation("equal_probability", levels=8),),
)


def _header(**tags: object) -> Dataset:
    header = Dataset()
    for keyword, value in tags.items():
        setattr(header, keyword, value)
    return header


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"SeriesDescription": "AX T1 POST GD"}, "T1C"),
        ({"SeriesDescription": "T1+C"}, "T1C"),
        ({"SeriesDescription": "AX T1 PRE", "ContrastBolusAgent": "Gadovist"}, "T1"),
        ({"SeriesDescription": "t1_mprage_sag"}, "T1"),
        ({"SeriesDescription": "Ax T2 FLAIR"}, "FLAIR"),
        ({"SeriesDescription": "AX T1 FLAIR"}, "T1"),  # a T1-weighted FLAIR
        ({"SeriesDescription": "COR STIR"}, "T2"),
        ({"SeriesDescription": "ep2d_diff_b1000"}, "DWI"),
        ({"SeriesDescription": "dwi", "ImageType": ["DERIVED", "PRIMARY", "ADC"]}, "ADC"),
        # no names: the timing a physicist reads (TE, TR, TI in ms)
        ({"EchoTime": 12, "RepetitionTime": 500, "ContrastBolusAgent": "Gd"}, "T1C"),
        ({"EchoTime": 110, "RepetitionTime": 9000, "InversionTime": 2500}, "FLAIR"),
        ({"EchoTime": 15, "RepetitionTime": 3000}, "PD"),
        # a liver dynamic phase: a T1 gradient echo named by its phase alone
        ({"SeriesDescription": "Arterial", "EchoTime": 1.2, "RepetitionTime": 3.8}, "T1C"),
        ({"SeriesDescription": "localizer"}, None),
        # vendors' names (Siemens, GE, Philips), each series' own name before the exam's
        ({"SeriesDescription": "ep2d_diff_b50_800_TRACEW"}, "DWI"),
        ({"SeriesDescription": "ep2d_diff_b50_800_ADC"}, "ADC"),
        ({"SeriesDescription": "t2_tirm_cor"}, "T2"),  # Siemens' STIR
        ({"SeriesDescription": "t2_spc_da-fl_sag"}, "FLAIR"),  # SPACE dark-fluid
        ({"SeriesDescription": "T1 TIRM"}, "T1"),
        ({"SeriesDescription": "Ax T2 FRFSE", "ProtocolName": "STROKE DIFFUSION"}, "T2"),
        ({"SeriesDescription": "AX T1", "ProtocolName": "ROUTINE BRAIN W/WO CONTRAST"}, "T1"),
        ({"SeriesDescription": "T1 w/o contrast"}, "T1"),
        ({"SeriesDescription": "AX T1", "ContrastBolusAgent": "NONE"}, "T1"),
        ({"SeriesDescription": "sT1W_3D_TFE"}, "T1"),
        ({"SeriesDescription": "eTHRIVE_post"}, "T1C"),
        ({"SeriesDescription": "t1_vibe_dyn"}, "T1C"),
        ({"SeriesDescription": "t2_swi_tra"}, "T2*"),
        ({"SeriesDescription": "mDIXON opp"}, "T1"),
        # the acquisition: an inversion-prepared T1 (MPRAGE), STIR, gradient-echo T2*, and an
        # echo-planar series without a b-value (diffusion or perfusion: not said)
        ({"EchoTime": 2.3, "RepetitionTime": 2300, "InversionTime": 900}, "T1"),
        ({"EchoTime": 40, "RepetitionTime": 4000, "InversionTime": 160}, "T2"),
        ({"EchoTime": 20, "RepetitionTime": 600, "ScanningSequence": "GR"}, "T2*"),
        ({"EchoTime": 80, "RepetitionTime": 4500, "ScanningSequence": "EP"}, None),
        ({"EchoTime": 80, "RepetitionTime": 4500, "ScanningSequence": "SE_EP"}, None),  # dcm2niix
        ({"DiffusionBValue": 1000, "EchoTime": 80, "RepetitionTime": 4500}, "DWI"),
    ],
)
def test_the_weighting_is_read_from_names_then_timing(tags: dict, expected: str | None) -> None:
    assert header_sequence(_header(**tags)) == expected


def test_real_headers_and_file_names(shared_data: Path) -> None:
    """The real sarcoma T1 (named 'IBSI_1_STS_001_MR_T1_image') is T1; pydicom's MR test slice,
    named nothing, is T2 by its TE 240 ms and TR 4000 ms; BraTS file names give theirs."""
    case = load_case(shared_data / "sts_sarcoma" / "STS_001" / "MR_T1", site="sarcoma")
    assert (case.modality, case.sequence) == ("MR", "T1")
    assert header_sequence(dcmread(get_testdata_file("MR_small.dcm"))) == "T2"
    names = ["BraTS20_Training_001_t1ce", "BraTS-GLI-00000-000-t2f", "flair", "t2w", "image"]
    assert [file_sequence(n) for n in names] == ["T1C", "FLAIR", "FLAIR", "T2", None]


def test_de_identification_keeps_the_weighting(shared_data: Path) -> None:
    """De-identification removes the series description and the contrast agent: an uploaded
    or imported post-contrast VIBE read as a plain T1 (and was cautioned under its own T1C
    model), a diffusion trace as T2. It writes the weighting read before as the description."""
    from survival_core.io.deid import Deidentifier

    folder = shared_data / "sts_sarcoma" / "STS_001" / "MR_T1" / "image"
    header = dcmread(sorted(folder.glob("*.dcm"))[0])
    for name, agent, expected in (
        ("t1_vibe_fs_tra_post", "Gadovist", "T1C"),
        ("ep2d_diff_b50_800_TRACEW", "", "DWI"),
        ("t1_mprage_sag_p2_iso", "", "T1"),
    ):
        header.SeriesDescription, header.ContrastBolusAgent = name, agent
        Deidentifier(key=b"k" * 32).deidentify(header)
        assert (header.SeriesDescription, header_sequence(header)) == (expected, expected)
        assert not str(header.get("ContrastBolusAgent") or "")


def test_files_given_one_by_one_have_the_weighting_their_name_gives(tmp_path: Path) -> None:
    from survival_core.io.case_loader import load_case_files

    folder = _write_case(tmp_path / "a", "flair", 0)
    case = load_case_files(
        folder / "flair.nii.gz", {"gtv": folder / "gtv.nii.gz"}, None, "X", modality="MR"
    )
    assert case.sequence == "FLAIR"


def test_a_volumes_sidecar_gives_its_weighting(tmp_path: Path) -> None:
    """dcm2niix writes each NIfTI's series names and timing (in seconds) in a JSON beside it;
    an image named 'image.nii.gz' said no weighting."""
    folder = _write_case(tmp_path / "a", "image", 0)
    sidecar = {"SeriesDescription": "t2_tirm_tra_dark-fluid", "EchoTime": 0.081}
    (folder / "image.json").write_text(json.dumps(sidecar))
    assert load_case(folder, modality="MR").sequence == "FLAIR"
    timing = {"EchoTime": 0.0023, "RepetitionTime": 2.3, "InversionTime": 0.9}  # MPRAGE
    (folder / "image.json").write_text(json.dumps(timing))
    assert load_case(folder, modality="MR").sequence == "T1"
    (folder / "image.json").write_text("[not a sidecar")
    assert load_case(folder, modality="MR").sequence is None


def _write_case(folder: Path, image_name: str, seed: int) -> Path:
    """An MR volume case: its image named ``image_name``, and a GTV mask."""
    case = make_case(size=(28, 24, 8), spacing=(1.0, 1.0, 3.0))
    rng = np.random.default_rng(seed)
    values = 400 + 0.5 * sitk.GetArrayFromImage(case.image) + rng.normal(0, 30, (8, 24, 28))
    image = sitk.GetImageFromArray(np.clip(values, 0, None).astype(np.float32))
    image.CopyInformation(case.image)
    folder.mkdir(parents=True)
    sitk.WriteImage(image, str(folder / f"{image_name}.nii.gz"))
    sitk.WriteImage(case.masks["gtv"], str(folder / "gtv.nii.gz"))
    return folder


def test_a_volume_case_has_the_weighting_its_file_names(tmp_path: Path) -> None:
    flair = load_case(_write_case(tmp_path / "a", "flair", 0), modality="MR")
    plain = load_case(_write_case(tmp_path / "b", "image", 0), modality="MR")
    t1c = load_case(_write_case(tmp_path / "c", "t1ce", 0))  # a lone image named as an MR's
    ct = load_case(tmp_path / "c", modality="CT")  # said to be CT: no MR weighting
    assert (flair.sequence, plain.sequence, ct.sequence) == ("FLAIR", None, None)
    assert (t1c.modality, t1c.sequence) == ("MR", "T1C")


def test_a_cohorts_weightings_survive_its_cache_and_a_mix_is_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    names = {"P1": "t1ce", "P2": "t1ce", "P3": "flair"}
    cases = [(c, _write_case(tmp_path / c, n, i)) for i, (c, n) in enumerate(names.items())]
    first = extract_cases(cases, SETTINGS, workers=1, modality="MR")
    again = extract_cases(cases, SETTINGS, workers=1, modality="MR")
    assert again.n_cached == 3
    assert first.sequences == again.sequences == {"FLAIR": 1, "T1C": 2}
    assert "FLAIR (1 cases), T1C (2 cases)" in mixed_sequences_note(first.sequences)
    table, _ = write_cohort_features(first, tmp_path / "mr.parquet", SETTINGS, "MR")
    stored = pq.read_schema(table).metadata[SEQUENCES_KEY]
    assert json.loads(stored) == {"FLAIR": 1, "T1C": 2}
    assert mixed_sequences_note({"T1C": 3}) is None


def test_a_case_of_another_weighting_than_the_training_images_is_cautioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model on contrast-enhanced T1 cases records them in its card; a FLAIR case scored by it
    is told its risk is not valid, a T1C case and a case of unknown weighting are not."""
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    ids = [f"P{i}" for i in range(10)]
    cases = [(c, _write_case(tmp_path / c, "t1ce", i)) for i, c in enumerate(ids)]
    result = extract_cases(cases, SETTINGS, workers=1, modality="MR")
    table, _ = write_cohort_features(result, tmp_path / "mr.parquet", SETTINGS, "MR")
    rng = np.random.default_rng(3)
    clinical = pd.DataFrame(
        {
            "case_id": ids,
            "time": rng.integers(100, 2000, len(ids)),
            "event": [1, 0] * (len(ids) // 2),
        }
    )
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    out = tmp_path / "model"
    train_model([table, tmp_path / "clinical.csv"], "coxph", {"penalizer": 1.0}, out)
    assert ModelCard.load(out).mr_sequences == {"T1C": 10}

    loaded = load_scoring_model(out)
    t1c = load_case(cases[0][1], modality="MR")
    flair = dataclasses.replace(t1c, sequence="FLAIR")
    unknown = dataclasses.replace(t1c, sequence=None)
    warned = score_case(flair, loaded).cautions
    assert warned[0].startswith("This MR image is FLAIR-weighted; model ")
    assert "T1C (10 cases)" in warned[0]
    for quiet in (t1c, unknown):
        assert not any("weighted" in c for c in score_case(quiet, loaded).cautions)
    assert sequence_caution("FLAIR", {}, "m") == []  # a card of before: nothing known


def test_an_uploaded_dcm2niix_sidecar_gives_the_weighting_and_leaves_the_clinical_values(
    shared_data: Path, tmp_path: Path
) -> None:
    """A real MR (pyradiomics' brain1) uploaded as dcm2niix writes it: 'sub-01_run-1.nii.gz' and
    its sidecar 'sub-01_run-1.json' (MPRAGE timing in seconds, the scanner's site and date), a
    GTV mask and clinical.json. The sidecar was stored as the clinical values ('clinical.json',
    sorted before the real one, which became 'clinical-2.json' and was never read): the
    patient's age was lost and the weighting with it."""
    from survival_core.io.upload_case import describe_upload, load_upload, upload_clinical
    from survival_core.io.uploads import store_upload, upload_notes

    brain = shared_data / "pyradiomics"
    for name, source in (("sub-01_run-1", "brain1_image"), ("GTV", "brain1_label")):
        sitk.WriteImage(
            sitk.ReadImage(str(brain / f"{source}.nrrd")), str(tmp_path / f"{name}.nii.gz")
        )
    sidecar = {
        "Modality": "MR",
        "InstitutionName": "Leak Hospital",
        "AcquisitionDateTime": "2019-03-17T10:22:31",
        "EchoTime": 0.00226,
        "RepetitionTime": 2.3,
        "InversionTime": 0.9,
        "ScanningSequence": "GR_IR",
        "ConversionSoftware": "dcm2niix",
    }
    files = [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("*.nii.gz"))]
    files += [
        ("sub-01_run-1.json", json.dumps(sidecar).encode()),
        ("clinical.json", json.dumps({"age": 61, "sex": "F"}).encode()),
    ]
    folder = store_upload(files)
    contents = describe_upload(folder)
    image = contents.suggested_image()
    stored = json.loads((folder / f"{volume_stem(image)}.json").read_text())
    assert stored == {"SeriesDescription": "T1"}  # the site and the date are not stored

    assert upload_clinical(contents, "upload", [])["age"] == 61
    case = load_upload(contents, contents.suggested_roles(), image_name=image, modality="MR")
    assert case.sequence == "T1"

    ct_sidecar = {"Modality": "CT", "ConversionSoftware": "dcm2niix", "StationName": "CT01"}
    files[-2] = ("sub-01_run-1.json", json.dumps(ct_sidecar).encode())
    folder = store_upload(files)
    assert sorted(p.name for p in folder.glob("*.json") if p.name != "upload-notes.json") == [
        "clinical.json"
    ]
    assert any("naming no MR weighting" in note for note in upload_notes(folder))


def test_an_imported_dcm2niix_cohort_keeps_each_images_weighting(
    shared_data: Path, tmp_path: Path
) -> None:
    """A cohort of dcm2niix conversions ('3_mprage.nii.gz' and its sidecar '3_mprage.json', whose
    names say no weighting but whose timing does) imported: the case's image keeps the
    weighting the sidecar gives, written as the case's own sidecar; a patient whose sidecar is
    cut short is imported with none (its name says nothing), as without one."""
    from survival_core.cohort.importer import import_images
    from survival_core.io.mr_sequence import sidecar_sequence

    brain = shared_data / "pyradiomics"
    for patient in ("P1", "P2"):
        folder = tmp_path / "download" / patient
        folder.mkdir(parents=True)
        for name, source in (("3_sag", "brain1_image"), ("GTV", "brain1_label")):
            image = sitk.ReadImage(str(brain / f"{source}.nrrd"))
            sitk.WriteImage(image, str(folder / f"{name}.nii.gz"))
    timing = {"EchoTime": 0.00226, "RepetitionTime": 2.3, "InversionTime": 0.9, "Modality": "MR"}
    (tmp_path / "download" / "P1" / "3_sag.json").write_text(json.dumps(timing))
    (tmp_path / "download" / "P2" / "3_sag.json").write_text('{"EchoTime": 0.0')  # cut short

    result = import_images(
        tmp_path / "download", tmp_path / "cohort", modality="MR", image="3_sag", workers=1
    )
    assert [o.status for o in result.outcomes] == ["imported", "imported"], result.outcomes
    assert not any("3_sag.json" in note for note in result.skipped)  # read, not skipped
    cases = tmp_path / "cohort" / "cases"
    found = {c.name: sidecar_sequence(c / "image.nii.gz") for c in sorted(cases.iterdir())}
    assert sorted(found.values(), key=str) == [None, "T1"]
