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
from survival_core.io.clinical_schema import validate_clinical
from survival_core.io.delimited import read_delimited
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
        table.X,
        reference.drop(columns=["time", "event"]).sort_index(axis=1),  # columns in name order
        check_dtype=False,
        check_names=False,
    )
    np.testing.assert_array_equal(table.y["time"], reference["time"])
    np.testing.assert_array_equal(table.y["event"], reference["event"].astype(bool))
    said = [n for n in table.notes if "was read as" in n]
    assert said == ([f"cohort.csv was read as {how}."] if how else [])


def test_rows_whose_last_cells_are_left_off_read_in_the_files_delimiter(
    gbsg2: pd.DataFrame,
) -> None:
    """GBSG2 as a European export whose tool leaves an empty last value off the row (no
    trailing semicolon), as under 'case_id;age;albumin;afp' a 'P1;61;41,5': the lines' widths
    differed, so the delimiter fell back to a comma and the table was one column. A row wider
    than its header is refused, naming it (the next test)."""
    table = gbsg2[[c for c in gbsg2.columns if c != "progrec"] + ["progrec"]].copy()
    table.loc[:4, "progrec"] = np.nan
    text = table.to_csv(index=False, sep=";", decimal=",")
    raw = "\n".join(line.removesuffix(";") for line in text.splitlines()).encode()
    frame, how = read_delimited(raw, "cohort.csv", text_columns=lambda c: c == "case_id")
    assert how == "semicolon-delimited, decimal commas"
    pd.testing.assert_frame_equal(frame, table, check_dtype=False)


@pytest.mark.parametrize("sep", [",", ";"])
def test_a_delimiter_ending_the_data_rows_is_no_cell_and_a_filled_extra_cell_is_refused(
    gbsg2: pd.DataFrame, sep: str
) -> None:
    """GBSG2 exported by a tool ending each data row, not the header, with a delimiter: pandas
    read its case_id as the row labels, each value under the next column's name (a comma's
    file), or the file was one column (a semicolon's). Read as the table; a row with a filled
    cell after the header's columns is refused, naming the file, the row and the counts (its
    values were read under the wrong columns, or its semicolons as no delimiter)."""
    lines = gbsg2.to_csv(index=False, sep=sep).splitlines()
    raw = "\n".join([lines[0], *(line + sep for line in lines[1:])]).encode()
    frame, _ = read_delimited(raw, "cohort.csv", text_columns=lambda c: c == "case_id")
    pd.testing.assert_frame_equal(frame, gbsg2, check_dtype=False)
    lines[3] += f"{sep}41{sep}"
    with pytest.raises(InputError) as refused:
        read_delimited("\n".join(lines).encode(), "cohort.csv")
    assert str(refused.value).startswith(
        f"cohort.csv: row 4 has {gbsg2.shape[1] + 2} cells, but the header has "
        f"{gbsg2.shape[1]} columns: its values would be read under the wrong columns."
    )


@pytest.mark.parametrize("export", ["comma utf-8", "european"])
def test_a_blank_line_before_the_header_is_skipped(
    tmp_path: Path, gbsg2: pd.DataFrame, export: str
) -> None:
    """GBSG2 as a US (or European) CSV with a blank line before its header, as pandas read it:
    refused, 'row 2 has 9 cells, but the header has 1 columns' (its blank line held a space), or
    'has 0 columns' (an empty one). The header is the first line that is not blank."""
    options, how = EXPORTS[export]
    path = tmp_path / "cohort.csv"
    path.write_text(" \n" + gbsg2.to_csv(index=False, **options), encoding=options.get("encoding"))
    table = load_model_table([path])
    reference = gbsg2.set_index("case_id")
    np.testing.assert_array_equal(table.X.index, reference.index)
    np.testing.assert_array_equal(table.X["age"], reference["age"])
    np.testing.assert_array_equal(table.y["time"], reference["time"])
    assert [n for n in table.notes if "was read as" in n] == (
        [f"cohort.csv was read as {how}."] if how else []
    )


def test_a_header_cell_holding_a_line_break_is_one_column(gbsg2: pd.DataFrame) -> None:
    """GBSG2 whose tumour size is headed 'tsize' over '(mm)' (Excel's Alt+Enter inside the
    quoted cell): refused, 'row 2 has 9 cells, but the header has 6 columns', the header cut
    at the break, as pandas read it. Read as one column, 'tsize' in mm."""
    text = gbsg2.to_csv(index=False).replace("tsize", '"tsize\n(mm)"', 1)
    table = read_clinical_table(text.encode())
    assert table.attrs["units"] == {"tsize": "mm"}
    pd.testing.assert_frame_equal(table, gbsg2, check_dtype=False)


