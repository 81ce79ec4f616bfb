"""TablePreprocessor on real public tables (scikit-survival's GBSG2, flchain, WHAS500) and edge cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_flchain, load_gbsg2, load_whas500
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.models.tabular import (
    UNSEEN,
    TablePreprocessor,
    UnseenLevelWarning,
    is_identifier,
)
from tests.clinical_exports import lifelines_csv


def flchain() -> pd.DataFrame:
    X, _ = load_flchain()
    return X.drop(columns="chapter")  # cause of death: would leak the outcome


LOADERS = {
    "gbsg2": lambda: load_gbsg2()[0],
    "flchain": flchain,
    "whas500": lambda: load_whas500()[0],
}


@pytest.mark.parametrize("dataset", sorted(LOADERS))
def test_real_tables_become_finite_standardised_matrices(dataset: str) -> None:
    X = LOADERS[dataset]()
    train, test = X.iloc[: len(X) * 3 // 4], X.iloc[len(X) * 3 // 4 :]
    prep = TablePreprocessor().fit(train)
    Z_train, Z_test = prep.transform(train), prep.transform(test)
    assert np.isfinite(Z_train.to_numpy()).all() and np.isfinite(Z_test.to_numpy()).all()
    np.testing.assert_allclose(Z_train.mean().to_numpy(), 0.0, atol=1e-9)
    np.testing.assert_allclose(Z_train.std(ddof=0).to_numpy(), 1.0, atol=1e-9)
    assert list(Z_test.columns) == prep.feature_names_out_
    restored = TablePreprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_array_equal(restored.transform(test).to_numpy(), Z_test.to_numpy())


def test_gbsg2_categoricals_one_hot_with_reference() -> None:
    X, _ = load_gbsg2()
    prep = TablePreprocessor().fit(X)
    names = prep.feature_names_out_
    assert "tgrade=II" in names and "tgrade=III" in names and "tgrade=I" not in names
    assert "horTh=yes" in names and "horTh=no" not in names
    raw = prep._encode(X, record=False)  # before z-scores: indicators
    grade_two = names.index("tgrade=II")
    np.testing.assert_array_equal(raw[:, grade_two], (X["tgrade"] == "II").to_numpy(float))


@pytest.mark.parametrize("dataset", ["gbsg2", "flchain"])
def test_arrow_backed_tables_encode_as_numpy_ones(dataset: str) -> None:
    """A table read with pandas' Arrow backend (``dtype_backend="pyarrow"``): its text columns
    parsed as numbers gave NaN that Arrow does not count as missing, so GBSG2's grade, menopause
    and hormone therapy (flchain's sex, MGUS) were dropped as constant without a word. Fitted and
    transformed, it now gives the numpy table's matrix, with missing values (flchain's
    creatinine) and flags alike."""
    X = LOADERS[dataset]().reset_index(drop=True)
    X = X.assign(**{c: X[c].astype(object) for c in X.select_dtypes("category").columns})
    X = X.assign(flag=X.iloc[:, 0].rank() > len(X) / 2)
    arrow = X.convert_dtypes(dtype_backend="pyarrow")
    assert all(isinstance(dtype, pd.ArrowDtype) for dtype in arrow.dtypes)
    prep, on_arrow = TablePreprocessor().fit(X), TablePreprocessor().fit(arrow)
    assert on_arrow.feature_names_out_ == prep.feature_names_out_
    assert on_arrow.notes_ == prep.notes_
    np.testing.assert_array_equal(on_arrow.transform(arrow), prep.transform(X))
    np.testing.assert_array_equal(prep.transform(arrow), prep.transform(X))


@pytest.mark.parametrize("dataset", ["gbsg2", "flchain"])
def test_nullable_typed_tables_encode_as_numpy_ones(dataset: str) -> None:
    """pandas' nullable types (``convert_dtypes()``, ``read_csv(dtype_backend="numpy_nullable")``,
    Parquet written from such a frame): an ``Int64`` column with a gap refused its median fill
    of 32.5 (TypeError), and a ``string`` column of numbers with one typo became a category of
    one level per value (GBSG2's age: 62 columns, not a word)."""
    X = LOADERS[dataset]().reset_index(drop=True)
    X = X.assign(**{c: X[c].astype(object) for c in X.select_dtypes("category").columns})
    first = X.columns[0]  # GBSG2's age, flchain's age: whole numbers
    X[first] = X[first].round().astype(object)
    X.loc[3, first] = np.nan
    X = X.assign(flag=X.iloc[:, 1].rank() > len(X) / 2)
    nullable = X.convert_dtypes()
    assert isinstance(nullable[first].dtype, pd.Int64Dtype)
    prep, on_nullable = TablePreprocessor().fit(X), TablePreprocessor().fit(nullable)
    assert on_nullable.feature_names_out_ == prep.feature_names_out_
    np.testing.assert_array_equal(on_nullable.transform(nullable), prep.transform(X))
    typed = X.assign(**{first: X[first].map(lambda v: "n.d." if pd.isna(v) else f"{v:g}")})
    as_string = typed.astype({first: "string"})
    prep = TablePreprocessor().fit(typed)
    on_string = TablePreprocessor().fit(as_string)
    assert on_string.feature_names_out_ == prep.feature_names_out_
    assert f"'{first}': 1 value(s) that are not numbers ('n.d.')" in " ".join(on_string.notes_)
    assert f"'{first}': <1% missing in training, imputed with the median" in " ".join(prep.notes_)
    np.testing.assert_array_equal(on_string.transform(as_string), prep.transform(typed))


@pytest.mark.parametrize(
    "dates",
    [
        lambda d: d.dt.strftime("%Y-%m"),  # to the month, as de-identified exports give dates
        lambda d: d.dt.strftime("%m/%Y"),
        lambda d: d.dt.to_period("M"),
        lambda d: d.dt.strftime("%Y-%m").astype("string"),
    ],
)
def test_dates_to_the_month_are_not_features(dates) -> None:
    """'1985-02' was a category of one level per month: about 50 one-hot predictors."""
    X, _ = load_gbsg2()
    day = pd.Timestamp("1985-01-01") + pd.to_timedelta(np.arange(len(X)) * 7, unit="D")
    prep = TablePreprocessor().fit(X.assign(diagnosed=dates(pd.Series(day, index=X.index))))
    assert "'diagnosed' dropped: dates are not used as features." in prep.notes_
    assert prep.feature_names_out_ == TablePreprocessor().fit(X).feature_names_out_


def test_day_numbers_under_a_date_header_are_not_features() -> None:
    """A table's dates saved as numbers (Excel's serials, Stata's days since 1960) were numeric
    features: the last contact date gave GBSG2 a Cox c-index of 0.98 instead of 0.68. A CDISC
    '-DT' header is a date only when its values are day numbers ('ADT' yes/no is a therapy)."""
    X, y = load_gbsg2()
    diagnosed = pd.Timestamp("1985-01-01") + pd.to_timedelta(np.arange(len(X)) * 3, unit="D")
    serial = (diagnosed - pd.Timestamp("1899-12-30")).days
    dated = X.assign(
        diagnosis_date=serial,
        LastContactDate=serial + y["time"].astype(int),
        birth_date=(diagnosed - pd.Timestamp("1960-01-01")).days - (X["age"] * 365.25).astype(int),
        RANDDT=serial,
        ADT=np.arange(len(X)) % 2,
    )
    prep = TablePreprocessor().fit(dated)
    for name in ("diagnosis_date", "LastContactDate", "birth_date", "RANDDT"):
        assert f"'{name}' dropped: dates are not used as features." in prep.notes_
    assert prep.feature_names_out_ == [*TablePreprocessor().fit(X).feature_names_out_, "ADT"]


def test_a_centre_coded_as_numbers_is_a_category() -> None:
    """GBSG2 from three hospitals coded 1/2/3: a number, it gave the Cox model one slope per
    hospital number and a new hospital 4 a risk by extrapolation; its levels are one-hot now, a
    gap read as 2.0 is level 2, and hospital 4 is a level the model never saw."""
    X, _ = load_gbsg2()
    hospital = pd.Series(np.arange(len(X)) % 3 + 1.0, index=X.index)
    hospital.iloc[7] = np.nan  # a gap: the column reads as floats
    prep = TablePreprocessor().fit(X.assign(hospital=hospital))
    assert prep.feature_names_out_[-2:] == ["hospital=2", "hospital=3"]
    assert any(n.startswith("'hospital': a centre coded as numbers") for n in prep.notes_)
    new = X.iloc[:3].assign(hospital=[2, 3, 4])
    with pytest.warns(UnseenLevelWarning, match="'4'"):
        encoded = prep.transform(new)
    assert encoded["hospital=2"].iloc[0] > 0 and encoded["hospital=3"].iloc[1] > 0
    assert any("'4'" in n and UNSEEN in n for n in prep.transform_notes_)


@pytest.mark.parametrize("header", ["inst", "inst.", "institution", "institution_id"])
def test_r_lung_institution_code_is_a_centre(header: str) -> None:
    """R's survival::lung (lifelines' lung.csv) codes its 18 institutions as numbers under
    'inst': read as a number, 'inst' got one linear risk step per institution number and its
    one gap the median institution 11. 'institution_id' was dropped as an identifier."""
    lung = pd.read_csv(lifelines_csv("lung.csv")).drop(columns=["time", "status"])
    prep = TablePreprocessor().fit(lung.rename(columns={"inst": header}))
    assert (
        f"'{header}': a centre coded as numbers, read as categories (one column per "
        "centre), not as a quantity." in prep.notes_
    )
    assert (
        f"'{header}': <1% missing in training, imputed with the most frequent category (1)."
        in prep.notes_
    )  # not the median institution 11
    levels = [n for n in prep.feature_names_out_ if n.startswith(f"{header}=")]
    assert len(levels) == 17 and f"{header}=3" in levels  # 18 institutions, the first reference
    assert is_identifier("Hospital ID")  # the patient's hospital number


def test_a_hospital_number_is_dropped_as_an_identifier() -> None:
    """R's lung with each patient's hospital number beside the institution: 'Hospital No' was
    kept as a numeric predictor (a risk step per record number), though named, as 'Hospital
    ID' is, the patient's number; the institution stays a centre."""
    lung = pd.read_csv(lifelines_csv("lung.csv")).drop(columns=["time", "status"])
    lung.insert(0, "Hospital No", 400_000 + np.arange(len(lung)) * 37)
    prep = TablePreprocessor().fit(lung)
    assert "'Hospital No' dropped: identifier column." in prep.notes_
    assert "Hospital No" not in prep.feature_names_in_ and "inst" in prep.feature_names_in_


def test_a_cardiothoracic_ratio_headed_ctr_stays_a_number() -> None:
    """'CTR' is a chest film's cardiothoracic ratio, a number, not a trial's centre."""
    lung = pd.read_csv(lifelines_csv("lung.csv")).drop(columns=["time", "status"])
    lung["CTR"] = 0.40 + (lung["age"] % 17) / 100
    prep = TablePreprocessor().fit(lung)
    assert "CTR" in prep.feature_names_out_


def test_blank_text_cells_are_missing_not_a_level() -> None:
    """A cell of spaces in a text column was a level, the reference one, sorted first: every
    grade I patient got a dummy of their own, risks up to 0.15 off the model with NaN there."""
    X, _ = load_gbsg2()
    X = X.astype({"tgrade": object})
    gaps = X.index[::25]
    expected = TablePreprocessor().fit(X.assign(tgrade=X["tgrade"].mask(X.index.isin(gaps))))
    for blank in ("", " ", "  "):
        prep = TablePreprocessor().fit(
            X.assign(tgrade=X["tgrade"].where(~X.index.isin(gaps), blank))
        )
        assert prep.feature_names_out_ == expected.feature_names_out_
        assert [c for c in prep.columns_ if c["name"] == "tgrade"][0]["categories"] == [
            "I",
            "II",
            "III",
        ]
        assert prep.notes_ == expected.notes_  # '4% missing in training, imputed ...' said
    mostly_blank = X["tgrade"].where(X.index.isin(X.index[::3]), " ")  # two thirds blank
    prep = TablePreprocessor().fit(X.assign(tgrade=mostly_blank))
    assert "'tgrade' dropped: 67% missing (limit 50%)." in prep.notes_


def test_transform_counts_every_missing_spelling_of_a_category() -> None:
    """A grade written ' ' or '#N/A' is imputed as a blank one is, and the transform's note
    counts it: it said 1 missing value where 3 were filled (only NaN counted)."""
    X, _ = load_gbsg2()
    X = X.astype({"tgrade": object})
    prep = TablePreprocessor().fit(X)
    rows = X.iloc[:4].copy()
    rows["tgrade"] = [None, " ", "#N/A", "II"]
    prep.transform(rows)
    assert "'tgrade': 3 missing value(s) imputed." in prep.transform_notes_
    assert prep.missing_filled(rows)["tgrade"][0].tolist() == [0, 1, 2]


def test_flchain_missing_values_imputed_with_training_statistics() -> None:
    X = flchain()
    prep = TablePreprocessor().fit(X)
    creatinine = next(c for c in prep.columns_ if c["name"] == "creatinine")
    assert creatinine["imputation"] == "median"
    assert creatinine["fill"] == pytest.approx(float(X["creatinine"].median()))
    assert any("creatinine" in note and "imputed" in note for note in prep.notes_)
    raw = prep._encode(X, record=False)
    column = prep.feature_names_out_.index("creatinine")
    assert np.all(raw[X["creatinine"].isna().to_numpy(), column] == creatinine["fill"])


def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "Patient ID": np.arange(n),
            "time": rng.uniform(10, 1000, n),
            "event": rng.integers(0, 2, n),
            "age": rng.normal(60, 10, n),
            "albumin": np.where(rng.random(n) < 0.2, np.nan, rng.normal(38, 4, n)),
            "afp_text": [str(v) for v in rng.integers(1, 500, n)],  # numbers stored as text
            "sex": rng.choice(["F", "M"], n),
            "bclc": pd.Series(rng.choice(["A", "B", "C"], n)).where(rng.random(n) > 0.1),
            "cirrhosis": rng.random(n) < 0.5,
            "site": ["Lyon"] * n,
            "mostly_missing": np.where(np.arange(n) < 30, np.nan, 1.0 * np.arange(n)),
        }
    )


