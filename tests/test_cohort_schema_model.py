"""A model trained on an own cohort's clinical table carries that cohort's schema: its variables
count as clinical (read from the case's values, not from feature extraction) and score a case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from survival_core.io.clinical_schema import CohortSchema, infer_schema
from survival_core.models.scoring import load_scoring_model
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.case_builders import make_case


def _lung_cohort_table(folder: Path) -> Path:
    """A clinical.csv of a lung cohort (not the HCC variables) with its schema.yaml beside it."""
    rng = np.random.default_rng(2)
    n = 80
    stage = rng.choice(["I", "II", "III", "IV"], n)
    dose = rng.uniform(45.0, 70.0, n)
    risk = np.searchsorted(["I", "II", "III", "IV"], stage) * 0.6 - 0.03 * (dose - 60.0)
    time = rng.exponential(900.0 * np.exp(-risk))
    table = pd.DataFrame(
        {
            "time": np.minimum(time, 1500.0).round(1),
            "event": (time < 1500.0).astype(int),
            "stage": stage,
            "dose_gy": dose.round(1),
        },
        index=pd.Index([f"RS-{i:04d}" for i in range(n)], name="case_id"),
    )
    folder.mkdir(parents=True)
    table.to_csv(folder / "clinical.csv")
    infer_schema(table[["stage", "dose_gy"]], units={"dose_gy": "Gy"}).save(folder / "schema.yaml")
    return folder / "clinical.csv"


def test_model_reads_its_cohorts_variables(tmp_path: Path) -> None:
    clinical = _lung_cohort_table(tmp_path / "cohort")
    out = tmp_path / "model"
    train_model([clinical], "coxph", {}, out, cv_repeats=0)
    loaded = load_scoring_model(out)
    assert set(loaded.card.clinical_columns) == {"stage", "dose_gy"}
    assert CohortSchema.load(out / "schema.yaml").names == ["stage", "dose_gy"]
    case = make_case()
    case.clinical = {"stage": "IV", "dose_gy": 50.0}
    late = score_case(case, loaded)
    case.clinical = {"stage": "I", "dose_gy": 66.0}
    early = score_case(case, loaded)
    assert late.risk > early.risk and late.imputed == [] == early.imputed
    case.clinical = {"stage": "II"}  # a missing value is imputed and said so
    assert score_case(case, loaded).imputed == ["dose_gy"]


def test_case_page_form_follows_the_chosen_models_schema(tmp_path: Path, monkeypatch) -> None:
    """With a lung cohort's model chosen, the Case page asks that cohort's variables (stage,
    dose), checks them against its schema, and the risk uses them; no HCC variable is asked."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT
    from tests.test_case_page_safety import lung_zip
    from ui import models

    clinical = _lung_cohort_table(tmp_path / "cohort")
    out = tmp_path / "model"
    train_model([clinical], "coxph", {}, out, cv_repeats=0)
    monkeypatch.setattr(models, "model_choices", lambda: [models.ModelChoice("lung coxph", out)])
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(("lung.zip", lung_zip(), "application/zip")).run()
    assert not app.exception and not app.error
    keys = {w.key for w in [*app.text_input, *app.selectbox] if w.key}
    asked = {k.rsplit("-", 1)[1] for k in keys if k.startswith("clinical-")}  # clinical-<case>-name
    assert {"stage", "dose_gy"} <= asked
    assert not {"albumin", "age", "albi_score"} & asked
    (stage,) = (k for k in keys if k.startswith("clinical-") and k.endswith("-stage"))
    dose = stage.removesuffix("stage") + "dose_gy"
    app.selectbox(key=stage).set_value("IV")
    app.text_input(key=dose).input("500")
    next(b for b in app.button if b.label == "Validate and save").click().run()
    assert any("dose_gy" in e.value and "500" in e.value for e in app.error)
    app.text_input(key=dose).input("50")
    next(b for b in app.button if b.label == "Validate and save").click().run()
    assert not app.error
    # said on the rerun that shows the saved values (it was written just before the rerun)
    assert any(s.value == "Clinical values saved for this session." for s in app.success)
    table = next(d.value for d in app.table if "variable" in d.value.columns)
    assert dict(zip(table["variable"], table["value"], strict=True))["stage"] == "IV"


