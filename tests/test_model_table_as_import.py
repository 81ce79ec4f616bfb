"""The model tables of ``fit``/``cv --table`` read a real cohort's cells as the cohort import
reads them: missing-value words among numbers and in categories are missing, a lab's '<1' is
its bound, yes and no in other languages are yes/no, cBioPortal's '1:DECEASED' is an event, and
a JSON file is pointed to the import. Each gave another model, or a refusal, than the import's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2

from survival_core.cohort.clinical_table import read_clinical_spreadsheet
from survival_core.errors import InputError
from survival_core.io.clinical_schema import SCHEMA_FILE
from survival_core.io.tables import load_model_table
from survival_core.models.scoring import load_scoring_model
from survival_core.models.tabular import TablePreprocessor
from survival_core.workflows.scoring import score_values
from survival_core.workflows.training import train_model

#: GBSG2's model inputs once read: numbers, yes/no hormone therapy, two categories.
GBSG2_INPUTS = [
    "age", "estrec", "horTh=True", "menostat=Pre", "pnodes", "progrec", "tgrade=II", "tgrade=III",
    "tsize",
]  # fmt: skip


@pytest.fixture(scope="module")
def gbsg2() -> pd.DataFrame:
    """scikit-survival's GBSG2 (686 real patients) as an export writes it: case_id (in the
    table's order), time (days), event 0/1, its categories as text."""
    X, y = load_gbsg2()
    table = X.astype({c: str for c in ("horTh", "menostat", "tgrade")})
    table = table.assign(time=y["time"], event=y["cens"].astype(int))
    table.insert(0, "case_id", [f"G{i:03d}" for i in range(len(table))])
    return table


def _rows(gbsg2: pd.DataFrame, n: int, seed: int = 0) -> np.ndarray:
    """A mask of ``n`` of GBSG2's rows drawn with ``seed``."""
    drawn = np.random.default_rng(seed).choice(len(gbsg2), n, replace=False)
    return np.isin(np.arange(len(gbsg2)), drawn)


def test_missing_value_words_among_numbers_are_missing(tmp_path: Path, gbsg2) -> None:
    """40 lymph-node counts written '-' and 40 progesterone receptors '[Not Available]' (6 %,
    past the 2 % of stray words read as missing): each column became a category of one level per
    value, 37 model inputs with pnodes' 30 levels, 242 with progrec's."""
    dashes, unavailable = _rows(gbsg2, 40, 1), _rows(gbsg2, 40, 2)
    written = gbsg2.astype({"pnodes": object, "progrec": object})
    written.loc[dashes, "pnodes"] = "-"
    written.loc[unavailable, "progrec"] = "[Not Available]"
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    np.testing.assert_array_equal(table.X["pnodes"], gbsg2["pnodes"].where(~dashes))
    np.testing.assert_array_equal(table.X["progrec"], gbsg2["progrec"].where(~unavailable))
    assert table.notes == [
        "'pnodes': 40 value(s) that are not numbers ('-') among numbers: read as missing.",
        "'progrec': 40 value(s) that are not numbers ('[Not Available]') among numbers: read as "
        "missing.",
    ]
    assert TablePreprocessor().fit(table.X).feature_names_out_ == GBSG2_INPUTS


@pytest.mark.parametrize(("count", "bound"), [(60, 1.0), (466, 5.0)], ids=["few", "most"])
def test_a_lab_value_written_as_a_bound_is_the_bound(
    tmp_path: Path, gbsg2, count: int, bound: float
) -> None:
    """60 estrogen receptors written '<1' made the column a category of 231 levels (an apparent
    c-index of 0.78 for 0.69); 466 of 686 (68 %) written '<5', as a CRP below detection often
    is, were left as written (bounds as many as plain numbers or more), a category of 117 levels
    unsaid. Bounds all pointing one way are the bound whatever their share, in the model tables
    and the cohort import alike."""
    bounded = _rows(gbsg2, count)
    written = gbsg2.astype({"estrec": object})
    written.loc[bounded, "estrec"] = f"<{bound:g}"
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    expected = gbsg2["estrec"].where(~bounded, bound)
    np.testing.assert_array_equal(table.X["estrec"], expected)
    assert table.notes == [
        f"'estrec': {count} value(s) written as bounds ('<{bound:g}') read as the bound."
    ]
    assert TablePreprocessor().fit(table.X).feature_names_out_ == GBSG2_INPUTS
    imported = read_clinical_spreadsheet(path, time_unit="days").table
    np.testing.assert_array_equal(imported["estrec"], expected)