def test_identifiers_labels_constant_and_missing_columns_dropped_with_notes() -> None:
    prep = TablePreprocessor().fit(table())
    kept = prep.feature_names_in_
    for dropped in ("case_id", "Patient ID", "time", "event", "site", "mostly_missing"):
        assert dropped not in kept
        assert any(f"'{dropped}'" in note for note in prep.notes_)
    assert kept == ["age", "albumin", "afp_text", "sex", "bclc", "cirrhosis"]
    kinds = {c["name"]: c["kind"] for c in prep.columns_}
    assert kinds["afp_text"] == "numeric" and kinds["cirrhosis"] == "categorical"
    bclc = next(c for c in prep.columns_ if c["name"] == "bclc")
    assert bclc["imputation"] == "most frequent category"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("case_id", True), ("PatientID", True), ("patient_uid", True), ("MRN", True),
     ("patient", True), ("Subject No", True), ("patient_number", True),
     # a covariate named after whose it is was dropped as an identifier (GBSG2's age)
     ("patient_age", False), ("Patient Age", False), ("subject_weight", False),
     ("lipid", False), ("albi_grade", False), ("tumor_diameter", False),
     ("gtv__1mm_uniform16__glcm__Id", False), ("liver_minus_gtv__native__glcm__Idm", False),
     # an attribute's code (I-SPY1's race), not whose row it is; a record's or study's ID is
     ("race_id", False), ("Ethnicity ID", False), ("histology_id", False),
     ("record_id", True), ("study_id", True),
     # the patient's hospital number; the hospital alone is the centre
     ("Hospital No", True), ("hospital_no", True), ("Hospital number", True),
     ("Hospital Nr.", True), ("hospital", False), ("hospital_days", False)],
)  # fmt: skip
def test_identifier_names(name: str, expected: bool) -> None:
    assert is_identifier(name) is expected


