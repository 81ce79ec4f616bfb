"""The Cohort page's import part: the form refuses bad input with a message, an imported cohort's
report lists failed patients first with their reasons, a failed patient's structures can be named
in the ROI map from the report, and the drafted schema can be edited and saved."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from survival_core.cohort.imported import cohort_folder, import_status, imported_cohorts
from survival_core.errors import ConfigError, InputError
from survival_core.io.clinical_schema import CohortSchema, SchemaVariable
from tests.conftest import ROOT
from ui.cohort_import import (
    add_patient_roles,
    parse_roi_map,
    schema_frame,
    schema_from_frame,
)

PAGE = ROOT / "pages" / "cohort.py"
SCHEMA = CohortSchema(
    (
        SchemaVariable("t_stage", "category", "T stage", categories=("T1", "T2", "T3", "T4")),
        SchemaVariable("dose", "number", "Dose", "Gy", 40, 80),
        SchemaVariable("ecog", "integer", "ECOG", "", 0, 4),
        SchemaVariable("hpv", "yes/no", "HPV positive"),
    )
)


@pytest.fixture()
def reported_cohort():
    """An imported cohort as an import leaves it: reports, clinical.csv and schema.yaml."""
    folder = cohort_folder("lung-test")
    folder.mkdir(parents=True, exist_ok=True)
    report = pd.DataFrame(
        {
            "patient": ["aa11", "bb22", "cc33", "dd44"],
            "status": ["imported", "failed", "unchanged", "failed"],
            "reason": ["", "no structure is recognised as the GTV (structures: 'Target-1')",
                       "", "no RTSTRUCT or SEG file, so no GTV"],
        }
    )  # fmt: skip
    report.to_csv(folder / "import_report.csv", index=False)
    pd.DataFrame(
        {"column": ["Histology"], "action": ["merged spellings: adenocarcinoma"], "count": [3]}
    ).to_csv(folder / "clinical_report.csv", index=False)
    pd.DataFrame(
        {"case_id": ["aa11", "cc33"], "time": [300, 500], "event": [1, 0], "dose": [60, 66]}
    ).to_csv(folder / "clinical.csv", index=False)
    SCHEMA.save(folder / "schema.yaml")
    yield folder
    import shutil

    shutil.rmtree(folder)


def test_cohort_names_are_plain_folder_names() -> None:
    assert cohort_folder("lung-1_v2.0").name == "lung-1_v2.0"
    for bad in ("", "../etc", "a/b", ".hidden", "x" * 65):
        with pytest.raises(InputError, match="Cohort name"):
            cohort_folder(bad)


def test_report_puts_failed_patients_first(reported_cohort) -> None:
    status = import_status(reported_cohort)
    assert status.patients["patient"].tolist() == ["bb22", "dd44", "aa11", "cc33"]
    assert status.counts() == {
        "failed": 2, "absent": 0, "withdrawn": 0, "imported": 1, "unchanged": 1
    }  # fmt: skip
    assert status.clinical.loc[0, "column"] == "Histology"
    assert reported_cohort in imported_cohorts()


def test_roi_map_text_gets_a_patients_roles() -> None:
    text = add_patient_roles("default:\n  gtv: [GTV]\n", "bb22", "gtv", ["Target-1"])
    assert yaml.safe_load(text) == {
        "default": {"gtv": ["GTV"]},
        "patients": {"bb22": {"gtv": ["Target-1"]}},
    }
    text = add_patient_roles(text, "bb22", "organ", [])
    assert yaml.safe_load(text)["patients"]["bb22"] == {"gtv": ["Target-1"], "organ": []}
    assert parse_roi_map("  ") is None
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        parse_roi_map("default: [gtv\n")
    # PatientIDs typed as numbers stay as typed ('0010' was YAML's octal 8, another patient)
    typed = parse_roi_map("patients:\n  0010: {gtv: [ROI_1]}\n  001: {gtv: [ROI_2]}\n")
    assert set(typed["patients"]) == {"0010", "001"}
    kept = add_patient_roles("patients:\n  0010: {gtv: [ROI_1]}\n", "007", "gtv", ["A"])
    assert set(parse_roi_map(kept)["patients"]) == {"0010", "007"}


def test_schema_table_round_trips_and_names_a_bad_edit() -> None:
    frame = schema_frame(SCHEMA)
    assert frame.loc[0, "categories"] == "T1, T2, T3, T4"
    assert schema_from_frame(frame) == SCHEMA
    frame.loc[1, "low"] = 90.0  # above high
    with pytest.raises(InputError, match="dose"):
        schema_from_frame(frame)
    frame = schema_frame(SCHEMA)
    frame.loc[0, "categories"] = ""
    with pytest.raises(InputError, match="t_stage.*lists no categories"):
        schema_from_frame(frame)


def _import_mode() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.segmented_control(key="cohort-mode").set_value("Import").run()
    assert not app.exception
    return app


def test_form_refuses_missing_and_wrong_input(tmp_path) -> None:
    app = _import_mode()
    assert any("No import jobs yet" in info.value for info in app.info)
    app.text_input(key="import-name").set_value("my cohort!")
    app.button[0].click().run()  # the form's submit button
    assert "Cohort name 'my cohort!'" in app.error[0].value
    app.text_input(key="import-name").set_value("mine")
    app.button[0].click().run()
    assert "Give the download folder and/or the clinical spreadsheet" in app.error[0].value
    app.text_input(key="import-images").set_value(str(tmp_path / "nowhere"))
    app.button[0].click().run()
    assert f"{tmp_path / 'nowhere'} is not a folder on this server" in app.error[0].value
    app.text_input(key="import-images").set_value(str(tmp_path))
    app.text_area(key="import-roi-map").set_value("patients:\n  P1: {tumour: [x]}\n")
    app.button[0].click().run()
    assert "unknown role(s) tumour" in app.error[0].value
    assert not app.exception


def test_report_and_schema_editor_on_the_page(reported_cohort) -> None:
    app = _import_mode()
    assert app.selectbox(key="import-cohort").value == str(reported_cohort)
    report = app.dataframe[0].value  # the jobs table is empty: the report comes first
    assert report["patient"].tolist()[:2] == ["bb22", "dd44"]
    assert "Target-1" in report.loc[report.patient == "bb22", "reason"].iloc[0]
    app.selectbox(key="fix-patient").set_value("bb22")
    app.text_input(key="fix-names").set_value("Target-1")
    app.button(key="fix-add").click().run()
    roi_map = yaml.safe_load(app.text_area(key="import-roi-map").value)
    assert roi_map == {"patients": {"bb22": {"gtv": ["Target-1"]}}}
    app.button(key="schema-save-lung-test").click().run()
    assert app.success[0].value == "Schema saved."
    assert CohortSchema.load(reported_cohort / "schema.yaml") == SCHEMA
    assert not app.exception and not app.error


def test_explore_reads_an_imported_cohort(reported_cohort) -> None:
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    app.segmented_control(key="cohort-source").set_value("Imported cohort").run()
    assert not app.exception
    assert app.caption[0].value.startswith("2 patients, 1 events")


def test_form_passes_the_volume_modality_to_the_import(tmp_path, monkeypatch) -> None:
    """A BraTS download: the form's modality and image volume reach the import command."""
    import types

    import ui.cohort_import
    from survival_core.runs.jobs import import_command

    started = {}

    def start(images, out, **kwargs):
        started.update(kwargs, images=images)
        return types.SimpleNamespace(job_id="job-1")

    monkeypatch.setattr(ui.cohort_import, "start_import_job", start)
    app = _import_mode()
    app.text_input(key="import-name").set_value("hecktor")
    app.text_input(key="import-images").set_value(str(tmp_path))
    app.selectbox(key="import-modality").set_value("MR")
    app.text_input(key="import-image").set_value(" t1ce ")
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert started["images"] == tmp_path
    assert (started["options"]["modality"], started["options"]["image"]) == ("MR", "t1ce")
    command = import_command(tmp_path, tmp_path / "out", options=started["options"])
    assert command[command.index("--modality") + 1] == "MR"
    assert command[command.index("--image") + 1] == "t1ce"