def test_one_bound_written_two_ways_is_the_bound(tmp_path: Path, gbsg2) -> None:
    """20 estrogen receptors written '<1' and 10 '<1.0', one bound two ways: taken for the
    thresholds of a category ('<10'/'>=10'), the column was left as text and the table refused
    as numbers with 30 cells that are not. Only a number bounded both ways is a threshold."""
    bounded = _rows(gbsg2, 30)
    written = gbsg2.astype({"estrec": object})
    written.loc[bounded, "estrec"] = "<1"
    written.loc[bounded & (np.cumsum(bounded) <= 10), "estrec"] = "<1.0"
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    np.testing.assert_array_equal(table.X["estrec"], gbsg2["estrec"].where(~bounded, 1.0))
    assert table.notes == [
        "'estrec': 30 value(s) written as bounds ('<1.0', '<1') read as the bound."
    ]


def test_numbers_and_bounds_with_too_many_cells_that_are_not_are_refused_naming_them(
    tmp_path: Path, gbsg2
) -> None:
    """466 estrogen receptors written '<5' and 40 'n.v.': the bounds were counted as cells that
    are not numbers, so the column was not mostly of numbers and became a category of 114 levels
    unsaid. A bound counts as a number; the 40 'n.v.' are named."""
    written = gbsg2.astype({"estrec": object})
    written.loc[_rows(gbsg2, 466), "estrec"] = "<5"
    written.loc[(unread := _rows(gbsg2, 40, 1)), "estrec"] = "n.v."
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    with pytest.raises(InputError) as refused:
        load_model_table([path])
    first = written["case_id"][unread].iloc[0]
    assert str(refused.value).startswith(
        f"Column 'estrec' holds numbers and 40 cell(s) that are not ({first} 'n.v.', "
    )


def test_numbers_with_too_many_cells_that_are_not_are_refused_naming_them(
    tmp_path: Path, gbsg2
) -> None:
    """60 estrogen receptors 'n.v.' (a German lab's 'not evaluable', no missing-value word):
    too many to be typos read as missing, the column was a category of 231 levels unsaid."""
    written = gbsg2.astype({"estrec": object})
    written.loc[_rows(gbsg2, 60), "estrec"] = "n.v."
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    with pytest.raises(InputError) as refused:
        load_model_table([path])
    first = written["case_id"][written["estrec"] == "n.v."].iloc[0]
    assert str(refused.value).startswith(
        f"Column 'estrec' holds numbers and 60 cell(s) that are not ({first} 'n.v.', "
    )
    assert str(refused.value).endswith(
        "read as text, it would be a category of 234 levels. Write those cells as numbers, or "
        "leave them empty where there is no value."
    )


def test_a_column_left_out_or_naming_a_centre_is_not_refused(tmp_path: Path, gbsg2) -> None:
    """The refusal of a column mostly of numbers ran before ``--features``: 60 estrogen
    receptors 'n.v.' refused a fit on age and size alone. A centre's 30 codes with two centres
    written by name ('Mayo', 'MSK') were refused as 32 levels of numbers and stray text; its
    codes are nominal, a category."""
    written = gbsg2.astype({"estrec": object})
    written.loc[_rows(gbsg2, 60), "estrec"] = "n.v."
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    assert list(load_model_table([path], features="^(age|tsize)$").X.columns) == ["age", "tsize"]
    centres = [str(100 + i % 30) for i in range(len(gbsg2))]
    centres[:20] = ["Mayo"] * 10 + ["MSK"] * 10
    gbsg2.assign(centre=centres).to_csv(path, index=False)
    table = load_model_table([path])
    assert table.X["centre"].nunique() == 32
    assert (table.X["centre"] == "MSK").sum() == 10