def test_columns_reordered_by_name_extra_ignored_missing_refused() -> None:
    data = table()
    prep = TablePreprocessor().fit(data)
    expected = prep.transform(data).to_numpy()
    shuffled = data[list(reversed(data.columns))].assign(extra=1.0)
    np.testing.assert_array_equal(prep.transform(shuffled).to_numpy(), expected)
    with pytest.raises(InputError, match="albumin"):
        prep.transform(data.drop(columns=["albumin"]))


def test_unseen_category_is_all_zero_indicators_and_noted() -> None:
    data = table()
    prep = TablePreprocessor().fit(data)
    new = data.iloc[:2].copy()
    new["bclc"] = ["D", "B"]
    out = prep.transform(new)
    raw = prep._encode(new, record=False)
    cols = [prep.feature_names_out_.index(n) for n in ("bclc=B", "bclc=C")]
    np.testing.assert_array_equal(raw[0, cols], [0.0, 0.0])
    np.testing.assert_array_equal(raw[1, cols], [1.0, 0.0])
    assert any("'D'" in note for note in prep.transform_notes_)
    assert np.isfinite(out.to_numpy()).all()


def test_text_in_numeric_column_is_refused_with_its_value() -> None:
    data = table()
    prep = TablePreprocessor().fit(data)
    bad = data.iloc[:1].astype({"age": object})
    bad.loc[bad.index[0], "age"] = "sixty"
    with pytest.raises(InputError, match="sixty"):
        prep.transform(bad)


