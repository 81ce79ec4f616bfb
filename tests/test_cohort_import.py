"""Importing a PACS-style download (patient/study/series folders, a zip, NIfTI) as a cohort."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import SimpleITK as sitk

from survival_core.cli.main import main
from survival_core.cohort.importer import (
    IMPORT_LOCK,
    case_ids_for,
    check_roi_map,
    import_images,
    read_roi_map,
    scrub,
)
from survival_core.cohort.inventory import inventory_tree
from survival_core.cohort.withdrawal import withdraw
from survival_core.errors import ConfigError, InputError
from survival_core.features.table import write_table
from survival_core.io.case_loader import load_case
from survival_core.io.deid import Deidentifier
from survival_core.io.locks import folder_lock
from survival_core.io.manifest import read_manifest
from survival_core.synthetic.download_tree import DownloadTree, TreePatient, write_download
from survival_core.synthetic.generate import generate_cohort

ROOT = Path(__file__).resolve().parents[1]
#: What is wrong with the DICOM patients cloned from one generated case (one stays good).
PROBLEMS = ("zipped", "no_rtstruct", "no_gtv", "truncated", "two_organs")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> DownloadTree:
    """A download of six DICOM patients (two good, four broken) and a NIfTI patient folder."""
    generated = tmp_path_factory.mktemp("generated") / "cohort"
    generate_cohort(generated, 3, seed=3, workers=1, site="lung")
    manifest = read_manifest(generated)
    dicom_case = manifest[manifest.format == "dicom"].case_id.iloc[0]
    nifti_case = manifest[manifest.format == "nifti"].case_id.iloc[0]
    built = write_download(
        generated,
        tmp_path_factory.mktemp("download"),
        cases=[dicom_case] * 6 + [nifti_case],
        problems=PROBLEMS,
    )
    (built.images / "README.txt").write_text("exported from PACS\n")
    return built


@pytest.fixture(scope="module")
def download(tree: DownloadTree) -> Path:
    """The folder the patients were downloaded to."""
    return tree.images


def _good(tree: DownloadTree, fmt: str) -> TreePatient:
    return next(p for p in tree.patients if p.fmt == fmt and not p.problem)


@pytest.fixture(scope="module")
def imported(download: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The download imported once, uninterrupted; (cohort folder, case id -> outcome)."""
    out = tmp_path_factory.mktemp("imported") / "cohort"
    result = import_images(download, out, workers=2)
    return out, {o.patient: o for o in result.outcomes}


def _case_ids(out: Path, tree: DownloadTree) -> dict[str, str | None]:
    return case_ids_for(out, tree.patient_ids)


def _snapshot(out: Path) -> dict[str, bytes]:
    """Relative path -> bytes of what an import writes, the per-run report aside."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "import_report.csv"
    }


def test_inventory_groups_files_by_patient(tree: DownloadTree) -> None:
    volume_folder = _good(tree, "nifti").patient_id
    with inventory_tree(tree.images, workers=1) as inventory:
        patients = inventory.patients
        dicom_ids = [p.patient_id for p in tree.patients if p.fmt == "dicom"]
        assert set(patients) == {*dicom_ids, f"folder:{volume_folder}"}
        good = patients[tree.with_problem("zipped").patient_id].dicom  # read from inside the zip
        assert sorted(s.n_slices for s in good.series)[0] == 2
        assert [s.is_scout for s in sorted(good.series, key=lambda s: s.n_slices)] == [True, False]
        assert good.rtstructs[0].roi_names == ("GTV-1", "Lung-Left", "Lung-Right")
        assert not patients[tree.with_problem("no_rtstruct").patient_id].dicom.annotations
        assert len(patients[f"folder:{volume_folder}"].volumes) == 3
        assert any("README.txt" in note for note in inventory.skipped)


def test_good_patients_load_and_broken_ones_say_why(
    imported: tuple[Path, dict], tree: DownloadTree
) -> None:
    out, outcomes = imported
    ids = _case_ids(out, tree)
    status = {pid: outcomes[case_id].status for pid, case_id in ids.items() if case_id}
    assert status == dict.fromkeys(tree.importable, "imported")
    assert len(tree.importable) == 3  # the good and the zipped DICOM patient, the NIfTI folder
    reasons = {o.patient: o.reason for o in outcomes.values() if o.status == "failed"}
    assert len(reasons) == 4 and len(outcomes) == 7
    pseudonym = Deidentifier().pseudonym
    for patient_id, expected in tree.failing.items():
        assert expected in reasons[pseudonym(patient_id)], patient_id
    assert "Target-1" in reasons[pseudonym(tree.with_problem("no_gtv").patient_id)]
    manifest = read_manifest(out)
    assert sorted(manifest.case_id) == sorted(i for i in ids.values() if i)
    for row in manifest.itertuples():
        case = load_case(Path(row.image).parent)
        assert case.masks["gtv"] is not None and case.site == "lung"
    good_id = ids[_good(tree, "dicom").patient_id]
    dicom_row = manifest[manifest.case_id == good_id].iloc[0]
    assert dicom_row.format == "dicom" and dicom_row.modality == "CT"
    assert load_case(Path(dicom_row.image).parent).case_id == good_id
    report = (out / "import_report.csv").read_text().splitlines()
    assert report[0] == "patient,status,reason" and len(report) == 8


def test_nothing_written_names_the_patient(imported: tuple[Path, dict], tree: DownloadTree) -> None:
    out, _ = imported
    secrets = tree.identifiers
    assert len(secrets) == 1 + 6 * 4  # the NIfTI folder; DICOM IDs, names and their parts
    for path in out.rglob("*"):
        for secret in secrets:
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
    assert result.counts() == {
        "imported": 0, "failed": 4, "unchanged": 3, "absent": 0, "withdrawn": 0
    }  # fmt: skip


def test_a_patient_gone_from_the_download_stays_reported_until_its_case_is_deleted(
    imported: tuple[Path, dict], download: Path, tree: DownloadTree, tmp_path: Path
) -> None:
    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    gone = _good(tree, "dicom").patient_id
    smaller = tmp_path / "download"
    shutil.copytree(download, smaller, ignore=lambda folder, names: [gone] if gone in names else [])
    case_id = _case_ids(out, tree)[gone]
    lines: list[str] = []
    result = import_images(smaller, out, workers=1, progress=lines.append)
    absent = [o for o in result.outcomes if o.status == "absent"]
    assert [o.patient for o in absent] == [case_id] and result.counts()["absent"] == 1
    assert f"cohort withdraw {case_id}" in absent[0].reason and "consent" in absent[0].reason
    assert "1 patient(s) of earlier imports are not in this download" in lines[-1]
    assert case_id in set(read_manifest(out).case_id)  # a rerun never deletes a case
    assert f"{case_id},absent," in (out / "import_report.csv").read_text()
    shutil.rmtree(out / "cases" / case_id)
    result = import_images(smaller, out, workers=1)
    assert result.counts()["absent"] == 0
    assert case_id not in set(read_manifest(out).case_id)
    assert case_id not in (out / "id_map.csv").read_text()


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
    # the case the killed run had imported is kept (under load the kill may land after another)
    assert result.counts()["unchanged"] >= 1
    assert _snapshot(out) == _snapshot(imported[0])
    assert not (out / ".staging").exists()


def test_an_import_killed_while_renaming_a_table_reruns_and_two_at_once_do_not(
    imported: tuple[Path, dict], download: Path, tmp_path: Path
) -> None:
    """A kill between writing manifest.csv and renaming it left '.manifest.csv.tmp-<pid>-...',
    and the rerun refused the folder as foreign; two imports into one folder each deleted the
    other's half-built cases (patients lost)."""
    out = tmp_path / "cohort"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    (out / f".manifest.csv.tmp-{process.pid}-0a1b2c3d").write_text("case_id,ima")
    with (
        folder_lock(out, IMPORT_LOCK, "cohort import"),  # another import holds the folder
        pytest.raises(ConfigError, match="Another cohort import into .* is running"),
    ):
        import_images(download, out, workers=1)
    import_images(download, out, workers=1)
    assert _snapshot(out) == _snapshot(imported[0])
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [IMPORT_LOCK]


