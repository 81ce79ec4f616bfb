"""Importing a PACS-style download (patient/study/series folders, a zip, NIfTI) as a cohort."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary, generate_uid

from survival_core.cli.main import main
from survival_core.cohort.generate import generate_cohort
from survival_core.cohort.importer import (
    case_ids_for,
    check_roi_map,
    import_images,
    read_roi_map,
)
from survival_core.cohort.inventory import inventory_tree
from survival_core.cohort.manifest import read_manifest
from survival_core.errors import ConfigError
from survival_core.io.case_loader import load_case

ROOT = Path(__file__).resolve().parents[1]
#: PatientID -> (patient name, what is wrong with the patient's files).
PATIENTS = {
    "MRN-1001": ("DOE^JANE", "good"),
    "MRN-1002": ("ROE^RICHARD", "zipped"),
    "MRN-1003": ("POE^EDGAR", "no_rtstruct"),
    "MRN-1004": ("MOE^HOWARD", "no_gtv"),
    "MRN-1005": ("LOE^FRANK", "truncated"),
    "MRN-1006": ("ZOE^SALDANA", "two_organs"),
}
VOLUME_FOLDER = "SMITH^JOHN 1952"
SECRETS = [*PATIENTS, *(n for n, _ in PATIENTS.values()), "DOE", "JANE", "RICHARD", "SMITH"]


def _remap_uids(ds: Dataset, patient_id: str) -> None:
    """New instance UIDs for a cloned patient, the same for the same original UID."""

    def remap(dataset: Dataset, elem: pydicom.DataElement) -> None:
        if elem.VR != "UI" or not elem.value or elem.keyword.endswith("ClassUID"):
            return
        if str(elem.value) in UID_dictionary:
            return
        elem.value = generate_uid(entropy_srcs=[patient_id, str(elem.value)])

    ds.walk(remap)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def _cropped_case(case: Path) -> tuple[list[Dataset], Dataset]:
    """The synthetic DICOM case cut to the slices around its GTV, with the contours on them."""
    rtstruct = pydicom.dcmread(case / "rtstruct.dcm")
    slices = [pydicom.dcmread(p) for p in sorted((case / "ct").iterdir())]
    slices.sort(key=lambda s: float(s.ImagePositionPatient[2]))
    gtv_number = next(
        r.ROINumber for r in rtstruct.StructureSetROISequence if r.ROIName.startswith("GTV")
    )
    gtv_sops = {
        c.ContourImageSequence[0].ReferencedSOPInstanceUID
        for item in rtstruct.ROIContourSequence
        if item.ReferencedROINumber == gtv_number
        for c in item.ContourSequence
    }
    index = [i for i, s in enumerate(slices) if s.SOPInstanceUID in gtv_sops]
    slices = slices[max(min(index) - 2, 0) : max(index) + 3]
    kept = {s.SOPInstanceUID for s in slices}
    keep_rois = {"GTV-1", "Lung-Left", "Lung-Right"}
    numbers = {r.ROINumber for r in rtstruct.StructureSetROISequence if r.ROIName in keep_rois}
    rtstruct.StructureSetROISequence = [
        r for r in rtstruct.StructureSetROISequence if r.ROINumber in numbers
    ]
    rtstruct.RTROIObservationsSequence = [
        o for o in rtstruct.RTROIObservationsSequence if o.ReferencedROINumber in numbers
    ]
    items = [i for i in rtstruct.ROIContourSequence if i.ReferencedROINumber in numbers]
    for item in items:
        item.ContourSequence = [
            c
            for c in item.ContourSequence
            if c.ContourImageSequence[0].ReferencedSOPInstanceUID in kept
        ]
    rtstruct.ROIContourSequence = items
    series = rtstruct.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    refs = series.RTReferencedSeriesSequence[0]
    refs.ContourImageSequence = [
        r for r in refs.ContourImageSequence if r.ReferencedSOPInstanceUID in kept
    ]
    return slices, rtstruct


def _patient_files(
    slices: list[Dataset], rtstruct: Dataset, patient_id: str, name: str, problem: str
) -> dict[str, Dataset]:
    """Relative path -> data set of one patient: study/series folders, a scout, the RTSTRUCT in
    its own series folder, each file carrying the patient's identity."""
    slices = [copy.deepcopy(s) for s in slices]
    rtstruct = copy.deepcopy(rtstruct)
    scout = [copy.deepcopy(s) for s in slices[:2]]
    for k, s in enumerate(scout):
        s.SeriesInstanceUID = generate_uid(entropy_srcs=["scout", slices[0].SeriesInstanceUID])
        s.SOPInstanceUID = generate_uid(entropy_srcs=["scout", str(k), s.SOPInstanceUID])
        s.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    if problem == "no_gtv":
        for roi in rtstruct.StructureSetROISequence:
            if roi.ROIName.startswith("GTV"):
                roi.ROIName = "Target-1"
    if problem == "two_organs":  # a "Liver" drawn over both lungs: two sites' organs
        lungs = [r for r in rtstruct.StructureSetROISequence if r.ROIName.startswith("Lung")]
        roi = copy.deepcopy(lungs[0])
        roi.ROINumber, roi.ROIName = 99, "Liver"
        rtstruct.StructureSetROISequence.append(roi)
        numbers = {r.ROINumber for r in lungs}
        items = [i for i in rtstruct.ROIContourSequence if i.ReferencedROINumber in numbers]
        item = copy.deepcopy(items[0])
        item.ReferencedROINumber = 99
        item.ContourSequence = [copy.deepcopy(c) for i in items for c in i.ContourSequence]
        rtstruct.ROIContourSequence.append(item)
    files = {f"study-1/series-2-ct/{k:03d}.dcm": s for k, s in enumerate(slices)}
    files |= {f"study-1/series-1-scout/{k}.dcm": s for k, s in enumerate(scout)}
    if problem != "no_rtstruct":
        files["study-1/series-3-rtstruct/rs.dcm"] = rtstruct
    for ds in files.values():
        ds.PatientID, ds.PatientName = patient_id, name
        del ds.PatientIdentityRemoved
        _remap_uids(ds, patient_id)
    return files


