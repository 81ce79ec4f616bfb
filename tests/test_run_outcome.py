"""A training run records the outcome its cohort's import recorded (``outcome.json``): listed
as each run's endpoint, said where runs compared side by side are of different endpoints, and
warned of where an external cohort's outcome is another endpoint than the development's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from survival_core.cli.main import main
from survival_core.runs.store import RunStore, run_outcome
from tests.clinical_exports import imported_gbsg2

RFS, OS = "recurrence/progression-free survival", "overall survival"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """GBSG2 (real) as two sites' cohorts: its postmenopausal patients imported with their
    recurrence-free outcome ('rfs_days'/'recurrence'), its premenopausal ones with the made-up
    overall survival ('os_days'/'os_status')."""
    root = tmp_path_factory.mktemp("sites")
    return {"rfs": imported_gbsg2(root, "rfs", "Post"), "os": imported_gbsg2(root, "os", "Pre")}


def _train(folder: Path, name: str, cohort: Path, capsys, protocol: dict | None = None) -> dict:
    """``train --config --json`` of a 1 x 2-fold Cox run (``protocol``: another); its JSON."""
    config = {
        "name": name,
        "cohort": str(cohort),
        "model": {"name": "coxph", "params": {"penalizer": 0.0}},
        "protocol": protocol or {"name": "nested_cv", "repeats": 1, "folds": 2},
        "bootstrap": 20,
    }
    (path := folder / f"{name}.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _compared(run_ids: list[str]) -> None:
    """The Training page's comparison (:func:`ui.training.compare_runs`) of ``run_ids``."""
    from survival_core.runs.store import RunStore
    from ui.training import compare_runs

    compare_runs(RunStore().list_runs(), run_ids)


def test_runs_list_and_compare_the_endpoint_their_cohort_recorded(sites, tmp_path, capsys):
    """An RFS and an OS Cox run of GBSG2's two sites were listed and compared side by side with
    nothing telling their endpoints apart, the OS run's c-index read as the better model's."""
    from ui.training import runs_table

    rfs = _train(tmp_path, "gbsg2-rfs", sites["rfs"], capsys)["run_id"]
    os_run = _train(tmp_path, "gbsg2-os", sites["os"], capsys)["run_id"]
    assert RunStore().get_run(rfs).tags["outcome.time_column"] == "rfs_days"
    runs = RunStore().list_runs()
    assert runs.set_index("run_id")["endpoint"][[rfs, os_run]].tolist() == [RFS, OS]
    assert runs.set_index("run_id")["outcome"][rfs] == run_outcome(RunStore().get_run(rfs).tags)
    table = runs_table(runs).set_index("run_id")
    assert table.loc[[rfs, os_run], "endpoint"].tolist() == [RFS, OS]
    compared = AppTest.from_function(_compared, args=([rfs, os_run],), default_timeout=60).run()
    assert not compared.exception, compared.exception
    assert compared.dataframe[0].value.loc["endpoint"].tolist() == [RFS, OS]
    (said,) = [c.value for c in compared.caption if "outcomes" in c.value]
    assert said == (
        f"These runs' cohorts recorded different outcomes ({OS}; {RFS}): their c-indices and "
        "other metrics are of different endpoints and not comparable."
    )
    alone = AppTest.from_function(_compared, args=([rfs],), default_timeout=60).run()
    assert not [c for c in alone.caption if "outcomes" in c.value]


def _compared_listing(headers: list[list]) -> None:
    """The Training page's comparison of finished runs listed with the outcomes of ``headers``
    (time and event columns, then the endpoint and whether deaths were counted where given)."""
    import pandas as pd

    from survival_core.io.outcome_source import OutcomeSource
    from ui.training import compare_runs

    outcomes = [OutcomeSource(time, event, "days", *more) for time, event, *more in headers]
    run_ids = [f"run{i}" for i in range(len(outcomes))]
    runs = pd.DataFrame(
        {
            "run_id": run_ids,
            "name": [f"gbsg2-{i}" for i in range(len(outcomes))],
            "cohort": ["gbsg2"] * len(outcomes),
            "model": ["coxph"] * len(outcomes),
            "outcome": outcomes,
            "endpoint": [o.label() for o in outcomes],
            "c_index": [0.68 + i / 100 for i in range(len(outcomes))],
        }
    )
    compare_runs(runs, run_ids)


