"""A table-only cohort end to end: a real clinical spreadsheet, as a hospital exports it, through
``cohort import --clinical`` and ``cv --cohort`` (and ``fit --cohort``) to a plausible c-index.

The bands hold the Cox c-index measured on scikit-survival's datasets over several CV seeds with
room for chance, and exclude what a broken pipeline gives: about 0.5 for an outcome no longer
tied to the variables, below 0.5 for an inverted risk or event. ``penalizer=0`` fits the classical
Cox model (n is far above the number of columns); lifelines' penalised Newton-Raphson does not
converge on FLCHAIN with its default step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.cli.main import main
from survival_core.cohort.importer import id_key
from survival_core.io.deid import Deidentifier
from tests import clinical_exports
from tests.clinical_exports import Export

#: Dataset -> (writer, plausible cross-validated c-index band). Measured (3-fold, seeds 0-2, the
#: fixed key below): GBSG2 0.67-0.68, WHAS500 0.76-0.78, veterans 0.70-0.72, FLCHAIN (1,000 rows)
#: 0.77-0.80, AIDS 0.74-0.77.
DATASETS: dict[str, tuple[Callable[[Path], Export], tuple[float, float]]] = {
    "gbsg2": (clinical_exports.gbsg2, (0.62, 0.74)),
    "whas500": (clinical_exports.whas500, (0.70, 0.82)),
    "veterans": (clinical_exports.veterans, (0.63, 0.78)),
    "flchain": (partial(clinical_exports.flchain, rows=1000, seed=0), (0.74, 0.85)),
    "aids": (clinical_exports.aids, (0.68, 0.82)),
}


@pytest.fixture(autouse=True)
def fixed_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One de-identification key on every run: the case ids are its pseudonyms and the rows are
    taken in case id order, so a key drawn anew each run drew other folds, now and then one on
    which the classical Cox fit (``penalizer=0``) is singular (AIDS, WHAS500)."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("RADSURV_DATA_DIR", str(data))
    clinical_exports.write_fixed_key(data)


def _run(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    """The command's JSON summary (its last line); the command must succeed."""
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _import(capsys: pytest.CaptureFixture, sheet: Path, cohort: Path, **options: str) -> dict:
    flags = [text for name, value in options.items() for text in (f"--{name}", value)]
    command = ["cohort", "import", "--clinical", str(sheet), "--out", str(cohort), *flags]
    return _run(capsys, *command, "--json")


def _cv(
    capsys: pytest.CaptureFixture, cohort: Path, *, folds: int = 3, penalizer: float = 0
) -> dict:
    """``cv --cohort`` of a Cox model, one repeat of ``folds`` folds."""
    model = ["--model", "coxph", "--param", f"penalizer={penalizer}"]
    protocol = ["--repeats", "1", "--folds", str(folds), "--bootstrap", "100"]
    return _run(capsys, "cv", "--cohort", str(cohort), *model, *protocol, "--json")


def _flags(options: dict[str, str]) -> dict[str, str]:
    """Reader options as command-line option names (time_unit -> time-unit)."""
    return {name.replace("_", "-"): value for name, value in options.items()}


