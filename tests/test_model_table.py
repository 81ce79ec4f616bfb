"""Outcome columns of real exports read right: a gap in the event column costs one row, not all
of them; yes/no and dead/alive words are events; R's 1/2 coding is refused, never half-read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_flchain, load_gbsg2, load_veterans_lung_cancer

from survival_core.errors import InputError
from survival_core.io.tables import load_model_table
from survival_core.models.tabular import TablePreprocessor


def _numeric_table(X: pd.DataFrame, ids: list[str], time: np.ndarray, event: np.ndarray):
    """A cohort's numeric columns as a model table: ``case_id`` first, ``time`` and ``event``."""
    table = X.select_dtypes("number").copy()
    table.insert(0, "case_id", ids)
    table["time"], table["event"] = time, event.astype(int)
    return table


@pytest.fixture(scope="module")
def veterans() -> pd.DataFrame:
    """scikit-survival's veterans lung-cancer cohort (137 real patients), numeric columns."""
    X, y = load_veterans_lung_cancer()
    ids = [f"VA-{i:03d}" for i in range(len(X))]
    return _numeric_table(X, ids, y["Survival_in_days"], y["Status"])


def test_a_missing_event_costs_its_row_only(tmp_path: Path, veterans: pd.DataFrame) -> None:
    gapped = veterans.astype({"event": float})
    gapped.loc[5, "event"] = np.nan  # the column is written as 1.0 / 0.0 / empty
    gapped.to_csv(tmp_path / "t.csv", index=False)
    table = load_model_table([tmp_path / "t.csv"])
    kept = veterans.drop(index=5)
    assert table.case_ids == kept["case_id"].tolist()
    np.testing.assert_array_equal(table.y["event"], kept["event"].astype(bool))
    left_out = "1 case(s) without a usable time/event (missing, negative, or an event code other"
    assert f"{left_out} than 0/1) were left out: VA-005." in table.notes  # named: which to fix


@pytest.mark.parametrize("words", [("dead", "alive"), ("Yes", "No"), ("event", "censored")])
def test_event_words(tmp_path: Path, veterans: pd.DataFrame, words: tuple[str, str]) -> None:
    worded = veterans.assign(event=np.where(veterans["event"] == 1, *words))
    worded.to_csv(tmp_path / "t.csv", index=False)
    table = load_model_table([tmp_path / "t.csv"])
    np.testing.assert_array_equal(table.y["event"], veterans["event"].astype(bool))


def test_r_style_one_two_coding_refused(tmp_path: Path, veterans: pd.DataFrame) -> None:
    veterans.assign(event=veterans["event"] + 1).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match="holds 1 and 2, not 0/1: in R's survival coding"):
        load_model_table([tmp_path / "t.csv"])


def test_numbers_written_as_text_and_infinite_values(tmp_path) -> None:
    """Real veterans rows as a spreadsheet may write them: Karnofsky as '60%', a quoted decimal
    comma, one infinite age; read as numbers and missing, each said, never one category per
    value."""
    from sksurv import datasets

    X, y = datasets.load_veterans_lung_cancer()
    frame = pd.DataFrame(
        {
            "case_id": [f"V{i:03d}" for i in range(len(y))],
            "time": y["Survival_in_days"],
            "event": y["Status"].astype(int),
            "karnofsky": [f"{v:.0f}%" for v in X["Karnofsky_score"]],
            "months": [f"{v:.1f}".replace(".", ",") for v in X["Months_from_Diagnosis"]],
            "age": X["Age_in_years"].astype(float),
        }
    )
    frame.loc[5, "age"] = np.inf
    frame.to_csv(path := tmp_path / "veterans.csv", index=False)
    table = load_model_table([path])
    np.testing.assert_array_equal(table.X["karnofsky"], X["Karnofsky_score"])
    np.testing.assert_allclose(table.X["months"], X["Months_from_Diagnosis"].round(1))
    assert np.isnan(table.X["age"].iloc[5]) and table.X["age"].notna().sum() == len(y) - 1
    assert "'karnofsky' holds numbers written as text ('60%'): read as numbers." in table.notes
    assert "'age': 1 infinite value(s) read as missing." in table.notes