def test_a_started_import_is_shown_once_its_folder_exists(reported_cohort) -> None:
    """After a new import started, the picker kept the cohort shown before: its report and
    schema editor stood under the new import's name (a schema saved into the wrong cohort)."""
    import shutil

    app = _import_mode()
    new = reported_cohort.with_name("whas-test")
    app.session_state["import-shown"] = str(new)
    app.run()  # its folder is not written yet: said, the picker unchanged
    assert any("import into whas-test has started" in i.value for i in app.info)
    shutil.copytree(reported_cohort, new)
    try:
        app.run()
        assert app.selectbox(key="import-cohort").value == str(new)
        assert not any("has started" in i.value for i in app.info) and not app.exception
    finally:
        shutil.rmtree(new)


@pytest.fixture()
def ended_import():
    """Write an ended import job into ``name`` whose log is ``log`` (the jobs panel reads it as
    the job's); the jobs are removed afterwards."""
    import shutil

    from survival_core.runs.jobs import jobs_dir

    folders = []

    def write(name: str, log: str) -> None:
        folder = jobs_dir() / f"20260101-00000{len(folders)}-{name}-abcdef"
        folder.mkdir()
        record = {"job_id": folder.name, "pid": 2**22 + 1, "process_start": "gone"}
        record |= {"kind": "import", "config_name": name, "started": "2026-01-01T00:00:00+00:00"}
        (folder / "job.json").write_text(json.dumps(record | {"label": f"import into {name}"}))
        (folder / "log.txt").write_text(log)
        folders.append(folder)

    yield write
    for folder in folders:
        shutil.rmtree(folder)