def test_fitted_on_training_rows_only() -> None:
    data = table()
    train, test = data.iloc[:20], data.iloc[20:].assign(age=lambda d: d["age"] + 1000.0)
    prep = TablePreprocessor().fit(train)
    assert prep.transform(test)["age"].mean() > 50  # test shift is visible, not absorbed


def test_arrays_get_positional_names_and_width_is_checked() -> None:
    X = np.random.default_rng(1).normal(size=(30, 3))
    prep = TablePreprocessor().fit(X)
    assert prep.feature_names_out_ == ["x0", "x1", "x2"]
    with pytest.raises(InputError, match="3"):
        prep.transform(X[:, :2])


def test_bad_settings_and_unusable_tables() -> None:
    with pytest.raises(ConfigError):
        TablePreprocessor(max_missing_fraction=1.5)
    with pytest.raises(InputError, match="No usable feature"):
        TablePreprocessor().fit(pd.DataFrame({"case_id": ["a", "b"], "site": ["x", "x"]}))


def test_plain_numeric_columns_encode_as_one_column_at_a_time() -> None:
    """Numeric numpy columns are read together; the same table with those columns as Python
    objects goes column by column: the matrices are identical (missing values, ints, floats,
    bools, categories and nullable ints mixed in)."""
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])
    frame.loc[rng.random(n) < 0.2, "f1"] = np.nan
    frame["count"] = rng.integers(0, 9, n)
    frame["flag"] = rng.random(n) < 0.4
    frame["grade"] = rng.choice(["G1", "G2", None], n)
    frame["nullable"] = pd.array(rng.integers(0, 3, n), dtype="Int64")
    prep = TablePreprocessor().fit(frame.iloc[:150])
    fast = prep.transform(frame)
    as_objects = frame.astype({c: object for c in ["f0", "f1", "f2", "f3", "f4", "f5", "count"]})
    slow = prep.transform(as_objects)
    assert np.array_equal(fast.to_numpy(), slow.to_numpy())
    assert np.isfinite(fast.to_numpy()).all()