def test_tables_sharing_no_case_are_named_as_such(tmp_path) -> None:
    pd.DataFrame({"case_id": ["A1", "A2"], "time": [1, 2], "event": [1, 0]}).to_csv(
        outcomes := tmp_path / "outcomes.csv", index=False
    )
    pd.DataFrame({"case_id": ["B1", "B2"], "x": [1.0, 2.0]}).to_csv(
        features := tmp_path / "features.csv", index=False
    )
    with pytest.raises(InputError, match=r"share no case_id \(A1, A2 against B1, B2\)"):
        load_model_table([outcomes, features])


def test_cases_left_out_of_a_join_are_said_whichever_table_comes_first(tmp_path) -> None:
    pd.DataFrame({"case_id": ["A1", "A2"], "time": [1, 2], "event": [1, 0]}).to_csv(
        clinical := tmp_path / "clinical.csv", index=False
    )
    pd.DataFrame({"case_id": ["A1", "A2", "A3"], "x": [1.0, 2.0, 3.0]}).to_csv(
        features := tmp_path / "features.csv", index=False
    )
    for order in ([clinical, features], [features, clinical]):
        table = load_model_table(order)
        assert len(table.y) == 2
        assert any("1 case(s)" in n and "left out" in n for n in table.notes), table.notes


def test_outcome_columns_are_left_out_of_the_features(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """The real veterans cohort with its outcome written twice more, as a physicist's export has
    it: with them the Cox c-index was 0.95 (0.71 without), learnt from the follow-up itself."""
    leaky = veterans.assign(
        OS_months=veterans["time"] / 30.44,
        vital_status=np.where(veterans["event"] == 1, "Dead", "Alive"),
        **{"Recurrence (1=yes)": veterans["event"], "Months_from_Diagnosis": 3.0},
    )
    leaky.to_csv(tmp_path / "t.csv", index=False)
    table = load_model_table([tmp_path / "t.csv"])
    assert {"OS_months", "vital_status", "Recurrence (1=yes)"}.isdisjoint(table.X.columns)
    assert "Months_from_Diagnosis" in table.X.columns  # a baseline time, not an outcome
    (note,) = [n for n in table.notes if n.startswith("Left out as outcomes")]
    assert "OS_months, vital_status, Recurrence (1=yes)" in note


def test_feature_tables_without_the_outcome_point_at_clinical_csv(tmp_path: Path) -> None:
    """`cv --cohort C --table feats.parquet` said only that no table has time and event,
    though the cohort's clinical.csv holds them; the message names the tables and the fix."""
    features = tmp_path / "feats.csv"
    pd.DataFrame({"case_id": ["A", "B"], "gtv__original__shape__Volume": [1.0, 2.0]}).to_csv(
        features, index=False
    )
    with pytest.raises(InputError, match=r"\(feats.csv\) has both .*--table COHORT/clinical.csv"):
        load_model_table([features])
    # an export's own headers: named, and the cohort import that reads them pointed at
    export = tmp_path / "export.csv"
    pd.DataFrame({"case_id": ["A", "B"], "os_months": [3, 20], "status": [1, 0]}).to_csv(
        export, index=False
    )
    with pytest.raises(InputError, match=r"columns: 'os_months', 'status'\..*cohort import"):
        load_model_table([export])


def test_a_time_written_with_its_unit_is_named(tmp_path: Path, veterans: pd.DataFrame) -> None:
    """'1814.0 days' in the time column: every row was dropped and the message said only that no
    case had a usable outcome."""
    path = tmp_path / "worded.csv"
    veterans.assign(time=veterans["time"].astype(str) + " days").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"137 time value\(s\) are not numbers \(e.g. '72.0 days'"):
        load_model_table([path])


