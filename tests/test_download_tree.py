"""The TCIA-like download built from a generated cohort: its layout, clones, and its import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydicom
import pytest

from survival_core.cohort.clinical_join import join_clinical
from survival_core.cohort.importer import case_ids_for, import_images
from survival_core.io.clinical_schema import CohortSchema
from survival_core.io.deid import Deidentifier
from survival_core.io.manifest import read_manifest
from survival_core.synthetic.download_tree import DownloadTree, write_download
from survival_core.synthetic.generate import generate_cohort


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five generated lung cases: two DICOM, three NIfTI."""
    out = tmp_path_factory.mktemp("generated") / "cohort"
    generate_cohort(out, 5, seed=11, workers=1, site="lung")
    return out


@pytest.fixture(scope="module")
def tree(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> DownloadTree:
    """One patient per generated case; one DICOM patient's GTV is misnamed."""
    return write_download(generated, tmp_path_factory.mktemp("download"), problems=["no_gtv"])


def _dicom_files(folder: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(folder.rglob("*.dcm"))]


def test_each_case_is_a_patient_nested_as_downloaded(generated: Path, tree: DownloadTree) -> None:
    manifest = read_manifest(generated)
    assert [p.source for p in tree.patients] == list(manifest.case_id)
    assert tree.patient_ids == [f"LUNG1-{k:03d}" for k in range(1, 6)]
    assert sorted(p.name for p in tree.images.iterdir()) == tree.patient_ids
    for patient, row in zip(tree.patients, manifest.itertuples(), strict=True):
        folder = tree.images / patient.patient_id
        if patient.fmt == "nifti":
            names = {"image.nii.gz", "gtv.nii.gz", "lung.nii.gz"}
            assert {p.name for p in (folder / "nifti").iterdir()} == names
            continue
        [study] = folder.iterdir()
        series = sorted(p.name.split("-")[1] for p in study.iterdir())
        assert series == ["CT THORAX", "RTSTRUCT", "SCOUT"]
        headers = _dicom_files(folder)
        assert {(h.PatientID, str(h.PatientName)) for h in headers} == {
            (patient.patient_id, patient.patient_name)
        }
        assert not any("PatientIdentityRemoved" in h for h in headers)
        originals = _dicom_files(Path(row.image))
        assert len(headers) < len(originals)  # cropped around the GTV (plus scout and RTSTRUCT)
        assert not {h.SOPInstanceUID for h in headers} & {h.SOPInstanceUID for h in originals}


def test_clones_get_their_own_identity_and_the_same_tree_the_same_bytes(
    generated: Path, tmp_path: Path
) -> None:
    manifest = read_manifest(generated)
    dicom_case = manifest[manifest.format == "dicom"].case_id.iloc[0]
    trees = [
        write_download(generated, tmp_path / str(k), cases=[dicom_case] * 2, problems=["zipped"])
        for k in range(2)
    ]
    first, second = trees[0].patients
    assert first.source == second.source and first.patient_name != second.patient_name
    assert (trees[0].images / f"{first.patient_id}.zip").is_file()
    uids = [{h.SOPInstanceUID for h in _dicom_files(tree.images)} for tree in trees]
    assert len(uids[0]) == len(uids[1]) > 0
    files = [sorted(p for p in tree.images.rglob("*") if p.is_file()) for tree in trees]
    for a, b in zip(*files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a


def test_problems_are_checked(generated: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown problem"):
        write_download(generated, tmp_path / "a", problems=["upside_down"])
    with pytest.raises(ValueError, match="only 2 DICOM patients"):
        write_download(generated, tmp_path / "b", problems=["no_gtv"] * 3)


def test_tree_imports_and_its_spreadsheet_joins(
    generated: Path, tree: DownloadTree, tmp_path: Path
) -> None:
    out = tmp_path / "cohort"
    result = import_images(tree.images, out, workers=1)
    assert result.counts() == {
        "imported": 4, "failed": 1, "unchanged": 0, "absent": 0, "withdrawn": 0
    }  # fmt: skip
    ids = case_ids_for(out, tree.patient_ids)
    assert [pid for pid, case in ids.items() if case] == tree.importable
    [(broken, expected)] = tree.failing.items()
    reasons = {o.patient: o.reason for o in result.outcomes}
    assert expected in reasons[Deidentifier().pseudonym(broken)]

    joined = join_clinical(out, tree.clinical, time_unit=tree.time_unit)
    assert (
        joined.summary().items()
        >= {
            "clinical_rows": 4,
            "clinical_rows_without_case": 1,
            "cases_without_clinical_row": 0,
        }.items()
    )
    clinical = pd.read_csv(out / "clinical.csv", index_col="case_id")
    truth = pd.read_csv(generated / "clinical.csv", index_col="case_id")
    for patient in tree.patients:
        if ids[patient.patient_id]:  # each patient's own outcome
            row, source = clinical.loc[ids[patient.patient_id]], truth.loc[patient.source]
            assert (row["time"], row["event"]) == (source["time"], source["event"])
    own = ["age_at_diagnosis", "gender", "ecog", "t_stage", "histology"]
    assert list(clinical.columns) == ["time", "event", *own]
    for column in ("gender", "histology"):  # spellings differing by case merged
        assert clinical[column].nunique() == clinical[column].str.lower().nunique()
    sheet = pd.read_csv(tree.clinical, dtype=str, keep_default_na=False).set_index("PatientID")
    for header, column in (("Age at diagnosis (years)", "age_at_diagnosis"), ("ECOG", "ecog")):
        coded = {ids[pid] for pid in sheet.index[sheet[header].isin(["-999", "NA"])] if ids[pid]}
        assert set(clinical.index[clinical[column].isna()]) == coded, column
    schema = CohortSchema.load(out / "schema.yaml")
    assert schema["t_stage"].kind == "category" and schema["t_stage"].label == "T Stage"
    assert set(schema["t_stage"].categories) <= {"T1", "T2", "T3", "T4"}