def test_case_clinical_csv_with_decimal_commas() -> None:
    raw = "case_id;age;albumin;site\nHCC-1;63,5;38,2;Liège\n".encode("cp1252")
    row = read_clinical_table(raw).iloc[0]
    assert row["age"] == 63.5 and row["albumin"] == 38.2 and row["site"] == "Liège"


def test_a_number_only_one_mark_reads_is_read_with_it() -> None:
    """'1,5' and '2.25' each read by the only mark that reads them, in any delimiter."""
    for raw, how in [
        (b"a;b\n1,5;2,25\n", "semicolon-delimited, decimal commas"),
        (b"a;b\n1,5;2.25\n", "semicolon-delimited, decimal commas"),
        (b'a,b\n"1,5",2.25\n', "decimal commas"),
    ]:
        frame, said = read_delimited(raw, "t.csv")
        assert frame.iloc[0].tolist() == [1.5, 2.25] and said == how


def test_binary_data_refused() -> None:
    with pytest.raises(InputError, match="upload.csv is not a text table"):
        read_delimited(b"\x89PNG\r\n\x1a\n\x00\x00", "upload.csv")
    with pytest.raises(ClinicalValueError, match="not a text table"):
        read_clinical_table(b"case_id,age\n\x00\x01\x02")


@pytest.mark.parametrize(
    "encoding, header, line",
    [
        ("gbk", "case_id,年龄,性别,生存时间,死亡", 1),  # Excel's plain 'CSV' on a Chinese Windows
        ("shift_jis", "case_id,年齢,性別,生存期間,死亡", 1),
        ("big5", "case_id,年齡,性別,存活時間,死亡", 1),
        ("euc_kr", "case_id,나이,성별,생존기간,사망", 1),
        ("cp1251", "case_id,возраст,пол,время,событие", 1),
        ("gbk", "case_id,age,sex,time,event", 2),  # only the values: '男' read as a level 'ÄÐ'
    ],
)
def test_a_table_of_another_code_page_is_refused_naming_the_line(
    encoding: str, header: str, line: int
) -> None:
    """Read as Windows-1252, their words became accented Latin letters: headers no one could
    match and levels no other file of the cohort writes alike."""
    raw = f"{header}\nP1,63,男,420,1\nP2,55,女,1200,0\n".encode(encoding, errors="replace")
    with pytest.raises(ClinicalValueError, match=f"neither UTF-8 nor .* line {line} .*CSV UTF-8"):
        read_clinical_table(raw)
    with pytest.raises(InputError, match=f"cohort.csv is neither UTF-8 nor .* line {line} "):
        read_delimited(raw, "cohort.csv")


def test_a_macs_export_is_refused_not_read_as_other_letters() -> None:
    """Excel for Mac's plain 'CSV' (Mac Roman) read as Windows-1252: 'männlich' became the level
    'mŠnnlich' and 'Rückfall' the header 'RŸckfall', silently."""
    text = "case_id;Geschlecht;Rückfall;Größe (cm)\nP1;männlich;ja;172\nP2;weiblich;nein;165\n"
    with pytest.raises(InputError, match="t.csv is neither UTF-8 nor .* line 1 holds .*a Mac's"):
        read_delimited(text.encode("mac_roman"), "t.csv")
    body = "case_id;sexe;état\nP1;homme;récidive\n"
    with pytest.raises(InputError, match="line 2 holds characters of another code page"):
        read_delimited(body.encode("mac_roman"), "t.csv")  # 'é' read as 'Ž': 'rŽcidive'


def test_western_european_exports_keep_reading_as_windows_1252() -> None:
    """Accented letters among plain ones, a lone 'à', symbols beside digits: Windows-1252."""
    text = (
        "case_id;situação;Größe;note\n"
        "P1;óbito;170;« à revoir », AÇÕES\n"
        "P2;não;180;±2 °C, 5 µg, Ærø\n"
        "P3;não;175;1\xa0234,50\xa0€, 60\xa0±\xa02, 90\xa0°\n"  # French Excel's no-break spaces
    )
    frame, said = read_delimited(text.encode("cp1252"), "t.csv")
    assert said == "semicolon-delimited, cp1252"
    assert frame["situação"].tolist() == ["óbito", "não", "não"]
    assert frame["note"].tolist() == [
        "« à revoir », AÇÕES",
        "±2 °C, 5 µg, Ærø",
        "1\xa0234,50\xa0€, 60\xa0±\xa02, 90\xa0°",
    ]