def test_uploaded_clinical_file_keeps_the_models_variables(tmp_path: Path, monkeypatch) -> None:
    """A clinical.json uploaded with the images keeps the chosen model's own variables (checked
    by its schema) and nothing else: an identifier in it is never stored."""
    import json

    from streamlit.testing.v1 import AppTest

    from survival_core.paths import data_subdir
    from tests.conftest import ROOT
    from tests.test_case_page_safety import lung_zip
    from ui import models

    clinical = _lung_cohort_table(tmp_path / "cohort")
    out = tmp_path / "model"
    train_model([clinical], "coxph", {}, out, cv_repeats=0)
    monkeypatch.setattr(models, "model_choices", lambda: [models.ModelChoice("lung coxph", out)])
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.segmented_control[0].set_value("Upload").run()
    values = {"stage": "III", "dose_gy": 60.0, "patient_name": "DOE^JANE"}
    app.file_uploader[0].set_value(
        [
            ("lung.zip", lung_zip(), "application/zip"),
            ("clinical.json", json.dumps(values).encode(), "application/json"),
        ]
    ).run()
    assert not app.exception and not app.error
    table = next(d.value for d in app.table if "variable" in d.value.columns)
    shown = dict(zip(table["variable"], table["value"], strict=True))
    assert shown["stage"] == "III" and shown["dose_gy"] == "60.0"
    stored = [p for p in data_subdir("cases").rglob("clinical.json")]
    assert stored and all("DOE" not in p.read_text() for p in stored)
    assert any('"stage": "III"' in p.read_text() for p in stored)


def test_an_uploaded_near_miss_of_the_models_variable_is_shown_refused(
    tmp_path: Path, monkeypatch
) -> None:
    """A clinical.json's 'dose' (nearly the lung model's dose_gy) was left out when stored and
    dose_gy imputed, with a note alone. The Case page shows the refusal naming the file, the key
    and the variable, no traceback and no case, and nothing of the upload is stored."""
    import json

    from streamlit.testing.v1 import AppTest

    from survival_core.paths import data_subdir
    from tests.conftest import ROOT
    from tests.test_case_page_safety import lung_zip
    from ui import models

    clinical = _lung_cohort_table(tmp_path / "cohort")
    out = tmp_path / "model"
    train_model([clinical], "coxph", {}, out, cv_repeats=0)
    monkeypatch.setattr(models, "model_choices", lambda: [models.ModelChoice("lung coxph", out)])
    before = {p.name for p in data_subdir("cases").glob("upload-*")}
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.segmented_control[0].set_value("Upload").run()
    app.file_uploader[0].set_value(
        [
            ("lung.zip", lung_zip(), "application/zip"),
            ("clinical.json", json.dumps({"stage": "III", "dose": 60}).encode(), "text/json"),
        ]
    ).run()
    assert not app.exception and not app.subheader
    assert [e.value for e in app.error] == [
        "clinical.json: 'dose' is none of the models' variables but nearly names 'dose_gy', "
        "which the file gives under no other key: a key naming no variable is not stored (its "
        "value may identify the patient), so its value would be lost and dose_gy imputed. Give "
        "it under that name, or remove it."
    ]
    assert {p.name for p in data_subdir("cases").glob("upload-*")} == before


def test_a_model_refitted_into_its_folder_is_written_whole(tmp_path: Path, monkeypatch) -> None:
    """The folder holds the new model alone: a model of a table without a schema refitted over
    the lung model kept its schema.yaml, and scoring read the case's values through it (all
    imputed but one). A save that fails half-way (a full disk) leaves the earlier model whole; a
    folder of other files is refused before any work, not replaced."""
    import pytest

    from survival_core.errors import InputError
    from survival_core.models.card import ModelCard

    out = tmp_path / "model"
    train_model([_lung_cohort_table(tmp_path / "lung")], "coxph", {}, out)
    plain = tmp_path / "plain.csv"
    pd.read_csv(tmp_path / "lung" / "clinical.csv").drop(columns="stage").to_csv(plain, index=False)
    train_model([plain], "coxph", {}, out)
    assert not (out / "schema.yaml").exists()
    assert load_scoring_model(out).card.clinical_columns == ["dose_gy"]

    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(self, folder):
        (Path(folder) / "card.json").write_text('{"trunc')
        raise OSError(27, "File too large")

    monkeypatch.setattr(ModelCard, "save", disk_full)
    with pytest.raises(OSError, match="File too large"):
        train_model([_lung_cohort_table(tmp_path / "lung2")], "coxph", {}, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds files but no model"):
        train_model([plain], "coxph", {}, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


def test_a_folder_mixing_two_models_is_refused(tmp_path: Path) -> None:
    """A card copied beside another model's file (folders merged by hand) scored with the
    card's risk groups and percentiles: 'low, percentile 0' under a model of other risks."""
    import shutil

    import pytest

    from survival_core.errors import InputError

    table = _lung_cohort_table(tmp_path / "lung")
    train_model([table], "coxph", {}, tmp_path / "cox")
    train_model([table], "rsf", {"n_estimators": 10}, tmp_path / "rsf")
    shutil.copy(tmp_path / "rsf" / "card.json", tmp_path / "cox" / "card.json")
    with pytest.raises(InputError, match="mixes two models: its card describes a rsf model"):
        load_scoring_model(tmp_path / "cox")