def test_a_training_category_written_in_another_case_is_that_category() -> None:
    """Veterans (real): 'Squamous' and ' SQUAMOUS ' for the training level 'squamous' were
    encoded as the reference level 'adeno', the highest-risk cell type, silently."""
    from sksurv.datasets import load_veterans_lung_cancer

    X, _ = load_veterans_lung_cancer()
    prep = TablePreprocessor().fit(X)
    reference = prep.transform(X.iloc[:1])  # celltype 'squamous'
    for written in ("Squamous", " SQUAMOUS "):
        new = X.iloc[:1].assign(Celltype=written)
        pd.testing.assert_frame_equal(prep.transform(new), reference)
        assert prep.transform_notes_ == [f"'Celltype': {written!r} read as 'squamous'."]
    prep.transform(X.iloc[:1].assign(Celltype="oat cell"))
    assert "'oat cell' not seen in training" in prep.transform_notes_[0]


def test_infinite_values_are_read_as_missing_and_said() -> None:
    """An age of inf reached the model: a risk of -inf and a survival of 1, with no note."""
    from survival_core.models import make_model

    X, y = load_gbsg2()
    X = X.iloc[:200].reset_index(drop=True)
    y = Surv.from_arrays(y["cens"][:200], y["time"][:200])
    model = make_model("coxph").fit(X, y)
    row = X.iloc[[0]].assign(age=np.inf)
    missing = X.iloc[[0]].assign(age=np.nan)
    imputed = model.predict_risk(missing)
    assert model.predict_risk(row) == pytest.approx(imputed)
    assert "'age': 1 infinite value(s) read as missing." in model.preprocessor_.transform_notes_
    prep = TablePreprocessor().fit(X.assign(age=X["age"].where(X.index > 0, -np.inf)))
    assert "'age': 1 infinite value(s) read as missing." in prep.notes_
    assert np.isfinite(prep.mean_).all()


