"""Fuzzing the clinical CSV and form parser: every input ends in values or a ClinicalValueError.

CSV inputs are built from clinical and stray column names (renamed, duplicated, missing case_id),
values (numbers with units, NaN, inf, huge, negative, unicode, empty), several delimiters, a BOM and
mixed line ends, then byte-mutated; each is read with :func:`read_clinical_table` and every listed
case validated. Form inputs are dicts of clinical names to arbitrary Python values, validated with
:func:`validate_clinical`.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import strategies as st

from survival_core.errors import ClinicalValueError
from survival_core.io.clinical import SCHEMA, clinical_row, read_clinical_table
from survival_core.io.clinical_schema import validate_clinical
from tests.fuzzing import BYTE_OPS, MAX_EXAMPLES, Fuzzer, apply_byte_ops, fuzz_test

NAMES = [v.name for v in SCHEMA]
COLUMNS = st.one_of(
    st.sampled_from([*NAMES, "case_id", "case_id", "time", "event", " Case ID", "CASE_ID", "Age "]),
    st.text(max_size=12),
)
TEXT_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "NA",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e308",
            "1e309",
            "-1",
            "0",
            "65",
            "65.5",
            "65,5",
            "35 g/L",
            "12 umol/L",
            "yes",
            "no",
            "M",
            "F",
            "B",
            "3",
            "9" * 400,
            "0x1F",
            "１２",  # full-width digits
            "٣",  # Arabic-Indic three
            "😀",
            '"quoted, value"',
            "HCC-001",
            "HCC-001",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=10),
)


#: One plausible value per column, so that mutated tables also reach validation of good rows.
PLAUSIBLE = {
    "case_id": "HCC-001",
    "time": "400",
    "event": "1",
    "age": "61",
    "sex": "F",
    "ecog": "1",
    "albumin": "38.5",
    "bilirubin": "17",
    "afp": "120",
    "platelets": "150",
    "inr": "1.1",
    "child_pugh": "A",
    "bclc": "B",
    "cirrhosis": "yes",
    "hbv": "0",
    "mvi": "false",
    "tumor_number": "2",
    "tumor_diameter": "45",
    "mrecist": "PR",
}


@st.composite
def csv_bytes(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|", " "]))
    columns = draw(st.lists(COLUMNS, min_size=1, max_size=8))
    if draw(st.integers(0, 4)):
        columns = ["case_id", *columns]
    rows = [
        [
            draw(st.one_of(st.just(PLAUSIBLE.get(c.strip().lower(), "")), TEXT_VALUES))
            for c in columns[: draw(st.integers(0, len(columns) + 1))]
        ]
        for _ in range(draw(st.integers(0, 5)))
    ]
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(delimiter.join(line) for line in [columns, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    return apply_byte_ops(data, draw(st.lists(BYTE_OPS, max_size=2)))


FORM_VALUES = st.one_of(
    TEXT_VALUES,
    st.none(),
    st.booleans(),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([pd.NA, pd.NaT, [], {}, (1, 2), b"65", 1j, object()]),
)


def _validate_table(data: bytes) -> None:
    table = read_clinical_table(data)
    for case_id in table["case_id"].head(6):
        validate_clinical(clinical_row(table, case_id))


def test_unmutated_input_validates() -> None:
    data = b"case_id,age,sex,albumin,bilirubin\nHCC-1,61,M,38,17\n"
    table = read_clinical_table(data)
    values = validate_clinical(clinical_row(table, "HCC-1")).values
    assert values["age"] == 61 and values["albi_grade"] in (1, 2, 3)
    assert pd.read_csv(io.BytesIO(data)).shape == table.shape


CSV_FUZZER = Fuzzer(
    "clinical CSV",
    st.fixed_dictionaries({"data": csv_bytes()}),
    lambda run, data: run(lambda: _validate_table(data)),
)
FORM_FUZZER = Fuzzer(
    "clinical form",
    st.fixed_dictionaries(
        {
            "form": st.dictionaries(
                st.one_of(st.sampled_from(NAMES), st.text(max_size=6)), FORM_VALUES
            )
        }
    ),
    lambda run, form: run(lambda: validate_clinical(form)),
)


def test_fuzz_clinical_csv() -> None:
    outcomes = fuzz_test(CSV_FUZZER)
    assert sum(outcomes.values()) >= MAX_EXAMPLES
    assert outcomes["success"] > 0 and len(outcomes) > 1  # read some, refused others


def test_fuzz_clinical_form() -> None:
    outcomes = fuzz_test(FORM_FUZZER)
    assert sum(outcomes.values()) >= MAX_EXAMPLES
    assert outcomes["success"] > 0 and len(outcomes) > 1  # read some, refused others


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (b"case_id, Case ID\nA,B\n", "more than one column named 'case_id'"),
        ({"age": 10**400}, "is not a number"),
        ({"cirrhosis": 10**400}, "is not yes/no"),
    ],
)
def test_found_by_fuzzing(source: bytes | dict, message: str) -> None:
    """Inputs the fuzzer turned up (an AttributeError and OverflowErrors) end in ClinicalValueError."""
    with pytest.raises(ClinicalValueError, match=message):
        if isinstance(source, bytes):
            _validate_table(source)
        else:
            validate_clinical(source)