def test_a_utf8_table_with_a_line_in_another_encoding_is_refused() -> None:
    """A line added in another program: read as Windows-1252, the file's 'Décès' became 'DÃ©cÃ¨s'
    beside the added line's 'Décès', two levels of one outcome."""
    raw = "case_id,status\nP1,Décès\nP2,Vivant\n".encode() + "P3,Décès\n".encode("cp1252")
    with pytest.raises(InputError, match="t.csv mixes encodings: it is UTF-8, but line 4 is not"):
        read_delimited(raw, "t.csv")


def test_model_table_times_with_thousands_commas_in_a_tab_export(
    tmp_path: Path, gbsg2: pd.DataFrame
) -> None:
    """`fit --table` on GBSG2 exported by Excel as US tab-delimited text, times of 1000 days and
    more written '1,814': read as 1.814 days (111 of 200 times wrong)."""
    table = gbsg2.head(200).copy()
    table["age"] += 0.5
    table["time"] = [f"{int(t):,}" for t in gbsg2["time"].head(200)]
    table.to_csv(path := tmp_path / "gbsg2.tsv", index=False, sep="\t")
    model = load_model_table([path])
    assert model.y["time"].tolist() == gbsg2["time"].head(200).tolist()
    assert model.X["age"].tolist() == (gbsg2["age"].head(200) + 0.5).tolist()
    assert model.notes[0] == (
        "gbsg2.tsv was read as tab-delimited, in 'time': thousands separators (commas) removed; "
        "'1,814' read as 1814, its comma a thousands separator (the file's other numbers have "
        "decimal points: '70.5' in 'age')."
    )


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f"], ids=["space", "nbsp", "narrow"])
def test_model_table_reads_spaces_as_thousands_only_where_the_column_shows_it(
    tmp_path: Path, gbsg2: pd.DataFrame, space: str
) -> None:
    """`fit --table` on GBSG2 as a French Excel writes it ('1 814' days beside '712', grouped
    by a space, a no-break or a narrow no-break one), with a blood pressure ('153 102'): the
    pressure was read as 153102, a number, without a word; the times' spaces are dropped and
    said, as plain spaces (the note showed the no-break one as '1\\xa0814')."""
    table = gbsg2.head(200).copy()
    table["time"] = [f"{int(t):,}".replace(",", space) for t in gbsg2["time"].head(200)]
    rng = np.random.default_rng(1)
    systolic, diastolic = rng.integers(150, 200, 200), rng.integers(100, 130, 200)
    table["bp"] = [f"{s} {d}" for s, d in zip(systolic, diastolic, strict=True)]
    table.to_csv(path := tmp_path / "gbsg2.csv", index=False, sep=";", decimal=",")
    model = load_model_table([path])
    assert model.y["time"].tolist() == gbsg2["time"].head(200).tolist()
    assert model.X["bp"].tolist() == table["bp"].tolist()
    assert model.notes[0] == (
        "gbsg2.csv was read as semicolon-delimited, decimal commas, in 'time': '1 814' read as "
        "1814, its spaces grouping thousands."
    )


@pytest.mark.parametrize(
    ("raw", "afp"),
    [
        (b"case_id\tage\tsex\tecog\talbumin\tbilirubin\tafp\nHCC007\t65\tM\t1\t38.5\t17.1\t1,200\n", 1200),
        (b"case_id;age;sex;ecog;albumin;bilirubin;afp\nHCC007;65;M;1;38,5;17,1;1.200\n", 1200),
    ],
    ids=["us tab", "german semicolon"],
)  # fmt: skip
def test_case_clinical_csv_reads_thousands_by_its_other_numbers(raw: bytes, afp: float) -> None:
    """The Case page's clinical CSV: AFP '1,200' in a US tab export (and '1.200' in a German one)
    was read as 1.2 ng/mL."""
    row = read_clinical_table(raw).iloc[0]
    assert (row["afp"], row["albumin"], row["bilirubin"]) == (afp, 38.5, 17.1)


def test_case_clinical_csv_whose_marks_nothing_tells_is_read_as_typed() -> None:
    """A number the file's marks leave undecided is kept as written, to be read as one patient's
    typed value is: an AFP of 1.2 or 1200 ng/mL, both plausible, is refused naming both."""
    raw = b"case_id\tage\tecog\talbumin\tafp\nHCC007\t65\t1\t38\t1,200\n"
    row = read_clinical_table(raw).iloc[0]
    assert (row["afp"], row["albumin"]) == ("1,200", 38)
    with pytest.raises(
        ClinicalValueError,
        match=r"Alpha-fetoprotein \(afp\): '1,200' is ambiguous: 1200 with a thousands "
        r"separator, or a decimal comma\? Write 1\.2 or 1200",
    ):
        validate_clinical(row.to_dict())
