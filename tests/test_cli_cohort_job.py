"""``cohort import`` run as a background job: its console is the job's log, shown on the jobs
panel to every user, so the lines that may name patients (the download's paths, the
spreadsheet's original IDs) are counted there, and listed only on a terminal's console."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from survival_core.cli.cohort import LISTED_ON_TERMINAL
from survival_core.cli.main import main
from survival_core.runs.jobs import JOB_ENV

#: What a download carries beside the images and a spreadsheet holds: patients' names and IDs.
NAMES = ("Zyxwv", "19410203", "MRN-0815")


@pytest.fixture(scope="module")
def download(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real sarcoma CT and RTSTRUCT in a folder named after the patient, beside a report
    named after them too, and a spreadsheet listing another patient's MRN."""
    source = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not source.is_dir():
        pytest.skip("the sarcoma CT is not in ../shared/data")
    root = tmp_path_factory.mktemp("job-download")
    patient = root / "images" / "Zyxwv_Qwerty_STS_001"
    shutil.copytree(source, patient)
    (patient / "Zyxwv_Qwerty_19410203_report.txt").write_text("report\n")
    (root / "clinical.csv").write_text(
        "MRN,Name,OS (days),Dead\nSTS_001,Zyxwv Qwerty,400,1\nMRN-0815,Other Patient,300,0\n"
    )
    return root


def _imported(download: Path, out: Path, capsys: pytest.CaptureFixture) -> str:
    """The import's console lines (stderr)."""
    command = ["cohort", "import", "--images", str(download / "images"), "--out", str(out)]
    assert main([*command, "--clinical", str(download / "clinical.csv"), "--workers", "1"]) == 0
    return capsys.readouterr().err


def test_a_job_counts_what_a_terminal_lists_by_name(
    download: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a job, the skipped report's path and the unmatched MRN were written to its log."""
    monkeypatch.setenv(JOB_ENV, "20260101-000000-test-abcdef")
    logged = _imported(download, tmp_path / "cohort", capsys)
    assert not [name for name in NAMES if name in logged], logged
    assert f"skipped 1 file(s) of the download (not read): {LISTED_ON_TERMINAL}" in logged
    assert f"clinical: 1 ID(s) without an imported patient: {LISTED_ON_TERMINAL}" in logged

    monkeypatch.delenv(JOB_ENV)
    console = _imported(download, tmp_path / "cohort", capsys)
    assert "Zyxwv_Qwerty_STS_001/Zyxwv_Qwerty_19410203_report.txt" in console
    assert "clinical: 1 ID(s) without an imported patient: MRN-0815" in console


def test_an_import_job_keeps_neither_the_uploaded_spreadsheet_nor_a_name_in_its_log(
    download: Path, tmp_path: Path
) -> None:
    """The Cohort page's import: its log (shown to every user) listed the report's path and the
    MRN without a patient, and the job folder kept the uploaded spreadsheet as it came (names,
    birth dates) after the job ended. Nothing reads it then: the cohort keeps what the import
    took, and a rerun sends the spreadsheet again."""
    from survival_core.runs.jobs import start_import_job
    from tests.test_jobs import wait_for

    upload = ("Zyxwv_clinical.csv", (download / "clinical.csv").read_bytes())
    job = start_import_job(
        download / "images", tmp_path / "cohort", clinical_upload=upload, options={"workers": "1"}
    )
    wait_for(lambda: not job.alive(), 180, "the import job to end")
    assert job.status == "finished", job.log()
    wait_for(lambda: not (job.folder / "upload").exists(), 10, "the upload's copy to go")
    kept = sorted(p.name for p in job.folder.iterdir())  # its exit status holds only a number
    assert kept in (["job.json", "log.txt"], ["exit.json", "job.json", "log.txt"]), kept
    assert not [name for name in NAMES if name in job.log()], job.log()
    assert f"skipped 1 file(s) of the download (not read): {LISTED_ON_TERMINAL}" in job.log()


def test_an_import_of_a_folder_without_patients_is_an_error(tmp_path, capsys) -> None:
    """``cohort import --images`` of a mistyped or empty folder reported 0 patients, exit 0."""
    import json

    (tmp_path / "download").mkdir()
    (tmp_path / "download" / "readme.txt").write_text("no images here")
    argv = ["cohort", "import", "--images", str(tmp_path / "download"), "--out",
            str(tmp_path / "cohort"), "--json"]  # fmt: skip
    assert main(argv) == 2
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["kind"] == "InputError" and "No patient was found" in last["error"]


def test_an_uploaded_spreadsheets_refusal_names_the_file_uploaded(tmp_path: Path) -> None:
    """The job kept an upload as upload/clinical.csv, so its refusal named the cohort's own
    table ('clinical.csv: patient ID(s) 007 appear more than once'), not the user's file."""
    from survival_core.runs.jobs import start_import_job
    from tests.test_jobs import wait_for

    sheet = b"Patient ID;OS (months);Status\n007;12,5;dead\n7;24,0;alive\n007;99,0;alive\n"
    job = start_import_job(None, tmp_path / "cohort", clinical_upload=("Dup export.CSV", sheet))
    wait_for(lambda: not job.alive(), 60, "the import job to end")
    assert job.status == "failed", job.log()
    assert job.error().startswith("Dup_export.csv: patient ID(s) 007 appear more than once")