def _caution(headers: list[list]) -> list[str]:
    """The captions about outcomes of the comparison of runs of ``headers``."""
    compared = AppTest.from_function(_compared_listing, args=(headers,), default_timeout=60).run()
    assert not compared.exception, compared.exception
    return [c.value for c in compared.caption if "outcomes" in c.value]


def test_runs_of_three_outcomes_are_cautioned_whichever_run_comes_first():
    """An unnamed 'time'/'event' outcome is OS's and RFS's (the same columns), yet OS is not RFS:
    [unnamed, OS, RFS] were compared without a caution, [OS, unnamed, RFS] with one. Two RFS
    outcomes of other columns differing in whether deaths were events say so, not the same label
    twice."""
    unnamed, os_, rfs = ["time", "event"], ["time", "event", "death"], ["time", "event", "disease"]
    said = (
        f"These runs' cohorts recorded different outcomes ('time'/'event', endpoint not named by "
        f"its headers; {OS}; {RFS}): their c-indices"
    )
    for order in ([unnamed, os_, rfs], [os_, unnamed, rfs], [rfs, unnamed, os_]):
        (caption,) = _caution(order)
        assert caption.startswith(said), caption
    (caption,) = _caution([["rfs_days", "rfs_status", "disease", True], [*rfs, False]])
    assert caption.startswith(
        f"These runs' cohorts recorded different outcomes ({RFS}; "
        "recurrence/progression/death-free survival): their c-indices"
    ), caption
    # the same columns are one outcome, whether or not each import's rows held a death
    assert not _caution([[*rfs, True], [*rfs, False]])
    assert not _caution([os_, unnamed])


def test_runs_of_one_outcome_under_other_header_cases_are_compared_without_a_caution():
    """GBSG2's 'time'/'cens' and a re-export's 'Time'/'Cens' (no endpoint named) were captioned
    as 'different outcomes ... not comparable', their labels differing as text, while the
    runner's external-cohort note takes them for the same outcome; other columns still are
    cautioned."""
    same = [["time", "cens"], ["Time", "Cens"]]
    compared = AppTest.from_function(_compared_listing, args=(same,), default_timeout=60).run()
    assert not compared.exception, compared.exception
    assert compared.dataframe[0].value.loc["endpoint"].tolist() == [
        "'time'/'cens', endpoint not named by its headers",
        "'Time'/'Cens', endpoint not named by its headers",
    ]
    assert not [c for c in compared.caption if "outcomes" in c.value]
    other = [["time", "cens"], ["rfs_time", "rfs_status"]]
    compared = AppTest.from_function(_compared_listing, args=(other,), default_timeout=60).run()
    (said,) = [c.value for c in compared.caption if "outcomes" in c.value]
    assert said.startswith(
        "These runs' cohorts recorded different outcomes ('rfs_time'/'rfs_status', endpoint not "
        "named by its headers; 'time'/'cens', endpoint not named by its headers)"
    )


def _run_view(run_id: str) -> None:
    """The Training page's view of run ``run_id`` (:func:`ui.training.run_details`)."""
    from survival_core.runs.store import RunStore
    from ui.training import run_details

    run_details(RunStore(), run_id)


