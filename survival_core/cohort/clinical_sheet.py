"""Reading a clinical file (CSV, XLSX or a JSON array of patients) into a table of cells.

Each cell as the text a CSV export would hold, the header found below a title or group rows, a
row of units or code legends under it joined to its headers, TCGA BCR's extra header rows, note
rows and summary rows skipped, several rows of one patient joined (GDC's one row per treatment,
REDCap's one row per event), and the patient IDs checked. What the import
(:mod:`survival_core.cohort.clinical_table`) reads before any column is cleaned.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from survival_core.cohort.clinical_values import redcap_field
from survival_core.cohort.import_report import Coercion, give_option, show
from survival_core.errors import InputError
from survival_core.io.clinical import MISSING_TOKENS
from survival_core.io.delimited import PLAIN_NUMBER, check_row_widths, decode_text, table_text
from survival_core.io.headers import (
    ID_NAMES,
    TIME_UNIT_OF,
    Header,
    code_meanings,
    parse_header,
)

#: Rows searched for the header (a title or group rows above it are skipped).
_HEADER_SEARCH = 20


def _cell_text(value: Any, number_format: str = "General") -> str:
    """A spreadsheet cell as the text a CSV export would hold ("" when empty): a number shown as
    a percentage is written so ('0.44' as '44%'; typed as fractions, they were read 100 times
    smaller than the cells of the column typed '44%')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and _shows_percentage(number_format) and value == value:
        return _cell_text(round(value * 100, 10)) + "%"
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _shows_percentage(number_format: str) -> bool:
    """Whether an Excel number format shows a number times 100: a '%' neither quoted nor escaped
    (a custom '0"%"' shows 44 as '44%', unscaled)."""
    return "%" in re.sub(r'"[^"]*"|\\.', "", number_format)


def _read_csv(path: Path) -> tuple[list[list[str]], str, str]:
    """The CSV's rows, its delimiter and how it was read."""
    text, encoding = decode_text(path.read_bytes(), path.name)
    text, delimiter, delimited = table_text(text, path.name)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise InputError(f"{path.name} could not be read as CSV: {err}") from None
    return rows, delimiter, f"read as CSV, {delimited}-delimited, {encoding}"