@pytest.mark.parametrize("name", list(DATASETS))
def test_real_dataset_imported_alone_cross_validates(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    write, (low, high) = DATASETS[name]
    export = write(tmp_path)
    cohort = tmp_path / "cohort"
    summary = _import(capsys, export.path, cohort, **_flags(export.options))
    assert summary["clinical_rows"] == len(export.X)
    assert summary["clinical_rows_without_outcome"] == 0
    result = _cv(capsys, cohort)
    assert result["n"] == len(export.X)
    assert low < result["c_index"] < high, result
    assert result["ci_low"] <= result["c_index"] <= result["ci_high"]


def test_a_shuffled_outcome_falls_out_of_the_band(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The control: the same pipeline on veterans with its outcomes shuffled across patients."""
    export = clinical_exports.veterans(tmp_path)
    sheet = pd.read_csv(export.path, sep="\t")
    order = np.random.default_rng(0).permutation(len(sheet))
    for column in ("Survival_in_days", "Status"):
        sheet[column] = sheet[column].to_numpy()[order]
    sheet.to_csv(export.path, sep="\t", index=False)
    _import(capsys, export.path, tmp_path / "cohort")
    result = _cv(capsys, tmp_path / "cohort")
    assert result["c_index"] < DATASETS["veterans"][1][0]


def test_messy_export_imported_alone_keyed_fitted_and_cross_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Mixed casing, -999, text stages, dates, names and a row without outcome: the case ids
    are the keyed pseudonyms an image import gives, no ID or name is written, text categories
    reach the model one-hot encoded (cross-validated on its numbers: a fold's test patient of a
    category its training rows lack is left out), and a schema.yaml the user edited is kept on
    a rerun."""
    sheet, cohort = clinical_exports.messy(tmp_path), tmp_path / "cohort"
    summary = _import(capsys, sheet, cohort)
    assert (summary["clinical_rows"], summary["clinical_rows_without_outcome"]) == (6, 1)
    clinical = pd.read_csv(cohort / "clinical.csv", index_col="case_id")
    deid = Deidentifier()
    assert list(clinical.index) == [deid.pseudonym(f"P0{i}") for i in range(1, 7)]
    secrets = ["P0", "Smith", "Jones", "Brown", "Green", "White", "Black"]
    for name in ("clinical.csv", "schema.yaml", "clinical_report.csv"):
        text = (cohort / name).read_text(encoding="utf-8")
        assert not any(secret in text for secret in secrets), name

    # its text categories are one or two patients' each: a fold's test patient of a category its
    # training rows lack is left out (scored as the reference level, it was counted), 4 of 5
    argv = ["cv", "--cohort", str(cohort), "--model", "coxph", "--param", "penalizer=1"]
    argv += ["--repeats", "1", "--folds", "2", "--json"]
    assert main(argv) == 2
    refusal = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "4 other patient(s) were left out of their folds, holding a category the fold's " in (
        refusal
    )
    assert refusal.endswith("or leave such a column out of the model (--features).")
    numeric = _run(capsys, *argv, "--features", "^(age|dose|ecog)$")
    assert numeric["n"] == 5 and 0 <= numeric["c_index"] <= 1
    model = tmp_path / "model"
    fit = ["fit", "--cohort", str(cohort), "--model", "coxph", "--param", "penalizer=1"]
    fitted = _run(capsys, *fit, "--out", str(model), "--json")
    assert fitted["n"] == 5
    columns = json.loads((model / "model.json").read_text())["preprocessing"]["columns"]
    encoded = {c["name"]: c.get("categories") for c in columns if c["kind"] == "categorical"}
    assert encoded["histology"] == ["Adenocarcinoma", "Large cell", "Squamous"]
    assert encoded["t_stage"][0] == "T1"

    edited = (cohort / "schema.yaml").read_text().replace("kind: integer", "kind: number")
    (cohort / "schema.yaml").write_text(edited)
    _import(capsys, sheet, cohort)
    assert (cohort / "schema.yaml").read_text() == edited


def test_table_import_into_an_image_cohort_joins_through_its_id_map(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    (cohort / "id_map.csv").write_text(f"id_key,case_id\n{id_key('P02')},RS-IMAGED\n")
    (cohort / "manifest.csv").write_text("case_id\nRS-IMAGED\nRS-NOROW\n")
    summary = _import(capsys, clinical_exports.messy(tmp_path), cohort)
    assert summary["clinical_rows"] == 1 and summary["clinical_rows_without_case"] == 5
    assert summary["cases_without_clinical_row"] == 1
    assert list(pd.read_csv(cohort / "clinical.csv")["case_id"]) == ["RS-IMAGED"]


def test_table_import_needs_a_source_and_notes_image_options(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["cohort", "import", "--out", str(tmp_path / "cohort")]) == 2
    assert "--images DIR and/or --clinical FILE" in capsys.readouterr().err
    sheet = clinical_exports.messy(tmp_path)
    argv = ["cohort", "import", "--clinical", str(sheet), "--out", str(tmp_path / "cohort")]
    assert main([*argv, "--site", "lung", "--workers", "1"]) == 0
    assert "note: --site, --workers ignored" in capsys.readouterr().err


def test_table_import_refuses_a_folder_of_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    sheet = clinical_exports.messy(tmp_path)
    assert main(["cohort", "import", "--clinical", str(sheet), "--out", str(tmp_path)]) == 2
    assert "holds export.csv, notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv", "notes.txt"]