def test_an_external_cohort_of_another_endpoint_is_warned_of(sites, tmp_path, capsys):
    """A recurrence-free Cox model of GBSG2's postmenopausal patients 'validated' on the
    premenopausal ones' overall survival: an external c-index of another endpoint, said
    nowhere. A cohort without a record (imported before it was kept) says nothing new, and its
    runs list no endpoint."""
    external = {"name": "external", "external_cohort": str(sites["os"])}
    trained = _train(tmp_path, "rfs-on-os", sites["rfs"], capsys, external)
    said = (
        "The external cohort cohort_os_Pre's outcome is 'os_days'/'os_status' (death), the "
        "development cohort's 'rfs_days'/'recurrence' (recurrence or progression): the external "
        "metrics measure the model against the events of another endpoint than the one it was "
        "fitted on (a recurrence-free model's c-index against deaths), not its validation."
    )
    (note,) = [n for n in trained["notes"] if "outcome is" in n]
    assert note.startswith(said)
    reports = RunStore().get_run(trained["run_id"]).folder / "reports"
    assert note in (reports / "notes.txt").read_text().splitlines()
    view = AppTest.from_function(_run_view, args=(trained["run_id"],), default_timeout=60).run()
    assert not view.exception, view.exception
    (shown,) = [w.value for w in view.warning if w.value.startswith("**Notes on the data**")]
    assert f"- {note}" in shown
    unrecorded = shutil.copytree(sites["os"], tmp_path / "unrecorded")
    (unrecorded / "outcome.json").unlink()
    external["external_cohort"] = str(unrecorded)
    trained = _train(tmp_path, "rfs-on-unrecorded", sites["rfs"], capsys, external)
    assert not [n for n in trained["notes"] if "outcome is" in n]
    blank = _train(tmp_path, "unrecorded", unrecorded, capsys)["run_id"]
    assert RunStore().list_runs("unrecorded")["endpoint"].tolist() == [None]
    from ui.training import runs_table

    assert runs_table(RunStore().list_runs("unrecorded"))["endpoint"].tolist() == [""]
    assert not any(k.startswith("outcome.") for k in RunStore().get_run(blank).tags)


def test_train_in_text_says_the_notes_once_on_stderr(sites, tmp_path, capsys):
    """`train` without --json ended its stdout with 'notes: [...]', a Python list of the notes
    its stderr had said as 'note:' lines (and 'notes: []' without any)."""
    config = {
        "name": "rfs-on-os-text",
        "cohort": str(sites["rfs"]),
        "model": {"name": "coxph", "params": {"penalizer": 0.0}},
        "protocol": {"name": "external", "external_cohort": str(sites["os"])},
        "bootstrap": 20,
    }
    (path := tmp_path / "text.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--config", str(path)]) == 0
    said = capsys.readouterr()
    keys = [line.split(":")[0] for line in said.out.splitlines()]
    assert keys == ["run_id", "status", "metrics", "seconds", "model_version", "n_warned"]
    (note,) = [n for n in said.err.splitlines() if "outcome is 'os_days'/'os_status'" in n]
    assert note.startswith("note: The external cohort cohort_os_Pre's outcome is")


def test_a_resume_on_a_cohort_imported_again_with_another_endpoint_records_it(
    sites, tmp_path, capsys
):
    """MLflow's params cannot change: a run resumed after its cohort was imported again with
    another endpoint records the new one (tags), where a param would have failed the resume."""
    from survival_core.runs.config import load_config
    from survival_core.runs.runner import run_training

    cohort = shutil.copytree(sites["rfs"], tmp_path / "cohort")
    _train(tmp_path, "first", cohort, capsys)  # the config file to resume, written
    config = load_config(tmp_path / "first.yaml")

    def stop(message: str) -> None:
        if message.startswith("coxph:"):
            raise KeyboardInterrupt("Ctrl-C")

    with pytest.raises(KeyboardInterrupt):
        run_training(config, progress=stop)
    (run_id,) = RunStore().list_runs("first").query("status == 'FAILED'")["run_id"]
    assert RunStore().get_run(run_id).tags["outcome.endpoint"] == "disease"
    # a tag is text: 'False' (a 'recurrence' column counts no death) is read back as False
    assert run_outcome(RunStore().get_run(run_id).tags).deaths_counted is False
    sheet = cohort.parent.parent / "gbsg2_os_Post.csv"
    imported_gbsg2(cohort.parent.parent, "os", "Post")  # writes that sheet
    given = ["--time-column", "os_days", "--event-column", "os_status", "--time-unit", "days"]
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(cohort), *given]) == 0
    assert run_training(config, resume=run_id).status == "FINISHED"
    tags = RunStore().get_run(run_id).tags
    assert (tags["outcome.endpoint"], tags["outcome.time_column"]) == ("death", "os_days")
    assert RunStore().list_runs("first").set_index("run_id").loc[run_id, "endpoint"] == OS