def test_an_import_into_an_existing_cohort_says_it_adds_to_it(
    reported_cohort, ended_import, tmp_path, monkeypatch
) -> None:
    """A second import into a cohort's name said nothing of the patients and clinical rows it
    keeps, and the jobs table's counts left out the absent ones (the earlier patients this
    download lacked)."""
    import types

    import ui.cohort_import

    monkeypatch.setattr(
        ui.cohort_import, "start_import_job", lambda *a, **k: types.SimpleNamespace(job_id="j")
    )
    summary = {"patients": 1, "imported": 1, "failed": 0, "unchanged": 0, "absent": 4}
    ended_import("lung-test", f"1/1 RS-1 imported\n{json.dumps(summary)}\n")
    app = _import_mode()
    assert app.dataframe[0].value["patients"].tolist() == [
        "1 imported, 0 unchanged, 0 failed, 4 absent"
    ]
    app.text_input(key="import-name").set_value("lung-test")
    app.text_input(key="import-images").set_value(str(tmp_path))
    app.button[0].click().run()
    assert not app.exception and not app.error
    (warning,) = app.warning
    assert warning.value.startswith("Cohort lung-test exists: this import adds to it.")
    assert "clinical rows of patients the spreadsheet has no row for" in warning.value
    app.text_input(key="import-name").set_value("lung-new")
    app.button[0].click().run()
    assert not app.warning


def test_a_spreadsheet_left_in_the_upload_box_never_replaces_the_path_given(
    tmp_path, monkeypatch
) -> None:
    """One session imported a cohort with an uploaded spreadsheet, then another typing a
    spreadsheet's path: the upload still in the box was imported instead, the typed file never
    read, nothing saying which was used. The box is emptied once an import starts, the path
    and an upload together are refused, and the start and the job name the spreadsheet."""
    import types

    import ui.cohort_import
    from tests.clinical_exports import gbsg2

    started = []

    def start(images, out, **kwargs):
        started.append(kwargs)
        return types.SimpleNamespace(job_id=f"job-{len(started)}")

    monkeypatch.setattr(ui.cohort_import, "start_import_job", start)
    path = gbsg2(tmp_path).path
    app = _import_mode()
    app.text_input(key="import-name").set_value("webG")
    app.file_uploader[0].set_value(("clin1.csv", path.read_bytes(), "text/csv"))
    app.button[0].click().run()
    assert not app.exception and not app.error
    said = [success.value for success in app.success]
    app.text_input(key="import-name").set_value("webH")
    app.text_input(key="import-clinical").set_value(str(path))
    app.button[0].click().run()
    assert started[0]["clinical_upload"][0] == "clin1.csv"
    assert (started[1]["clinical"], started[1]["clinical_upload"]) == (path, None)
    assert [kwargs["label"] for kwargs in started] == [
        "import into webG (clin1.csv)",
        "import into webH (gbsg2.csv)",
    ]
    assert said == ["Import into webG started with the spreadsheet clin1.csv (job-1)."]
    assert "with the spreadsheet gbsg2.csv (job-2)" in app.success[0].value
    assert not app.file_uploader[0].value  # emptied
    app.file_uploader[0].set_value(("clin1.csv", path.read_bytes(), "text/csv"))
    app.button[0].click().run()
    (error,) = app.error
    assert "path on this server or upload it, not both: the path names gbsg2.csv, the " in (
        error.value
    )
    assert "upload box holds clin1.csv" in error.value and len(started) == 2