def test_a_column_named_as_another_ones_level_is_refused_by_name() -> None:
    """A numeric 'grade=b' beside a category 'grade' of levels a, b ended in a shape error."""
    frame = pd.DataFrame({"grade": ["a", "b"] * 5, "grade=b": np.arange(10.0)})
    with pytest.raises(InputError, match="Columns 'grade' and 'grade=b' would both encode as"):
        TablePreprocessor().fit(frame)


def test_category_codes_read_as_numbers_are_their_training_codes() -> None:
    """AIDS (real): Karnofsky and the treatment arm are category codes ('100', '1'). The same
    codes read as floats (a blank in the column makes pandas read 100.0) were unseen levels,
    encoded as the reference: one patient's hazard off by a factor of 3, with no warning."""
    from sksurv.datasets import load_aids

    X, _ = load_aids()
    X = X[["age", "karnof", "tx", "hemophil"]]
    prep = TablePreprocessor().fit(X)
    as_floats = X.iloc[:20].astype({c: float for c in ("karnof", "tx", "hemophil")})
    expected = prep.transform(X.iloc[:20])
    pd.testing.assert_frame_equal(prep.transform(as_floats), expected)
    assert "'karnof': '100.0' read as '100'" in " ".join(prep.transform_notes_)
    with pytest.warns(UnseenLevelWarning, match="'karnof': value.s. '55.0' not seen in training"):
        prep.transform(as_floats.assign(karnof=55.0))


def test_a_word_among_a_numeric_columns_values_is_read_as_missing_not_as_levels() -> None:
    """GBSG2 (real) with 'unknown' in one age cell: age became a category of 54 levels, and any
    age not seen in training was read as the reference age, with no note."""
    X, _ = load_gbsg2()
    typo = X.astype({"age": object})
    typo.loc[typo.index[3], "age"] = "unknown"
    prep = TablePreprocessor().fit(typo)
    clean_age = X["age"].where(X.index != X.index[3])
    clean = TablePreprocessor().fit(X.assign(age=clean_age))
    assert prep.feature_names_out_ == clean.feature_names_out_
    assert any("'age': 1 value(s) that are not numbers ('unknown')" in n for n in prep.notes_)
    new = X.iloc[:3].assign(age=[20.0, 45.5, 90.0])
    pd.testing.assert_frame_equal(prep.transform(new), clean.transform(new))
    # the table it was fitted on transforms too (its numeric check refused the word), read as at
    # fit; a model fits and predicts on it
    pd.testing.assert_frame_equal(prep.transform(typo), clean.transform(typo.assign(age=clean_age)))
    assert "'age': 1 value(s) that are not numbers ('unknown') among numbers: read as missing." in (
        prep.transform_notes_
    )
    # another word, in a batch of new patients, is refused by name: it was imputed silently
    batch = X.iloc[:2].astype({"age": object}).assign(age=["abc", 50.0])
    with pytest.raises(InputError, match="Column 'age' must be numeric; got 'abc'"):
        prep.transform(batch)