def test_an_unreadable_outcome_record_breaks_no_join_of_the_same_outcomes(tmp_path: Path) -> None:
    """GBSG2's RFS cohort's clinical.csv beside a copy of its outcomes whose outcome.json is
    corrupt: the join of the same outcomes was refused as 'not a readable outcome record', every
    table's record being read before comparing. Read only to name the tables of a refusal, and
    there the file name stands in for an unreadable one."""
    import pandas as pd

    from survival_core.errors import InputError
    from survival_core.io.tables import load_model_table

    clinical = imported_gbsg2(tmp_path, "rfs") / "clinical.csv"
    table = pd.read_csv(clinical)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "outcome.json").write_text("{not json")
    table[["case_id", "time", "event"]].to_csv(copy / "clinical.csv", index=False)
    joined = load_model_table([clinical, copy / "clinical.csv"])
    assert (len(joined.y), int(joined.y["event"].sum())) == (686, 299)
    table.loc[:4, "time"] += 1
    table[["case_id", "time", "event"]].to_csv(copy / "clinical.csv", index=False)
    with pytest.raises(InputError) as refused:
        load_model_table([clinical, copy / "clinical.csv"])
    assert str(refused.value).startswith(
        "cohort_rfs/clinical.csv (its import's outcome: 'rfs_days'/'recurrence' (recurrence or "
        "progression)) and clinical.csv both give outcomes, and they differ for the same "
        "patients: time for 5 ("
    )


def test_fit_refuses_an_unreadable_outcome_record_whichever_table_comes_first(tmp_path, capsys):
    """`fit --table COPY --table clinical.csv`, COPY a copy of GBSG2's RFS outcomes beside a
    corrupt outcome.json, was refused after the fit, while the other order fitted and saved the
    model: only the records up to the first readable one were read. Both orders are refused,
    naming the file and what to do, before the fit."""
    import pandas as pd

    clinical = imported_gbsg2(tmp_path, "rfs") / "clinical.csv"
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "outcome.json").write_text("{not json")
    pd.read_csv(clinical)[["case_id", "time", "event"]].to_csv(copy / "clinical.csv", index=False)
    capsys.readouterr()
    for i, order in enumerate(
        [(copy / "clinical.csv", clinical), (clinical, copy / "clinical.csv")]
    ):
        out = tmp_path / f"model{i}"
        tables = [arg for table in order for arg in ("--table", str(table))]
        assert main(["fit", *tables, "--model", "coxph", "--out", str(out)]) == 2
        said = capsys.readouterr().err
        assert (
            f"error: {copy / 'outcome.json'} is not a readable outcome record (Expecting property "
            "name enclosed in double quotes: line 1 column 2 (char 1)): it says which spreadsheet "
            "columns the cohort's time and event came from. Restore it, or import the cohort's "
            "whole spreadsheet again to write it afresh."
        ) in said
        assert "fitting coxph" not in said
        assert not out.exists()


def test_two_cohorts_tables_of_other_endpoints_are_refused_naming_both(tmp_path, capsys):
    """GBSG2's RFS and OS imported as two cohorts, both clinical.csv given to `cv`: refused as
    'clinical.csv and clinical.csv both give outcomes', which of them was which said nowhere."""
    rfs, os_cohort = (imported_gbsg2(tmp_path, e) / "clinical.csv" for e in ("rfs", "os"))
    capsys.readouterr()
    argv = ["cv", "--table", str(rfs), "--table", str(os_cohort), "--model", "coxph"]
    assert main([*argv, "--repeats", "1", "--folds", "2"]) == 2
    assert (
        "error: cohort_rfs/clinical.csv (its import's outcome: 'rfs_days'/'recurrence' "
        "(recurrence or progression)) and cohort_os/clinical.csv (its import's outcome: "
        "'os_days'/'os_status' (death)) both give outcomes, and they differ for the same "
        "patients: time for "
    ) in capsys.readouterr().err
