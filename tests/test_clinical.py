"""Clinical values: missing stays missing, bad values are refused by name, ALBI is derived correctly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from survival_core.errors import ClinicalValueError
from survival_core.io.clinical import (
    SCHEMA,
    albi_grade,
    albi_score,
    clinical_row,
    read_clinical_table,
)
from survival_core.io.clinical_schema import validate_clinical

NON_DERIVED = [v.name for v in SCHEMA if not v.derived]


@pytest.mark.parametrize(
    "blank",
    [
        None,
        "",
        "  ",
        "NA",
        "nan",
        "null",
        "missing",
        float("nan"),
        np.nan,
        np.float32("nan"),
    ],
)
def test_missing_values_stay_missing(blank) -> None:
    result = validate_clinical({name: blank for name in NON_DERIVED})
    assert all(value is None for value in result.values.values())
    assert result.missing == NON_DERIVED + ["albi_score", "albi_grade"]


def test_absent_keys_are_missing_not_zero() -> None:
    result = validate_clinical({"age": 70})
    assert result.values["age"] == 70.0
    assert result.values["afp"] is None and result.values["ecog"] is None
    assert "afp" in result.missing and "age" not in result.missing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"age": 150}, r"Age \(age\): 150 years is outside the plausible range 18-100 years"),
        ({"age": 5}, r"Age \(age\): 5 years is outside"),
        (
            {"albumin": 3.8},
            r"Albumin \(albumin\): 3\.8 g/L is outside the plausible range 10-60 g/L",
        ),
        ({"bilirubin": "1.2"}, r"Total bilirubin \(bilirubin\): '1\.2' umol/L is outside"),
        ({"age": "sixty"}, r"Age \(age\): 'sixty' is not a number"),
        ({"age": "63 years"}, r"Age \(age\): '63 years' is not a number"),
        ({"afp": float("inf")}, r"Alpha-fetoprotein \(afp\): inf is not a finite number"),
        ({"ecog": 1.5}, r"ECOG performance status \(ecog\): 1\.5 must be a whole number"),
        ({"ecog": 5}, r"\(ecog\): 5 is outside the plausible range 0-4"),
        # a range's bound in plain digits: '0-1e+06 ng/mL' read as 0-1
        ({"afp": -5}, r"\(afp\): -5 ng/mL is outside the plausible range 0-1000000 ng/mL\."),
        ({"sex": "X"}, r"Sex \(sex\): 'X' is not one of M, F"),
        ({"bclc": "E"}, r"BCLC stage \(bclc\): 'E' is not one of 0, A, B, C, D"),
        ({"child_pugh": 2}, r"Child-Pugh class \(child_pugh\): 2 is not one of A, B, C"),
        ({"cirrhosis": "maybe"}, r"Cirrhosis \(cirrhosis\): 'maybe' is not yes/no"),
        ({"mvi": 2}, r"Microvascular invasion \(mvi\): 2 is not yes/no"),
    ],
)
def test_bad_values_raise_naming_the_variable(raw: dict, expected: str) -> None:
    with pytest.raises(ClinicalValueError, match=expected):
        validate_clinical(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("No", False),
        ("TRUE", True),
        ("f", False),
        ("positive", True),
        ("neg", False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        (True, True),
        (np.bool_(False), False),
        (np.int64(1), True),
        (" y ", True),
    ],
)
def test_booleans_parsed(value, expected: bool) -> None:
    assert validate_clinical({"hbv": value}).values["hbv"] is expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("sex", "f", "F"),
        ("bclc", "a", "A"),
        ("bclc", 0, "0"),
        ("bclc", 0.0, "0"),
        ("mrecist", " pr ", "PR"),
    ],
)
def test_categories_normalised(name: str, value, expected: str) -> None:
    assert validate_clinical({name: value}).values[name] == expected


def test_the_demo_variables_read_values_as_an_own_cohorts_do() -> None:
    """The demo's variables took '41,5' for 'not a number' and 'n/a' or 'unknown' for a value,
    where an own cohort's read a decimal comma and missing-value tokens (one reading now)."""
    result = validate_clinical(
        {"albumin": "41,5", "afp": "n/a", "platelets": "unknown", "hbv": "present"}
    )
    assert result.values["albumin"] == 41.5
    assert result.values["afp"] is None and result.values["platelets"] is None
    assert {"afp", "platelets"} <= set(result.missing)
    assert result.values["hbv"] is True
    with pytest.raises(
        ClinicalValueError, match=r"Alpha-fetoprotein \(afp\): '1,200' is ambiguous"
    ):
        validate_clinical({"afp": "1,200"})