def test_a_withdrawn_patient_is_taken_out_everywhere_and_kept_out(
    imported: tuple[Path, dict],
    tree: DownloadTree,
    download: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """Consent withdrawn: deleting cases/<id>/ and importing again (the README's steps) left the
    patient's row in clinical.csv (trained on, shown on the Cohort page) and, the download still
    holding the patient, imported them back without a word. `cohort withdraw` takes them out of
    every table and cache and keeps them out of later imports and joins."""
    import pandas as pd

    from survival_core.features.cohort import case_content
    from survival_core.paths import data_subdir

    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    good, other = _good(tree, "dicom").patient_id, _good(tree, "nifti").patient_id
    sheet = tmp_path / "clinical.csv"
    sheet.write_text(f"MRN,OS (months),Vital status\n{good},14,Dead\n{other},8,Alive\n")
    argv = ["cohort", "import", "--images", str(download), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--clinical", str(sheet), "--json"]) == 0
    case_id, kept = _case_ids(out, tree)[good], _case_ids(out, tree)[other]
    # the feature cache's entry of the case, keyed by its folder's content (and how it is read)
    digest = case_content(out / "cases" / case_id, None, shared=False)
    cached = data_subdir("cache") / "features" / "settingshash" / f"{digest}-at-lung.json"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"case_id": case_id, "features": {"a": 1.0}}))
    run = data_subdir("runs") / "run123" / "oof.csv"
    run.parent.mkdir(parents=True, exist_ok=True)
    run.write_text(f"case_id,risk\n{case_id},0.3\n{kept},0.1\n")
    # a feature table written into the cohort folder (the README's `extract --out`) with its
    # load warnings (which a re-import refused as not RadSurv's), and a cross-validation's
    # output folder there
    features = pd.DataFrame({"f": [1.0, 2.0]}, index=pd.Index([case_id, kept], name="case_id"))
    write_table(features, out / "wei.parquet", {b"radsurv.settings": b"{}"})
    warned = f"case_id,warning\n{case_id},gtv.nii:2 is taken as the GTV\n{kept},a slice gap\n"
    (out / "wei.warnings.csv").write_text(warned)
    shutil.copytree(run.parent, out / "cv1")
    (out / "cv1" / "folds.csv").write_text("case_id,fold\n")
    (out / "cv1" / "summary.json").write_text("{}")
    capsys.readouterr()
    by_id = ["--patient-id", good]  # the hospital's ID, as the images had it
    assert main(["cohort", "withdraw", "--cohort", str(out), *by_id, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["withdrawn"] == [case_id]
    assert summary["runs_naming_them"] == ["cohort/cv1", "run123"]
    assert pd.read_parquet(out / "wei.parquet").index.tolist() == [kept]
    assert pd.read_csv(out / "wei.warnings.csv")["case_id"].tolist() == [kept]
    assert summary["cohort_table_rows"] == 2
    assert (summary["case_folders"], summary["clinical_rows"], summary["cached_features"]) == (
        1, 1, 1
    )  # fmt: skip
    assert not (out / "cases" / case_id).exists() and not cached.exists()
    for table in ("manifest.csv", "id_map.csv", "clinical.csv", "import_report.csv"):
        assert case_id not in (out / table).read_text(), table
    assert kept in (out / "clinical.csv").read_text()
    # the download and the spreadsheet still hold the patient: left out, said
    assert main([*argv, "--clinical", str(sheet), "--json"]) == 0
    report = pd.read_csv(out / "import_report.csv").set_index("patient")
    assert report.loc[case_id, "status"] == "withdrawn"
    assert "withdrawn from the cohort on" in report.loc[case_id, "reason"]
    assert not (out / "cases" / case_id).exists()
    assert case_id not in (out / "clinical.csv").read_text()
    assert "patients withdrawn from the cohort" in (out / "clinical_report.csv").read_text()
    with pytest.raises(InputError, match="MRN-1: no case of"):  # an original ID is no case id
        withdraw(out, ["MRN-1"])


def test_a_withdrawn_patient_leaves_the_feature_tables_below_the_cohort_folder(
    imported: tuple[Path, dict],
    tree: DownloadTree,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feature table written into a sub-folder of the cohort (`extract --out
    my_cohort/tables/x.parquet`) kept the withdrawn patient's row, and the withdrawal's output
    said nothing of it; nor of the tables written outside the cohort, which it cannot find."""
    import pandas as pd

    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    ids = _case_ids(out, tree)
    case_id, kept = ids[_good(tree, "dicom").patient_id], ids[_good(tree, "nifti").patient_id]
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))  # no other test's runs
    features = pd.DataFrame({"f": [1.0, 2.0]}, index=pd.Index([case_id, kept], name="case_id"))
    tables = [out / "tables" / "han.parquet", out / "tables" / "2024" / "han.parquet"]
    for table in tables:
        write_table(features, table, {b"radsurv.settings": b"{}"})
    (out / "tables" / "han.failures.csv").write_text(f"case_id,error\n{case_id},too small\n")
    cv = out / "tables" / "cv1"  # a cross-validation's output there: named, kept as trained
    cv.mkdir()
    for name in ("folds.csv", "oof.csv", "summary.json"):
        (cv / name).write_text(f"case_id,fold\n{case_id},1\n")
    capsys.readouterr()
    assert main(["cohort", "withdraw", "--cohort", str(out), case_id, "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert [pd.read_parquet(t).index.tolist() for t in tables] == [[kept], [kept]]
    assert case_id not in (out / "tables" / "han.failures.csv").read_text()
    assert summary["cohort_table_rows"] == 3
    assert summary["runs_naming_them"] == ["cohort/tables/cv1"]
    assert case_id in (cv / "oof.csv").read_text()
    assert f"feature tables written outside {out} and the data folder" in captured.err
    assert "radsurv.cohort" in captured.err


@pytest.mark.parametrize("mark", ["manifest.csv", "id_map.csv", "cases"])
def test_withdrawing_leaves_a_cohort_stored_inside_the_cohort_folder_alone(
    small_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mark: str
) -> None:
    """Another cohort kept in the cohort folder (`outer/external/`, as the demo's external
    cohort, with a feature table of its own): withdrawing the outer SYN-0001 removed the inner
    cohort's SYN-0001 row, another patient (every generated cohort has a SYN-0001). So did a
    table in the cohort folder extracted from that other cohort (its `radsurv.cohort`)."""
    import pandas as pd

    from survival_core.io.tables import COHORT_KEY

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    outer = tmp_path / "outer"
    shutil.copytree(small_cohort, outer)
    inner = outer / "external"
    inner.mkdir()
    if mark == "cases":
        (inner / mark / "SYN-0001").mkdir(parents=True)
    else:
        (inner / mark).write_text("case_id\nSYN-0001\n")
    features = pd.DataFrame(
        {"f": [1.0, 2.0]}, index=pd.Index(["SYN-0001", "SYN-0002"], name="case_id")
    )
    settings = {b"radsurv.settings": b"{}"}
    tables = {
        "inner's own": inner / "ext_features.parquet",
        "inner's, in outer": outer / "tables" / "ext.parquet",
        "outer's": outer / "tables" / "own.parquet",
    }
    write_table(features, tables["inner's own"], settings)
    write_table(features, tables["inner's, in outer"], settings | {COHORT_KEY: str(inner).encode()})
    write_table(features, tables["outer's"], settings | {COHORT_KEY: str(outer).encode()})
    (outer / "tables" / "ext.failures.csv").write_text("case_id,error\nSYN-0001,too small\n")

    done = withdraw(outer, ["SYN-0001"])
    rows = {name: pd.read_parquet(path).index.tolist() for name, path in tables.items()}
    assert rows == {
        "inner's own": ["SYN-0001", "SYN-0002"],
        "inner's, in outer": ["SYN-0001", "SYN-0002"],
        "outer's": ["SYN-0002"],
    }
    assert "SYN-0001" in (outer / "tables" / "ext.failures.csv").read_text()
    assert done.removed["cohort_table_rows"] == 1


def test_a_patient_failing_on_a_rerun_says_its_earlier_case_stays(
    imported: tuple[Path, dict], tree: DownloadTree, download: Path, tmp_path: Path
) -> None:
    """A redrawn structure set exported beside the old one: the rerun failed the patient ('keep
    only the one to use') and said nothing of the case of the first import, with the old
    contours, that stayed and that training went on using; the refusal's last clause ran into
    that sentence without a full stop."""
    import pydicom

    out, again = tmp_path / "cohort", tmp_path / "download"
    shutil.copytree(imported[0], out)
    shutil.copytree(download, again)
    good = _good(tree, "dicom")
    structure = next(
        p for p in again.rglob("*") if p.is_file() and _is_rtstruct(p, good.patient_id)
    )
    copy = pydicom.dcmread(structure)
    copy.SOPInstanceUID = copy.SOPInstanceUID + ".2"
    copy.save_as(structure.with_name("RS_redrawn.dcm"))
    outcomes = {o.patient: o for o in import_images(again, out, workers=1).outcomes}
    case_id = _case_ids(out, tree)[good.patient_id]
    assert outcomes[case_id].status == "failed"
    assert "download. The case an earlier import made of this patient stays in the cohort" in (
        outcomes[case_id].reason
    )
    assert (out / "cases" / case_id).is_dir()


def _is_rtstruct(path: Path, patient_id: str) -> bool:
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - not DICOM
        return False
    return ds.get("Modality") == "RTSTRUCT" and ds.get("PatientID") == patient_id


def test_a_patient_whose_id_was_corrected_is_told_to_be_an_earlier_case(
    imported: tuple[Path, dict], tree: DownloadTree, download: Path, tmp_path: Path
) -> None:
    """A mistyped patient folder renamed in the download: imported as a new case beside the old
    one (byte-identical images, 12 rows for 11 patients in training) with no word."""
    out, again = tmp_path / "cohort", tmp_path / "download"
    shutil.copytree(imported[0], out)
    shutil.copytree(download, again)
    patient = _good(tree, "nifti").patient_id
    old_case = _case_ids(out, tree)[patient]
    next(p for p in again.rglob(patient) if p.is_dir()).rename(again / "MRN-CORRECTED")
    outcomes = {o.patient: o for o in import_images(again, out, workers=1).outcomes}
    (new,) = [o for o in outcomes.values() if o.status == "imported"]
    assert f"(the same DICOM slices or file content) to those of {old_case} (a case of an" in (
        new.reason
    )
    assert outcomes[old_case].status == "absent"


def test_a_case_folder_renamed_by_hand_is_refused_by_name(
    imported: tuple[Path, dict], download: Path, tmp_path: Path
) -> None:
    """A case folder renamed by hand made a manifest with one case twice (every extraction
    then refused 'every row needs a unique case_id'), or rows pointing at a folder gone."""
    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    first = sorted(p for p in (out / "cases").iterdir() if p.is_dir())[0]
    first.rename(out / "cases" / "RS-FIXED00001")
    with pytest.raises(InputError, match=f"cases/RS-FIXED00001 holds the case {first.name}"):
        import_images(download, out, workers=1)


def test_roi_map_resolves_an_ambiguous_organ(
    imported: tuple[Path, dict],
    tree: DownloadTree,
    download: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    roi_map = tmp_path / "roi_map.yaml"
    two_organs = tree.with_problem("two_organs").patient_id
    roi_map.write_text(f"patients:\n  {two_organs}:\n    organ: [lung-left, Lung-Right]\n")
    argv = ["cohort", "import", "--images", str(download), "--out", str(out)]
    assert main([*argv, "--roi-map", str(roi_map), "--workers", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["imported"], summary["failed"], summary["unchanged"]) == (1, 3, 3)
    case_id = _case_ids(out, tree)[two_organs]
    row = read_manifest(out).set_index("case_id").loc[case_id]
    roles = json.loads(row.roles)
    assert roles == {"organ": ["Lung-Left", "Lung-Right"]}
    # the case folder says its own roles, so every later load (extraction, images) finds them
    case = load_case(Path(row.image).parent)
    assert set(case.masks) >= {"gtv", "organ"} and case.site == "lung"


def test_a_roi_map_default_no_patient_has_is_said_not_replaced_unseen(
    download: Path, tmp_path: Path
) -> None:
    """A map of the GTV as 'GTVp' on patients without one: each got the GTV name matching found
    (a head-and-neck patient's nodal 'GTVn' alone became the tumour), with no word in the
    import report."""
    result = import_images(
        download, tmp_path / "cohort", roi_map=check_roi_map({"default": {"gtv": "GTVp"}}),
        workers=1,
    )  # fmt: skip
    imported = [o for o in result.outcomes if o.status == "imported"]
    assert imported and all(
        "the ROI map's gtv ('GTVp') is not among the structures" in o.reason for o in imported
    )


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
    imported: tuple[Path, dict],
    tree: DownloadTree,
    download: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """The hospital's spreadsheet, keyed by its own IDs (as exported: months, Alive/Dead, -999),
    joins the imported cases through the keyed ID map; no original ID is written."""
    import pandas as pd

    out = tmp_path / "cohort"
    shutil.copytree(imported[0], out)
    good, zipped = _good(tree, "dicom").patient_id, tree.with_problem("zipped").patient_id
    volume_folder = _good(tree, "nifti").patient_id
    sheet = tmp_path / "clinical.csv"
    sheet.write_text(
        "MRN;OS (months);Vital status;Age (years);Histology;Stage\n"
        f"{good};14,5;Dead;63;Adenocarcinoma;IIIb\n"
        f"{zipped};30;Alive;-999;adenocarcinoma ;IIIA\n"
        f"{volume_folder};8;Dead;71;Squamous;IV\n"
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
    case_ids = _case_ids(out, tree)
    assert set(clinical.index) == {case_ids[good], case_ids[zipped], case_ids[volume_folder]}
    first = clinical.loc[case_ids[good]]
    assert first["time"] == pytest.approx(14.5 * 30.4375) and first["event"] == 1
    assert pd.isna(clinical.loc[case_ids[zipped], "age"])  # -999 read as missing
    assert clinical["histology"].dropna().nunique() == 2  # casing and spaces merged
    assert (out / "schema.yaml").is_file() and (out / "clinical_report.csv").is_file()
    for name in ("clinical.csv", "schema.yaml", "clinical_report.csv"):
        text = (out / name).read_text()
        assert not any(secret in text for secret in [*tree.identifiers, "MRN-9999"]), name


def test_real_ct_and_mr_structure_sets_of_one_patient(shared_data: Path, tmp_path: Path) -> None:
    """TCIA STS_001: CT and T1 MR share a frame of reference and neither structure set names its
    series; their slices' kind of image tells each set's image. Unasked, the import says each
    set's image and asks which; a patient entry of the ROI map naming the CT's GTV picks its
    structure set (the MR's, lacking that name, is set aside)."""
    download = shared_data / "sts_sarcoma"
    out = tmp_path / "cohort"
    (outcome,) = import_images(download, out, site="sarcoma", workers=1).outcomes
    assert outcome.status == "failed"
    assert "(RS.dcm: GTV_Mass_CT on the CT; RS.dcm: GTV_Mass_MR_T1 on the MR)" in outcome.reason
    roi_map = check_roi_map({"patients": {"STS_001": {"gtv": ["GTV_Mass_CT"]}}})
    (outcome,) = import_images(download, out, site="sarcoma", roi_map=roi_map, workers=1).outcomes
    assert outcome.status == "imported", outcome.reason
    row = read_manifest(out).iloc[0]
    assert row.modality == "CT" and json.loads(row.roles) == {"gtv": ["GTV_Mass_CT"]}
    gtv = sitk.GetArrayFromImage(load_case(Path(row.image).parent).masks["gtv"])
    assert gtv.sum() > 0


def test_a_structure_set_filed_under_another_patient_id_joins_its_images(
    shared_data: Path, tmp_path: Path
) -> None:
    """TCIA STS_001's CT with its RTSTRUCT re-filed under another PatientID (as a planning
    system's export, or images and contours de-identified apart, give it): the structure set
    references the CT's frame of reference, so it joins that patient, who imports with a note;
    no second, image-less patient is reported."""
    import shutil

    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    download = tmp_path / "download"
    shutil.copytree(source / "image", download / "images")
    rtstruct = pydicom.dcmread(source / "mask" / "RS.dcm")
    rtstruct.PatientID, rtstruct.PatientName = "RT-000123", "Planning^Export"
    (download / "plan").mkdir()
    rtstruct.save_as(download / "plan" / "RS.dcm")

    result = import_images(download, tmp_path / "cohort", site="sarcoma", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    assert (
        "filed under another PatientID but drawn on this patient's image series" in outcome.reason
    )
    assert "RT-000123" not in outcome.reason and "Planning" not in outcome.reason
    row = read_manifest(tmp_path / "cohort").iloc[0]
    assert load_case(Path(row.image).parent).mask_volume_ml("gtv") > 300


def test_patient_named_volume_files_leave_no_name_and_their_roi_labels_resolve(
    shared_data: Path, tmp_path: Path
) -> None:
    """Volume files named after the patient ('DOE JOHN 010203_gtv.nii.gz', a space in it):
    the report and the manifest's roles kept 'DOE_JOHN_010203' (the scrub looked for the
    folder's spelling, with spaces), and a ROI map's 'gtv.nii.gz:1' failed the patient (roles
    resolved on the uploaded names, files staged under their safe names)."""
    import numpy as np

    image = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_image.nrrd"))
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    labels = sitk.GetArrayFromImage(label).astype(np.uint8)
    labels[:2, :2, :2] = 2  # a second label: the ROI map picks label 1
    two = sitk.GetImageFromArray(labels)
    two.CopyInformation(label)
    for folder in ("DOE JOHN 010203", "ROE_JANE"):
        patient = tmp_path / "download" / folder
        patient.mkdir(parents=True)
        sitk.WriteImage(image, str(patient / f"{folder}_image.nii.gz"))
        sitk.WriteImage(two, str(patient / f"{folder}_gtv.nii.gz"))
    roi_map = tmp_path / "roi.yaml"
    roi_map.write_text("default:\n  gtv: ['gtv.nii.gz:1']\n")
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--images", str(tmp_path / "download"), "--out", str(out)]
    assert main([*argv, "--roi-map", str(roi_map), "--workers", "1"]) == 0
    manifest = read_manifest(out)
    assert len(manifest) == 2
    for case_id in manifest["case_id"]:
        case = load_case(out / "cases" / case_id)
        assert int(sitk.GetArrayFromImage(case.masks["gtv"]).sum()) == int((labels == 1).sum())
    for path in out.rglob("*"):
        if path.is_file() and not path.name.endswith(".nii.gz"):  # voxels match by chance
            text = path.read_bytes()
            assert not any(n in text for n in (b"DOE", b"JOHN", b"ROE", b"JANE")), path


def test_skipped_files_are_named_and_a_patient_of_unreadable_files_says_so(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Files the import does not read were only counted ('skipped_files: 3'): a whole patient
    left as loose files at the top of the download vanished without a name. A patient whose
    DICOM files hold no image (truncated) said only 'no image series and no volume file'."""
    import pydicom

    from survival_core.io.dicom_write import write_ct_series
    from tests.case_builders import make_case

    download = tmp_path / "download"
    good = download / "P1"
    good.mkdir(parents=True)
    for name in ("image", "label"):
        source = shared_data / "pyradiomics" / f"lung1_{name}.nrrd"
        shutil.copy(source, good / f"{'gtv' if name == 'label' else 'image'}.nrrd")
    shutil.copy(good / "image.nrrd", download / "image.nrrd")  # loose: no patient folder
    (download / "P1" / "notes.png").write_bytes(b"\x89PNG not an image we read")
    info = write_ct_series(make_case((16, 16, 3)).image, download / "P2", patient_id="P2")
    for path in info["files"]:
        ds = pydicom.dcmread(path)
        del ds.Rows  # a truncated header: no image
        ds.save_as(path)
    out = tmp_path / "cohort"
    assert main(["cohort", "import", "--images", str(download), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped 2 file(s) of the download" in err
    assert "image.nrrd: a volume file outside any patient folder" in err
    assert "P1/notes.png: not a DICOM or volume file" in err
    assert "3 DICOM file(s) hold no readable image" in err


def test_a_file_without_read_permission_fails_its_patient_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slice of one patient unreadable (a permission a copy kept) stopped the whole import at
    the archive check: 'Permission denied', no patient imported, no report. It is now listed as
    no archive, for its header read to record it as a file that cannot be read (of its patient
    alone)."""
    import survival_core.cohort.inventory as inventory
    from survival_core.io.dicom_write import write_ct_series
    from tests.case_builders import make_case

    download = tmp_path / "download"
    files = {
        patient: write_ct_series(
            make_case((16, 16, 4)).image, download / patient, patient_id=patient
        )["files"]
        for patient in ("P1", "P2")
    }
    locked = Path(files["P2"][1])
    real = inventory.looks_like_zip

    def no_permission(path: Path) -> bool:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(inventory, "looks_like_zip", no_permission)
    found, unopened = inventory._files(download.resolve(), [])
    assert str(locked.resolve()) in [path for path, _, _ in found] and not unopened


def test_id_variants_pad_an_id_of_one_number_up_to_eight_places() -> None:
    """Spreadsheet IDs 1...8 against PatientIDs 00001...00008 got no 'written otherwise' hint
    (padding went to 4 places); an ID of several numbers keeps 2-4, its variants multiplying."""
    from survival_core.cohort.clinical_join import id_variants

    assert {"00001", "00000001"} <= set(id_variants("1"))
    assert "STS_00001" in id_variants("sts_1")
    several = id_variants("2019-03-7")
    assert "2019-03-0007" in several and "2019-03-00007" not in several


def test_the_same_export_downloaded_twice_is_read_once(tmp_path: Path) -> None:
    """Byte-identical copies of a patient's files doubled its series and were refused as two
    structure sets ('an approved and a draft version?'); the copies are now read once."""
    from survival_core.io.dicom_write import write_ct_series, write_rtstruct
    from tests.case_builders import make_case

    case = make_case((20, 20, 5))
    patient = tmp_path / "download" / "MRN-0001"
    info = write_ct_series(case.image, patient / "ct", patient_id="MRN-0001", uid_seed="twice")
    masks = {"Liver": case.masks["organ"], "GTV": case.masks["gtv"]}
    write_rtstruct(masks, info, patient / "rs.dcm")
    shutil.copytree(patient, tmp_path / "download" / "second download" / "MRN-0001")
    out = tmp_path / "cohort"
    assert (
        main(["cohort", "import", "--images", str(tmp_path / "download"), "--out", str(out)]) == 0
    )
    [row] = read_manifest(out).itertuples()
    assert len(list(Path(row.image).glob("*.dcm"))) == 5
    assert load_case(out / "cases" / row.case_id).image.GetSize() == (20, 20, 5)


def test_a_slice_written_again_in_another_syntax_is_said_a_copy_or_refused_if_it_differs(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real sarcoma CT with slice 30 exported again as explicit VR (the same SOPInstanceUID
    and data set): staged under its UID, one file replaced the other without a word, while a
    byte-identical copy was named. It is named as a copy, read once, as a folder read says it;
    one whose data differ (another SeriesDescription) replaced slice 30 as silently, and is
    refused naming both files."""
    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    patient = tmp_path / "download" / "patient"
    shutil.copytree(source, patient)
    ds = pydicom.dcmread(patient / "image" / "000030.dcm")
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.save_as(again := patient / "image" / "export_30.dcm", enforce_file_format=True)
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    assert result.skipped == [
        "patient/image/export_30.dcm: a copy of patient/image/000030.dcm (the same "
        "SOPInstanceUID and data set, pixels included, written otherwise; read once)"
    ]
    assert len(list((tmp_path / "cohort" / "cases" / outcome.patient / "ct").iterdir())) == 59
    ds.SeriesDescription = "edited"
    ds.save_as(again)
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert outcome.reason.startswith(
        f"{outcome.patient}/image/000030.dcm and {outcome.patient}/image/export_30.dcm are one "
        "DICOM instance (the same SOPInstanceUID) holding different data: remove the wrong one "
        "from the download."
    )


def test_a_structure_set_filed_under_another_id_is_stored_as_its_images_patient(
    shared_data: Path, tmp_path: Path
) -> None:
    """The real sarcoma CT and its RTSTRUCT written by a planning system under a retyped ID
    (linked by frame of reference): the stored structure set kept a pseudonym and a date shift of
    its own, its dates years apart from its images' in the case folder."""
    import pydicom

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not installed")
    patient = tmp_path / "download" / "patient"
    shutil.copytree(source / "image", patient / "ct")
    ct = pydicom.dcmread(next((patient / "ct").glob("*.dcm")), stop_before_pixels=True)
    structure = pydicom.dcmread(source / "mask" / "RS.dcm")
    structure.PatientID, structure.PatientName = ct.PatientID + " (TPS)", "Doe^Jane"
    structure.StudyDate = ct.StudyDate
    structure.StructureSetROISequence[0].ROIName = "GTV_Doe"
    structure.save_as(patient / "RS.dcm")
    result = import_images(tmp_path / "download", tmp_path / "cohort", workers=1)
    (outcome,) = result.outcomes
    assert outcome.status == "imported", outcome.reason
    case = tmp_path / "cohort" / "cases" / outcome.patient
    stored = pydicom.dcmread(case / "rtstruct.dcm")
    image = pydicom.dcmread(next((case / "ct").glob("*.dcm")), stop_before_pixels=True)
    assert stored.PatientID == image.PatientID == outcome.patient
    assert stored.StudyDate == image.StudyDate
    assert stored.StructureSetROISequence[0].ROIName == "GTV"
    assert b"Doe" not in (case / "rtstruct.dcm").read_bytes()


def test_a_table_only_cohort_keeps_a_withdrawn_patient_out_however_the_id_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A clinic's re-export of the sheet with its IDs lower-cased or without leading zeros: every
    case id changed without a word, and the withdrawn patient came back under a new one."""
    import pandas as pd

    sheet = pd.DataFrame(
        {"Patient ID": [f"GB{i:04d}" for i in range(1, 11)], "OS (days)": range(100, 1100, 100),
         "Dead": [1, 0] * 5, "age": range(50, 60)}
    )  # fmt: skip
    sheet.to_csv(first := tmp_path / "sheet.csv", index=False)
    out = tmp_path / "cohort"
    assert main(["cohort", "import", "--clinical", str(first), "--out", str(out), "--json"]) == 0
    assert main(["cohort", "withdraw", "--cohort", str(out), "--patient-id", "GB0007"]) == 0
    again = sheet.assign(
        **{"Patient ID": sheet["Patient ID"].str.replace("GB0*", "GB", regex=True)}
    )
    again.to_csv(second := tmp_path / "again.csv", index=False)
    capsys.readouterr()
    assert main(["cohort", "import", "--clinical", str(second), "--out", str(out), "--json"]) != 0
    assert "None of the 9 patients" in capsys.readouterr().out
    # the same sheet again, GB0007 written otherwise: still out
    sheet.loc[6, "Patient ID"] = "gb-0007"
    sheet.to_csv(first, index=False)
    assert main(["cohort", "import", "--clinical", str(first), "--out", str(out), "--json"]) == 0
    assert len(pd.read_csv(out / "clinical.csv")) == 9


def test_a_table_only_cohort_refuses_a_patient_whose_id_is_written_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """GBSG2 imported again with one ID re-spelled ('G10' for 'G0010'): the import said nothing,
    the row moved to a new case id, and the patient could be withdrawn neither by the ID first
    imported nor by the case id earlier runs named."""
    import pandas as pd

    from tests.clinical_exports import gbsg2

    export = gbsg2(tmp_path)
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--clinical", str(export.path), "--out", str(out), "--json"]
    assert main([*argv, "--time-unit", "months"]) == 0
    before = (out / "clinical.csv").read_text()
    case_id = Deidentifier().pseudonym("G0010")
    sheet = pd.read_csv(export.path, dtype={"patient_id": str})
    sheet.loc[sheet.patient_id == "G0010", "patient_id"] = "G10"
    sheet.to_csv(export.path, index=False)
    capsys.readouterr()
    assert main([*argv, "--time-unit", "months"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert f"1 patient(s) of {out / 'clinical.csv'} are written otherwise in gbsg2.csv" in error
    assert f"'G10' was 'G0010' (case {case_id})" in error
    assert (out / "clinical.csv").read_text() == before
    # the ID re-spelled, given to withdraw: not taken for the patient (two patients' IDs may
    # differ so), but the patient it may be is named
    withdraw_argv = ["cohort", "withdraw", "--cohort", str(out), "--patient-id", "G10", "--json"]
    assert main(withdraw_argv) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert f"No patient of {out} has the ID(s) G10 " in error
    assert f"It has 'G0010' (case {case_id}), written otherwise" in error
    assert (out / "clinical.csv").read_text() == before


def test_withdrawing_from_a_generated_cohort_keeps_its_other_cases(
    small_cohort: Path, tmp_path: Path
) -> None:
    """The demo and generated cohorts' cases have no import record: withdrawing one rewrote the
    manifest from the records, every case gone (80 rows to 0), the case folder kept."""
    import pandas as pd

    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    manifest = pd.read_csv(cohort / "manifest.csv", dtype=str)
    case_id = manifest["case_id"].iloc[0]
    done = withdraw(cohort, [case_id])
    after = pd.read_csv(cohort / "manifest.csv", dtype=str)
    assert after["case_id"].tolist() == manifest["case_id"].tolist()[1:]
    assert done.removed["case_folders"] == 1 and not (cohort / "cases" / case_id).exists()
    assert not (cohort / "id_map.csv").exists()


def test_withdrawing_a_case_id_another_cohort_shares_leaves_that_cohort_alone(
    small_cohort: Path, tmp_path: Path
) -> None:
    """Cohorts share case ids (each centre's IDs restart at 001, so each centre's patient 001
    has one pseudonym; every generated cohort has a SYN-0001): withdrawing one cohort's case
    deleted the other cohort's cached features and feature table holding that id (its next run
    extracted everything again) and named every run naming the id, those that never read the
    cohort too. Now the caches go by the case's content, tables by the case's own rows, runs by
    the cohorts they read."""
    import pandas as pd

    from survival_core.features.cohort import (
        extract_cohort,
        feature_table_path,
        write_cohort_features,
    )
    from survival_core.features.settings import ExtractionSettings, FeatureClass
    from survival_core.io.run_sources import record_sources
    from survival_core.paths import data_subdir

    settings = ExtractionSettings(
        "test", rois=("gtv",), classes=(FeatureClass("firstorder", ("Mean",)),)
    )
    development, other = tmp_path / "development", tmp_path / "other"
    shutil.copytree(small_cohort, development)
    generate_cohort(other, 2, seed=11, workers=1)
    case_id = read_manifest(other)["case_id"].iloc[0]
    assert case_id in set(read_manifest(development)["case_id"])  # one id, two patients
    tables = {}
    for cohort in (development, other):
        result = extract_cohort(cohort, settings, workers=1)
        tables[cohort] = write_cohort_features(
            result, feature_table_path(cohort, "test", settings), settings, "CT"
        )[0]
    cache = data_subdir("cache") / "features" / settings.hash()

    def cached() -> list[str]:
        entries = (p for p in cache.glob("*.json") if p.name != "settings.json")
        return sorted(json.loads(p.read_text())["case_id"] for p in entries)

    assert cached().count(case_id) == 2 and len(cached()) == 8
    runs = data_subdir("runs")
    for name, cohort in (("read_development", development), ("read_other", other)):
        (runs / name).mkdir(parents=True)
        (runs / name / "oof.csv").write_text(f"case_id,risk\n{case_id},0.3\n")
        record_sources(runs / name, [cohort])
    (runs / "unrecorded").mkdir()  # a run of before the record: it may have read it
    (runs / "unrecorded" / "oof.csv").write_text(f"case_id,risk\n{case_id},0.3\n")
    moved = tmp_path / "moved"  # a cohort moved since the run: it may have been this one
    shutil.copytree(development, moved)
    (runs / "read_moved").mkdir()
    (runs / "read_moved" / "oof.csv").write_text(f"case_id,risk\n{case_id},0.3\n")
    record_sources(runs / "read_moved", [moved])
    shutil.rmtree(moved)

    done = withdraw(other, [case_id])
    assert done.runs == ["read_moved", "read_other", "unrecorded"]
    assert (done.removed["cached_features"], done.removed["feature_tables"]) == (1, 1)
    assert not tables[other].exists()
    kept = pd.read_parquet(tables[development])
    assert case_id in kept.index and len(kept) == 6
    assert cached().count(case_id) == 1 and len(cached()) == 7  # the development's is kept


def test_withdrawing_a_case_imported_again_removes_what_its_earlier_version_gave(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contour corrected in the download and imported again is new case content, so new
    feature-cache keys and a new table name: `cohort withdraw` deleted only what was computed
    from the case as it was now, and the patient's features of the earlier contour stayed in
    the cache and in the tables extracted before (one of them with no cache entry left to match
    its row, as after a cleanup)."""
    import numpy as np
    import pandas as pd

    from survival_core.features.cohort import (
        extract_cohort,
        feature_table_path,
        sidecars,
        write_cohort_features,
    )
    from survival_core.features.settings import ExtractionSettings, FeatureClass
    from survival_core.paths import data_subdir

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))  # its caches alone
    source, download = shared_data / "pyradiomics", tmp_path / "download"
    for patient, sample in (("A001", "breast1"), ("A002", "brain2")):
        (download / patient).mkdir(parents=True)
        shutil.copy(source / f"{sample}_image.nrrd", download / patient / "image.nrrd")
        shutil.copy(source / f"{sample}_label.nrrd", download / patient / "gtv.nrrd")
    out = tmp_path / "cohort"
    import_images(download, out, workers=1)
    case_id = case_ids_for(out, ["A001"])["A001"]

    def extract(feature: str, use_cache: bool = True) -> Path:
        settings = ExtractionSettings(
            "test", rois=("gtv",), classes=(FeatureClass("firstorder", (feature,)),)
        )
        result = extract_cohort(out, settings, workers=1, use_cache=use_cache)
        return write_cohort_features(
            result, feature_table_path(out, "test", settings), settings, "CT"
        )[0]

    tables = [extract("Mean"), extract("Median", use_cache=False)]
    gtv = download / "A001" / "gtv.nrrd"  # the contour corrected: its first slice taken out
    mask = sitk.ReadImage(str(gtv))
    voxels = sitk.GetArrayFromImage(mask)
    voxels[np.nonzero(voxels.any(axis=(1, 2)))[0][0]] = 0
    corrected = sitk.GetImageFromArray(voxels)
    corrected.CopyInformation(mask)
    sitk.WriteImage(corrected, str(gtv))
    import_images(download, out, workers=1)
    tables.append(extract("Mean"))
    assert len(set(tables)) == 3 and all(case_id in pd.read_parquet(t).index for t in tables)
    for table in tables:  # as a run writes beside its cached tables: the cases' ids, warnings
        for sidecar in sidecars(table):
            sidecar.write_text(f"case_id,warning\n{case_id},a note\n")

    def cached() -> list[str]:
        entries = data_subdir("cache").glob("features/*/*.json")
        return [json.loads(p.read_text())["case_id"] for p in entries if p.name != "settings.json"]

    assert sorted(cached()) == sorted([case_id, case_id, case_ids_for(out, ["A002"])["A002"]])
    done = withdraw(out, [case_id])
    assert (done.removed["cached_features"], done.removed["feature_tables"]) == (2, 3)
    assert case_id not in cached() and len(cached()) == 1
    assert not any(t.exists() for t in tables)
    assert not any(s.exists() for t in tables for s in sidecars(t))  # they named the patient


def test_a_spreadsheet_refused_is_refused_before_any_image_is_imported(
    download: Path, tree: DownloadTree, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A time header without its unit and no --time-unit: every image of the download was
    imported (de-identified, written) first, then the spreadsheet refused."""
    sheet = tmp_path / "clinical.csv"
    sheet.write_text(f"MRN,OS,Dead\n{_good(tree, 'dicom').patient_id},14,1\nMRN-2,30,0\n")
    out = tmp_path / "cohort"
    argv = ["cohort", "import", "--images", str(download), "--out", str(out), "--json"]
    assert main([*argv, "--clinical", str(sheet), "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert "--time-unit" in json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert not out.exists() and "imported" not in captured.err


#: Reasons cohort import gave for the real STS_001 T1 (tilted, a slice left out), as reported.
_TILT = (
    "Gantry tilt of 25.0 degrees: the slices were shifted sideways by up to 82.1 voxels onto a "
    "regular grid (linear interpolation in each slice's plane), as dcm2niix and 3D Slicer correct "
    "it. rtstruct.dcm was drawn on series 2.25.125867813588920187514679185643485020066."
)
_MISSING = (
    "Missing slice(s) in the series (spacing 3.27 mm): between slice 29 (at -786.49 mm, "
    "cases/MRN1008/mr/2.25.280368081697804590370923756569420692845.dcm (instance 29)) and slice "
    "30: gap 6.54 mm, about 1 slice(s) missing. Export the complete series."
)


@pytest.mark.parametrize(
    ("name", "patient_id", "text"),
    [
        ("Gan^Li", "MRN1004", _TILT),  # 'Gan' in 'Gantry'
        ("Ann^Lee", "MRN1004", _TILT.replace("Gantry tilt", "Annotated tilt")),
        ("Slice^Ann", "125867", _TILT),  # 'Slice' in 'Slicer', the ID inside a UID
        ("Lee^Ann", "786", _MISSING),  # '-786.49 mm'
        ("Series^Ann", "280368", _MISSING.replace("series", "Seriess")),  # a file's UID
    ],
)
def test_report_reasons_keep_words_numbers_and_uids_that_hold_a_patients_name(
    name: str, patient_id: str, text: str
) -> None:
    """Identifiers were replaced anywhere in a reason, inside words, numbers and UIDs: a patient
    named TEST^tilt read 'Gantry P-tilt of 25.0 degrees', TEST^missing 'about 1 slice(s)
    P-missing'. Only an identifier standing as a token of its own is replaced."""
    secrets = {name, name.replace("^", " "), *name.split("^"), patient_id}  # as the inventory
    assert scrub(text, frozenset(s for s in secrets if len(s) >= 3), "P-0001") == text


@pytest.mark.parametrize(
    "text",
    [
        "Lee^Ann's series", "Lee, Ann", "cases/Lee_Ann_0101/mr/x.dcm",
        "MRN1006.dcm", "patient MRN1006: no GTV", "(Ann)", "Lee-Ann",
        # an export's ID.series.instance file, an MRN a spreadsheet wrote as a float (both kept
        # by the dot guards meant for a UID's digits)
        "/dl/MRN1006/MRN1006.3.12.dcm", "MRN 4711.0 read", "4711",
        # glued to letters, as file names hold them (kept by the first token rule)
        "CT4711_seg.nrrd", "MR4711.dcm", "Patient4711/CT/slice.dcm", "mrn1006MR", "LeeAnn_CT/",
        "AnnLee",
    ],
)  # fmt: skip
def test_a_name_or_id_standing_in_a_reason_is_still_removed(text: str) -> None:
    secrets = frozenset({"Lee^Ann", "Lee Ann", "Lee", "Ann", "Lee_Ann_0101", "MRN1006", "4711"})
    scrubbed = scrub(text, secrets, "P-0001")
    assert "P-0001" in scrubbed and not any(s in scrubbed for s in secrets), scrubbed


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("LEE^ANN", "cases/Lee_Ann_CT/ct.dcm"), ("LEE^ANN", "download/Lee Ann CT/x.dcm"),
        ("Lee^Ann", "LEE_ANN/RS.dcm"), ("Lee^Ann", "LEE ANN/CT"),
    ],
)  # fmt: skip
def test_a_name_in_capitals_or_capitalised_is_removed_as_written(written: str, text: str) -> None:
    """DICOM writes names in capitals ('LEE^ANN') and exports folders capitalised ('Lee_Ann'),
    or the other way round: the name was matched only as written, so 'Lee_Ann' stayed."""
    secrets = frozenset({written, written.replace("^", " "), *written.split("^")})
    scrubbed = scrub(text, secrets, "P-0001")
    assert "P-0001" in scrubbed and "lee" not in scrubbed.lower(), scrubbed
    assert "ann" not in scrubbed.lower().replace("p-0001", ""), scrubbed


def test_a_name_part_that_is_a_structures_word_glued_to_another_is_kept() -> None:
    """Patient RING^ANNA's ROI 'GTV_Ring' was reported as 'GTV_RS-FB58E0B9CA': a name part glued
    by '_' to a structure's word is the structure's. Beside another name part, or alone, it is
    still the patient's."""
    secrets = frozenset({"RING^ANNA", "RING ANNA", "RING", "ANNA"})
    text = "ROI 'GTV_Ring' of cases/Ring_Anna_CT/ (RING ANNA); Ring-GTV; Anna_GTV; Ring's"
    assert (
        scrub(text, secrets, "P-1")
        == "ROI 'GTV_Ring' of cases/P-1_P-1_CT/ (P-1); Ring-GTV; P-1_GTV; P-1's"
    )


def test_a_name_in_small_letters_or_starting_a_sentence_stays_a_word() -> None:
    """A name part that is also a word ('SLICE', 'SAY') is removed in capitals, and capitalised
    only in a file or folder name, never as the word: 'Say which structure is the GTV' read
    'RS-1 which structure is the GTV'."""
    secrets = frozenset({"SLICE^SAY", "SLICE SAY", "SLICE", "SAY"})
    text = "each slice is 3 mm; Slicer read it. Say which structure is the GTV."
    assert scrub(text, secrets, "P-0001") == text
    assert scrub("cases/Say_Slice/x.dcm", secrets, "P-0001") == "cases/P-0001_P-0001/x.dcm"


@pytest.mark.parametrize("text", ["Anna_Ring_label.nrrd", "Ring_mask.nii.gz", "Ring_seg.nrrd"])
def test_a_surname_beside_a_files_word_is_removed(text: str) -> None:
    """'Ring' glued to 'label', 'mask' or 'seg' names a file, not a structure: the surname was
    kept ('RS-1_Ring_label.nrrd') by the rule keeping 'GTV_Ring'."""
    secrets = frozenset({"RING^ANNA", "RING ANNA", "RING", "ANNA"})
    assert "ring" not in scrub(text, secrets, "P-0001").lower()
    assert scrub("Structure 'GTV_Ring' united", secrets, "P-0001") == "Structure 'GTV_Ring' united"


def test_an_id_kept_as_the_case_id_is_not_scrubbed_again_by_a_name_part() -> None:
    """PatientID P-echo2 (the case id) of a patient named TEST^echo2: the ID replaced by itself,
    then 'echo2' inside it, read 'cases/P-P-echo2'."""
    secrets = frozenset({"P-echo2", "TEST^echo2", "TEST echo2", "TEST", "echo2"})
    text = "cases/P-echo2 holds 2 MR series (TEST^echo2's download)"
    assert scrub(text, secrets, "P-echo2") == "cases/P-echo2 holds 2 MR series (P-echo2's download)"


def test_a_two_echo_mr_is_refused_saying_what_an_import_can_do(
    shared_data: Path, tmp_path: Path
) -> None:
    """TCIA STS_001's T1 with a second echo of every slice (one SeriesInstanceUID, EchoNumbers 1
    and 2): the import said 'cases/<id> holds 2 MR series; say which one to use', a folder that
    is never written and a choice the import has no option for."""
    import copy

    import pydicom
    from pydicom.uid import generate_uid

    source = shared_data / "sts_sarcoma" / "STS_001" / "MR_T1"
    if not source.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    patient = tmp_path / "download" / "STS_001"
    (patient / "image").mkdir(parents=True)
    for path in sorted((source / "image").glob("*.dcm")):
        first = pydicom.dcmread(path)
        first.EchoNumbers = 1
        second = copy.deepcopy(first)
        second.EchoNumbers, second.EchoTime = 2, 90
        second.SOPInstanceUID = generate_uid()
        second.PixelData = (first.pixel_array // 2).astype(first.pixel_array.dtype).tobytes()
        first.save_as(patient / "image" / path.name)
        second.save_as(patient / "image" / f"echo2_{path.name}")
    shutil.copytree(source / "mask", patient / "mask")
    (outcome,) = import_images(tmp_path / "download", tmp_path / "cohort", workers=1).outcomes
    assert outcome.status == "failed"
    assert outcome.reason.startswith("The patient's files in the download hold 2 MR series; keep")
    assert "keep only the one to analyse in the download" in outcome.reason
    assert "echo 1" in outcome.reason and "echo 2" in outcome.reason
    assert "say which" not in outcome.reason and "cases/" not in outcome.reason


def test_a_set_naming_the_pet_by_series_and_the_ct_by_slices_names_no_option_in_an_import(
    shared_data: Path, tmp_path: Path
) -> None:
    """TCIA STS_001's CT with a PET of its frame of reference (a PET/CT), its RTSTRUCT naming the
    PET's series UID and the CT's slices: the import's refusal ended '... and import again
    (--series).', an option the import has not (score's and extract's). It says what to do in
    the download alone."""
    import pydicom
    from pydicom.uid import generate_uid

    from tests.test_pet_suv import PET_STORAGE

    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    patient = tmp_path / "download" / "STS_001"
    shutil.copytree(source, patient / "ct")
    (patient / "pt").mkdir()
    pet_uid, ct_slices = generate_uid(), {}
    for path in sorted((source / "image").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ct_slices[round(float(ds.ImagePositionPatient[2]), 1)] = ds.SOPInstanceUID
        ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.Units = "PT", pet_uid, 7, "BQML"
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = PET_STORAGE
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(patient / "pt" / path.name)
    rs = pydicom.dcmread(patient / "ct" / "mask" / "RS.dcm")
    study = rs.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    study.RTReferencedSeriesSequence[0].SeriesInstanceUID = pet_uid
    for contour in rs.ROIContourSequence[0].ContourSequence:
        z = round(float(contour.ContourData[2]), 1)
        contour.ContourImageSequence[0].ReferencedSOPInstanceUID = ct_slices[z]
    rs.save_as(patient / "ct" / "mask" / "RS.dcm")
    (outcome,) = import_images(tmp_path / "download", tmp_path / "cohort", workers=1).outcomes
    assert outcome.status == "failed"
    assert "the structure set's references disagree: its series reference names " in outcome.reason
    assert outcome.reason.endswith(
        "so which one its contours were drawn on is unknown; keep only the one to analyse in "
        "the download (move the other's files out of it) and import again."
    )


def test_a_patient_withdrawn_during_an_extraction_stays_out_of_its_table(
    small_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``cohort withdraw`` while ``extract`` ran: the withdrawal removed the patient's rows and
    cached features, then the extraction wrote its table with the patient in it (and a patient
    it had not reached yet failed as a missing folder). Both are now left out, named, and no
    cached feature of theirs is left."""
    import json

    import pandas as pd

    from survival_core.features import cohort as feature_cohort
    from survival_core.features.cohort import FeatureCache
    from survival_core.features.presets import get_preset

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))  # a cache of its own
    cohort = tmp_path / "cohort"
    shutil.copytree(small_cohort, cohort)
    case_ids = pd.read_csv(cohort / "manifest.csv", dtype=str)["case_id"].tolist()
    gone = [case_ids[0], case_ids[-1]]
    shown = feature_cohort.line_progress

    def withdrawing(say):
        show = shown(say)

        def then_withdraw(done, total, outcome, how):
            show(done, total, outcome, how)
            if done == 1:
                withdraw(cohort, gone)

        return then_withdraw

    monkeypatch.setattr(feature_cohort, "line_progress", withdrawing)
    out = cohort / "wei2021.parquet"
    argv = ["extract", "--cohort", str(cohort), "--preset", "wei2021", "--out", str(out)]
    assert main([*argv, "--workers", "1", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["withdrawn"] == sorted(gone) and result["n_failed"] == 0
    assert result["n_cases"] == len(case_ids) - 2
    assert "2 case(s) withdrawn from the cohort during the extraction" in captured.err
    kept = pd.read_parquet(out).index
    assert sorted(kept) == sorted(set(case_ids) - set(gone))
    cache = FeatureCache(get_preset("wei2021", "CT"))
    entries = [json.loads(p.read_text()) for p in cache.folder.glob("*.json")]
    assert entries and not {e.get("case_id") for e in entries} & set(gone)
