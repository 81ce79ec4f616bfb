"""Tables as sites export them (semicolons and decimal commas, tabs in UTF-16, Windows-1252, a
byte-order mark) read to the same values as a plain comma-separated UTF-8 file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.datasets import load_gbsg2

from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical import read_clinical_table
from survival_core.io.delimited import decimal_mark, read_delimited
from survival_core.io.tables import load_model_table

EXPORTS = {  # to_csv arguments -> how the file is said to have been read
    "comma utf-8": ({}, ""),
    "excel utf-8 bom": ({"encoding": "utf-8-sig"}, ""),
    "european": (
        {"sep": ";", "decimal": ",", "encoding": "cp1252"},
        "semicolon-delimited, decimal commas, cp1252",
    ),
    "excel unicode text": ({"sep": "\t", "encoding": "utf-16"}, "tab-delimited, utf-16"),
    "pipe": ({"sep": "|"}, "pipe-delimited"),
}


@pytest.fixture(scope="module")
def gbsg2() -> pd.DataFrame:
    """scikit-survival's GBSG2 (686 real breast-cancer patients), numeric columns, a
    non-ASCII text column, time and event."""
    X, y = load_gbsg2()
    table = X.select_dtypes("number").copy()
    table.insert(0, "case_id", [f"GBSG-{i:03d}" for i in range(len(table))])
    table["centre"] = np.where(np.arange(len(table)) % 2, "Düsseldorf", "Köln")
    table["time"], table["event"] = y["time"], y["cens"].astype(int)
    return table


@pytest.mark.parametrize("export", list(EXPORTS))
def test_exports_read_to_the_same_table(tmp_path: Path, gbsg2: pd.DataFrame, export: str) -> None:
    options, how = EXPORTS[export]
    path = tmp_path / "cohort.csv"
    gbsg2.to_csv(path, index=False, **options)

    table = load_model_table([path])
    reference = gbsg2.set_index("case_id")
    pd.testing.assert_frame_equal(
        table.X, reference.drop(columns=["time", "event"]), check_dtype=False, check_names=False
    )
    np.testing.assert_array_equal(table.y["time"], reference["time"])
    np.testing.assert_array_equal(table.y["event"], reference["event"].astype(bool))
    said = [n for n in table.notes if "was read as" in n]
    assert said == ([f"cohort.csv was read as {how}."] if how else [])


def test_case_clinical_csv_with_decimal_commas() -> None:
    raw = "case_id;age;albumin;site\nHCC-1;63,5;38,2;Liège\n".encode("cp1252")
    row = read_clinical_table(raw).iloc[0]
    assert row["age"] == 63.5 and row["albumin"] == 38.2 and row["site"] == "Liège"


def test_decimal_mark_only_when_unambiguous() -> None:
    assert decimal_mark("a;b\n1,5;2,25\n", ";") == ","
    assert decimal_mark("a;b\n1,5;2.25\n", ";") == "."  # both marks: nothing is guessed
    assert decimal_mark('a,b\n"1,5",2\n', ",") == "."  # a comma-separated file keeps points


def test_binary_data_refused() -> None:
    with pytest.raises(InputError, match="upload.csv is not a text table"):
        read_delimited(b"\x89PNG\r\n\x1a\n\x00\x00", "upload.csv")
    with pytest.raises(ClinicalValueError, match="not a text table"):
        read_clinical_table(b"case_id,age\n\x00\x01\x02")