def test_numbers_converted() -> None:
    values = validate_clinical(
        {"age": "63.5", "ecog": "2", "tumor_number": 3.0, "platelets": np.float32(150)}
    ).values
    assert values["age"] == 63.5 and values["platelets"] == 150.0
    assert values["ecog"] == 2 and isinstance(values["ecog"], int)
    assert values["tumor_number"] == 3 and isinstance(values["tumor_number"], int)


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f"], ids=["space", "nbsp", "narrow"])
def test_a_typed_number_with_thousands_grouped_by_spaces_is_read(space: str) -> None:
    """'1 234,5' typed (the Case page's form, `score --values`) as a French locale writes it
    was refused as not a number; a clinical CSV's cell reads so too (test_upload_case)."""
    assert validate_clinical({"afp": f"1{space}234,5"}).values["afp"] == 1234.5
    assert validate_clinical({"platelets": f"1{space}000"}).values["platelets"] == 1000
    with pytest.raises(ClinicalValueError, match=r"\(afp\): '1 23,5' is not a number"):
        validate_clinical({"afp": "1 23,5"})
    with pytest.raises(ClinicalValueError, match=r"\(afp\): '120 80' is not a number"):
        validate_clinical({"afp": "120 80"})  # a pressure pasted in: never 12080


@pytest.mark.parametrize(
    ("albumin", "bilirubin", "grade"),
    [(45.0, 8.0, 1), (38.0, 15.0, 2), (28.0, 50.0, 3), (35.0, 30.0, 2)],
)
def test_albi_derived_with_the_published_formula(
    albumin: float, bilirubin: float, grade: int
) -> None:
    expected = 0.66 * math.log10(bilirubin) - 0.085 * albumin
    assert albi_score(bilirubin, albumin) == pytest.approx(expected, abs=1e-12)
    values = validate_clinical({"albumin": albumin, "bilirubin": bilirubin}).values
    assert values["albi_score"] == pytest.approx(expected, abs=1e-4)
    assert values["albi_grade"] == grade


@pytest.mark.parametrize(
    ("score", "grade"), [(-3.5, 1), (-2.60, 1), (-2.599, 2), (-1.39, 2), (-1.389, 3), (0.5, 3)]
)
def test_albi_grade_cut_offs(score: float, grade: int) -> None:
    assert albi_grade(score) == grade


def test_albi_score_checked_against_labs() -> None:
    score = albi_score(15.0, 38.0)
    ok = validate_clinical({"albumin": 38, "bilirubin": 15, "albi_score": round(score, 2)}).values
    assert ok["albi_score"] == pytest.approx(score, abs=1e-4)
    with pytest.raises(
        ClinicalValueError,
        match=r"ALBI score -1\.00 contradicts albumin 38 g/L and bilirubin 15 umol/L \(expected -2\.45\)",
    ):
        validate_clinical({"albumin": 38, "bilirubin": 15, "albi_score": -1.0})


def test_albi_grade_from_a_given_score_without_labs() -> None:
    values = validate_clinical({"albi_score": -2.0}).values
    assert values["albi_grade"] == 2 and values["albumin"] is None


@pytest.mark.parametrize(
    "raw",
    [{"albumin": 38, "bilirubin": 15, "albi_grade": 1}, {"albi_score": -3.0, "albi_grade": 3}],
)
def test_contradictory_albi_grade_refused(raw: dict) -> None:
    with pytest.raises(ClinicalValueError, match="ALBI grade"):
        validate_clinical(raw)


@pytest.mark.parametrize("name", ["ecog", "tumor_number", "afp", "inr"])
def test_boolean_is_not_a_number(name: str) -> None:
    with pytest.raises(ClinicalValueError, match=name):
        validate_clinical({name: True})