def _open_workbook(path: Path, **how: bool) -> Any:
    """The workbook ``path`` opened by openpyxl with ``how``; InputError when it is none."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(path, **how)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise InputError(f"{path.name} could not be read as an XLSX workbook: {err}") from None


def _read_xlsx(path: Path, report: list[Coercion]) -> tuple[list[list[str]], str, list[str]]:
    """The first sheet's rows as text, how it was read and the sheets' names (the first read).
    Hidden rows and columns are read and said in ``report`` (a filter's hidden rows may be
    patients someone left out); a sheet whose formulas have no saved result (a workbook a
    program wrote, never opened in a spreadsheet) is refused: their cells read as blanks."""
    from openpyxl.utils import get_column_letter

    book = _open_workbook(path, data_only=True)  # not read-only: it knows what is hidden
    try:
        sheet = book.worksheets[0]
        rows = [[_cell_text(c.value, c.number_format) for c in row] for row in sheet.iter_rows()]
        sheets = [s.title for s in book.worksheets]
        hidden_rows = [i for i, d in sheet.row_dimensions.items() if d.hidden and i <= len(rows)]
        width = max((len(row) for row in rows), default=0)
        hidden_columns = sorted(
            {
                i
                for d in sheet.column_dimensions.values()
                if d.hidden
                for i in range(d.min, min(d.max, width) + 1)
            }
        )
    finally:
        book.close()
    _refuse_unsaved_formulas(path, rows)
    if hidden_columns:
        letters = ", ".join(get_column_letter(i) for i in hidden_columns)
        action = f"column(s) {letters} hidden in the workbook: read like the others"
        report.append(Coercion("(file)", action, len(hidden_columns)))
    if hidden_rows:
        shown = ", ".join(map(str, hidden_rows[:8])) + (", ..." if len(hidden_rows) > 8 else "")
        action = f"row(s) {shown} hidden in the workbook (by a filter?): read like the others"
        report.append(Coercion("(rows)", action, len(hidden_rows)))
    note = f"read as XLSX, sheet {sheet.title!r}"
    if len(sheets) > 1:
        note += f" (the first; {len(sheets) - 1} other sheet(s) ignored)"
    return rows, note, sheets


def _refuse_unsaved_formulas(path: Path, rows: list[list[str]]) -> None:
    """InputError naming the first sheet's formula cells when none has a saved result (a sheet
    never calculated: a blank result of a calculated one reads alike)."""
    from openpyxl.utils import get_column_letter

    book = _open_workbook(path, read_only=True, data_only=False)
    try:
        formulas = [
            (f"{get_column_letter(j)}{i}", bool(rows[i - 1][j - 1]))
            for i, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
            for j, value in enumerate(row, start=1)
            if isinstance(value, str)
            and value.startswith("=")
            and i <= len(rows)
            and j <= len(rows[i - 1])
        ]
    finally:
        book.close()
    unsaved = [cell for cell, saved in formulas if not saved]
    # a sheet a spreadsheet calculated saves results, blank ones too ('=IF(D3="","",D3)'), which
    # read alike: only a sheet where no formula has a result was never calculated
    if unsaved and len(unsaved) == len(formulas):
        raise InputError(
            f"{path.name}: {len(unsaved)} cell(s) hold a formula with no saved result "
            f"({', '.join(unsaved[:4])}{', ...' if len(unsaved) > 4 else ''}): the workbook was "
            "written by a program and never calculated. Open it in Excel or LibreOffice and save "
            "it, then import it again."
        )


def _read_json(path: Path) -> tuple[list[list[str]], str]:
    """A JSON array of one object per patient (KiTS's ``kits.json``) as rows of text: the keys
    in first-seen order, nested objects flattened ('a' of 'b' is 'b_a'), lists kept as JSON."""
    try:
        records = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InputError(f"{path.name} could not be read as JSON: {err}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{path.name}: expected a JSON array of one object per patient.")
    flat = [_flatten(record) for record in records]
    header = list(dict.fromkeys(key for record in flat for key in record))
    rows = [[_cell_text(record.get(key)) for key in header] for record in flat]
    return [header, *rows], "read as JSON, one object per patient"


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, f"{name}_")
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else value
    return flat


def spreadsheet_cells(path: str | Path) -> pd.DataFrame:
    """Every cell of a clinical spreadsheet as text ("" when empty), headers as written, as the
    import reads the file before any column is cleaned or dropped (an MRN column is dropped as
    an identifier): where to look for the column holding the images' PatientIDs."""
    return read_cells(Path(path), [])[0]


def read_cells(path: Path, report: list[Coercion]) -> tuple[pd.DataFrame, str]:
    """All cells as text ("" when empty), headers as written; also the CSV delimiter ("" XLSX)."""
    if not path.is_file():
        raise InputError(f"Clinical spreadsheet {path} does not exist.")
    suffix = path.suffix.lower()
    delimiter, sheets = "", []
    if suffix in (".xlsx", ".xlsm"):
        rows, how, sheets = _read_xlsx(path, report)
    elif suffix in (".csv", ".tsv", ".txt"):
        rows, delimiter, how = _read_csv(path)
    elif suffix == ".json":
        rows, how = _read_json(path)
    elif suffix == ".xls":
        raise InputError(f"{path.name} is an old .xls workbook: save it as .xlsx or .csv.")
    else:
        raise InputError(
            f"{path.name} is not a CSV, XLSX or JSON file (suffix {suffix or 'none'})."
        )
    filled = [number for number, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    rows = _from_header(_without_metadata([rows[number - 1] for number in filled], report), report)
    no_rows = f"{path.name} has no data rows under its header{other_sheets(sheets)}."
    if len(rows) < 2:
        raise InputError(no_rows)
    header, body = [c.strip() for c in rows[0]], _without_bcr_rows(rows[0], rows[1:], report)
    header, body = _with_units_row(header, body, report)
    # the rows skipped above (a title, header and units rows) are all before the body: its rows'
    # numbers in the file (the CSV's record, the sheet's row) are the last filled ones
    numbers = filled[len(filled) - len(body) :]
    numbers, body = _without_header_copies(rows[0], numbers, body, report)
    if not body:
        raise InputError(no_rows)
    report.append(Coercion("(file)", how, len(body)))
    width = max(len(header), *(len(r) for r in body))
    check_row_widths(path.name, len(header), zip(numbers, body, strict=True))
    body = [(row + [""] * width)[: len(header)] for row in body]
    frame = pd.DataFrame(body, index=numbers, columns=range(len(header)), dtype=object)
    keep = []
    for i, text in enumerate(header):
        if text:
            keep.append(text)
        elif (frame[i].str.strip() != "").any():
            keep.append(f"column_{i + 1}")
            report.append(
                Coercion(keep[-1], "a column without a header, named by its position", len(body))
            )
        else:
            keep.append("")
    frame.columns = keep
    frame = frame.loc[:, [c != "" for c in frame.columns]]
    frame.attrs["sheets"] = sheets  # where else the table may be, for a refusal
    frame.attrs["unnamed"] = [keep[i] for i, text in enumerate(header) if _headerless(text, i)]
    return frame, delimiter


#: The headers a reader gives a column without one: pandas' 'Unnamed: 0', the tidyverse's '...1'.
_READERS_BLANK = re.compile(r"Unnamed: \d+|\.\.\.\d+")


def _headerless(text: str, position: int) -> bool:
    """Whether a header is none: blank, or the name a reader gave a blank one (pandas'
    'Unnamed: 0', the tidyverse's '...1', R's 'X' on the first column), as one read and written
    again holds it (the TCGA-CDR supplement's row index, kept as a predictor of 500 values)."""
    return not text or bool(_READERS_BLANK.fullmatch(text)) or (position == 0 and text == "X")


def other_sheets(sheets: list[str]) -> str:
    """Where else a workbook's table may be: its sheets after the first, which is the one read
    ("" for a CSV or a workbook of one sheet)."""
    if len(sheets) < 2:
        return ""
    return (
        f" on sheet {sheets[0]!r}, the first and the only one read (its other sheets: "
        f"{show(sheets[1:])}): move the patients' table to the first sheet, or save its sheet "
        "as CSV"
    )


#: cBioPortal's attribute types, the third of its metadata lines ('#STRING\tNUMBER\t...').
_DATATYPES = frozenset({"string", "number", "boolean"})


def _datatypes(row: list[str]) -> bool:
    """Whether every filled cell of ``row`` is one of cBioPortal's :data:`_DATATYPES` (a '#'
    before it allowed)."""
    cells = [c.strip().lstrip("#").strip().lower() for c in row if c.strip()]
    return bool(cells) and all(c in _DATATYPES for c in cells)


def _without_metadata(rows: list[list[str]], report: list[Coercion]) -> list[list[str]]:
    """The rows without cBioPortal's metadata lines above its header (``data_clinical_patient.txt``:
    the attributes' display names, descriptions, datatypes and priorities, each line led by a
    '#'): read as the header, they hid the 'PATIENT_ID' one; given the ID column, they were four
    patients (the priorities' '1' a death). A '#'-led block without a line of datatypes is left
    to the header search (:func:`_from_header`)."""
    start = next((i for i, r in enumerate(rows) if not r[0].strip().startswith("#")), len(rows))
    if not any(_datatypes(r) for r in rows[:start]):
        return rows
    report.append(
        Coercion(
            "(file)",
            "cBioPortal's metadata lines above the header ('#'-led: display names, "
            "descriptions, datatypes, priorities) skipped",
            start,
        )
    )
    return rows[start:]


def _without_header_copies(
    header: list[str], numbers: list[int], body: list[list[str]], report: list[Coercion]
) -> tuple[list[int], list[list[str]]]:
    """The body's rows and their ``numbers`` without the rows repeating the header (files joined
    one under the other) or holding cBioPortal's datatypes alone (:func:`_datatypes`): never a
    patient."""
    names = [c.strip().lower() for c in header if c.strip()]
    kept = [
        (number, row)
        for number, row in zip(numbers, body, strict=True)
        if not _datatypes(row) and [c.strip().lower() for c in row if c.strip()] != names
    ]
    if len(kept) < len(body):
        skipped = len(body) - len(kept)
        report.append(
            Coercion("(rows)", "rows repeating the header or its datatypes skipped", skipped)
        )
    return [number for number, _ in kept], [row for _, row in kept]


def _filled(row: list[str]) -> int:
    return sum(bool(c.strip()) for c in row)


def _from_header(rows: list[list[str]], report: list[Coercion]) -> list[list[str]]:
    """The rows from the header on: rows above it holding at most half as many cells as the
    widest of the first rows (a sheet's title, a merged group header such as 'Demographics')
    skipped. The header is the first row filled more than that and holding no number (a data
    row never becomes the header)."""
    widest = max((_filled(r) for r in rows[:_HEADER_SEARCH]), default=0)
    needed = max(2, widest // 2 + 1)
    start = next(
        (
            i
            for i, r in enumerate(rows[:_HEADER_SEARCH])
            if _filled(r) >= needed and not any(PLAIN_NUMBER.fullmatch(c) for c in r)
        ),
        0,
    )
    if start:
        above = [" ".join(c.strip() for c in r if c.strip()) for r in rows[:start]]
        report.append(Coercion("(file)", f"rows above the header skipped: {show(above)}", start))
    return rows[start:]


#: Units a row under the header may give its columns (besides the time units), lower case; 'n'
#: of a count.
_UNIT_CELLS = frozenset(
    {"%", "kg", "g", "mg", "cm", "mm", "m", "ml", "l", "cc", "cm3", "mm3", "kg/m2", "kg/m²",
     "g/l", "g/dl", "mg/l", "mg/dl", "µmol/l", "umol/l", "mmol/l", "µg/l", "ug/l", "ng/ml",
     "iu/l", "u/l", "ui/l", "ku/l", "/mm3", "/µl", "/ul", "10^9/l", "x10^9/l", "giga/l",
     "ml/min", "mmhg", "bpm", "gy", "cgy", "hu", "suv", "points", "score", "pg/ml", "µg/ml",
     "n"}
)  # fmt: skip
#: A row's first cell that makes it a note on the columns, never a patient: 'Notes', 'Units',
#: 'Legend', 'Description' (any case, a colon and words after it allowed: 'Notes: see protocol').
_NOTE_ROW = re.compile(r"(?i)\s*(?:notes?|units?|legend|descriptions?)\s*(?::.*)?")
#: A range a row under the header states for its column: 'I-III', '0-100', '18 to 90'.
_RANGE_CELL = re.compile(
    r"(?i)\s*([ivx]+|-?\d+(?:[.,]\d+)?)\s*(?:[-\u2013\u2014]|to)\s*([ivx]+|\d+(?:[.,]\d+)?)\s*"
)


def _heading_cell(cell: str) -> tuple[str, str] | None:
    """What a cell of a row under the header says of its column: ('unit', 'g/L') of a unit
    ('[days]', '(mois)'), ('codes', '0 = no, 1 = yes') of a code legend, ('range', 'I-III');
    None for any other text (a patient's value)."""
    if (unit := _unit_cell(cell)) is not None:
        return "unit", unit
    text = cell.strip()
    if re.match(r"[\w.]+\s*[=:]", text) and code_meanings(text):
        return "codes", text
    return ("range", text) if _RANGE_CELL.fullmatch(text) else None


def _unit_cell(cell: str) -> str | None:
    """The unit a units row's cell names ('g/L', '[days]', '(mois)'), else None."""
    text = cell.strip().strip("()[]").strip()
    known = text.lower() in _UNIT_CELLS or text.lower() in TIME_UNIT_OF
    return text if text and known else None


def _with_units_row(
    header: list[str], body: list[list[str]], report: list[Coercion]
) -> tuple[list[str], list[list[str]]]:
    """A row of units or code legends under the header (its first cell empty or 'Notes',
    'Units'..., each other filled cell a unit, a code legend or a range: ',years,g/L,days,',
    Duke-Breast-Cancer-MRI's '0 = alive, 1 = dead') is no patient: each unit joins its column's
    header as '(unit)' where the header states none (a time unit then reads as the survival
    time's), each legend as its stated codes '(0 = alive, 1 = dead)' where it states none (read
    as a header's), a range is only said; the row is skipped, with a note. Other headers and
    bodies are returned as they are."""
    if not body:
        return header, body
    first, *cells = [c.strip() for c in body[0]] or [""]
    said = [_heading_cell(c) if c else None for c in cells]
    filled = [c for c in cells if c]
    if (
        (first and not _NOTE_ROW.fullmatch(first))
        or not filled
        or any(s is None for c, s in zip(cells, said, strict=True) if c)
    ):
        return header, body
    said = [None, *said] + [None] * max(0, len(header) - len(said) - 1)
    merged = [_with_heading(name, heading) for name, heading in zip(header, said, strict=False)]
    kinds = {"unit": "units", "codes": "codes", "range": "ranges"}
    what = " and ".join(dict.fromkeys(kinds[k] for k, _ in filter(None, said)))
    headed = f" ({first!r})" if first else ""
    report.append(
        Coercion("(file)", f"a row of {what} under the header{headed} read: {', '.join(filled)}", 1)
    )
    return merged, body[1:]


def _with_heading(name: str, heading: tuple[str, str] | None) -> str:
    """A header with what the row under it says (:func:`_heading_cell`): its unit or its codes
    joined as '(...)' where the header states none; a range leaves it as it is."""
    if heading is None or heading[0] == "range":
        return name
    h = parse_header(name)
    stated = h.unit if heading[0] == "unit" else h.codes
    return name if stated else f"{name} ({heading[1]})"


def _without_bcr_rows(
    header: list[str], body: list[list[str]], report: list[Coercion]
) -> list[list[str]]:
    """The body without the rows a TCGA BCR patient file puts under its header: the header again
    (or its alternative names) and the CDE_ID codes."""
    skipped = 0
    for row in body:
        cells = [c.strip() for c in row if c.strip()]
        repeated = bool(cells) and row[0].strip() == header[0].strip()
        if not repeated and not all(c.startswith("CDE_ID:") for c in cells):
            break
        skipped += 1
    if skipped:
        report.append(
            Coercion(
                "(file)", "header rows under the header (TCGA BCR names, CDE_IDs) skipped", skipped
            )
        )
    return body[skipped:]


def unique_names(headers: dict[str, Header], path: Path) -> None:
    by_name: dict[str, list[str]] = {}
    for text, h in headers.items():
        by_name.setdefault(h.name, []).append(text)
    clashes = [texts for texts in by_name.values() if len(texts) > 1]
    if clashes:
        shown = "; ".join(" and ".join(map(repr, texts)) for texts in clashes)
        raise InputError(
            f"{path.name}: columns {shown} name the same variable (names compare ignoring case, "
            "spaces, punctuation and units); rename or remove one."
        )


def patient_ids(cells: pd.DataFrame, column: str, path: Path, report: list[Coercion]) -> pd.Series:
    """The table's patient IDs, from its ``column``, stripped; a blank or repeated one refused,
    IDs differing only in their spelling said."""
    ids = cells[column].str.strip()
    blank = ids.str.lower().isin(MISSING_TOKENS)
    if blank.any():  # named by the file's row numbers, as a spreadsheet shows them
        rows = [str(number) for number in ids.index[blank]]
        raise InputError(
            f"{path.name}: row(s) {', '.join(rows[:10])} have no patient ID in {column!r}."
        )
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated:
        keys = _row_keys(cells, column)
        raise InputError(
            f"{path.name}: patient ID(s) {', '.join(repeated[:10])} appear more than once in "
            f"{column!r}; each patient needs one row: keep one row per patient (each one's first "
            "or primary sample, visit or treatment) and import that."
            + (
                f" {show(keys)} holds a different value on each row: a row per sample or visit "
                "(as cBioPortal's download writes one per sample), not per patient."
                if keys
                else ""
            )
        )
    keys = ids.map(_id_key).to_numpy()
    groups = [ids.index[keys == key] for key in dict.fromkeys(keys[pd.Series(keys).duplicated()])]
    if groups:  # named by row: the report shows pseudonyms, not the IDs as written
        rows = "; ".join(" and ".join(map(str, group)) for group in groups[:10])
        report.append(
            Coercion(
                column,
                f"the IDs of rows {rows} differ only in case, punctuation or leading zeros: "
                "kept as different patients (image PatientIDs are matched exactly); check they "
                "are not one patient written two ways (counted twice, on both sides of a fold)",
                sum(len(group) for group in groups),
            )
        )
    return ids


def _row_keys(cells: pd.DataFrame, column: str) -> list[str]:
    """The columns besides the patient ID ``column`` headed as an ID ('Sample ID', 'visit_id')
    whose values differ on every row: what the table has a row per."""
    return [
        c
        for c in cells.columns
        if c != column and parse_header(c).tokens[-1:] == ["id"] and cells[c].str.strip().is_unique
    ]


def refuse_samples_as_patients(
    cells: pd.DataFrame,
    column: str,
    headers: dict[str, Header],
    outcomes: list[str],
    path: Path,
) -> None:
    """InputError where a patient ID column (:data:`ID_NAMES`) besides the ID ``column`` repeats,
    each of its patients' rows holding one outcome (the ``outcomes`` columns'): the rows are a
    patient's samples (cBioPortal's 'Sample ID' beside 'Patient ID'), one patient counted once
    per sample (625 'patients' of 500) and falling on both sides of a cross-validation fold."""
    if not outcomes:
        return
    outcome = _written(cells[outcomes])
    for text, h in headers.items():
        if text == column or h.name not in ID_NAMES:
            continue
        patients = cells[text].str.strip()
        if patients.is_unique:
            continue
        if (outcome.groupby(patients.to_numpy()).nunique(dropna=False) > 1).any(axis=None):
            continue  # another grouping ('Study ID'), not the patients'
        raise InputError(
            f"{path.name}: {text!r} repeats beside the ID column {column!r}: {len(patients)} "
            f"rows of {patients.nunique()} patients, each patient's rows with one outcome. "
            f"{column!r} names a patient's samples or visits, each of which would count as a "
            "patient (on both sides of a cross-validation fold). Key the table by the patient "
            f"column ({give_option('id_column', text)}) and keep one row per patient (each "
            "one's first or primary sample)."
        )


def _id_key(text: str) -> str:
    """An ID as spellings of one patient's compare: 'P-004', 'p004' and 'P4' -> 'p4'."""
    letters_digits = re.sub(r"[\W_]+", "", text.casefold())
    return re.sub(r"(?<!\d)0+(?=\d)", "", letters_digits) or text


#: A row under the patients summing them up, by its ID cell ('Total', 'n = 500', 'Mean').
_SUMMARY_ID = re.compile(
    r"(?i)(?:totals?|sum|mean|median|average|count|overall|all patients|n\s*=\s*\d+)\b.*"
)


def without_note_rows(cells: pd.DataFrame, column: str, report: list[Coercion]) -> pd.DataFrame:
    """The table without the rows whose ID is a note's ('Notes', 'Units', 'Legend: ...',
    :data:`_NOTE_ROW`): a sheet's remarks on its columns, never a patient (GBSG2's 'Notes' row
    of units and ranges was one, without an outcome, its 'I-III' a grade)."""
    notes = cells[column].str.fullmatch(_NOTE_ROW.pattern)
    if notes.any():
        shown = show(list(cells[column][notes].str.strip()))
        report.append(
            Coercion("(rows)", f"rows of notes, not patients, skipped: {shown}", int(notes.sum()))
        )
    return cells[~notes]


#: GDC's treatment fields, one row per treatment in its clinical.tsv ('treatment_type',
#: 'days_to_treatment_start', 2024's 'treatments.treatment_type'), by name.
_GDC_TREATMENT = re.compile(
    r"(?:treatments_)?(?:treatment_\w+|days_to_treatment_\w+|therapeutic_agents|"
    r"regimen_or_line_of_therapy|initial_disease_status)"
)


#: REDCap's fields saying which event (arm) and repeat of a record a row of its longitudinal
#: export holds ('baseline_arm_1'; a repeating form's name and instance).
_REDCAP_ROW_FIELDS = ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
#: The same fields as REDCap's export of labels heads them ('Event Name', 'Repeat Instrument',
#: 'Repeat Instance'), read so beside its 'Record ID' only.
_REDCAP_ROW_LABELS = ("event_name", "repeat_instrument", "repeat_instance")


def _redcap_rows(headers: dict[str, Header]) -> list[str]:
    """REDCap's event and repeat columns (:data:`_REDCAP_ROW_FIELDS`, or their labels beside a
    'Record ID': :data:`_REDCAP_ROW_LABELS`), the event first; none without the event's."""
    labelled = any(h.name == "record_id" for h in headers.values())
    names = (_REDCAP_ROW_FIELDS, _REDCAP_ROW_LABELS if labelled else ())
    place = {text: n.index(h.name) for text, h in headers.items() for n in names if h.name in n}
    rows = sorted(place, key=place.__getitem__)
    return rows if 0 in place.values() else []


def one_row_per_case(
    cells: pd.DataFrame,
    column: str,
    headers: dict[str, Header],
    path: Path,
    report: list[Coercion],
) -> pd.DataFrame:
    """A table with several rows per patient, as exports write them, as one row per patient:
    REDCap's longitudinal export (one row per event, :func:`_one_row_per_record`) and GDC's
    clinical.tsv (one row per treatment, :func:`_one_row_per_treatment`). Any other table is
    returned as it is (repeated IDs are refused after)."""
    ids = cells[column].str.strip()
    if ids.is_unique:
        return cells
    if redcap_rows := _redcap_rows(headers):
        return _one_row_per_record(cells, ids, redcap_rows, headers, path, report)
    return _one_row_per_treatment(cells, ids, headers, report)


def _written(cells: pd.DataFrame) -> pd.DataFrame:
    """The table's cells stripped, a missing one (:data:`MISSING_TOKENS`) as NaN."""
    stripped = cells.apply(lambda c: c.str.strip())
    return stripped.mask(stripped.apply(lambda c: c.str.lower().isin(MISSING_TOKENS)))


def _one_row_per_treatment(
    cells: pd.DataFrame, ids: pd.Series, headers: dict[str, Header], report: list[Coercion]
) -> pd.DataFrame:
    """GDC's clinical.tsv with one row per treatment (CPTAC's two per case) as one row per case,
    where a case's rows differ in its treatment fields (:data:`_GDC_TREATMENT`) alone: those
    that differ within a case are dropped (which treatment would be the variable is unsaid),
    said in the report. Any other table is returned as it is."""
    treatments = [c for c in cells.columns if _GDC_TREATMENT.fullmatch(headers[c].name)]
    if not treatments:
        return cells
    values = _written(cells).groupby(ids.to_numpy()).nunique(dropna=False)
    if (values.drop(columns=treatments) > 1).any(axis=None):
        return cells
    differing = [c for c in treatments if (values[c] > 1).any()]
    repeated = int(ids.duplicated().sum())
    report.append(
        Coercion(
            "(rows)",
            f"{repeated} row(s) repeating a case with another treatment (GDC's one row per "
            f"treatment) joined into one row per case; the treatment fields that differ "
            f"within a case dropped: {show(differing)}",
            repeated,
        )
    )
    return cells[~ids.duplicated()].drop(columns=differing)


def _one_row_per_record(
    cells: pd.DataFrame,
    ids: pd.Series,
    rows: list[str],
    headers: dict[str, Header],
    path: Path,
    report: list[Coercion],
) -> pd.DataFrame:
    """REDCap's longitudinal export, a record's fields spread over one row per event
    ('baseline_arm_1', 'followup_arm_1'), as one row per record: each field from the event it is
    filled in, REDCap's event and repeat fields (``rows``, the event first: :func:`_redcap_rows`)
    dropped, said in the report. A field filled differently in two events of a record is refused
    (:func:`_refuse_differing_events`); REDCap's form statuses, dropped after
    (:func:`redcap_field`), may differ."""
    filled = _written(cells.drop(columns=rows))
    by_record = filled.groupby(ids.to_numpy(), sort=False)
    statuses = [c for c in filled.columns if redcap_field(headers[c], filled[c].dropna(), True)]
    clashes = (by_record.nunique() > 1).drop(columns=statuses)
    if clashes.any(axis=None):
        _refuse_differing_events(cells, ids, rows, clashes, path)
    first = ~ids.duplicated()
    events = show(list(dict.fromkeys(_written(cells[rows]).iloc[:, 0].dropna())))
    report.append(
        Coercion(
            "(rows)",
            f"REDCap's longitudinal export: {len(ids)} rows of {int(first.sum())} records in "
            f"the events {events} joined into one row per record, each field from the event "
            f"it is filled in; REDCap's event fields dropped: {show(rows)}",
            int((~first).sum()),
        )
    )
    joined = by_record.transform("first")
    return joined[first].fillna(cells.drop(columns=rows)[first])


def _refuse_differing_events(
    cells: pd.DataFrame, ids: pd.Series, rows: list[str], clashes: pd.DataFrame, path: Path
) -> None:
    """InputError naming the first record, field and events (REDCap's ``rows`` fields: event,
    repeat) whose rows hold two values of one field: which would be the patient's is unsaid."""
    found = clashes.stack()
    record, field = found[found].index[0]
    values = _written(cells.loc[ids == record, [field]])[field].dropna()
    other = values[values != values.iloc[0]].index[0]
    events = [
        f"{' / '.join(_written(cells.loc[[row], rows]).iloc[0].dropna())} ({values[row]!r})"
        for row in (values.index[0], other)
    ]
    more = int(clashes.to_numpy().sum()) - 1
    raise InputError(
        f"{path.name}: REDCap record {record} has {field!r} filled differently in its events "
        f"{events[0]} and {events[1]}"
        + (f" (and {more} more field(s) of records so)" if more else "")
        + "; a record's rows are joined into one patient, each field from the event it is "
        "filled in: keep the field in one event (a REDCap report filtered by event), or "
        "import each event's rows apart."
    )


def without_summary_rows(cells: pd.DataFrame, column: str, report: list[Coercion]) -> pd.DataFrame:
    """The table without the summary rows at its bottom (a spreadsheet's totals)."""
    ids = cells[column].str.strip()
    end = len(ids)
    while end and _SUMMARY_ID.fullmatch(ids.iloc[end - 1]):
        end -= 1
    if end < len(ids):
        report.append(
            Coercion(
                "(rows)",
                f"summary rows at the bottom skipped: {show(list(ids.iloc[end:]))}",
                len(ids) - end,
            )
        )
    return cells.iloc[:end]
