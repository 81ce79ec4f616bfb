"""Delimited text tables as sites export them: the encoding, delimiter and decimal mark found, not
assumed.

Spreadsheet exports differ by locale and program: UTF-8 with or without a byte-order mark, UTF-16
(Excel's "Unicode text"), Windows-1252 or Latin-1 from older Windows tools; commas, semicolons
(where the comma is the decimal mark), tabs or pipes between fields. Reading such a file as
comma-separated UTF-8 fails on an accent or puts every column into one. :func:`read_delimited` finds
each and says what it found, so that a physicist's table from any site loads as written.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pandas as pd

from survival_core.errors import InputError

#: Field delimiters tried, with their names for notes.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: Encodings tried in order after a UTF-16 byte-order mark; Latin-1 decodes any bytes.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_COMMA_NUMBER = re.compile(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?")
_POINT_NUMBER = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?")
_EITHER_MARK = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?"
#: Excel's first line naming the delimiter ('sep=;'), written by its "CSV (semicolon)" exports.
_SEP_HINT = re.compile(r'"?sep=([,;\t|])"?[,;\t|]*')


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """The text of ``raw`` and its encoding ('utf-8', 'utf-16', 'cp1252' or 'latin-1');
    :class:`InputError` naming ``name`` for binary data."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = raw.decode("utf-16", errors="replace"), "utf-16"
    else:
        for candidate in ENCODINGS:
            try:
                text = raw.decode(candidate)
            except UnicodeDecodeError:
                continue
            encoding = "utf-8" if candidate == "utf-8-sig" else candidate
            break
    if "\x00" in text:
        raise InputError(f"{name} is not a text table (it holds binary data).")
    return text, encoding


def excel_sep_hint(text: str) -> tuple[str, str | None]:
    """The text without Excel's 'sep=;' first line, and the delimiter it names (None when the
    first line is not one)."""
    first, newline, rest = text.partition("\n")
    hint = _SEP_HINT.fullmatch(first.strip().strip("\ufeff"))
    return (rest, hint.group(1)) if hint and newline else (text, None)


def sniff_delimiter(text: str) -> str:
    """The delimiter giving the same number (> 1) of fields on the first lines, widest first;
    a comma when none does."""
    sample = "\n".join(text.splitlines()[:50])
    best, best_width = ",", 1
    for delimiter in DELIMITERS:
        try:
            widths = {len(r) for r in csv.reader(sample.splitlines(), delimiter=delimiter) if r}
        except csv.Error:
            continue
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = delimiter, width
    return best


def decimal_mark(text: str, delimiter: str) -> str:
    """',' when the delimiter leaves the comma free and the numbers use it (and none a point)."""
    if delimiter == ",":
        return "."
    try:
        cells = [
            c.strip() for row in csv.reader(text.splitlines(), delimiter=delimiter) for c in row
        ]
    except csv.Error:  # pandas names the fault when it reads the table
        return "."
    commas = any(_COMMA_NUMBER.fullmatch(c) for c in cells)
    points = any(_POINT_NUMBER.fullmatch(c) for c in cells)
    return "," if commas and not points else "."


def read_delimited(raw: bytes, name: str, **read_csv: Any) -> tuple[pd.DataFrame, str]:
    """The table in ``raw`` (``read_csv`` passed on to :func:`pandas.read_csv`) and how it was
    read ('' for comma-separated UTF-8 with decimal points, else e.g. 'semicolon-delimited,
    decimal commas, cp1252'); :class:`InputError` naming ``name`` when it cannot be parsed."""
    text, encoding = decode_text(raw, name)
    text, hinted = excel_sep_hint(text)
    delimiter = hinted or sniff_delimiter(text)
    decimal = decimal_mark(text, delimiter)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, decimal=decimal, **read_csv)
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{name} could not be read as a table: {err}") from err
    mixed = _mixed_marks(frame, read_csv.get("dtype") or {}) if delimiter != "," else []
    how = [
        f"{DELIMITERS[delimiter]}-delimited" if delimiter != "," else "",
        "decimal commas" if decimal == "," else "",
        f"decimal commas and points both read in {', '.join(mixed)}" if mixed else "",
        encoding if encoding != "utf-8" else "",
    ]
    return frame, ", ".join(h for h in how if h)


def _mixed_marks(frame: pd.DataFrame, typed: Any) -> list[str]:
    """Columns of numbers written with both decimal marks ('4,2' beside a typed '0.5'; the
    file's mark left the others as text) converted in place to numbers; their names."""
    fixed = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object or (isinstance(typed, dict) and column in typed):
            continue
        numbers = written_numbers(values, _EITHER_MARK)
        if numbers is not None:
            frame[column] = numbers
            fixed.append(str(column))
    return fixed


def written_numbers(values: pd.Series, pattern: str) -> pd.Series | None:
    """A text column as numbers when every present value fullmatches ``pattern`` (a number with
    a decimal point or comma, maybe a trailing '%'); None when one does not, or one is too large
    for a float ('1e309': left as written)."""
    present = values.dropna().astype(str).str.strip()
    if present.empty or not present.str.fullmatch(pattern).all():
        return None
    text = present.str.rstrip("%").str.strip().str.replace(",", ".", regex=False)
    try:
        return pd.to_numeric(text).reindex(values.index)
    except (ValueError, OverflowError):
        return None