def test_numbers_written_as_text_read_alike_whatever_the_string_dtype() -> None:
    """Fitted on tumour sizes written '21%' (object), the same values as a pyarrow string column
    were refused ('must be numeric; got 21%')."""
    X, _ = load_gbsg2()
    written = X.assign(tsize=X["tsize"].map(lambda v: f"{v:g}%").astype(object))
    prep = TablePreprocessor().fit(written)
    expected = prep.transform(written.iloc[:5])
    arrow = written.iloc[:5].astype({"tsize": "string[pyarrow]"})
    pd.testing.assert_frame_equal(prep.transform(arrow), expected)


def test_duplicated_column_names_to_transform_are_refused_by_name() -> None:
    X, _ = load_gbsg2()
    prep = TablePreprocessor().fit(X)
    doubled = pd.concat([X.iloc[:2], X.iloc[:2][["age"]]], axis=1)
    with pytest.raises(InputError, match="duplicated column names: age"):
        prep.transform(doubled)


def test_spellings_of_one_level_are_one_level() -> None:
    """GBSG2 with half its menopause values lower-cased ('post', 'Post') and a third of its grades
    with a trailing space ('II '): each spelling was a level of its own at fitting (11 columns
    instead of 9, a CV c-index 0.006 lower), while scoring read 'post' as 'Post', so a training
    patient's risk from the saved model was not the one fitted (0.024 against 0.119). The
    spellings are merged, said in the notes, into the clean table's matrix."""
    X, _ = load_gbsg2()
    X = X.assign(**{c: X[c].astype(object) for c in X.select_dtypes("category").columns})
    spelled = X.copy()
    spelled.loc[spelled.index[::2], "menostat"] = spelled["menostat"][::2].str.lower()
    spelled.loc[spelled.index[1::3], "tgrade"] = spelled["tgrade"][1::3] + " "
    clean, prep = TablePreprocessor().fit(X), TablePreprocessor().fit(spelled)
    assert len(prep.feature_names_out_) == len(clean.feature_names_out_) == 9
    assert "'tgrade': spellings of one level merged: 'II ' as 'II'" in " ".join(prep.notes_)
    np.testing.assert_array_equal(prep.transform(spelled), clean.transform(X))
    one = spelled.iloc[[0]]  # 'post': scored alone as at fitting
    np.testing.assert_array_equal(prep.transform(one), prep.transform(spelled).iloc[[0]])


def test_names_and_free_text_are_not_categories() -> None:
    """A `patient_name` column beside GBSG2 became 686 one-hot columns (an apparent c-index of
    0.999) with no note, and every name was written into model.json. Dropped by its name, and a
    text column of nearly as many values as rows by its values, whatever it is called."""
    X, _ = load_gbsg2()
    X = X.assign(**{c: X[c].astype(object) for c in X.select_dtypes("category").columns})
    names = [f"DOE^JANE{k}" for k in range(len(X))]
    noted = X.assign(patient_name=names, Nom=[f"N{k % 600}" for k in range(len(X))])
    prep = TablePreprocessor().fit(noted)
    assert prep.feature_names_out_ == TablePreprocessor().fit(X).feature_names_out_
    assert "'patient_name' dropped: identifier column." in prep.notes_
    assert "'Nom' dropped: free text or an identifier (600 different values among 686" in (
        " ".join(prep.notes_)
    )
    assert "DOE^JANE" not in json.dumps(prep.to_dict())
    kept = TablePreprocessor().fit(X.assign(site=[f"S{k % 19}" for k in range(len(X))]))
    assert sum(n.startswith("site=") for n in kept.feature_names_out_) == 18  # 19 centres
    drugs = TablePreprocessor().fit(X.assign(drug_name=["tamoxifen", "none"] * (len(X) // 2)))
    assert "drug_name=tamoxifen" in drugs.feature_names_out_  # a covariate's name, not a patient's