def _write_patient(tree: Path, files: dict[str, Dataset], name: str, problem: str) -> None:
    folder = name.replace("^", "_")
    if problem == "zipped":
        with zipfile.ZipFile(tree / f"{folder}.zip", "w") as archive:
            for relative, ds in files.items():
                staging = tree / ".tmp.dcm"
                ds.save_as(staging, enforce_file_format=True)
                archive.write(staging, f"{folder}/{relative}")
                staging.unlink()
        return
    for relative, ds in files.items():
        path = tree / folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
    if problem == "truncated":
        victim = tree / folder / "study-1/series-2-ct/003.dcm"
        victim.write_bytes(victim.read_bytes()[: -victim.stat().st_size // 3])


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A download of six DICOM patients (two good, four broken) and a NIfTI patient folder."""
    generated = tmp_path_factory.mktemp("generated") / "cohort"
    generate_cohort(generated, 3, seed=3, workers=1, site="lung")
    manifest = read_manifest(generated)
    dicom_case = Path(manifest[manifest.format == "dicom"].iloc[0].image).parent
    nifti_case = Path(manifest[manifest.format == "nifti"].iloc[0].image).parent
    slices, rtstruct = _cropped_case(dicom_case)
    tree = tmp_path_factory.mktemp("download")
    for patient_id, (name, problem) in PATIENTS.items():
        files = _patient_files(slices, rtstruct, patient_id, name, problem)
        _write_patient(tree, files, name, problem)
    volumes = tree / VOLUME_FOLDER / "nifti"
    volumes.mkdir(parents=True)
    for name in ("image.nii.gz", "gtv.nii.gz", "lung.nii.gz"):
        shutil.copy(nifti_case / name, volumes / name)
    (tree / "README.txt").write_text("exported from PACS\n")
    return tree


@pytest.fixture(scope="module")
def imported(download: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The download imported once, uninterrupted; (cohort folder, case id -> outcome)."""
    out = tmp_path_factory.mktemp("imported") / "cohort"
    result = import_images(download, out, workers=2)
    return out, {o.patient: o for o in result.outcomes}


def _case_ids(out: Path) -> dict[str, str | None]:
    return case_ids_for(out, [*PATIENTS, VOLUME_FOLDER])


def _snapshot(out: Path) -> dict[str, bytes]:
    """Relative path -> bytes of what an import writes, the per-run report aside."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "import_report.csv"
    }


def test_inventory_groups_files_by_patient(download: Path) -> None:
    with inventory_tree(download, workers=1) as inventory:
        patients = inventory.patients
        assert set(patients) == {*PATIENTS, f"folder:{VOLUME_FOLDER}"}
        good = patients["MRN-1002"].dicom  # read from inside the zip
        assert sorted(s.n_slices for s in good.series)[0] == 2
        assert [s.is_scout for s in sorted(good.series, key=lambda s: s.n_slices)] == [True, False]
        assert good.rtstructs[0].roi_names == ("GTV-1", "Lung-Left", "Lung-Right")
        assert not patients["MRN-1003"].dicom.annotations
        assert len(patients[f"folder:{VOLUME_FOLDER}"].volumes) == 3
        assert any("README.txt" in note for note in inventory.skipped)


def test_good_patients_load_and_broken_ones_say_why(imported: tuple[Path, dict]) -> None:
    out, outcomes = imported
    ids = _case_ids(out)
    status = {pid: outcomes[ids[pid] or ""].status for pid in PATIENTS if ids[pid]}
    assert status == {"MRN-1001": "imported", "MRN-1002": "imported"}
    reasons = {o.patient: o.reason for o in outcomes.values() if o.status == "failed"}
    assert len(reasons) == 4 and len(outcomes) == 7
    texts = " | ".join(reasons.values())
    assert "no RTSTRUCT or SEG" in texts
    assert "no structure is recognised as the GTV" in texts and "Target-1" in texts
    assert "Several organs could host the tumour" in texts
    assert "pixel data" in texts or "cannot be read" in texts
    manifest = read_manifest(out)
    assert sorted(manifest.case_id) == sorted(i for i in ids.values() if i)
    for row in manifest.itertuples():
        case = load_case(Path(row.image).parent)
        assert case.masks["gtv"] is not None and case.site == "lung"
    dicom_row = manifest[manifest.case_id == ids["MRN-1001"]].iloc[0]
    assert dicom_row.format == "dicom" and dicom_row.modality == "CT"
    assert load_case(Path(dicom_row.image).parent).case_id == ids["MRN-1001"]
    report = (out / "import_report.csv").read_text().splitlines()
    assert report[0] == "patient,status,reason" and len(report) == 8


def test_nothing_written_names_the_patient(imported: tuple[Path, dict]) -> None:
    out, _ = imported
    for path in out.rglob("*"):
        for secret in (*SECRETS, VOLUME_FOLDER, "DOE_JANE", "ROE_RICHARD"):
            assert secret not in path.name
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), (path, secret)


def test_rerun_touches_nothing(imported: tuple[Path, dict], download: Path) -> None:
    out, first = imported
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.name != "import_report.csv"}
    before = _snapshot(out)
    result = import_images(download, out, workers=1)
    assert {p: p.stat().st_mtime_ns for p in times} == times
    assert _snapshot(out) == before
    again = {o.patient: o.status for o in result.outcomes}
    assert again == {
        p: ("unchanged" if o.status == "imported" else "failed") for p, o in first.items()
    }
    assert result.counts() == {"imported": 0, "failed": 4, "unchanged": 3}


def test_killed_import_then_rerun_equals_uninterrupted(
    imported: tuple[Path, dict], download: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cohort"
    command = [sys.executable, "-m", "survival_core", "cohort", "import"]
    command += ["--images", str(download), "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if " imported" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "manifest.csv").exists()
    result = import_images(download, out, workers=1)
    assert result.counts()["unchanged"] == 1
    assert _snapshot(out) == _snapshot(imported[0])
    assert not (out / ".staging").exists()


def test_roi_map_resolves_an_ambiguous_organ(
    imported: tuple[Path, dict], download: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    roi_map = tmp_path / "roi_map.yaml"
    roi_map.write_text("patients:\n  MRN-1006:\n    organ: [lung-left, Lung-Right]\n")
    argv = ["cohort", "import", "--images", str(download), "--out", str(out)]
    assert main([*argv, "--roi-map", str(roi_map), "--workers", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["imported"], summary["failed"], summary["unchanged"]) == (1, 3, 3)
    case_id = _case_ids(out)["MRN-1006"]
    row = read_manifest(out).set_index("case_id").loc[case_id]
    roles = json.loads(row.roles)
    assert roles == {"organ": ["Lung-Left", "Lung-Right"]}
    # the case folder says its own roles, so every later load (extraction, images) finds them
    case = load_case(Path(row.image).parent)
    assert set(case.masks) >= {"gtv", "organ"} and case.site == "lung"


def test_roi_map_and_output_folder_are_checked(download: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        check_roi_map({"defaults": {"gtv": "GTV"}})
    with pytest.raises(ConfigError, match="unknown role"):
        check_roi_map({"default": {"tumour": "GTV"}})
    (tmp_path / "bad.yaml").write_text("default: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot be read as YAML"):
        read_roi_map(tmp_path / "bad.yaml")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="notes.txt"):
        import_images(download, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml", "notes.txt"]


def test_clinical_spreadsheet_joins_on_the_original_ids(
    imported: tuple[Path, dict], download: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The hospital's spreadsheet, keyed by its own IDs (as exported: months, Alive/Dead, -999),
    joins the imported cases through the keyed ID map; no original ID is written."""
    import pandas as pd

    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    sheet = tmp_path / "clinical.csv"
    sheet.write_text(
        "MRN;OS (months);Vital status;Age (years);Histology;Stage\n"
        "MRN-1001;14,5;Dead;63;Adenocarcinoma;IIIb\n"
        "MRN-1002;30;Alive;-999;adenocarcinoma ;IIIA\n"
        "SMITH^JOHN 1952;8;Dead;71;Squamous;IV\n"
        "MRN-9999;12;Alive;55;Squamous;II\n",
        encoding="utf-8",
    )
    argv = ["cohort", "import", "--images", str(download), "--out", str(out)]
    assert main([*argv, "--clinical", str(sheet), "--workers", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["unchanged"] == 3  # the images were imported already
    assert (summary["clinical_rows"], summary["clinical_rows_without_case"]) == (3, 1)
    assert summary["cases_without_clinical_row"] == 0
    clinical = pd.read_csv(out / "clinical.csv", index_col="case_id")
    case_ids = _case_ids(out)
    assert set(clinical.index) == {
        case_ids["MRN-1001"],
        case_ids["MRN-1002"],
        case_ids[VOLUME_FOLDER],
    }
    first = clinical.loc[case_ids["MRN-1001"]]
    assert first["time"] == pytest.approx(14.5 * 30.4375) and first["event"] == 1
    assert pd.isna(clinical.loc[case_ids["MRN-1002"], "age"])  # -999 read as missing
    assert clinical["histology"].dropna().nunique() == 2  # casing and spaces merged
    assert (out / "schema.yaml").is_file() and (out / "clinical_report.csv").is_file()
    for name in ("clinical.csv", "schema.yaml", "clinical_report.csv"):
        text = (out / name).read_text()
        assert not any(secret in text for secret in [*SECRETS, "MRN-9999"]), name