def test_a_failed_import_says_why_instead_of_that_it_started(reported_cohort, tmp_path) -> None:
    """An import whose spreadsheet was refused (a patient ID twice) wrote no folder: the page
    said 'The import into webE has started; its report shows here once its folder is written'
    for good. It now says that the import failed, and why, once."""
    import shutil

    from survival_core.runs.jobs import list_jobs
    from tests.test_jobs import wait_for

    sheet = tmp_path / "dup.csv"
    sheet.write_text("Patient ID;OS (months);Status\n007;12,5;dead\n7;24,0;alive\n007;99,0;alive\n")
    app = _import_mode()
    app.text_input(key="import-name").set_value("webE")
    app.text_input(key="import-clinical").set_value(str(sheet))
    app.button[0].click().run()
    (job,) = [job for job in list_jobs("import") if job.config_name == "webE"]
    wait_for(lambda: not job.alive(), 60, "the import job to end")
    app.run()
    assert not any("has started" in info.value for info in app.info)
    (error,) = app.error
    assert error.value.startswith("The import into webE failed: dup.csv: patient ID(s) 007")
    app.run()
    assert not app.error and not any("has started" in info.value for info in app.info)
    assert not app.exception
    shutil.rmtree(job.folder)  # the jobs table of the tests after it


def test_an_import_in_an_impossible_time_unit_is_a_warning_on_the_page(tmp_path) -> None:
    """GBSG2's days imported as years: the import report's line on a 2,659-year follow-up was
    one row among the coercions; it is a warning above them, naming the unit to import in."""
    import shutil

    from sksurv.datasets import load_gbsg2

    from survival_core.cohort.clinical_join import import_table

    X, y = load_gbsg2()
    sheet = X.assign(patient_id=[f"G{i:04d}" for i in range(len(X))], time=y["time"])
    sheet.assign(event=y["cens"].astype(int)).to_csv(tmp_path / "gbsg2.csv", index=False)
    folder = cohort_folder("gbsg2-years")
    try:
        import_table(folder, tmp_path / "gbsg2.csv", time_unit="years")
        app = _import_mode()
        app.selectbox(key="import-cohort").set_value(str(folder)).run()
    finally:  # the module's other tests pick the first cohort listed
        shutil.rmtree(folder)
    said = "time: The longest follow-up is 971200 days (2659 years; time read in years), likely"
    warnings = [w.value for w in app.warning]
    assert any(w.startswith(said) and "likely in days" in w for w in warnings), warnings
    assert not app.exception


def test_an_import_leaving_most_outcomes_missing_is_a_warning_on_the_page(tmp_path) -> None:
    """lymph-node's overall survival with its 515 living patients' times lost: the page said
    it in one report row among the coercions; it is a warning above them."""
    import shutil

    from survival_core.cohort.clinical_join import import_table
    from tests.clinical_exports import lymph_node

    sheet = pd.read_csv(lymph_node(tmp_path))
    sheet["survtime"] = sheet["survtime"].where(sheet["censdead"] == 1)
    sheet.to_csv(path := tmp_path / "deaths_only.csv", index=False)
    folder = cohort_folder("lymph-deaths")
    try:
        import_table(
            folder, path, time_column="survtime", event_column="censdead", time_unit="days"
        )
        app = _import_mode()
        app.selectbox(key="import-cohort").set_value(str(folder)).run()
    finally:  # the module's other tests pick the first cohort listed
        shutil.rmtree(folder)
    warnings = [w.value for w in app.warning]
    said = "(rows): Most outcomes missing: no usable time/event for "
    assert any(w.startswith(said) and "(515 of 686 rows)" in w for w in warnings), warnings
    assert not app.exception


def test_an_import_where_every_patient_has_the_event_is_a_warning_on_the_page(tmp_path) -> None:
    """lymph-node without its 'censdead', the event from whether 'deathdate' (the living's last
    contact) holds a date: all 686 patients dead, and the page said nothing until a fit."""
    import shutil

    from survival_core.cohort.clinical_join import import_table
    from tests.clinical_exports import lymph_node

    sheet = pd.read_csv(lymph_node(tmp_path)).drop(columns=["censdead"])
    sheet.to_csv(path := tmp_path / "no_event.csv", index=False)
    folder = cohort_folder("lymph-all-dead")
    try:
        import_table(folder, path, time_unit="days")
        app = _import_mode()
        app.selectbox(key="import-cohort").set_value(str(folder)).run()
    finally:  # the module's other tests pick the first cohort listed
        shutil.rmtree(folder)
    warnings = [w.value for w in app.warning]
    said = (
        "(from dates): No censored patient: Every one of the 686 patients with an outcome has "
        "the event, none is censored."
    )
    assert any(w.startswith(said) for w in warnings), warnings
    assert not app.exception


