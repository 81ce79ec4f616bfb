"""A model trained on an own cohort names its variables by that cohort's schema (labels, units,
levels) on the Nomogram, in its value checks and in the tumor-board report; the Cohort page's
exploration reads the schema beside the cohort's clinical table. Models and cohorts without one
keep the demo's HCC names."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survival_core.cohort import exploration as ex
from survival_core.errors import ClinicalValueError
from survival_core.explain.case import explain_case
from survival_core.io.clinical_schema import (
    CATEGORY,
    NUMBER,
    CohortSchema,
    SchemaVariable,
    hcc_schema,
)
from survival_core.models import make_model
from survival_core.models.scoring import LoadedModel, load_scoring_model
from survival_core.nomogram import build_nomogram, nomogram_layout
from survival_core.report.pdf import build_report, gather_report
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model
from tests.case_builders import make_case
from tests.test_report import pdf_facts

STAGES = ("T1", "T2", "T3", "T4")
SCHEMA = CohortSchema(
    (
        SchemaVariable("t_stage", CATEGORY, label="T stage", categories=STAGES, ordered=True),
        SchemaVariable("dose", NUMBER, label="Dose", unit="Gy", low=0, high=100),
    )
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """A lung cohort folder: clinical.csv (T stage, dose; not HCC variables) and schema.yaml."""
    rng = np.random.default_rng(5)
    n = 60
    stage = rng.choice(STAGES, n)
    dose = rng.uniform(45.0, 70.0, n).round(1)
    risk = 0.6 * np.searchsorted(STAGES, stage) - 0.03 * (dose - 60.0)
    time = rng.exponential(900.0 * np.exp(-risk))
    table = pd.DataFrame(
        {
            "time": np.minimum(time, 1500.0).round(1),
            "event": (time < 1500.0).astype(int),
            "t_stage": stage,
            "dose": dose,
        },
        index=pd.Index([f"LU-{i:03d}" for i in range(n)], name="case_id"),
    )
    folder = tmp_path_factory.mktemp("lung") / "cohort"
    folder.mkdir()
    table.to_csv(folder / "clinical.csv")
    SCHEMA.save(folder / "schema.yaml")
    return folder


@pytest.fixture(scope="module")
def loaded(cohort, tmp_path_factory) -> LoadedModel:
    out = tmp_path_factory.mktemp("lung-model") / "coxph"
    train_model([cohort / "clinical.csv"], "coxph", {}, out)
    return load_scoring_model(out)


def test_the_loaded_model_exposes_its_schema_and_the_demo_falls_back_to_hcc(loaded, tmp_path):
    assert loaded.schema == SCHEMA
    assert loaded.schema is loaded.schema  # read once
    other = LoadedModel(tmp_path, make_model("coxph"), None)
    assert other.schema == hcc_schema()


def test_nomogram_axes_and_checks_use_the_schema(loaded):
    nomo = build_nomogram(loaded)
    layout = nomogram_layout(nomo, nomo.points({"t_stage": "T3", "dose": 60.0}))
    labels = [row.label for row in layout.rows]
    assert {"Dose (Gy)", "T stage"} <= set(labels)
    stage_row = layout.rows[labels.index("T stage")]
    assert sorted(tick.text for tick in stage_row.ticks) == list(STAGES)
    assert "60 Gy" in layout.rows[labels.index("Dose (Gy)")].marker_text
    dose = next(v for v in nomo.variables if v.name == "dose")
    assert (dose.clinical.low, dose.clinical.high, dose.whole_numbers) == (0, 100, False)
    with pytest.raises(ClinicalValueError, match=r"T stage \(t_stage\): 'T9' is not one of T1, T2"):
        nomo.points({"t_stage": "T9", "dose": 60.0})
    with pytest.raises(ClinicalValueError, match=r"Dose \(dose\): 'high' is not a number"):
        nomo.points({"t_stage": "T2", "dose": "high"})


def test_report_names_the_schema_variables(loaded):
    case = dataclasses.replace(make_case(), clinical={"t_stage": "T3", "dose": None})
    score = score_case(case, loaded)
    explanation = explain_case(case, loaded, top=10)
    content = gather_report(case, loaded, score, explanation)
    assert content.imputed == ["Dose"]
    assert dict(content.card)["Inputs"] == "T stage, Dose"
    full = dataclasses.replace(case, clinical={"t_stage": "T3", "dose": 61.5})
    bars = gather_report(
        full, loaded, score_case(full, loaded), explain_case(full, loaded)
    ).features
    assert "Dose 61.5 Gy" in [label for label, _ in bars]
    _, _, text = pdf_facts(build_report(case, loaded, score, explanation))
    assert "Imputed (missing, training-cohort value): Dose" in text
    assert "T stage, Dose" in text


def test_exploration_labels_come_from_the_cohorts_schema(cohort, tmp_path):
    data = ex.load_cohort([cohort])
    assert data.schema == SCHEMA
    assert data.families()["clinical"] == ["t_stage", "dose"]
    assert ex.short_label("t_stage", schema=data.schema) == "T stage"
    dose = ex.variable(data.frame["dose"], data.schema)
    assert (dose.label, dose.unit, dose.scale) == ("Dose (Gy)", "Gy", "per 1 Gy")
    stage = ex.variable(data.frame["t_stage"], data.schema)
    assert (stage.label, stage.kind, stage.levels) == ("T stage", "ordinal", STAGES)
    table = ex.univariate_cox(data.frame, data.y, ["dose"], schema=data.schema)
    assert list(table["label"]) == ["Dose (Gy)"]
    split = ex.split_groups(data.frame["dose"], "median", schema=data.schema)
    assert split.description.startswith("Dose (Gy) split at the median (") and " Gy)" in split.how
    # without the schema: plain column names, and the demo's HCC variables stay clinical
    assert ex.short_label("t_stage") == "t_stage" and ex.short_label("albumin") == "Albumin"
    shutil.copy(cohort / "clinical.csv", tmp_path / "clinical.csv")
    assert ex.load_cohort([tmp_path]).schema == hcc_schema()