def test_unknown_in_a_category_is_missing_unless_the_schema_lists_it(tmp_path: Path, gbsg2) -> None:
    """A grade 'unknown' for 40 patients was a fourth grade; the import reads it as missing. A
    cohort's schema listing 'unknown' among the grades keeps it a level."""
    unknown = _rows(gbsg2, 40)
    written = gbsg2.copy()
    written.loc[unknown, "tgrade"] = "unknown"
    written.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    assert table.X["tgrade"].isna().sum() == 40
    assert set(table.X["tgrade"].dropna()) == {"I", "II", "III"}
    assert table.notes == ["'tgrade': 40 value(s) 'unknown' read as missing."]
    assert TablePreprocessor().fit(table.X).feature_names_out_ == GBSG2_INPUTS
    (tmp_path / SCHEMA_FILE).write_text(
        "variables:\n- {name: tgrade, kind: category, categories: [I, II, III, unknown]}\n"
    )
    listed = load_model_table([path])
    assert (listed.X["tgrade"] == "unknown").sum() == 40 and listed.notes == []


@pytest.fixture(scope="module")
def english_model(tmp_path_factory: pytest.TempPathFactory, gbsg2):
    """A coxph fitted (as ``fit --table``) on GBSG2 with hormone therapy written yes/no."""
    folder = tmp_path_factory.mktemp("english")
    gbsg2.to_csv(folder / "gbsg2.csv", index=False)
    train_model([folder / "gbsg2.csv"], "coxph", {}, folder / "m")
    return load_scoring_model(folder / "m")


@pytest.mark.parametrize(
    ("yes", "no"), [("ja", "nein"), ("oui", "non"), ("sí", "no"), ("sim", "não"), ("ja", "nee")]
)
def test_yes_and_no_in_other_languages_are_yes_no(
    tmp_path: Path, gbsg2, english_model, yes: str, no: str
) -> None:
    """Hormone therapy 'ja'/'nein' was a category of reference 'ja', its coefficient given to
    'nein' (the sign reversed), and a patient's 'yes' refused as unseen; the import reads it as
    yes/no. The model is the one of the table written yes/no, and takes either word."""
    abroad = gbsg2.assign(horTh=gbsg2["horTh"].map({"yes": yes, "no": no}))
    abroad.to_csv(tmp_path / "gbsg2.csv", index=False)
    train_model([tmp_path / "gbsg2.csv"], "coxph", {}, tmp_path / "m")
    loaded = load_scoring_model(tmp_path / "m")
    (spec,) = [s for s in loaded.model.preprocessor_.columns_ if s["name"] == "horTh"]
    assert spec["categories"] == ["False", "True"]
    X = gbsg2.drop(columns=["case_id", "time", "event"])
    np.testing.assert_allclose(
        loaded.model.predict_risk(X.assign(horTh=X["horTh"] == "yes")),
        english_model.model.predict_risk(X.assign(horTh=X["horTh"] == "yes")),
        rtol=1e-9,
    )
    patient = X.iloc[0].to_dict()
    scores = [score_values({**patient, "horTh": w}, loaded, "P1") for w in ("yes", yes)]
    assert scores[0].risk == scores[1].risk and scores[0].cautions == []
    english = score_values({**patient, "horTh": "yes"}, english_model, "P1")
    assert scores[0].risk == pytest.approx(english.risk, rel=1e-9)
    assert "'horTh' read as yes/no: " in " ".join(load_model_table([tmp_path / "gbsg2.csv"]).notes)


@pytest.mark.parametrize(
    ("event", "censored"), [("1:DECEASED", "0:LIVING"), ("1:Recurred/Progressed", "0:DiseaseFree")]
)
def test_cbioportal_status_codes_are_events(
    tmp_path: Path, gbsg2, event: str, censored: str
) -> None:
    """cBioPortal's vital and recurrence status were refused: 'No case has a usable outcome
    (time >= 0 and event 0/1).'; the import reads the code before the colon."""
    coded = gbsg2.assign(event=np.where(gbsg2["event"] == 1, event, censored))
    coded.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    np.testing.assert_array_equal(table.y["event"], gbsg2["event"].astype(bool))
    assert table.case_ids == gbsg2["case_id"].tolist()