def test_an_import_of_other_outcome_columns_says_so_when_it_starts(
    reported_cohort, tmp_path, monkeypatch
) -> None:
    """lymph-node's overall survival imported, then its recurrence columns into the same cohort:
    the start said only that the import adds to the cohort; that the outcome changes came once
    the job had rewritten clinical.csv."""
    import types

    import ui.cohort_import
    from survival_core.io.outcome_source import OutcomeSource
    from tests.clinical_exports import lymph_node

    monkeypatch.setattr(
        ui.cohort_import, "start_import_job", lambda *a, **k: types.SimpleNamespace(job_id="j")
    )
    OutcomeSource("survtime", "censdead", "days", "death", name="os").save(reported_cohort)
    app = _import_mode()
    app.text_input(key="import-name").set_value("lung-test")
    app.text_input(key="import-clinical").set_value(str(lymph_node(tmp_path)))
    app.text_input(key="import-time").set_value("rectime")
    app.text_input(key="import-event").set_value("censrec")
    app.button[0].click().run()
    (warning,) = app.warning
    assert warning.value.startswith("Cohort lung-test exists: this import adds to it.")
    assert (
        "Its outcome is 'survtime'/'censdead' (death), this import's 'rectime'/'censrec': "
        "another outcome is refused" in warning.value
    )
    app.text_input(key="import-time").set_value("SurvTime")
    app.text_input(key="import-event").set_value("")
    app.button[0].click().run()
    (warning,) = app.warning
    assert "Its outcome is" not in warning.value and not app.exception


def test_an_unreadable_outcome_record_refuses_the_import_before_it_starts(
    reported_cohort, tmp_path, monkeypatch
) -> None:
    """A cohort's corrupt outcome.json was read once the import job had started: the page said
    it started and showed the error, without the 'Cohort ... exists' warning, and a second click
    started a second job. It refuses the import before any job starts, naming the file."""
    import ui.cohort_import
    from tests.clinical_exports import lymph_node

    started = []
    monkeypatch.setattr(ui.cohort_import, "start_import_job", lambda *a, **k: started.append(a))
    (reported_cohort / "outcome.json").write_text("{not json")
    app = _import_mode()
    app.text_input(key="import-name").set_value("lung-test")
    app.text_input(key="import-clinical").set_value(str(lymph_node(tmp_path)))
    app.text_input(key="import-time").set_value("rectime")
    app.button[0].click().run()
    assert started == [] and not app.success and not app.exception
    (error,) = app.error
    assert error.value == (
        "cohorts/lung-test/outcome.json is not a readable outcome record (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1)): it says which spreadsheet "
        "columns the cohort's time and event came from. Restore it, or import the cohort's "
        "whole spreadsheet again to write it afresh."
    )


def test_the_log_box_shows_the_retry_that_ended_after_a_failed_import(
    reported_cohort, ended_import
) -> None:
    """An import failed, its log shown; the retry ended: the 'Log of' box kept the failed
    job (its key held the choice), the failed log under the retry's 'finished' row. It now
    shows the newest ended job's log once one ended."""
    ended_import("lung-test", "1/1 RS-1 failed: no GTV\nTraceback: the first try\n")
    app = _import_mode()
    assert app.selectbox(key="job-log-import").value.label == "import into lung-test"
    assert "the first try" in app.code[-1].value
    summary = {"patients": 1, "imported": 1, "failed": 0, "unchanged": 0, "absent": 0}
    ended_import("lung-retry", f"1/1 RS-1 imported\n{json.dumps(summary)}\n")
    app.run()
    shown = app.selectbox(key="job-log-import").value
    assert (shown.label, shown.status) == ("import into lung-retry", "finished")
    assert "RS-1 imported" in app.code[-1].value and "the first try" not in app.code[-1].value
    app.selectbox(key="job-log-import").select_index(1).run()  # the user's choice then stays
    assert "the first try" in app.code[-1].value