@pytest.mark.parametrize("name", ["age", "cirrhosis", "sex"])
def test_pandas_na_is_missing(name: str) -> None:
    assert validate_clinical({name: pd.NA}).values[name] is None


def test_unknown_and_ignored_columns() -> None:
    result = validate_clinical({"case_id": "A", "time": 100, "event": 1, "weight": 70})
    assert result.unknown == ["weight"]
    with pytest.raises(ClinicalValueError, match="Unknown clinical variable.*weight"):
        validate_clinical({"weight": 70}, strict_unknown=True)


def test_require_names_the_missing_inputs() -> None:
    result = validate_clinical({"age": 60})
    result.require(["age"])
    with pytest.raises(
        ClinicalValueError,
        match=r"Missing clinical value\(s\): Albumin \(albumin\), Alpha-fetoprotein \(afp\)",
    ):
        result.require(["albumin", "afp"])


def test_clinical_table_rows() -> None:
    table = read_clinical_table(b"case_id,Age,BCLC,cirrhosis\n007,60,0,yes\n008,,B,\n")
    row = clinical_row(table, "007")
    assert row["case_id"] == "007"
    values = validate_clinical(row).values
    assert (values["age"], values["bclc"], values["cirrhosis"]) == (60.0, "0", True)
    empty = validate_clinical(clinical_row(table, "008"))
    assert empty.values["age"] is None and "cirrhosis" in empty.missing
    with pytest.raises(ClinicalValueError, match="no row for case '009'"):
        clinical_row(table, "009")
    with pytest.raises(ClinicalValueError, match="no case_id column"):
        read_clinical_table(b"id,age\n1,60\n")


@pytest.mark.parametrize("header", ["Case ID", "CASE_ID", " case_id"])
def test_a_case_id_header_of_any_spelling_keeps_leading_zeros(header: str) -> None:
    """'Case ID' and 'CASE_ID' headers: the ID '007' was read as 7, and the case not found."""
    table = read_clinical_table(f"{header},age,albumin\n007,65,38.5\n".encode())
    assert table["case_id"].tolist() == ["007"]
    assert clinical_row(table, "007")["albumin"] == 38.5


@pytest.mark.parametrize("token", ["nd", "n.d.", "N.D.", "not done", "n.e.", "not determined"])
def test_a_test_not_done_is_a_missing_value(token: str) -> None:
    result = validate_clinical({"albumin": token, "bilirubin": 17})
    assert result.values["albumin"] is None and "albumin" in result.missing


@pytest.mark.parametrize(
    ("name", "recorded", "stated", "same"),
    [
        ("albumin", "G/L", "10^3/µL", False),
        ("total_protein", "G/L", "10^9/L", False),
        ("albumin", "G/L", "g/L", True),
        ("albumin", "g/L", "G/L", True),
        ("platelets", "G/L", "10^3/µL", True),
        ("Neutrophils", "10^9/L", "G/L", True),
        ("plt", "G/L", "K/uL", True),
        ("platelets", "G/L", "g/L", False),
        ("platelets", "g/L", "G/L", False),
    ],
)
def test_g_per_l_is_giga_per_litre_only_for_a_cell_count(name, recorded, stated, same):
    """'G/L' read as both g/L and 10^9/L matched either, so albumin recorded in 'G/L' took
    'Albumin (10^3/µL)' for its own unit (and 'G/L' matched units that match not each other).
    A cell count's 'G/L' is 10^9/L, any other variable's grams per litre, stated or recorded."""
    from survival_core.io.clinical import check_units, same_unit

    if same:
        check_units({name: stated}, {name: recorded}, "The clinical CSV gives")
    else:
        with pytest.raises(ClinicalValueError) as refused:
            check_units({name: stated}, {name: recorded}, "The clinical CSV gives")
        assert str(refused.value) == (
            f"The clinical CSV gives {name} in {stated}, but the model reads it in {recorded}: "
            f"convert the value to {recorded} (and the unit its name states)."
        )
    assert same_unit("G/L", "g/L") and not same_unit("G/L", "10^9/L")
    assert same_unit("G/L", "10^9/L", cells=True) and not same_unit("G/L", "g/L", cells=True)