def test_a_follow_up_too_short_for_days_asks_for_the_unit(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """Veterans' times in months read as days (longest 32.8 'days') are noted with the option;
    in days (longest 999) or given as months, nothing is said."""
    in_months = veterans.assign(time=veterans["time"] / 30.4375)
    in_months.to_csv(tmp_path / "months.csv", index=False)
    veterans.to_csv(tmp_path / "days.csv", index=False)
    asked = [n for n in load_model_table([tmp_path / "months.csv"]).notes if "--time-unit" in n]
    assert asked and asked[0].startswith("The longest follow-up is 32.8")
    assert "likely in months (read so, 999 days: 2.7 years)" in asked[0]
    assert "import the sheet again with cohort import --time-unit months" in asked[0]  # train
    for table in (
        load_model_table([tmp_path / "months.csv"], time_unit="months"),
        load_model_table([tmp_path / "days.csv"]),
    ):
        assert not [n for n in table.notes if "longest follow-up" in n]


def test_days_written_in_another_unit_come_back_as_the_same_days(tmp_path: Path) -> None:
    """730 days written in months came back as 730.0000000000001: an event at 2 years fell after
    the 730-day horizon, and its td-AUC differed from the same table's in days."""
    days = np.array([730.0, 365.0, 1095.0, 12.5, 1000.0])
    for unit, factor in (("weeks", 7.0), ("months", 365.25 / 12), ("years", 365.25)):
        table = pd.DataFrame(
            {"case_id": list("abcde"), "time": days / factor, "event": 1, "x": range(5)}
        )
        table.to_csv(tmp_path / f"{unit}.csv", index=False)
        read = load_model_table([tmp_path / f"{unit}.csv"], time_unit=unit).y["time"]
        assert read.tolist() == days[np.argsort(list("abcde"))].tolist()


def test_days_read_as_months_or_years_are_noted(tmp_path: Path, veterans: pd.DataFrame) -> None:
    """Days given as months (an imported clinical.csv is in days) made a 83-year follow-up with
    no word; horizons and survival at 12-36 months were then wrong. The note names the unit the
    times are likely in, veterans' longest follow-up then 999 days."""
    veterans.to_csv(tmp_path / "days.csv", index=False)
    for unit, years in (("months", 83), ("years", 999)):
        notes = load_model_table([tmp_path / "days.csv"], time_unit=unit).notes
        said = [n for n in notes if "longest follow-up" in n]
        likely = f"({years} years; time read in {unit}), likely in days (read so, 999 days"
        assert said and likely in said[0]
        assert "cv and fit: --time-unit days;" in said[0]


def test_an_imported_cohort_in_the_wrong_unit_is_told_to_import_the_sheet_again(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """Veterans' days imported as years: train's note on the cohort's clinical.csv (in days, a
    longest follow-up of 999 years) said to leave out a --time-unit train has not, where the
    sheet must be imported again with the right one. Read in the unit the import recorded
    (years), the note names the unit the sheet is likely in, days, as the import's did."""
    from survival_core.cohort.clinical_join import import_table

    veterans.to_csv(sheet := tmp_path / "days.csv", index=False)
    import_table(cohort := tmp_path / "cohort", sheet, time_unit="years")
    notes = load_model_table([cohort / "clinical.csv"]).notes
    said = [n for n in notes if "longest follow-up" in n]
    assert said and said[0].startswith(
        "The longest follow-up is 364885 days (999 years; time read in years), likely in days "
        "(read so, 999 days: 2.7 years)"
    )
    assert "import the sheet again with cohort import --time-unit days" in said[0]
    assert "cv and fit" not in said[0] and "leave --time-unit out" not in said[0]


def test_an_imported_short_study_is_noted_as_its_import_noted_it(tmp_path: Path) -> None:
    """AIDS, its 364 days under 'time (days)': fit and cv on the cohort's clinical.csv said its
    times were likely in weeks, to be given --time-unit weeks (every time 7 times as long) or
    imported again with --time-unit weeks, which its header refuses. As the import notes it:
    a short follow-up in the unit its header states, no other unit suggested."""
    from survival_core.cohort.clinical_join import import_table
    from tests.clinical_exports import aids

    export = aids(tmp_path)
    import_table(cohort := tmp_path / "cohort", export.path, **export.options)
    notes = load_model_table([cohort / "clinical.csv"]).notes
    assert [n for n in notes if "follow-up" in n] == [
        "short follow-up: the longest is 364 days (364 days), in the unit its header "
        "'time (days)' states; survival at 12, 24 and 36 months lies past it"
    ]


def test_zero_times_are_noted_and_one_time_for_all_is_refused(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    veterans.assign(time=np.where(np.arange(len(veterans)) < 3, 0, veterans["time"])).to_csv(
        tmp_path / "zero.csv", index=False
    )
    notes = load_model_table([tmp_path / "zero.csv"]).notes
    assert any(n.startswith("3 case(s) have a follow-up time of 0") for n in notes)
    veterans.assign(time=0).to_csv(tmp_path / "all_zero.csv", index=False)
    with pytest.raises(InputError, match=r"Every case has the same follow-up time \(0 days\)"):
        load_model_table([tmp_path / "all_zero.csv"])


def test_a_copy_of_the_time_under_any_name_is_left_out(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """R's 'rfstime' beside the OS time, and the follow-up under a name no rule knows ('q17'):
    kept as predictors they gave a c-index of 0.99. 'rfstime' goes by its name, 'q17' because it
    follows the time (Spearman > 0.95); ordinary variables stay."""
    rng = np.random.default_rng(0)
    leaky = veterans.assign(
        rfstime=veterans["time"] + 1,
        q17=veterans["time"] * 1.02 + rng.normal(0, 5, len(veterans)),
    )
    leaky.loc[3, "q17"] = np.nan  # a gap: that column is checked on its own rows
    leaky.to_csv(tmp_path / "t.csv", index=False)
    table = load_model_table([tmp_path / "t.csv"])
    assert "rfstime" not in table.X and "q17" not in table.X
    assert {"Karnofsky_score", "Age_in_years"} <= set(table.X.columns)
    assert any(
        n.startswith("Left out as copies of the survival time, not predictors: q17 (")
        for n in table.notes
    )


def test_r_row_names_are_not_a_feature(tmp_path: Path, veterans: pd.DataFrame) -> None:
    """R's write.csv writes its row names under an empty header; after dplyr::arrange(status,
    time) they are each patient's rank by outcome, and 'Unnamed: 0' was a predictor (GBSG2:
    c-index 0.99). A column without a header that holds a number per row is left out."""
    ranked = veterans.sort_values(["event", "time"]).reset_index(drop=True)
    ranked.index += 1
    ranked.to_csv(tmp_path / "r.csv", index_label="")
    table = load_model_table([tmp_path / "r.csv"])
    assert list(table.X.columns) == list(veterans.columns.drop(["case_id", "time", "event"]))
    assert any(
        n.startswith("Left out as row numbers or labels, not predictors: Unnamed: 0")
        for n in table.notes
    )


def test_missing_value_codes_are_missing_at_any_share(tmp_path: Path) -> None:
    """SAS's and Stata's '.', '.a'-'.z' and Excel's '#DIV/0!' beyond 2 % of a column made it a
    category (GBSG2's tsize: 58 one-hot columns; 3 % of '#DIV/0!' in progrec about 237), a
    grade '.' was a level, and a Cox model blamed for not converging."""
    X, y = load_gbsg2()
    table = X.assign(case_id=[f"G{i:03d}" for i in range(len(X))], time=y["time"], event=y["cens"])
    table.to_csv(tmp_path / "clean.csv", index=False)  # horTh's yes/no read as True/False
    clean = TablePreprocessor().fit(load_model_table([tmp_path / "clean.csv"]).X)
    coded = table.astype({"tsize": object, "progrec": object, "pnodes": object, "tgrade": object})
    rows = np.arange(len(coded))
    coded.loc[rows % 12 == 0, "tsize"] = "."
    coded.loc[rows % 33 == 1, "progrec"] = "#DIV/0!"
    coded.loc[rows % 25 == 2, "pnodes"] = np.where(rows[rows % 25 == 2] % 2, ".a", ".B")
    coded.loc[rows % 13 == 3, "tgrade"] = "."
    coded.to_csv(tmp_path / "coded.csv", index=False)
    loaded = load_model_table([tmp_path / "coded.csv"])
    for column, code in (("tsize", "."), ("progrec", "#DIV/0!"), ("pnodes", ".a")):
        assert pd.api.types.is_float_dtype(loaded.X[column])
        assert any(n.startswith(f"'{column}': ") and repr(code) in n for n in loaded.notes)
    prep = TablePreprocessor().fit(loaded.X)
    assert prep.feature_names_out_ == clean.feature_names_out_
    assert "'tgrade': 8% missing in training, imputed with the most frequent category (II)." in (
        prep.notes_
    )


def test_an_id_column_named_in_capitals_keeps_its_leading_zeros(tmp_path: Path) -> None:
    """'Case_ID' was read as numbers ('001' -> 1), and the join then blamed the user's IDs."""
    (tmp_path / "clinical.csv").write_text(
        "Case_ID,time,event,age\n001,100,1,60\n002,200,0,70\n003,300,1,65\n010,400,0,55\n"
    )
    table = load_model_table([tmp_path / "clinical.csv"])
    assert table.case_ids == ["001", "002", "003", "010"]


def test_a_stray_word_among_numbers_is_read_as_missing(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """One 'abc' in the Karnofsky scores made the column a category of one level per score:
    a model of 19 inputs, which refused every later score (60 is not one of '10.0', ...)."""
    typo = veterans.astype({"Karnofsky_score": object})
    typo.loc[typo.index[5], "Karnofsky_score"] = "abc"
    typo.to_csv(tmp_path / "typo.csv", index=False)
    table = load_model_table([tmp_path / "typo.csv"])
    assert pd.api.types.is_float_dtype(table.X["Karnofsky_score"])
    assert table.X["Karnofsky_score"].isna().sum() == 1
    assert "'Karnofsky_score': 1 value(s) that are not numbers ('abc') among numbers" in " ".join(
        table.notes
    )
    words = veterans.assign(Karnofsky_score=np.where(veterans.index % 2, "high", "low"))
    words.to_csv(tmp_path / "words.csv", index=False)  # a category stays one
    assert load_model_table([tmp_path / "words.csv"]).X["Karnofsky_score"].dtype == object


def test_a_hospital_spreadsheet_is_pointed_to_the_import(tmp_path: Path) -> None:
    """'has no case_id column to join on' and 'not a text table' left the user without the way
    in: the import reads such sheets."""
    (tmp_path / "export.csv").write_text("Patient,OS (months),Status\nA,3,dead\n")
    (tmp_path / "export.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    for name in ("export.csv", "export.xlsx"):
        with pytest.raises(InputError, match=r"read by the cohort import \(`cohort import"):
            load_model_table([tmp_path / name])


def test_a_column_that_tells_the_event_is_not_a_feature(tmp_path):
    """flchain's cause of death, filled for the dead alone, and an ADaM source domain ('DS' for
    the deaths, 'SV' for the last visits) were features of `cv --table`, as the cohort import
    no longer keeps them."""
    X, y = load_flchain()
    table = X.assign(
        case_id=[f"F{i:04d}" for i in range(len(X))],
        time=y["futime"],
        event=y["death"].astype(int),
        srcdom=np.where(y["death"], "DS", "SV"),
    )
    table.to_csv(path := tmp_path / "flchain.csv", index=False)
    loaded = load_model_table([path])
    assert "chapter" not in loaded.X and "srcdom" not in loaded.X and "kappa" in loaded.X
    (note,) = [n for n in loaded.notes if n.startswith("Left out as the event in disguise")]
    assert "chapter: filled only for the patients with the event" in note


def test_no_value_codes_are_missing_as_the_cohort_import_reads_them(
    tmp_path: Path, veterans: pd.DataFrame
) -> None:
    """A registry's -99 for an unknown age and 9999 for an unknown follow-up, in a table given
    to cv/fit: the ages were kept as patients 160 years younger than the median, the times as
    27 years followed; now they are missing (rows without a time left out), each said."""
    coded = veterans.copy()
    coded.loc[[3, 40, 77], "Age_in_years"] = -99
    coded.loc[[10, 20], "time"] = 9999
    coded.to_csv(tmp_path / "t.csv", index=False)
    table = load_model_table([tmp_path / "t.csv"])
    assert "VA-010" not in table.case_ids and "VA-020" not in table.case_ids
    assert "2 time value(s) 9999 read as missing" in " ".join(table.notes)
    assert table.y["time"].max() == veterans["time"].drop(index=[10, 20]).max()
    prep = TablePreprocessor().fit(table.X)
    blank = table.X.copy()
    blank.loc[blank["Age_in_years"] == -99, "Age_in_years"] = np.nan
    np.testing.assert_allclose(
        prep.transform(table.X).to_numpy(), TablePreprocessor().fit(blank).transform(blank)
    )
    assert any("3 value(s) -99 read as missing" in n for n in prep.notes_)
    # a new patient from the same export: imputed as the training rows' -99 were, and said
    saved = TablePreprocessor.from_dict(prep.to_dict())
    new = table.X.iloc[[0]].assign(Age_in_years=-99)
    median = table.X.iloc[[0]].assign(Age_in_years=np.median(blank["Age_in_years"].dropna()))
    scored = saved.transform(new)
    assert "-99 read as missing (the training table's no-value code)" in saved.transform_notes_[0]
    np.testing.assert_allclose(scored, saved.transform(median))


def test_numbers_like_no_value_codes_among_their_peers_are_kept() -> None:
    """-99 among negative values (a CT minimum in HU) and 999 among values up to 900 are
    values, not codes."""
    X = pd.DataFrame(
        {
            "firstorder_Minimum": [-1024.0, -99.0, -350.0, -870.0, -120.0],
            "count": [999.0, 900.0, 10.0, 450.0, 30.0],
        }
    )
    prep = TablePreprocessor().fit(X)
    assert not any("no-value code" in n for n in prep.notes_)
    assert prep.columns_[0]["fill"] == -350.0 and prep.columns_[1]["fill"] == 450.0


def test_a_centre_coded_like_a_no_value_code_stays_a_centre(tmp_path: Path) -> None:
    """GBSG2 with hospitals 1-4 and -99 for 37 unknown: the -99 was read as missing at fit
    (noted as imputed with the most frequent centre), encoded as the reference centre with an
    UnseenLevelWarning, and the same patient refused at scoring. A centre is a category whatever
    its numbers: -99 (or a centre 999) is one of its levels."""
    import warnings

    X, _ = load_gbsg2()
    hospital = np.random.default_rng(0).integers(1, 5, len(X)).astype(float)
    hospital[:37] = -99
    X = X.assign(hospital=hospital)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prep = TablePreprocessor().fit(X)
        prep.transform(X)
    assert not any("no-value code" in note for note in prep.notes_)
    (spec,) = [s for s in prep.columns_ if s["name"] == "hospital"]
    assert spec["kind"] == "categorical" and "-99" in spec["categories"]


@pytest.fixture(scope="module")
def gbsg2() -> pd.DataFrame:
    """scikit-survival's GBSG2 (686 real patients): ids '001'..., outcomes in days, numbers."""
    X, y = load_gbsg2()
    return _numeric_table(X, [f"{i + 1:03d}" for i in range(len(X))], y["time"], y["cens"])


def test_outcomes_in_two_tables_must_agree_whichever_comes_first(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """A feature table carrying the outcomes too (a pyradiomics batch list with time and event
    columns, in months, a fifth of the events otherwise): the first table's were read and the
    other's dropped, so `cv` gave 0.689 or 0.667 by the order of --table."""
    outcomes = tmp_path / "outcomes.csv"
    gbsg2[["case_id", "time", "event", "age"]].to_csv(outcomes, index=False)
    features = gbsg2[["case_id", "tsize", "pnodes", "time", "event"]].copy()
    features.to_csv(same := tmp_path / "same.csv", index=False)
    first, second = (load_model_table(order) for order in ([outcomes, same], [same, outcomes]))
    np.testing.assert_array_equal(first.y, second.y)
    assert sorted(first.X.columns) == sorted(second.X.columns) == ["age", "pnodes", "tsize"]
    features["time"] = features["time"] / 30.4375
    features.loc[::5, "event"] = 1 - features.loc[::5, "event"]
    features.to_csv(other := tmp_path / "other.csv", index=False)
    said = (
        r"outcomes.csv and other.csv both give outcomes, and they differ for the same patients: "
        r"time for 686 \(001, 002, 003 and 683 more\); event for 138 \(001, 006, 011 and 135 "
    )
    with pytest.raises(InputError, match=said):
        load_model_table([outcomes, other])
    with pytest.raises(InputError, match="other.csv and outcomes.csv both give outcomes"):
        load_model_table([other, outcomes])


def test_ids_written_otherwise_are_refused_not_joined_away(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """Padded text ids ('001') against a Parquet's integer ids (1): the inner join left out 99
    of 250 patients with only a count said."""
    gbsg2.head(250)[["case_id", "time", "event"]].to_csv(
        outcomes := tmp_path / "o.csv", index=False
    )
    features = gbsg2.head(250)[["case_id", "tsize"]].astype({"case_id": int})
    features.to_parquet(parquet := tmp_path / "f.parquet", index=False)
    with pytest.raises(InputError, match=r"99 case id\(s\) are written otherwise in f.parquet "
                       r"\('001' is '1' there; '002' is '2' there"):  # fmt: skip
        load_model_table([outcomes, parquet])
    # patients truly without a row are named (only counted before)
    gbsg2.head(240)[["case_id", "tsize"]].to_csv(fewer := tmp_path / "fewer.csv", index=False)
    table = load_model_table([outcomes, fewer])
    assert len(table.y) == 240 and (
        "10 case(s) without a row in fewer.csv were left out: 241, 242, 243, 244, 245 and 5 more."
        in table.notes
    )


def test_a_pyradiomics_batch_table_gives_its_features_not_its_bookkeeping(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """pyradiomics' batch output beside the outcomes: its diagnostics (versions, hashes, the
    scan's size and mean) and its Image/Mask paths became predictors (the paths one-hot, into
    model.json), and GLCM's Id (inverse difference) was dropped as an identifier column."""
    n = 40
    rng = np.random.default_rng(0)
    batch = pd.DataFrame(
        {
            "case_id": gbsg2["case_id"][:n],
            "Image": [f"/data/Mueller_{i}/ct.nrrd" for i in range(n)],
            "Mask": [f"/data/Mueller_{i}/gtv.nrrd" for i in range(n)],
            "Label": 1,
            "diagnostics_Versions_PyRadiomics": "v3.0.1",
            "diagnostics_Image-original_Spacing": "(0.664062, 0.664062, 2.1)",
            "diagnostics_Image-original_Mean": rng.normal(-500, 50, n),
            "diagnostics_Mask-original_VoxelNum": rng.integers(100, 9000, n),
            "original_glcm_Id": rng.uniform(0.2, 0.6, n),
            "wavelet-LLH_glcm_Id": rng.uniform(0.2, 0.6, n),
            "original_shape_Sphericity": rng.uniform(0.4, 0.9, n),
            "lesion type": rng.choice(["solid/part-solid", "ground glass"], n),
        }
    )
    batch.to_csv(features := tmp_path / "pyradiomics.csv", index=False)
    gbsg2[["case_id", "time", "event"]].to_csv(outcomes := tmp_path / "o.csv", index=False)
    table = load_model_table([outcomes, features])
    kept = ["original_glcm_Id", "wavelet-LLH_glcm_Id", "original_shape_Sphericity", "lesion type"]
    assert list(table.X.columns) == sorted(kept)
    assert (
        "Left out of pyradiomics.csv as pyradiomics' bookkeeping, not features: 4 diagnostics "
        "column(s) (versions, settings, hashes, the scan's size, spacing and statistics) and its "
        "input list's Image, Mask, Label." in table.notes
    )
    # a clinical table's own 'Label' (a grouping) is no input list's: it stays
    labelled = gbsg2[["case_id", "time", "event"]].assign(Label=rng.choice(["A", "B"], len(gbsg2)))
    labelled.to_csv(clinical := tmp_path / "clinical.csv", index=False)
    assert "Label" in load_model_table([clinical, features]).X.columns
    preprocessor = TablePreprocessor().fit(table.X)
    assert {"original_glcm_Id", "wavelet-LLH_glcm_Id"} <= set(preprocessor.feature_names_in_)
    # a path column of another tool, by its values
    other = batch[["case_id", "original_shape_Sphericity"]].assign(scan=batch["Image"])
    other.to_csv(paths := tmp_path / "other_tool.csv", index=False)
    table = load_model_table([outcomes, paths])
    assert list(table.X.columns) == ["original_shape_Sphericity"]
    assert any(n.startswith("Left out as file paths, not predictors: scan") for n in table.notes)


def test_a_table_without_case_id_names_its_likely_id_column(tmp_path: Path) -> None:
    """A feature table keyed by 'PatientID' was pointed at the cohort import, which reads only
    tables with outcomes: a dead end for a feature table."""
    (tmp_path / "f.csv").write_text("PatientID,original_glcm_Id\n001,0.4\n002,0.5\n")
    with pytest.raises(InputError, match=r"Is 'PatientID' its patient ID\? Rename that column "):
        load_model_table([tmp_path / "f.csv"])


def _gbsg2_with_marker(tmp_path: Path, n_events: int, n_censored: int) -> Path:
    """A GBSG2 subset written as a table, with ``marker`` a copy of the event."""
    from tests.small_cohorts import gbsg2_subset

    X, y = gbsg2_subset(n_events, n_censored)
    table = X.assign(
        case_id=[f"G{i:03d}" for i in range(len(X))],
        time=y["time"],
        event=y["event"].astype(int),
        marker=y["event"].astype(int),
    )
    table.to_csv(path := tmp_path / f"gbsg2_{n_events}ev.csv", index=False)
    return path


def test_a_copy_of_the_event_is_told_by_how_unlikely_its_match_is_not_by_ten_events(tmp_path):
    """A column equal to the event on 9 events and 31 censored GBSG2 patients (a chance of 1 in
    273 million) was kept unsaid below 10 events: the Cox model's apparent c-index 0.98. Now a
    match that chance gives less than once in 10,000 is left out; one with 3 events, 1 in 9,880,
    is kept and said."""
    nine = load_model_table([_gbsg2_with_marker(tmp_path, 9, 31)])
    assert "marker" not in nine.X
    (note,) = [n for n in nine.notes if n.startswith("Left out as the event in disguise")]
    assert "marker: its values tell the patients with the event ('1')" in note
    three = load_model_table([_gbsg2_with_marker(tmp_path, 3, 37)])
    assert "marker" in three.X
    (note,) = [n for n in three.notes if n.startswith("Kept, though it matches the event")]
    assert note.startswith("Kept, though it matches the event exactly: marker (its values tell")
    assert "by chance about once in 9,880 with this few patients" in note


@pytest.mark.parametrize(
    ("sizes", "events"), [((9, 31), 9), ((31, 9), 9), ((20, 20), 20), ((5, 7, 3, 25), 8)]
)
def test_the_chance_of_an_exact_match_is_the_hypergeometric_one(sizes, events):
    """Against scipy's hypergeometric law: the chance that ``events`` drawn among groups of
    ``sizes`` fill whole groups only, summed over the sets of groups of that size."""
    from itertools import combinations

    from scipy.stats import hypergeom

    from survival_core.io.tables import chance_of_exact_split

    n = sum(sizes)
    expected = sum(
        hypergeom.pmf(events, n, sum(chosen), events)
        for r in range(1, len(sizes))
        for chosen in combinations(sizes, r)
        if sum(chosen) == events
    )
    assert chance_of_exact_split(sizes, events) == pytest.approx(expected, rel=1e-9)


def test_features_naming_only_a_column_left_out_say_why(tmp_path):
    """`--features marker` where marker was left out as the event in disguise said only 'No
    feature column matches', as if the table had none."""
    from survival_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"No feature column matches 'marker' among those kept"):
        load_model_table([_gbsg2_with_marker(tmp_path, 9, 31)], features="marker")
    with pytest.raises(ConfigError, match="Left out as the event in disguise"):
        load_model_table([_gbsg2_with_marker(tmp_path, 9, 31)], features="marker")
    # a pattern spelt as the spreadsheet wrote its headers names the columns there are
    with pytest.raises(
        ConfigError, match=r"the table's columns: age, .*, tgrade, tsize .*case-sensitive"
    ):
        load_model_table([_gbsg2_with_marker(tmp_path, 9, 31)], features="^Age$")


def test_rows_without_a_patient_id_are_refused_in_csv_and_parquet(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """GBSG2 with case ids 'NaN' and '   ' (rows 9 and 10 of the CSV): `cv` read them as
    patients 'nan' and '', and its oof.csv, keyed so, joined no row of the input. They are
    refused by row, as the cohort import refuses them; a Parquet's missing ids too."""
    table = gbsg2.copy()
    table.loc[7, "case_id"], table.loc[8, "case_id"] = "NaN", "   "
    table.to_csv(csv := tmp_path / "ids.csv", index=False)
    said = (
        f"Table {csv}: row(s) 9, 10 have no patient ID in case_id (empty, or a missing-value word "
        "such as 'NaN'): give each its patient's ID, or remove the rows."
    )
    with pytest.raises(InputError) as refused:
        load_model_table([csv])
    assert str(refused.value) == said
    table.loc[8, "case_id"] = None
    table.to_parquet(parquet := tmp_path / "ids.parquet", index=False)
    with pytest.raises(InputError, match=r"ids.parquet: row\(s\) 8, 9 have no patient ID"):
        load_model_table([parquet])
    gbsg2.to_csv(whole := tmp_path / "whole.csv", index=False)
    assert load_model_table([whole]).case_ids[:2] == ["001", "002"]