def test_a_json_file_is_pointed_to_the_import(tmp_path: Path, gbsg2) -> None:
    """GBSG2 as a JSON array of patients was parsed as delimited text and refused as having
    'no case_id column'; the cohort import reads it."""
    gbsg2.to_json(path := tmp_path / "gbsg2.json", orient="records")
    with pytest.raises(InputError) as refused:
        load_model_table([path])
    assert str(refused.value) == (
        f"Table {path} is JSON, not a CSV or Parquet table: a JSON array of one object per "
        "patient is read by the cohort import (`cohort import --clinical FILE --out DIR`, or the "
        "Cohort page's Import), which writes the cohort's clinical.csv."
    )


def test_a_category_written_as_thresholds_stays_a_category(tmp_path: Path, gbsg2) -> None:
    """Age and tumour size written as two groups by a threshold ('<50'/'>=50', '<=20'/'>20'
    mm) were read as bounds: every patient's age 50 and size 20, both columns dropped as
    constant, in the model tables and the cohort import alike. Bounds all of a column, each
    threshold written twice, are the two levels of a category."""
    grouped = gbsg2.assign(
        age=np.where(gbsg2["age"] < 50, "<50", ">=50"),
        tsize=np.where(gbsg2["tsize"] <= 20, "<=20", ">20"),
    )
    grouped.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    assert table.X["age"].value_counts().to_dict() == {">=50": 418, "<50": 268}
    assert table.X["tsize"].value_counts().to_dict() == {">20": 506, "<=20": 180}
    assert table.notes == []
    assert TablePreprocessor().fit(table.X).feature_names_out_ == [
        "age=>=50", "estrec", "horTh=True", "menostat=Pre", "pnodes", "progrec", "tgrade=II",
        "tgrade=III", "tsize=>20",
    ]  # fmt: skip
    imported = read_clinical_spreadsheet(path, time_unit="days").table
    assert imported["age"].value_counts().to_dict() == {">=50": 418, "<50": 268}
    assert imported["tsize"].value_counts().to_dict() == {">20": 506, "<=20": 180}


def test_a_negative_written_minus_among_plus_signs_is_a_level(tmp_path: Path, gbsg2) -> None:
    """The estrogen receptor written as its status, '+' from 10 fmol and '-' below: the 189
    negatives were read as missing (the '-' of missing-value words), leaving one level '+', and
    the column was dropped as constant by the model tables and the cohort import alike."""
    signs = gbsg2.assign(estrec=np.where(gbsg2["estrec"] >= 10, "+", "-"))
    signs.to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    assert table.X["estrec"].value_counts().to_dict() == {"+": 497, "-": 189}
    assert table.notes == []
    assert "estrec=-" in TablePreprocessor().fit(table.X).feature_names_out_
    imported = read_clinical_spreadsheet(path, time_unit="days")
    assert imported.table["estrec"].value_counts().to_dict() == {"+": 497, "-": 189}
    assert imported.schema["estrec"].categories == ("+", "-")


def test_numbers_in_scientific_notation_are_numbers(tmp_path: Path, gbsg2) -> None:
    """Progesterone receptors exported partly in scientific notation ('1.410e+02') with one
    '-' were refused as cells that are not numbers ('write those cells as numbers')."""
    progrec = [f"{v:.3e}" if i % 3 == 0 else f"{v:g}" for i, v in enumerate(gbsg2["progrec"])]
    progrec[5] = "-"
    gbsg2.assign(progrec=progrec).to_csv(path := tmp_path / "gbsg2.csv", index=False)
    table = load_model_table([path])
    assert table.X["progrec"].dtype == float
    np.testing.assert_array_equal(table.X["progrec"], gbsg2["progrec"].where(gbsg2.index != 5))
    assert table.notes == [
        "'progrec': 1 value(s) that are not numbers ('-') among numbers: read as missing."
    ]
    assert TablePreprocessor().fit(table.X).feature_names_out_ == GBSG2_INPUTS
