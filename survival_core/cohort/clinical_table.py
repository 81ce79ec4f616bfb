"""Read a cohort's clinical table (CSV, XLSX or a JSON array of patients) as a study exports it.

:func:`read_clinical_spreadsheet` finds the patient ID, survival time and event columns (by name
unless given), converts the time to days and the event to 0/1, and cleans every other column into
a clinical variable: missing-value tokens and numeric sentinels (-999) to missing, units read from
the header (``Dose [Gy]``) or the values (mm and cm lengths in mm), decimal commas and thousands
separators (told apart by the file's numbers), spelling variants of a category merged, yes/no
columns as booleans, dates kept aside, identifiers and free text dropped. Nothing is changed
silently: each recognition, conversion and drop is a :class:`Coercion` in the import's report. The
cleaned table comes with a drafted :class:`~survival_core.io.clinical_schema.CohortSchema`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from survival_core.errors import ClinicalValueError, InputError
from survival_core.io.clinical import LEVEL_WORDS, MISSING_TOKENS, no_value_numbers, same_unit
from survival_core.io.clinical_schema import (
    NO_TOKENS,
    YES_TOKENS,
    CohortSchema,
    infer_schema,
    names_a_category_code,
    names_a_centre,
    names_a_scale,
)
from survival_core.io.dates import (
    births_before,
    date_order,
    date_stems,
    excel_serial_dates,
    may_name_a_date,
    names_a_date,
    parse_dates,
)
from survival_core.io.delimited import (
    POINTS_UNLESS_SAID,
    NumberMarks,
    as_ascii,
    check_row_widths,
    decode_text,
    number_marks,
    table_text,
)
from survival_core.io.headers import (
    CENSOR_NAMES,
    DEATH_WORDS,
    EVENT_NAMES,
    ID_NAMES,
    TIME_NAMES,
    TIME_UNIT_OF,
    Header,
    bookkeeping,
    code_meanings,
    d_names_death,
    endpoint_name,
    glued_to_censoring,
    is_outcome_like,
    measured_after_treatment,
    name_unit,
    names_a_death,
    normalise_name,
    parse_header,
    timed_events,
)
from survival_core.io.outcome_source import OutcomeSource
from survival_core.io.tables import (
    ALIVE_WORDS,
    EVENT_WORDS,
    FOLLOW_UP_NOTE_START,
    SHORT_FOLLOW_UP_DAYS,
    TIME_UNITS,
    TYPICAL_FOLLOW_UP_DAYS,
    VITAL_STATUS_CODES,
    VITAL_STATUS_LETTERS,
    YES_NO_ABROAD,
    follow_up_unit_note,
    holds_row_labels,
    tells_the_event,
)
from survival_core.outcome import no_censored_said

#: Header words of a death (a vital status), whatever the endpoint the time names.
_DEATH_HEADER_WORDS = frozenset(
    {"vital", "vitalstatus", "death", "dead", "died", "deceased", "deadstatus", "deces", "decede",
     "verstorben", "tod", "exitus", "fallecido", "muerte", "decesso", "deceduto", "morte",
     "overleden", "overlijden", "obito", "falecido"}
)  # fmt: skip
#: Names of a death's event column (a vital status), in :data:`EVENT_NAMES`' order.
_DEATH_EVENT_NAMES = tuple(n for n in EVENT_NAMES if set(n.split("_")) & _DEATH_HEADER_WORDS)
#: Names of a vital status column, read before an ambiguous censoring column beside it.
_VITAL_STATUS_NAMES = ("vital_status", "survival_status", "vitalstatus", "deadstatus")
#: Names of a recurrence's event column (R's survival::rotterdam: 'recur').
_RECURRENCE_EVENTS = ("relapse", "relapsed", "recurrence", "recurred", "recur")
#: Event names of a time column's endpoint (its name's first part), looked for before the rest:
#: HECKTOR's RFS pairs with its Relapse column, never with a vital status beside it; an OS time
#: with the death column, never a bare 'status' beside it (GBSG2's recurrence flag was).
ENDPOINT_EVENTS = {
    # TCGA's Pan-Cancer table: 'OS' (0/1) beside 'OS.time', 'PFI' beside 'PFI.time'...
    "os": ("os_event", "os_status", "os", *_DEATH_EVENT_NAMES),
    "pfi": ("pfi_event", "pfi_status", "pfi"),
    "dfi": ("dfi_event", "dfi_status", "dfi"),
    "dss": ("dss_event", "dss_status", "dss"),
    "rfs": ("rfs_event", "rfs_status", "rfs", *_RECURRENCE_EVENTS),
    "dfs": ("dfs_event", "dfs_status", "dfs", *_RECURRENCE_EVENTS),
    "pfs": ("pfs_event", "pfs_status", "pfs", "progression", "progressed"),
    "efs": ("efs_event", "efs_status", "efs"),
    "ttp": ("progression", "progressed"),
}
#: Endpoints (:func:`~survival_core.io.headers.endpoint_name`) whose event is the disease's
#: (recurrence, progression; an event-free survival's relapse or progression too, its 'event or
#: death' no overall survival's), not death alone, and header words of such an event.
_DISEASE_ENDPOINTS = frozenset(
    {"rfs", "dfs", "pfs", "efs", "ttp", "ttr", "pfi", "dfi", "lrfs", "dmfs", "mfs"}
)
_DISEASE_EVENT_WORDS = frozenset(
    {"relapse", "relapsed", "recurrence", "recurred", "recur", "progression", "progressed",
     "metastasis", "metastases", "rechute", "recidive", "rezidiv", "recaida", "recidiva"}
)  # fmt: skip
#: Header words of a date of the disease's event ('Date of PD': of progressive disease).
_DISEASE_DATE_WORDS = _DISEASE_EVENT_WORDS | {"pd"}
#: Header words of an event column whose 1 / yes can only mean no event: the patient alive
#: ('alive', 'is_alive', 'survived', 'living') or censored ('censored', CDISC ADaM's 'CNSR'),
#: found by name or given. The other censoring names ('cens', 'censor', 'censoring') are written
#: for the event indicator too (scikit-survival's GBSG2 and AIDS, R's TH.data 'censoring
#: indicator (0 censored, 1 event)'), so they are never read by guess.
NO_EVENT_WORDS = frozenset({"alive", "survived", "living", "censored", "cnsr"})
#: Columns of days to death and of days to the last follow-up (TCGA / GDC exports): the time is
#: the first for the dead, the second for the others (:func:`_censoring_days`).
DEATH_DAYS_NAMES = ("days_to_death", "death_days_to")
FOLLOW_UP_DAYS_NAMES = (
    "days_to_last_follow_up", "days_to_last_followup", "last_contact_days_to",
    "days_to_last_contact", "days_to_last_known_alive",
)  # fmt: skip
#: Name parts of identifier and free-text columns (never model variables).
_IDENTIFIER_PARTS = {
    "id", "mrn", "name", "names", "surname", "firstname", "lastname", "initials", "accession",
    "address", "phone", "email", "comment", "comments", "note", "notes", "remark", "remarks",
    "description", "nhs", "ssn", "zip", "postcode",
    # French and German hospital numbers ('N° dossier', 'Numéro IPP', 'NIP', 'Fallnummer')
    "dossier", "ipp", "nip", "nir", "fallnummer",
    # names in the Latin-script languages hospital sheets come in (German, French, Spanish,
    # Italian, Portuguese, Dutch, Polish; not 'nombre', which is French for a count); headers of
    # other scripts are refused before (:func:`_refuse_unread_headers`)
    "nachname", "vorname", "prenom", "nom", "apellido", "apellidos", "cognome", "nome",
    "sobrenome", "naam", "voornaam", "achternaam", "imie", "nazwisko",
}  # fmt: skip
#: Words of a number that identifies ('Medical Record Number', 'Hospital No', 'NHS number'),
#: never a count ('Number of nodes').
_IDENTIFYING_NUMBERS = frozenset(
    {"record", "hospital", "insurance", "social", "health", "chart", "case", "patient",
     "subject", "study", "accession", "unit"}
)  # fmt: skip
_NUMBER_WORDS = frozenset({"number", "no", "nr", "num", "nbr", "code"})
#: How a report line on a re-import taken as correcting the time unit of the cohort's earlier
#: import starts (:func:`~survival_core.cohort.clinical_join.import_table`): a warning, as the
#: stored times are replaced on the word of the unit given.
UNIT_CORRECTED_START = "Times corrected: "
#: How a report line on a re-import whose outcome is another endpoint's than the one the
#: cohort's earlier ``clinical.csv`` held starts (:mod:`survival_core.cohort.clinical_join`): a
#: warning, as models trained on the cohort before were trained on the other endpoint.
OUTCOME_CHANGED_START = "Outcome changed: "
#: How a report line on a partial re-import beside earlier rows whose outcome no record names
#: (imported before ``outcome.json`` was kept) starts: a warning, as no record is written and the
#: cohort's endpoint is unknown.
OUTCOME_UNRECORDED_START = "Outcome not recorded: "
#: How the report line on the rows left without an outcome starts where they are most of them: a
#: warning, as lymph-node's 515 living patients were said only as a count in the report.
MOST_OUTCOMES_MISSING_START = "Most outcomes missing: "
#: Start of the warning that every row left without an outcome is a censored patient's (a time
#: column blank for the living): the patients kept all had the event.
CENSORED_OUTCOMES_MISSING_START = "Censored outcomes missing: "
#: Start of the warning that no patient has the event: every outcome censored (a vital status's
#: deaths 'D' were read as missing without a word but a console line).
NO_EVENTS_START = "No events: "
#: Start of the warning that every patient with an outcome has the event, none censored
#: (lymph-node's 'deathdate', the living's last contact, read as each one's death).
NO_CENSORED_START = "No censored patient: "
#: Where each reading option is given: the command line's flag and the Cohort page's field
#: (its "Spreadsheet columns"); Python callers pass the keyword itself.
_OPTIONS = {
    "id_column": ("--id-column", "Patient ID column"),
    "time_column": ("--time-column", "Survival time column"),
    "event_column": ("--event-column", "Event column"),
    "time_unit": ("--time-unit", "Time unit"),
}


def _give(option: str, value: str = "") -> str:
    """How to give a reading option, for a message the command line and the Cohort page show:
    ``--time-unit (Cohort page: Time unit)``."""
    flag, field_name = _OPTIONS[option]
    shown = f" {value!r}" if value else ""
    return f"{flag}{shown} (Cohort page: {field_name}{shown}; Python: {option}=)"


def give_outcome_columns(source: OutcomeSource) -> str:
    """How to give the time and event columns of ``source`` again, for a message."""
    return (
        f"{_give_again('time_column', source.time_column)} and "
        f"{_give_again('event_column', source.event_column)}"
    )


def _give_again(option: str, column: str) -> str:
    """How to give ``column`` as ``option`` again (:func:`_give`); a reader's mark in its place
    ('(from dates)', TCGA's '(days_to_death / days_to_last_follow_up)') is no column: the option
    is left out, so the import reads it so again (the advice gave the mark as an event column,
    which no sheet has)."""
    if not (column.startswith("(") and column.endswith(")")):
        return _give(option, column)
    flag, field_name = _OPTIONS[option]
    read = "from the dates" if column == "(from dates)" else f"from {column}"
    role = "time" if option == "time_column" else "event"
    return (
        f"no {flag} (Cohort page: {field_name} left blank; Python: {option}=None), the {role} "
        f"read {read} as before"
    )


#: A number as the event column's cells are written once read ('2', '0.5').
_NUMBER_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_CENSOR_CODES = {"1", "0", "yes", "no", "y", "n", "true", "false", *YES_NO_ABROAD}
_BOOL_YES = YES_TOKENS - {"1", "t"}
_BOOL_NO = NO_TOKENS - {"0", "f"}
#: Share of a column's present values that must be numbers for it to be numeric (the rest,
#: text without digits such as "not done", is read as missing and reported).
_NUMERIC_SHARE = 0.95
#: A decimal number with a point or a comma ('1.5', '1,5', '.5').
_DECIMAL = r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)"
_NUMBER = re.compile(_DECIMAL + r"(?:[eE][-+]?\d+)?")
#: A lab value written as a detection bound: '<0.5', '> 1000', '<=5'.
_BOUND = re.compile(r"\s*[<>]=?\s*" + _DECIMAL + r"\s*")
_NUMBER_WITH_UNIT = re.compile(f"({_DECIMAL})" + r"\s*([A-Za-zµ%°/][A-Za-zµ%°/^0-9.]*)")
#: One-letter units of a number ('65 y', '3 d', '70 g'); others ('2a', '3b') are substages.
_LETTER_UNITS = frozenset({"y", "d", "w", "h", "g", "l", "m", "%"})
#: Lengths a column may give in either unit ('12 mm', '1.2 cm'), read in millimetres.
_MILLIMETRES = {"mm": 1.0, "cm": 10.0}
_SHOWN = 5
#: Share of a text column's cells with a value that must write a word of
#: :data:`~survival_core.io.clinical.LEVEL_WORDS` ('none') for it to be a level, not missing.
_LEVEL_SHARE = 0.05
#: Rows searched for the header (a title or group rows above it are skipped).
_HEADER_SEARCH = 20
_OUTCOME_DROPPED = "dropped: another outcome or ID column, not a clinical variable"
#: clinical_report.csv's action for a column without a value (an external run names it).
NO_VALUES_DROPPED = "dropped: no values"
_ROW_LABELS_DROPPED = (
    "dropped: row numbers or labels, not a variable (a column without a header whose values "
    "are all different, as R's write.csv writes its row names); a variable needs a header"
)


@dataclass(frozen=True)
class Coercion:
    """One thing done to the spreadsheet: the ``column`` (its header, or ``(file)``/``(rows)``),
    what was done, and how many cells or rows it touched."""

    column: str
    action: str
    count: int

    def __str__(self) -> str:
        return f"{self.column}: {self.action} ({self.count})"


@dataclass
class ClinicalImport:
    """A cleaned clinical spreadsheet.

    ``table`` has index ``case_id`` (text) and columns ``time`` (days, float), ``event`` (0/1,
    nullable integer) and the clinical variables; rows without a usable time or event are kept
    with those missing and listed in ``no_outcome``. ``schema`` is the schema drafted from the
    variables; ``dates`` holds date columns (kept out of the variables); ``report`` lists every
    recognition, conversion and drop.
    """

    table: pd.DataFrame
    schema: CohortSchema
    report: list[Coercion]
    id_column: str
    time_column: str
    event_column: str
    time_unit: str
    dates: pd.DataFrame = field(default_factory=pd.DataFrame)
    no_outcome: list[str] = field(default_factory=list)
    #: Whose outcome it is (:func:`_outcome_endpoint`): 'death', 'disease' or None (unsaid).
    endpoint: str | None = None
    #: Whether a death counted as an event (:func:`_deaths_counted`); None where unsaid.
    deaths_counted: bool | None = None
    #: The endpoint its headers name ('os', 'dss', 'rfs', 'pfs': :func:`_outcome_name`).
    endpoint_name: str | None = None

    @property
    def source(self) -> OutcomeSource:
        """Where the outcome came from, as the cohort records it beside its table."""
        return OutcomeSource(
            self.time_column,
            self.event_column,
            self.time_unit,
            self.endpoint,
            self.deaths_counted,
            self.endpoint_name,
        )

    @property
    def variables(self) -> pd.DataFrame:
        """The clinical variables only (no time, no event)."""
        return self.table.drop(columns=["time", "event"])

    def report_text(self) -> str:
        """The report, one line per coercion."""
        return "\n".join(map(str, self.report))


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
    return _read_cells(Path(path), [])[0]


def _read_cells(path: Path, report: list[Coercion]) -> tuple[pd.DataFrame, str]:
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
    rows = _from_header([rows[number - 1] for number in filled], report)
    if len(rows) < 2:
        raise InputError(f"{path.name} has no data rows under its header{_other_sheets(sheets)}.")
    header, body = [c.strip() for c in rows[0]], _without_bcr_rows(rows[0], rows[1:], report)
    header, body = _with_units_row(header, body, report)
    report.append(Coercion("(file)", how, len(body)))
    # the rows skipped above (a title, header and units rows) are all before the body: its rows'
    # numbers in the file (the CSV's record, the sheet's row) are the last filled ones
    numbers = filled[len(filled) - len(body) :]
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
    frame.attrs["unnamed"] = [keep[i] for i, text in enumerate(header) if not text]
    return frame, delimiter


def _other_sheets(sheets: list[str]) -> str:
    """Where else a workbook's table may be: its sheets after the first, which is the one read
    ("" for a CSV or a workbook of one sheet)."""
    if len(sheets) < 2:
        return ""
    return (
        f" on sheet {sheets[0]!r}, the first and the only one read (its other sheets: "
        f"{_show(sheets[1:])}): move the patients' table to the first sheet, or save its sheet "
        "as CSV"
    )


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
            if _filled(r) >= needed and not any(re.fullmatch(_NUMBER, c.strip()) for c in r)
        ),
        0,
    )
    if start:
        above = [" ".join(c.strip() for c in r if c.strip()) for r in rows[:start]]
        report.append(Coercion("(file)", f"rows above the header skipped: {_show(above)}", start))
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


def _find_named(
    headers: dict[str, Header], given: str | None, what: str, flag: str, path: Path
) -> str | None:
    """The header of ``given`` (matched as written, then ignoring case, spaces and
    punctuation); raise when it is not there."""
    if given is None:
        return None
    for match in (
        lambda h: h.text == given,
        lambda h: h.text.lower() == given.strip().lower(),
        lambda h: h.name == normalise_name(given),
    ):
        found = [text for text, h in headers.items() if match(h)]
        if found:
            return found[0]
    raise InputError(
        f"{path.name} has no {what} column {given!r} ({flag}); its columns are: "
        f"{', '.join(headers)}."
    )


def _first_by_name(headers: dict[str, Header], names: Sequence[str], *, base: bool) -> str | None:
    """The header whose name (or base name) comes first in ``names``; a header of codes by its
    event's too ('Death_1_StillAliveorLostToFU_0' as 'death': :attr:`Header.event_name`)."""
    keys = {text: (h.base,) if base else (h.name, h.event_name) for text, h in headers.items()}
    return next((text for wanted in names for text, k in keys.items() if wanted in k), None)


def _endpoint(h: Header) -> str | None:
    """Whose outcome a time or event column is: 'death' (overall survival's, a vital status),
    'disease' (a recurrence's or progression's: RFS, PFS, EFS, 'Relapse'), else None (a bare
    'time' or 'status'). The endpoint the header names (R's 'rfstime': 'rfs') and the codes it
    states count: 'status (0=censored, 1=recurrence, 2=dead)' is a recurrence's, 'efs_status
    (1=event or death)' an EFS's, not a death's; a disease-specific (cancer-specific) survival
    a death's (:func:`~survival_core.io.headers.endpoint_name`)."""
    meanings = code_meanings(h.codes).values()
    words = set(h.tokens) | {w for m in meanings for w in re.split(r"[\W_]+", m)}
    name = endpoint_name(h)
    if name in _DISEASE_ENDPOINTS or words & _DISEASE_EVENT_WORDS:
        return "disease"
    if name in ("os", "dss") or words & _DEATH_HEADER_WORDS:
        return "death"
    return None


def _time_endpoints(h: Header) -> list[str]:
    """The endpoints whose event columns (:data:`ENDPOINT_EVENTS`) a time column's are looked
    for among: the one its header names ('rfs' of R's 'rfstime', whose 'recur' was not looked
    for; 'os' of 'overall survival'), then its name's first part as written ('css' of
    'css_months')."""
    return list(dict.fromkeys(e for e in (endpoint_name(h), h.tokens[0]) if e))


def _check_endpoints(
    path: Path, time: tuple[str, str | None], event: tuple[str, str | None], given: bool
) -> None:
    """Refuse a time of one endpoint paired with another's event, unless the user gave both:
    a DFS time with the vital status (the endpoint's own event a 'censor' column), or a time from
    death and follow-up dates with a progression event, mixed two endpoints in one outcome."""
    if given or None in (time[1], event[1]) or time[1] == event[1]:
        return
    whose = {"death": "death's (overall survival)", "disease": "a recurrence's or progression's"}
    raise InputError(
        f"{path.name}: the survival time {time[0]!r} is {whose[time[1]]}, the event "
        f"{event[0]!r} {whose[event[1]]}: one outcome cannot mix two endpoints. Give the event "
        f"of the time's endpoint ({_give('event_column')}), or the time of the event's "
        f"({_give('time_column')})."
    )


def _time_by_name(
    headers: dict[str, Header], cells: pd.DataFrame, numbers: NumberMarks, endpoint: str | None
) -> str | None:
    """The header named first in :data:`TIME_NAMES`, one of ``endpoint`` (:func:`_endpoint`: a
    given event's) first; one holding only 0 and 1 only when no other is named so: beside
    another it is its endpoint's event indicator (TCGA's Pan-Cancer 'OS' beside 'OS.time': its
    0/1 were read as days)."""
    named = [
        text
        for own in ([True, False] if endpoint else [False])
        for wanted in TIME_NAMES
        for text, h in headers.items()
        if h.base == wanted and not (own and _endpoint(h) != endpoint)
    ]
    timed = (text for text in named if not _zero_one(cells[text], text, numbers))
    return next(timed, named[0] if named else None)


#: Bare survival times, an overall survival's where nothing else names the endpoint (GBSG's
#: lymph-node 'survtime' beside its 'censdead').
_SURVIVAL_TIMES = frozenset({"survival", "survival_time", "surv_time", "survtime"})


def _glued_event(headers: dict[str, Header], time: Header | None) -> str | None:
    """The event column glued to a censoring word (:func:`~survival_core.io.headers.
    glued_to_censoring`) of the ``time``'s endpoint: 'censrec' of a recurrence's 'rectime',
    'censdead' of a death's time or a bare survival time ('survtime'). lymph-node's 'survtime'
    found none, and its 'deathdate', the living's last contact, made all 686 patients dead."""
    whose = None if time is None else _endpoint(time)
    if time is not None and whose is None and time.base in _SURVIVAL_TIMES:
        whose = "death"
    if whose is None:
        return None
    return next(
        (t for t, h in headers.items() if glued_to_censoring(h) and _endpoint(h) == whose), None
    )


def _own_event_names(time_base: str) -> tuple[str, ...]:
    """Names of the event column of a time column named ``time_base`` (without its unit):
    HN1's 'event_overall_survival' beside 'overall_survival_in_days'."""
    return tuple(f"{time_base}_{word}" for word in ("event", "status")) + (f"event_{time_base}",)


def _zero_one(cells: pd.Series, column: str, numbers: NumberMarks) -> bool:
    """Whether a column's numbers are all 0 or 1 (at least one)."""
    values = numbers.read(cells.str.strip(), column).dropna()
    return len(values) > 0 and bool(values.isin([0, 1]).all())


def _all_different(cells: pd.Series) -> bool:
    """Whether a column's filled cells (text, "" when empty) are all different."""
    filled = cells.str.strip()
    return bool(filled[filled != ""].is_unique)


def _named_id(headers: dict[str, Header], cells: pd.DataFrame) -> str | None:
    """The one column named like an identifier (its last word 'id', or its header ending in
    capital 'ID': 'TCIA_ID', 'Brats20ID'; never 'Thyroid' or 'Lipid') whose filled cells are all
    different, if exactly one is; else None."""
    found = [
        text
        for text, h in headers.items()
        if (h.tokens[-1] == "id" or text.strip().endswith("ID")) and _all_different(cells[text])
    ]
    return found[0] if len(found) == 1 else None


#: Words that, beside a time unit in a header, make it a survival time ('vital_days_after_
#: surgery', KiTS's).
_SURVIVAL_WORDS = frozenset(
    {"vital", "survival", "survived", "death", "died", "follow", "followup"}
)


def _named_time(headers: dict[str, Header]) -> str | None:
    """The one column whose header holds a time unit (in its name or brackets) and a survival
    word, if exactly one does; of several, the one follow-up time: Head-Neck-PET-CT's 'Time –
    diagnosis to last follow-up(days)', every patient's, beside 'Time - diagnosis to
    Death(days)', the dead's (none was found: its unit is in brackets)."""
    found = [
        text
        for text, h in headers.items()
        if set(h.tokens) & _SURVIVAL_WORDS and (h.unit.lower() in TIME_UNIT_OF or name_unit(h))
    ]
    followed = [text for text in found if set(headers[text].tokens) & _FOLLOW_UP_WORDS]
    found = followed if len(found) > 1 else found
    return found[0] if len(found) == 1 else None


#: A censored time in a time column: a number followed by "+", or "alive"/"censored" then one.
_CENSORED_TIME = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?)\s*\+\s*$|(?i:alive|censored)\D*?(\d+(?:[.,]\d+)?)"
)


def _censor_marks(cells: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """A time column's cells with censoring marks ('361+', BraTS's 'ALIVE (361 days later)')
    replaced by their number, and which were marked; None when no cell is."""
    found = cells.astype(str).str.extract(_CENSORED_TIME)
    number = found[0].where(found[0].notna(), found[1])
    censored = number.notna()
    if not censored.any():
        return None
    return cells.where(~censored, number), censored


def _show(values: Sequence[Any]) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def _missing_mask(
    cells: pd.Series, column: str, report: list[Coercion], numbers: NumberMarks | None = None
) -> pd.Series:
    """Which cells are missing-value tokens; the tokens other than blanks are reported. Given
    the file's ``numbers``, a word of :data:`LEVEL_WORDS` a text column writes often is a
    level of it (:func:`_word_levels`)."""
    lowered = cells.str.strip().str.lower()
    missing = lowered.isin(MISSING_TOKENS)
    if numbers is not None:
        missing &= ~_word_levels(cells, lowered, missing, column, numbers, report)
    tokens = Counter(cells[missing & (lowered != "")])
    if tokens:
        report.append(
            Coercion(column, f"read {_show(sorted(tokens))} as missing", sum(tokens.values()))
        )
    blanks = int((lowered == "").sum())
    if blanks:
        report.append(Coercion(column, "blank cells left missing", blanks))
    return missing


def _word_levels(
    cells: pd.Series,
    lowered: pd.Series,
    missing: pd.Series,
    column: str,
    numbers: NumberMarks,
    report: list[Coercion],
) -> pd.Series:
    """Which cells hold a word of :data:`LEVEL_WORDS` that is a level of a text column: one
    whose other values are not all numbers, writing it in at least :data:`_LEVEL_SHARE` of its
    cells with a value (GBSG2's hormone therapy 'none' beside 'tamoxifen': read as missing,
    64 % of the column was, and the variable was dropped at fit). Reported; in a column of
    numbers or of yes and no it stays no value (a yes/no column became three levels)."""
    words = lowered.isin(LEVEL_WORDS)
    others = cells[~missing].str.strip()
    if (
        not words.any()
        or others.empty
        or numbers.readable(others, column).all()
        or others.str.lower().isin(YES_TOKENS | NO_TOKENS).all()  # a yes/no column: no value
        or words.sum() < _LEVEL_SHARE * (~missing | words).sum()
    ):
        return pd.Series(False, index=cells.index)
    said = _show(sorted(set(cells[words].str.strip())))
    report.append(Coercion(column, f"read {said} as a level of this text column, not missing",
                           int(words.sum())))  # fmt: skip
    return words


def _stated_unit(h: Header) -> str:
    """The time unit a header states: the one unit word in its brackets ('(months)', '(in
    months)', '(mois)', '(months from diagnosis)'), else its name's (:func:`name_unit`); ""
    when none."""
    if h.unit:
        said = {TIME_UNIT_OF[t] for t in normalise_name(h.unit).split("_") if t in TIME_UNIT_OF}
        if len(said) > 1:
            raise InputError(
                f"The time column {h.text!r} states several units ({h.unit!r}); rename it to "
                f"say one of {', '.join(TIME_UNITS)}."
            )
        if said:
            return said.pop()
    return name_unit(h)


def _time_days(
    cells: pd.Series,
    h: Header,
    time_unit: str | None,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, str]:
    """Times in days and their unit (from the header, else ``time_unit``; they must agree)."""
    stated = _stated_unit(h)
    if h.unit and not stated and time_unit is None:
        raise InputError(
            f"The time column {h.text!r} states the unit {h.unit!r}, which is not read as one "
            f"of {', '.join(TIME_UNITS)}; give the right one: {_give('time_unit')}."
        )
    if h.unit and not stated:
        report.append(
            Coercion(h.text, f"unit {h.unit!r} not read; time_unit={time_unit!r} used", len(cells))
        )
    if time_unit is not None:
        if time_unit not in TIME_UNITS:
            raise InputError(f"time_unit {time_unit!r} is not one of {', '.join(TIME_UNITS)}.")
        if stated and stated != time_unit:
            raise InputError(
                f"The time column {h.text!r} says {stated} but time_unit={time_unit!r} was "
                "given; check which is right."
            )
        stated = time_unit
    if not stated:
        death = " (its 'd' is read as the endpoint, death, not days)" if d_names_death(h) else ""
        raise InputError(
            f"The time column {h.text!r} does not state its unit{death}; give one of "
            f"{', '.join(TIME_UNITS)}: {_give('time_unit')}."
        )
    missing = _missing_mask(cells, h.text, report)
    value = numbers.read(cells, h.text)
    report.extend(Coercion(h.text, action, n) for action, n in numbers.said(cells, h.text))
    bad = ~missing & (value.isna() | (value < 0))
    if bad.any():
        report.append(
            Coercion(
                h.text,
                f"unusable times (not a number or negative) {_show(cells[bad].unique())} "
                "read as missing",
                int(bad.sum()),
            )
        )
        value = value.where(~bad)
    value = _sentinels(value, h.text, report)  # 9999 days, 999 months: no time, not 27 years
    days = value * TIME_UNITS[stated]
    action = "time in days" if stated == "days" else f"time in {stated}, converted to days"
    if stated != "days":
        action += f" (x {TIME_UNITS[stated]:g})"
    report.append(Coercion(h.text, action, int(value.notna().sum())))
    return days, stated


def asks_to_act(action: str) -> bool:
    """Whether a report line's ``action`` is a warning to act on, not a coercion done: a longest
    follow-up implausible in the time unit the times were read in (:func:`_follow_up_said`), or
    a re-import taken as correcting the unit of the cohort's earlier one
    (:data:`UNIT_CORRECTED_START`), a re-import of another endpoint
    (:data:`OUTCOME_CHANGED_START`), one beside earlier rows of an unrecorded outcome
    (:data:`OUTCOME_UNRECORDED_START`), or most rows left without an outcome
    (:data:`MOST_OUTCOMES_MISSING_START`), or only censored ones
    (:data:`CENSORED_OUTCOMES_MISSING_START`), or no patient with the event
    (:data:`NO_EVENTS_START`) or every one (:data:`NO_CENSORED_START`)."""
    return action.startswith(
        (
            FOLLOW_UP_NOTE_START,
            UNIT_CORRECTED_START,
            OUTCOME_CHANGED_START,
            OUTCOME_UNRECORDED_START,
            MOST_OUTCOMES_MISSING_START,
            CENSORED_OUTCOMES_MISSING_START,
            NO_EVENTS_START,
            NO_CENSORED_START,
        )
    )


#: A longest follow-up shorter than this (days, half a year: a tenth of a typical 5 years, as 50
#: years is ten times it) is no study's in the unit its time column's header states: GBSG2's
#: months under 'rfs_days' (87 days) are told to rename it; Rossi's 52 weeks under 'week' are
#: a short study, noted as such (:func:`_short_follow_up`).
STATED_FOLLOW_UP_FLOOR_DAYS = TYPICAL_FOLLOW_UP_DAYS / 10


def _follow_up_said(
    days: pd.Series, column: str, unit: str, stated_by: Header | None = None
) -> list[Coercion]:
    """A warning when the longest of the times (``days``, read in ``unit``) suggests another
    unit, the check cv and fit make (:func:`~survival_core.io.tables.follow_up_unit_note`):
    GBSG2's days imported as years made a 2,659-year follow-up without a word. ``stated_by``:
    the time column's header where it states the unit, which is then to be corrected (another
    unit given beside it is refused) where the follow-up cannot be in it (over 50 years or
    under :data:`STATED_FOLLOW_UP_FLOOR_DAYS`); one under a year, in the unit its header
    states, is noted as short (:func:`_short_follow_up`)."""
    times = days.dropna()
    if not len(times):
        return []
    longest = float(times.max())
    if stated_by is not None and STATED_FOLLOW_UP_FLOOR_DAYS <= longest < SHORT_FOLLOW_UP_DAYS:
        return [Coercion(column, _short_follow_up(longest, unit, stated_by), len(times))]
    give = _import_again if stated_by is None else lambda u: _rename_time_column(stated_by, u)
    note = follow_up_unit_note(longest, unit, give)
    return [Coercion(column, note, len(times))] if note else []


def _short_follow_up(longest: float, unit: str, h: Header) -> str:
    """The report line of a follow-up shorter than a year (``longest`` days) in the ``unit`` the
    time column's header ``h`` states: a study's own length, no unit to correct. Rossi's
    recidivism study, followed 52 weeks under 'week', was told its times were likely in months
    and to rename the column so, which would have made every time 4.35 times as long."""
    return (
        f"short follow-up: the longest is {longest / TIME_UNITS[unit]:g} {unit} ({longest:g} "
        f"days), in the unit its header {h.text!r} states; survival at 12, 24 and 36 months lies "
        "past it"
    )


def _rename_time_column(h: Header, unit: str) -> str:
    """How to correct the unit the time column's header ``h`` states to ``unit`` ("": unknown):
    GBSG2's days under 'os_months' were told to be imported with --time-unit days, which the
    header refuses."""
    named = "_".join(filter(None, (h.base, unit)))
    said = f"say {unit} (e.g. {named!r})" if unit else "say the unit its times are in"
    return (
        f"rename the time column {h.text!r} to {said} and import the sheet again; its header "
        "states the unit, so no other can be given"
    )


def _import_again(unit: str) -> str:
    """How to import a sheet again in the time unit ``unit`` ("": unknown)."""
    return (
        f"import the sheet again with {_give('time_unit', unit)}, or with the unit in the time "
        "column's header"
    )


def _stated_codes(h: Header) -> dict[str, int]:
    """``1=dead, 2=alive`` -> {"1": 1, "2": 0}; a meaning naming a death is an event ('2=dead of
    disease', under an OS header '2=dead of other causes' too: every death is overall
    survival's); other meanings are ignored ('9=unknown if dead', a DSS's '2=dead of other
    causes': their cells read as missing, named)."""
    stated: dict[str, int] = {}
    any_cause, censored_yes = endpoint_name(h) == "os", _censored_yes_no(h)
    for code, meaning in code_meanings(h.codes).items():
        if censored_yes and meaning in _CENSOR_CODES:
            stated[code] = int(YES_NO_ABROAD.get(meaning, meaning) in ("no", "n", "false"))
        elif meaning in EVENT_WORDS:
            stated[code] = 1
        elif meaning in ALIVE_WORDS:
            stated[code] = 0
        elif names_a_death(meaning, any_cause):
            stated[code] = 1
    return stated


#: Header words of a censoring indicator, whose stated yes is censored: no event.
_CENSORING_WORDS = frozenset(name for name in CENSOR_NAMES if "_" not in name)


def _censored_yes_no(h: Header) -> bool:
    """Whether a header names a censoring and states yes/no codes ('censored (1=yes, 0=no)'):
    its yes is censored, the event its no (its 1 was read as the event)."""
    meanings = set(code_meanings(h.codes).values())
    yes_no, others = meanings & _CENSOR_CODES, meanings - _CENSOR_CODES
    return bool(
        set(h.words) & _CENSORING_WORDS
        and yes_no
        and not any(_event_word(m) is not None or names_a_death(m) for m in others)
    )  # an 'unknown' or 'missing' code beside is no value ('9=unknown': left missing)


#: cBioPortal's status cells: the code, then what it means ('1:DECEASED', '0:LIVING',
#: '1:Recurred/Progressed').
_CODED_STATUS = re.compile(r"([01])\s*:\s*[a-z].*")


def _event_word(text: str) -> int | None:
    if (coded := _CODED_STATUS.fullmatch(text)) is not None:
        return int(coded[1])
    if text in EVENT_WORDS or text.startswith(("dead", "died", "deceased")):
        return 1
    if text in ALIVE_WORDS or text.startswith(("alive", "living", "lost to follow")):
        return 0
    return None


def _event_01(
    cells: pd.Series,
    h: Header,
    *,
    censoring: bool,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, set[str]]:
    """The event as 0/1 (nullable) from numbers, words or the codes stated in the header, and
    the values read as 1 (lower-cased)."""
    missing = _missing_mask(cells, h.text, report)
    lowered = cells.str.strip().str.lower().where(~missing)
    values = numbers.read(lowered.fillna(""), h.text)
    lowered = lowered.where(values.isna(), values.map(lambda v: f"{v:g}"))
    stated = _stated_codes(h)
    lowered = _vital_status_letters(lowered, h, report)
    present = set(lowered.dropna())
    if not stated:
        _refuse_both_said(h, present)
    # a code the header does not state is not read as 0/1 would be: '1' under 'status (2=dead)'
    # is the other code, alive, not an event; with one meaning stated and one other code, the
    # other code means the other outcome
    unstated = {v for v in present - set(stated) if _NUMBER_TEXT.fullmatch(v)} if stated else set()
    complement = {}
    if len(unstated) == 1 and len(set(stated.values())) == 1:
        complement = {unstated.pop(): 1 - next(iter(stated.values()))}
    mapping: dict[str, int] = {}
    adam = _adam_censoring(h, present, stated)
    ispy = not stated and _ispy_vital_status(h, present)
    if adam:  # CDISC ADaM: 0 the event, 1, 2... why censored
        mapping = {value: int(value == "0") for value in present}
    elif ispy:
        mapping = {value: int(value == "8") for value in present}
    death_column = _endpoint(h) == "death" and not censoring
    for value in present - set(mapping):
        if value in stated or value in complement:
            mapping[value] = {**stated, **complement}[value]
        elif value not in unstated and (word := _event_word(value)) is not None:
            mapping[value] = 1 - word if censoring and value in _CENSOR_CODES else word
        elif death_column and any(death in value for death in DEATH_WORDS):
            mapping[value] = 1  # 'Death from other causes' in a vital status: a death
    if present == {"1", "2"} and not stated:  # all 1 is every patient's event, not R's coding
        raise ClinicalValueError(
            f"The event column {h.text!r} holds 1 and 2: state which one means death in its "
            f"header, e.g. '{h.label} (1=alive, 2=dead)', or recode it as 0/1."
        )
    unknown = sorted(present - set(mapping))
    _refuse_other_outcomes(h, unknown, stated)
    if unknown and len(unknown) == len(present):
        raise ClinicalValueError(
            f"The event column {h.text!r} holds {_show(unknown)}, "
            + (
                f"none of the codes its header states ({h.codes})."
                if stated
                else "not an event indicator (0/1, yes/no, dead/alive)."
            )
        )
    if unknown:
        count = int(lowered.isin(unknown).sum())
        report.append(
            Coercion(h.text, f"unreadable events {_show(unknown)} read as missing", count)
        )
    event = lowered.map(mapping).astype("Int64")
    spelled = {}
    for raw, low in zip(cells, lowered, strict=True):
        if isinstance(low, str) and low in mapping:
            spelled.setdefault(raw.strip(), mapping[low])
    if stated:
        censored = "; its yes is censored: event = its no" if _censored_yes_no(h) else ""
        how = f"event from the codes stated in the header ({h.codes}){censored}" + "".join(
            f"; {code!r}, the other code, read as {'dead' if meaning else 'alive'}"
            for code, meaning in complement.items()
        )
    elif adam:
        how = "event = CNSR 0 (CDISC ADaM: 0 the event, each other code a reason of censoring)"
    elif ispy:
        how = "event = 8 (I-SPY's vital status codes: 8 dead; 7 alive and 9 lost, censored)"
    elif censoring and set(mapping) & _CENSOR_CODES and _says_no_event(h):
        how = (
            f"event = 1 - {h.text!r}: its header says its 1 or yes means alive or censored; if "
            "its 1 means death, rename the column (e.g. 'dead')"
        )
    elif censoring and set(mapping) & _CENSOR_CODES:
        how = (
            "event = 1 - censoring indicator (a censor column's 1 means censored); if its 1 "
            f"means death, give it as the event column: {_give('event_column', h.text)}"
        )
    elif set(spelled) <= {"0", "1"}:
        how = "event 0/1"
    else:
        how = "event from " + ", ".join(f"{k!r} -> {v}" for k, v in sorted(spelled.items()))
    report.append(Coercion(h.text, how, int(event.notna().sum())))
    return event, {value for value, read in mapping.items() if read == 1}


def _vital_status_letters(lowered: pd.Series, h: Header, report: list[Coercion]) -> pd.Series:
    """An event column's cells (lower-cased) with a lone 'd' read as dead and 'a' as alive where
    they stand among oncology's vital status codes (NED, AWD, DOD) or the header lists them
    ('Status (NED, AWD, D)'): Soft-tissue-Sarcoma's 16 deaths 'D' were read as missing, its
    cohort left without an event. Elsewhere a lone letter is not guessed."""
    present = set(lowered.dropna())
    letters = present & set(VITAL_STATUS_LETTERS)
    listed = set(re.split(r"[\W_]+", f"{h.unit} {h.codes}".lower()))
    if not letters or not present - letters <= VITAL_STATUS_CODES:
        return lowered
    if not (present - letters or letters <= listed):
        return lowered
    said = ", ".join(f"{k.upper()!r} as {VITAL_STATUS_LETTERS[k]}" for k in sorted(letters))
    report.append(
        Coercion(
            h.text,
            f"{said}: a vital status's letter beside its codes "
            f"({_show(sorted(v.upper() for v in present - letters) or sorted(listed & letters))})",
            int(lowered.isin(letters).sum()),
        )
    )
    return lowered.replace(VITAL_STATUS_LETTERS)


def _deaths_counted(h: Header, events: set[str]) -> bool | None:
    """Whether an event column's ``events`` (its cells read as 1, lower-cased) count a death: its
    header states a death's code ('2=dead', '1=recurrence or death') or a cell names one ('Dead',
    '1:DECEASED'). False where each names a recurrence or progression alone ('Recurrence', a code
    '1=recurrence'), or the cells say nothing (1, yes) and the header names one alone
    ('recurrence', 'Relapse'); None where nothing says (a PFS's 0/1): an RFS whose 'Dead' cells
    were events was said to count recurrences alone."""
    meanings = code_meanings(h.codes)
    said = [meanings.get(value, value) for value in events]
    if h.death_codes or any(map(names_a_death, said)):
        return True
    disease = [bool(set(re.split(r"[\W_]+", text)) & _DISEASE_EVENT_WORDS) for text in said]
    if said and all(disease):
        return False
    if set(h.words) & _DEATH_HEADER_WORDS:
        return True
    return False if set(h.words) & _DISEASE_EVENT_WORDS else None


def _names_deaths_only(h: Header, events: set[str]) -> bool:
    """Whether every value of an event column read as 1 names a death, in its cells or the codes
    its header states ('Dead', '1:DECEASED', '1=dead'): a vital status (RADCURE's 'Status', NSCLC
    Radiogenomics' 'Survival Status'), an overall survival's event whatever its header says."""
    meanings = code_meanings(h.codes)
    return bool(events) and all(names_a_death(meanings.get(v, v)) for v in events)


def _adam_censoring(h: Header, present: set[str], stated: dict[str, int]) -> bool:
    """Whether an event column is CDISC ADaM's CNSR of several codes: 0 for the event, a whole
    number 1, 2... for each reason of censoring (its 2 was refused as another outcome, the
    example header given reversing its meaning)."""
    return (
        "cnsr" in h.words and not stated and len(present) > 2 and all(v.isdigit() for v in present)
    )


#: I-SPY's vital status codes: 7 alive, 8 dead, 9 lost to follow-up.
_ISPY_STATUS_CODES = frozenset({"7", "8", "9"})


def _ispy_vital_status(h: Header, present: set[str]) -> bool:
    """Whether an event column is I-SPY1's vital status ('sstat': 7 alive, 8 dead, 9 lost),
    its codes exactly among those under a status header: it was refused as no event
    indicator."""
    status = "status" in h.words or h.tokens[0].endswith("stat")
    return status and "8" in present and present <= _ISPY_STATUS_CODES


def _says_no_event(h: Header) -> bool:
    """Whether an event column's header says its 1 / yes is no event (:data:`NO_EVENT_WORDS`):
    given as the event column, 'alive' read as-is counted 387 deaths among GBSG2's 299. A header
    naming a death too ('death (1) / alive (0)', 'Dead/Alive') says both, and is read as written;
    one naming a recurrence or progression too ('censored_or_progressed') is refused unless it
    states its codes (:func:`_refuse_both_said`)."""
    words = set(h.words)
    return bool(words & NO_EVENT_WORDS) and not words & (_DEATH_HEADER_WORDS | _DISEASE_EVENT_WORDS)


def _refuse_both_said(h: Header, present: set[str]) -> None:
    """Refuse an event column of codes (0/1, yes/no) whose header names no event and a
    recurrence or progression alike ('censored_or_progressed') without stating which code is
    which: read either way by guess, half the cohort's events could be its censored patients."""
    words = set(h.words)
    if not (words & NO_EVENT_WORDS and words & _DISEASE_EVENT_WORDS and present <= _CENSOR_CODES):
        return
    said = sorted(words & (NO_EVENT_WORDS | _DISEASE_EVENT_WORDS))
    raise ClinicalValueError(
        f"The event column {h.text!r} names both {' and '.join(map(repr, said))}: which of its "
        f"codes {_show(sorted(present))} is the event is not guessed. State it in the header, "
        f"e.g. '{h.label} (0=censored, 1=progressed)' or 'Censored_0_progressed_1', or recode "
        "the column as 0/1 with 1 the event."
    )


def _refuse_other_outcomes(h: Header, unknown: list[str], stated: dict[str, int]) -> None:
    """Refuse an event column whose unread values are other outcomes, not unknown ones: a code 2
    or more not stated in the header (R's 1/2 beside a 9, a competing event's 2 beside 0/1) or
    words of a death ('Death without recurrence'); read as missing, they left the analysis, and
    R's 1 (alive) was read as the event."""
    codes = [v for v in unknown if v in {"2", "3", "4", "5"}] if not stated else []
    deaths = [v for v in unknown if any(word in v for word in DEATH_WORDS)]
    if not codes and not deaths:
        return
    raise ClinicalValueError(
        f"The event column {h.text!r} holds {_show(codes + deaths)} beside its event and "
        "censoring values: another outcome (R's 1=alive, 2=dead; a competing event, such as a "
        "death without recurrence), which is not guessed. State each code in the header, e.g. "
        f"'{h.label} (0=censored, 1=recurrence, 2=dead)' (both events then count, as in "
        "recurrence-free survival), or recode the column as 0/1 for the endpoint you study."
    )


def _to_boolean(present: pd.Series) -> pd.Series | None:
    lowered = present.str.lower()
    if not lowered.isin(_BOOL_YES | _BOOL_NO).all():
        return None
    return lowered.isin(_BOOL_YES)


def _shouting(text: str) -> int:
    """How a spelling ranks among equally common variants: Mixed or T2 (0), UPPER (1), lower (2)."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) > 1 and text.isupper():
        return 1
    return 2 if text.islower() else 0


def _merge_spellings(present: pd.Series, column: str, report: list[Coercion]) -> pd.Series:
    """Categories with spaces collapsed and case variants merged into the commonest spelling."""
    spaced = present.map(lambda s: " ".join(s.split()))
    trimmed = int((spaced != present).sum())
    if trimmed:
        report.append(Coercion(column, "extra spaces removed from categories", trimmed))
    counts = Counter(spaced)
    canonical: dict[str, str] = {}
    for spelling in sorted(counts, key=lambda s: (-counts[s], _shouting(s), s)):
        canonical.setdefault(spelling.casefold(), spelling)
    merged = spaced.map(lambda s: canonical[s.casefold()])
    for key, target in canonical.items():
        variants = sorted(s for s in counts if s.casefold() == key and s != target)
        if variants:
            n = sum(counts[s] for s in variants)
            report.append(Coercion(column, f"merged {_show(variants)} into {target!r}", n))
    return merged


def _sentinels(values: pd.Series, column: str, report: list[Coercion]) -> pd.Series:
    """-999-style codes read as missing when they lie clearly outside the other values
    (:func:`~survival_core.io.clinical.no_value_numbers`), in a variable or the survival time."""
    codes = no_value_numbers(values.to_numpy(float, na_value=float("nan")))
    for code in codes:
        report.append(
            Coercion(
                column, f"read {code:g} as missing (a no-value code)", int((values == code).sum())
            )
        )
    return values.where(~values.isin(codes)) if codes else values


def _value_units(present: pd.Series) -> pd.DataFrame:
    """Each value's number and unit ('12 mm': '12' and 'mm'), both NaN without a unit (a bare
    number, or a substage's letter: '2a')."""
    parts = present.str.extract(f"^{_NUMBER_WITH_UNIT.pattern}$")
    unit = parts[1].where((parts[1].str.len() > 1) | parts[1].isin(_LETTER_UNITS))
    return pd.DataFrame({"number": parts[0].where(unit.notna()), "unit": unit})


def _without_units(
    present: pd.Series, column: str, report: list[Coercion]
) -> tuple[pd.Series, str, pd.Series] | None:
    """The values without the unit written in them, that unit and each value's factor to it:
    one unit ('65 y', '60 Gy'), or lengths all in mm or cm (read in mm); None for other mixes."""
    parts = _value_units(present)
    units, with_unit = sorted(set(parts["unit"].dropna())), parts["unit"].notna()
    stripped, same = present.where(~with_unit, parts["number"]), pd.Series(1.0, present.index)
    if not units:
        return present, "", same
    if len(units) == 1:
        report.append(
            Coercion(column, f"unit {units[0]!r} removed from the values", int(with_unit.sum()))
        )
        return stripped, units[0], same
    if set(units) <= _MILLIMETRES.keys() and with_unit.all():
        action = f"lengths in {' and '.join(units)} read in mm (cm x 10)"
        report.append(Coercion(column, action, len(present)))
        return stripped, "mm", parts["unit"].map(_MILLIMETRES)
    return None


def unit_factor(unit: str, to: str) -> float | None:
    """What a value in ``unit`` is multiplied by to read in ``to``, where the reader converts
    between them exactly: 1 for one unit written otherwise ('ug/L', 'ng/mL'), 10 from cm to mm
    (:data:`_MILLIMETRES`, as a column of lengths in both is read); None for any other pair
    (g/L and g/dL, years and months)."""
    if same_unit(unit, to):
        return 1.0
    if {unit.lower(), to.lower()} <= _MILLIMETRES.keys():
        return _MILLIMETRES[unit.lower()] / _MILLIMETRES[to.lower()]
    return None


def _numeric_column(
    present: pd.Series, column: str, numbers: NumberMarks, report: list[Coercion]
) -> tuple[pd.Series, str] | None:
    """Numbers (Int64 when every value is written whole, else float) and a unit stripped from
    the values; None when the column is not numeric."""
    unitless = _without_units(present, column, report)
    if unitless is None:
        return None
    present, unit, scale = unitless
    bounds = present.str.fullmatch(_BOUND.pattern)
    if bounds.any():  # a lab's '<0.5', '>1000': the bound, said (they made the column text)
        present = present.where(~bounds, present.str.replace(r"^\s*[<>]=?\s*", "", regex=True))
        report.append(
            Coercion(
                column, "values written as bounds ('<0.5', '>1000') read as the bound",
                int(bounds.sum()),
            )
        )  # fmt: skip
    parsed = numbers.readable(present, column)
    if not parsed.any() or parsed.mean() < _NUMERIC_SHARE:
        return None
    if present[~parsed].str.contains(r"\d").any():
        return None
    values = numbers.read(present, column)  # a numeric column's undecided '1.814' is refused
    values = values.where(scale == 1, (values * scale).round(9))  # 1.1 cm: 11 mm, not 11.000...02
    if not parsed.all():
        report.append(
            Coercion(
                column,
                f"texts {_show(sorted(set(present[~parsed])))} in a numeric column read as missing",
                int((~parsed).sum()),
            )
        )
    report.extend(Coercion(column, action, n) for action, n in numbers.said(present, column))
    values = _sentinels(values, column, report)
    written_whole = not as_ascii(present[parsed]).str.contains(r"[.,eE]").any()
    if written_whole:
        return values.astype("Int64"), unit
    return values.astype(float), unit


#: REDCap's form status codes and labels: 0 Incomplete, 1 Unverified, 2 Complete.
_REDCAP_STATUS = frozenset({"0", "1", "2", "incomplete", "unverified", "complete"})


def _status_codes(present: pd.Series) -> set[str]:
    """A column's values as REDCap's form-status codes would be compared (lower case, '2.0' 2)."""
    return set(present.str.lower().str.replace(r"\.0+$", "", regex=True))


def _redcap_export(cells: pd.DataFrame, headers: Mapping[str, Header]) -> bool:
    """Whether the table is a REDCap export: a 'redcap_*' field or 'record_id', or two or more
    '<form>_complete' columns of form-status codes (one per form)."""
    names = [headers[text].name for text in cells.columns]
    statuses = 0
    for text, name in zip(cells.columns, names, strict=True):
        written = cells[text].str.strip()
        present = written[~written.str.lower().isin(MISSING_TOKENS)]
        statuses += name.endswith("_complete") and _status_codes(present) <= _REDCAP_STATUS
    return statuses >= 2 or any(n.startswith("redcap_") or n == "record_id" for n in names)


def _redcap_field(h: Header, present: pd.Series, redcap_export: bool) -> str:
    """What REDCap's own column is ("" for a clinical one): its fields named 'redcap_*' (the
    data access group, the event), and, in a REDCap export (:func:`_redcap_export`) or holding
    its 'Unverified', each form's status ('<form>_complete' holding its codes, a 2 or a label
    among them): how far data entry went, which a form filled only for the patients seen at a
    visit ties to survival (WHAS500's c-index 0.76 -> 0.88). A yes/no 'resection_complete', and
    one of Complete/Incomplete or 0/1/2 in another table, stay variables."""
    if h.name.startswith("redcap_"):
        return "REDCap's own field (data access group, event, repeat instance)"
    codes = _status_codes(present)
    status = codes <= _REDCAP_STATUS and bool(codes - {"0", "1"})
    if h.name.endswith("_complete") and status and (redcap_export or "unverified" in codes):
        return "REDCap's form status (0 Incomplete, 1 Unverified, 2 Complete)"
    return ""


def _date_column(
    present: pd.Series, h: Header, order: str | None, numbers: NumberMarks
) -> tuple[pd.Series, str] | None:
    """A column's present texts as dates and how they were read: ISO, d/m/y or m/d/y text (in
    the file's ``order``), or Excel's serial day numbers under a header naming a date
    (:func:`~survival_core.io.dates.may_name_a_date`: 'DiagnosisDate', 'dxdate', CDISC's
    'RANDDT'; kept as numbers, they leaked the outcome: a c-index of 0.98 instead of 0.66)."""
    parsed = parse_dates(present, order)
    if parsed is not None or not may_name_a_date(h.words):
        return parsed
    if not numbers.readable(present, h.text).all():
        return None
    serials = excel_serial_dates(numbers.read(present, h.text))  # all read: readable, above
    if serials is None:
        return None
    return serials, "Excel serial day numbers, days since 1899-12-30"


def _present(cells: pd.Series) -> pd.Series:
    """A column's texts that are not missing (:data:`MISSING_TOKENS`)."""
    return cells[~cells.str.strip().str.lower().isin(MISSING_TOKENS)]


#: A TNM stage's value ('M1', 'N2', 'T3a', 'cM0', 'pN1', 'Nx'): a baseline stage, never an
#: event flag.
_STAGE_VALUE = re.compile(r"(?i)\s*[cpy]?[tnm][0-4x][a-d]?\s*")


def _holds_stages(cells: pd.Series) -> bool:
    """Whether a column's present values are all TNM stages ('M0'/'M1' of a 'metastasis_status'
    beside a time to metastasis): the stage at diagnosis, not whether the endpoint occurred."""
    present = _present(cells)
    return not present.empty and bool(present.str.fullmatch(_STAGE_VALUE).all())


def _holds_dates(cells: pd.Series, h: Header, numbers: NumberMarks) -> bool:
    """Whether a column's present values are dates (:func:`_date_column`)."""
    present = _present(cells)
    return not present.empty and _date_column(present, h, None, numbers) is not None


def _refuse_end_as_start(path: Path, h: Header) -> None:
    """InputError for a date of death, follow-up, recurrence or birth given as the time column:
    taken as the start, an end date gave every patient 0 days and a birth date their lifetime."""
    ends = _DEATH_DATE_WORDS | _FOLLOW_UP_DATE_WORDS | _DISEASE_DATE_WORDS | _BIRTH_WORDS
    if ends & date_stems(h.words):
        raise InputError(
            f"{path.name}: {h.text!r}, given as the time column, is a date the survival time "
            "ends at (or a birth date): the time column takes the survival time, or the date it "
            "counts from (diagnosis, surgery, treatment start) when there are several."
        )


def _given_start(
    cells: pd.Series, h: Header, numbers: NumberMarks, order: str | None, report: list[Coercion]
) -> pd.Series:
    """The dates of the start date given as the time column, read in the file's day/month
    ``order`` as a date, never cleaned as a variable (a header of another script was refused, one
    with 'ID' in it dropped as an identifier and then missed)."""
    read, how = _date_column(_present(cells), h, order, numbers)  # dates: _holds_dates
    report.append(Coercion(h.text, f"dates ({how}) kept aside", int(read.notna().sum())))
    return read.reindex(cells.index)


#: The most levels, and the longest, of an attribute's codes under its '<attribute>_id'
#: (:func:`_codes_a_category`): I-SPY1's race codes are 6, '1' to '50'.
_CODE_LEVELS, _CODE_LENGTH = 20, 3


def _codes_a_category(cells: pd.Series, h: Header) -> bool:
    """Whether a column named as an attribute's code ('race_id', :func:`names_a_category_code`)
    holds few short codes, a category's; many or long ones are identifiers (a patient's)."""
    present = _present(cells).str.strip()
    return (
        names_a_category_code(h.name)
        and present.nunique() <= _CODE_LEVELS
        and bool(present.str.len().le(_CODE_LENGTH).all())
    )


def _clean_variable(
    cells: pd.Series,
    h: Header,
    numbers: NumberMarks,
    report: list[Coercion],
    *,
    order: str | None = None,
    outcome: bool = False,
    redcap_export: bool = False,
) -> tuple[str, pd.Series | None, str]:
    """One column cleaned: ("variable" | "date" | "age" | "dropped", values, unit). Dates are
    kept aside (in the file's day/month ``order``); a birth date in days before diagnosis is the
    age (:func:`_birth_days`); an ``outcome`` column, or one named as a date whose values are not
    dates, is dropped: a model must not learn the outcome back from it; so is REDCap's own field
    (of a ``redcap_export``, :func:`_redcap_field`)."""
    column = h.text
    tokens = set(h.tokens)
    numbered = tokens & _NUMBER_WORDS and tokens & _IDENTIFYING_NUMBERS and "of" not in tokens
    identifying = tokens & _IDENTIFIER_PARTS or h.name.endswith("_id") or numbered
    # 'institution_id' is the centre's code, I-SPY1's 'race_id' a race's
    if identifying and not names_a_centre(column) and not _codes_a_category(cells, h):
        report.append(
            Coercion(column, "dropped: an identifier or free text (by its name)", len(cells))
        )
        return "dropped", None, ""
    missing = _missing_mask(cells, column, [] if outcome else report, None if outcome else numbers)
    as_written = cells[~missing]
    present = as_written.str.strip()
    redcap = _redcap_field(h, present, redcap_export)
    if redcap:
        report.append(Coercion(column, f"dropped: {redcap}, not a clinical variable", len(cells)))
        return "dropped", None, ""
    parsed_dates = None if present.empty else _date_column(present, h, order, numbers)
    if outcome and parsed_dates is None:
        report.append(Coercion(column, _OUTCOME_DROPPED, len(cells)))
        return "dropped", None, ""
    if present.empty:
        report.append(Coercion(column, NO_VALUES_DROPPED, len(cells)))
        return "dropped", None, ""
    if parsed_dates is None and names_a_date(h.words):
        born = _birth_days(present, h, numbers)
        if born is not None and _stated_unit(h) == "days":
            ages = (-born / TIME_UNITS["years"]).round(1)
            action = (
                "read as the age (years) at the date its days count from (diagnosis): "
                "-days / 365.25"
            )
            report.append(Coercion(column, action, len(present)))
            return "age", ages.reindex(cells.index), "years"
        offsets = (
            ": its values are negative whole numbers, as days before diagnosis are; to read "
            "them as the age, state their unit in the header ('" + h.label + " (days)')"
            if born is not None
            else ""
        )
        report.append(
            Coercion(
                column,
                "dropped: named as a date, but its values are not dates of one format (ISO, "
                "day/month/year, month/day/year or Excel day numbers)" + offsets,
                len(present),
            )
        )
        return "dropped", None, ""
    if parsed_dates is not None:
        values, order = parsed_dates
        failed = values.isna()
        if failed.any():
            report.append(
                Coercion(
                    column,
                    f"unreadable dates {_show(present[failed])} read as missing",
                    int(failed.sum()),
                )
            )
        report.append(
            Coercion(
                column, f"dates ({order}) kept aside, not a model variable", int((~failed).sum())
            )
        )
        return "date", values.reindex(cells.index), ""
    numeric = _numeric_column(present, column, numbers, report)
    if numeric is not None:
        values, unit = numeric
        present_values = values.dropna()
        if len(present_values) and present_values.isin([0, 1]).all():
            if names_a_scale(h.name):
                action = "0/1 kept as numbers: the header names a scale or a count"
            else:
                action = "0/1 read as no/yes"
                values = values.astype("boolean")
            report.append(Coercion(column, action, len(present_values)))
        return "variable", values.reindex(cells.index), unit or h.unit
    boolean = _to_boolean(present)
    if boolean is not None:
        spellings = ", ".join(
            f"{s!r} -> {'yes' if s.lower() in _BOOL_YES else 'no'}" for s in sorted(set(present))
        )
        report.append(Coercion(column, f"read as yes/no: {spellings}", len(present)))
        return "variable", boolean.astype("boolean").reindex(cells.index), h.unit
    merged = _merge_spellings(as_written, column, report)
    distinct = merged.nunique()
    if distinct > 10 and distinct > 0.5 * len(merged):
        units = sorted(set(_value_units(present)["unit"].dropna()))
        why = (
            f"values in several units ({_show(units)}): convert them to one"
            if len(units) > 1
            else f"{distinct} different texts in {len(merged)} rows (an identifier or free "
            "text, not a category)"
        )
        report.append(Coercion(column, f"dropped: {why}", len(merged)))
        return "dropped", None, ""
    return "variable", merged.reindex(cells.index).astype(object), h.unit


def _birth_days(present: pd.Series, h: Header, numbers: NumberMarks) -> pd.Series | None:
    """A birth 'date' written as the days before the date the table counts from
    (Duke-Breast-Cancer-MRI's 'Date of Birth (Days)', days relative to diagnosis: -18262 for a
    patient aged 50), where the header names a birth and every value is a whole number below 0
    and within :data:`_OLDEST` years; else None."""
    if not _BIRTH_WORDS & date_stems(h.words) or not numbers.readable(present, h.text).all():
        return None
    days = numbers.read(present, h.text)
    oldest = -_OLDEST * TIME_UNITS["years"]
    return days if bool(((days < 0) & (days > oldest) & (days % 1 == 0)).all()) else None


def _first_age(
    born_ages: dict[str, pd.Series], given: bool, report: list[Coercion]
) -> pd.Series | None:
    """The ages of the first birth date in days (:func:`_birth_days`) where no age column is
    ``given``; the others said dropped. None when there is none."""
    first = None if given else next(iter(born_ages), None)
    for text in born_ages:
        if text != first:
            why = "an age column is given" if given else f"the age is read from {first!r}"
            report.append(Coercion(text, f"dropped: {why}", int(born_ages[text].notna().sum())))
    return None if first is None else born_ages[first]


def _birth_and_reference(dates: pd.DataFrame, headers: dict[str, Header]) -> tuple[str, str] | None:
    """The one birth date column and the one diagnosis/treatment date an age is counted to."""
    birth = _birth_dates(dates, headers)
    reference = _one_date(dates, headers, _AGE_DATE_WORDS, birth)
    return (next(iter(birth)), reference) if len(birth) == 1 and reference else None


def _two_digit_births(
    dates: pd.DataFrame, cells: pd.DataFrame, headers: dict[str, Header], report: list[Coercion]
) -> None:
    """Birth dates written with a two-digit year ('10/06/22') put, in ``dates``, in the century
    before the diagnosis/treatment date: read by today's century, a patient born in 1922 and
    diagnosed in 2002 was born in 2022, aged -20."""
    pair = _birth_and_reference(dates, headers)
    if pair is None:
        return
    born, reference = pair
    dates[born], moved = births_before(dates[born], cells[born], dates[reference])
    if moved.any():
        example = cells[born][moved].iloc[0].strip()
        action = (
            f"two-digit birth years after {reference!r} read a century earlier ({example!r} as "
            f"{dates[born][moved].iloc[0]:%Y-%m-%d})"
        )
        report.append(Coercion(born, action, int(moved.sum())))


def _age_from_dates(
    dates: pd.DataFrame, headers: dict[str, Header], report: list[Coercion]
) -> pd.Series | None:
    """Age (years) at the one diagnosis/treatment date when a birth date is given too; an age
    below 0 or above :data:`_OLDEST` (a date wrong) is left missing, reported."""
    pair = _birth_and_reference(dates, headers)
    if pair is None:
        return None
    born, reference = pair
    age = ((dates[reference] - dates[born]).dt.days / TIME_UNITS["years"]).round(1)
    report.append(
        Coercion(
            "age",
            f"age (years) computed from {born!r} and {reference!r}",
            int(age.notna().sum()),
        )
    )
    impossible = (age < 0) | (age > _OLDEST)
    if impossible.any():
        action = (
            f"ages below 0 or above {_OLDEST} years ({_show(sorted(age[impossible]))}) read as "
            f"missing: check {born!r} and {reference!r}"
        )
        report.append(Coercion("age", action, int(impossible.sum())))
    return age.mask(impossible)


#: The oldest age (years) a birth date may give; an older one is a wrong date.
_OLDEST = 130
#: Header words of the date an age is computed at (with a birth date).
_AGE_DATE_WORDS = {"diagnosis", "diag", "dx", "treatment", "rt", "start", "surgery", "baseline"}
#: Header words of the date a survival time starts from, of a death, and of the last follow-up.
_START_DATE_WORDS = _AGE_DATE_WORDS | {
    "radiotherapy", "enrollment", "enrolment", "randomization", "randomisation", "inclusion",
    "registration",
    # CDISC's randomisation and treatment start dates (RANDDT, TRTSDT)
    "rand", "trts",
    # German, French, Spanish, Italian, Dutch, Portuguese ('Datum Erstdiagnose', 'data do
    # diagnóstico')
    "erstdiagnose", "diagnosedatum", "diagnose", "diagnostic", "diagnostico", "diagnosi",
}  # fmt: skip
_DEATH_DATE_WORDS = {
    "death", "dod", "died", "deceased", "dth",
    "sterbedatum", "todesdatum", "deces", "defuncion", "decesso", "overlijden", "obito",
}  # fmt: skip
_FOLLOW_UP_DATE_WORDS = {
    "last", "lfu", "followup", "follow", "contact", "censoring", "censor", "lstalv",
    # 'letzter Kontakt', 'date des dernières nouvelles', 'última visita', 'ultimo contatto',
    # 'laatste contact', 'último contato'
    "letzter", "kontakt", "dernieres", "nouvelles", "ultima", "ultimo", "visita", "contatto",
    "laatste", "contato",
}  # fmt: skip


#: Header words of a birth date.
_BIRTH_WORDS = frozenset({"birth", "dob", "brth"})


def _birth_dates(dates: pd.DataFrame, headers: dict[str, Header]) -> set[str]:
    """The date columns whose header names a birth date."""
    return {c for c in dates if _BIRTH_WORDS & date_stems(headers[c].words)}


def _one_date(
    dates: pd.DataFrame, headers: dict[str, Header], words: set[str], taken: set[str | None]
) -> str | None:
    """The one date column (not in ``taken``) whose header holds one of ``words``."""
    found = _dates_named(dates, headers, words, taken)
    return found[0] if len(found) == 1 else None


def _dates_named(
    dates: pd.DataFrame, headers: dict[str, Header], words: set[str], taken: set[str | None]
) -> list[str]:
    """The date columns (not in ``taken``) whose header holds one of ``words``."""
    return [c for c in dates if c not in taken and words & date_stems(headers[c].words)]


def _why_no_time_from_dates(
    dates: pd.DataFrame, headers: dict[str, Header], report: list[Coercion]
) -> str:
    """Why the table's date columns gave no survival time ("" when it has none): not read as
    dates, several start dates, no start or no end."""
    unread = [c.column for c in report if c.action.startswith("dropped: named as a date")]
    if dates.empty and not unread:
        return ""
    why = []
    if unread:
        why.append(f"{_show(unread)} not read as dates (mixed or unknown formats)")
    birth = _birth_dates(dates, headers)
    roles = (
        ("start", _START_DATE_WORDS),
        ("death or last follow-up", _DEATH_DATE_WORDS | _FOLLOW_UP_DATE_WORDS),
    )
    for role, words in roles if not dates.empty else ():
        found = [c for c in dates if c not in birth and words & date_stems(headers[c].words)]
        if len(found) > 1 and role == "start":
            why.append(
                f"several start dates ({_show(found)}): give the one the time counts from as "
                f"the time column ({_give('time_column', found[0])})"
            )
        elif not found:
            why.append(f"no {role} date among the dates ({_show(list(dates)) or 'none'})")
    return " The date columns gave no time: " + "; ".join(why) + "." if why else ""


def _outcome_dates(
    dates: pd.DataFrame, headers: dict[str, Header]
) -> tuple[str | None, str | None, str | None]:
    """The date columns an outcome can come from: the one start (diagnosis, treatment...), death
    and last follow-up date, each None when not exactly one column says it."""
    birth = _birth_dates(dates, headers)
    start = _one_date(dates, headers, _START_DATE_WORDS, birth)
    death = _one_date(dates, headers, _DEATH_DATE_WORDS, birth | {start})
    last = _one_date(dates, headers, _FOLLOW_UP_DATE_WORDS, birth | {start, death})
    return start, death, last


def _days_between(
    dates: pd.DataFrame, start: str, ends: list[str], report: list[Coercion]
) -> pd.Series:
    """Days from ``start`` to the first of ``ends`` that holds a date (death, else the last
    follow-up); a negative time is left missing, reported."""
    return _days_to(
        dates[start],
        _first_dated(dates, ends),
        f"{start!r} to {' or '.join(map(repr, ends))}",
        report,
    )


def _first_dated(dates: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row, the date of the first of ``columns`` that holds one (death, else last follow-up)."""
    first = dates[columns[0]]
    for column in columns[1:]:
        first = first.combine_first(dates[column])
    return first


def _days_to(start: pd.Series, end: pd.Series, shown: str, report: list[Coercion]) -> pd.Series:
    """Days from the ``start`` dates to the ``end`` dates (``shown`` says which columns); a
    negative time is left missing, reported."""
    # days between the dates, not whole 24 hours between their clock times (a workbook's
    # datetime cells: 08:00 to 07:00 a year later is 365 days, not 364)
    days = (end.dt.normalize() - start.dt.normalize()).dt.days.astype("Float64")
    negative = days < 0
    if negative.any():
        report.append(
            Coercion("(from dates)", "end before start: time read as missing", int(negative.sum()))
        )
        days = days.mask(negative)
    report.append(
        Coercion("(from dates)", f"survival time (days) from {shown}", int(days.notna().sum()))
    )
    return days


def _days_to_disease_event(
    dates: pd.DataFrame,
    start: str,
    disease: str,
    ends: tuple[str | None, str | None],
    event: tuple[pd.Series, pd.Series, Header] | None,
    ids: pd.Series,
    report: list[Coercion],
) -> tuple[pd.Series, pd.Series]:
    """Time and event of a recurrence or progression from dates: ``start`` to the ``disease``
    date for the events, else to the death date or, alive, the last follow-up (``ends``), when
    the patient was last known free of it. The event is the event column's (``event``: its 0/1,
    cells and header), else whether ``disease`` holds a date. A death is an event where the column's
    header states its code ('0=censored, 1=recurrence, 2=dead': recurrence-free survival, the
    time the death's); otherwise a death is censored (time to recurrence), said in the report. An
    event without its date, or a date beside 'no event', leaves that outcome missing, named."""
    death, last = ends
    happened = dates[disease]
    ended = [c for c in ends if c is not None]
    free_until = _first_dated(dates, ended)
    died = pd.Series(False, index=dates.index)
    if event is None:
        events = happened.notna().astype("Int64")
        report.append(Coercion("(from dates)", f"event: a date in {disease!r}", int(events.sum())))
    else:
        events, cells, h = event
        codes = h.death_codes
        if death is not None and codes:
            coded = cells.str.strip().str.lower().str.replace(r"\.0+$", "", regex=True)
            died = coded.isin(codes) & dates[death].notna()
        is_event = (events == 1).fillna(False).astype(bool)
        undated = is_event & happened.isna() & ~died
        contradicted = (events == 0).fillna(False).astype(bool) & (
            happened.notna() | (dates[death].notna() if codes and death is not None else False)
        )  # a recurrence's date, or where a death is an event (its code stated), a death's
        for rows, what in (
            (undated, f"an event by {h.text!r} without a date in {disease!r}: outcome left "),
            (contradicted, f"no event by {h.text!r} but a date of the event: outcome left "),
        ):
            _name_rows(rows, ids, h.text, what + "missing for {} (correct one of the two)", report)
        events = events.mask(undated | contradicted)
    if death is not None:  # a recurrence after death: one of the two dates is wrong
        after = (happened > dates[death]).fillna(False).astype(bool)
        _name_rows(
            after, ids, disease, f"a date in {disease!r} after the date in {death!r}: outcome "
            "left missing for {} (correct one of the two)", report,
        )  # fmt: skip
        events = events.mask(after)
    is_event = (events == 1).fillna(False).astype(bool)
    end = free_until.where(~is_event, happened).where(events.notna())
    if death is not None:
        end = end.where(~(died & happened.isna()), dates[death])
        if not died.any():
            deaths = int((~is_event & dates[death].notna()).sum())
            report.append(
                Coercion(
                    "(from dates)",
                    f"a death with no date in {disease!r} censored at {death!r} (time to the "
                    "disease's event); for recurrence- or progression-free survival, where a "
                    "death counts too, state the event column's codes in its header, e.g. "
                    "'status (0=censored, 1=recurrence, 2=dead)'",
                    deaths,
                )
            )
    shown = f"{start!r} to {disease!r} for the events, else to {' or '.join(map(repr, ended))}"
    days = _days_to(dates[start], end, shown, report)
    return days, events.where(days.notna())


#: A column of days to an event, and the event ('local_recurrence' of Duke-Breast-Cancer-MRI's
#: 'Days to local recurrence', 'death' of TCGA BCR's 'death_days_to'); never to the last one.
_DAYS_TO = re.compile(r"days_to_(?!last_)(?P<to>\w+)|(?!last_)(?P<of>\w+)_days_to")


def _censoring_days(headers: dict[str, Header], to_event: str) -> str | None:
    """The column of a censored patient's days beside ``to_event``, a column of days to an event
    blank for the others (:data:`_DAYS_TO`): days to the last assessment free of that event
    (Duke-Breast-Cancer-MRI's 'Days to last local recurrence free assessment'), else to the last
    follow-up or contact (TCGA / GDC: :data:`FOLLOW_UP_DAYS_NAMES`); None when there is none."""
    written = _DAYS_TO.fullmatch(headers[to_event].name)
    if written is None:
        return None
    event = written["to"] or written["of"]
    free = (f"days_to_last_{event}_free_assessment", f"days_to_last_{event}_free")
    return _first_by_name(headers, (*free, *FOLLOW_UP_DAYS_NAMES), base=False)


def _split_days(headers: dict[str, Header]) -> str | None:
    """The one column of days to an event beside days to the last assessment free of it
    (:func:`_censoring_days`; Duke-Breast-Cancer-MRI's local recurrence), for a table without a
    survival time column; None when not exactly one (TCGA's days to death are read apart)."""
    own = [
        text
        for text in headers
        if (other := _censoring_days(headers, text)) is not None
        and headers[other].name.endswith(("_free", "_free_assessment"))
    ]
    return own[0] if len(own) == 1 else None


def _days_to_death_or_follow_up(
    cells: pd.DataFrame,
    headers: dict[str, Header],
    death: str,
    follow_up: str,
    event: pd.Series | None,
    time_unit: str | None,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, pd.Series]:
    """Time and event of a TCGA / GDC export without a time column: days to death for the dead,
    days to the last follow-up for the others (:func:`_days_to_event_or_censoring`)."""
    to_death, _ = _time_days(cells[death], headers[death], time_unit, report, numbers)
    return _days_to_event_or_censoring(
        cells, headers, (death, to_death), follow_up, event, time_unit, report, numbers
    )


def _days_to_event_or_censoring(
    cells: pd.DataFrame,
    headers: dict[str, Header],
    to_event: tuple[str, pd.Series],
    to_censoring: str,
    event: pd.Series | None,
    time_unit: str | None,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, pd.Series]:
    """Time and event where a column of days to an event is blank for the censored patients,
    their days in ``to_censoring`` (:func:`_censoring_days`; TCGA / GDC's days to death or to
    the last follow-up): ``to_event`` (its header and days) for the events (the event column's,
    else the rows with days to the event), ``to_censoring`` for the others; an event without its
    days has no time."""
    text, to_it = to_event
    to_last, _ = _time_days(cells[to_censoring], headers[to_censoring], time_unit, report, numbers)
    if event is None:
        event = to_it.notna().astype("Int64")
        report.append(Coercion(text, f"event: a number in {text!r}", int(event.sum())))
    happened = (event == 1).fillna(False).astype(bool)
    days = to_it.where(happened, to_last)
    who = "the dead" if headers[text].name in DEATH_DAYS_NAMES else "the events"
    report.append(
        Coercion(
            f"({text} / {to_censoring})",
            f"time: {text} for {who}, else {to_censoring}",
            int(days.notna().sum()),
        )
    )
    return days, event


#: Header words of a follow-up, whose time column holds a censored patient's time.
_FOLLOW_UP_WORDS = frozenset({"follow", "followup", "fu", "lfu"})
#: Header words of an age or a calendar year, never a length of follow-up: 'Year of last
#: follow-up' (1970) and 'Age at last follow-up (years)' (70) gave the censored 719,542 and
#: 25,667 days.
_NOT_A_LENGTH = frozenset({"age", "year"})
#: How many times the longest time of the time column a censored patient's follow-up may be:
#: beyond it, the follow-up column holds no length of time (a year, an age, a date's number).
_FOLLOW_UP_REACH = 10


def _follow_up_time(headers: dict[str, Header], taken: set[str | None]) -> str | None:
    """The one column (not in ``taken``) of a length of follow-up ('Time – diagnosis to last
    follow-up(days)', 'Length FU'), not a date ('Last FU', 'Date of last follow-up'), an age or
    a year ('Year of last follow-up'); None when not exactly one."""
    found = [
        text
        for text, h in headers.items()
        if text not in taken
        and set(h.tokens) & _FOLLOW_UP_WORDS
        and (_stated_unit(h) or set(h.tokens) & {"time", "length", "duration"})
        and not set(h.words) & _NOT_A_LENGTH
        and not names_a_date(h.words)
    ]
    return found[0] if len(found) == 1 else None


#: Names of a length of follow-up without a unit word (OPC-Radiomics' 'Length FU').
_FOLLOW_UP_LENGTHS = frozenset(
    {"length_fu", "fu", "fu_length", "length_of_follow_up", "length_of_followup"}
)


def _follow_up_length(
    headers: dict[str, Header], cells: pd.DataFrame, numbers: NumberMarks
) -> str | None:
    """The one length-of-follow-up column ('Length FU', 'FU', 'Length of follow-up'), every
    patient's time, where no last-follow-up date gives the living theirs: OPC-Radiomics' time
    was taken from 'Diag' to 'Date of Death', which only the dead have (its 285 living patients'
    outcomes missing). Beside a date of the last follow-up ('Last FU') the dates give it."""
    found = [text for text, h in headers.items() if h.base in _FOLLOW_UP_LENGTHS]
    dated = any(
        _FOLLOW_UP_DATE_WORDS & date_stems(h.words) and _holds_dates(cells[text], h, numbers)
        for text, h in headers.items()
        if text not in found
    )
    return found[0] if len(found) == 1 and not dated else None


def _censored_from_follow_up(
    cells: pd.Series,
    h: Header,
    time: tuple[str, pd.Series, str],
    event: pd.Series,
    report: list[Coercion],
    numbers: NumberMarks,
) -> pd.Series:
    """The times (days) with a censored patient's blank one taken from the follow-up column
    ``cells``: Head-Neck-PET-CT leaves 'Time – diagnosis to LR(days)' blank for those without a
    recurrence, their censoring time in 'Time – diagnosis to last follow-up(days)' (211 of 298
    outcomes were lost)."""
    text, days, unit = time
    blank = days.isna() & event.eq(0).fillna(False)
    if not blank.any():
        return days
    follow_up, _ = _time_days(cells, h, None if _stated_unit(h) else unit, [], numbers)
    filled = blank & follow_up.notna()
    if not filled.any() or _beyond_reach(follow_up[filled], days, (text, h.text), report):
        return days
    report.append(
        Coercion(
            text,
            f"blank for censored patients: their censoring time taken from {h.text!r}, the last "
            "follow-up",
            int(filled.sum()),
        )
    )
    return days.where(~filled, follow_up)


def _beyond_reach(
    follow_up: pd.Series, days: pd.Series, texts: tuple[str, str], report: list[Coercion]
) -> bool:
    """Whether a censored patient's follow-up times (days) are each above
    :data:`_FOLLOW_UP_REACH` times the longest of the time column's ``days``: a year, an age or a
    date's number, no length of follow-up; said, their outcomes left missing."""
    longest = days.max()
    if pd.isna(longest) or follow_up.min() <= _FOLLOW_UP_REACH * longest:
        return False
    text, follow_text = texts
    report.append(
        Coercion(
            text,
            f"blank for censored patients: {follow_text!r} not taken as their censoring time: "
            f"its {follow_up.min():,.0f} to {follow_up.max():,.0f} days are each above "
            f"{_FOLLOW_UP_REACH} times the longest time in {text!r} ({longest:,.0f} days), no "
            "length of follow-up (a year, an age or a date?); their outcomes are left missing: "
            f"write the censored patients' times in {text!r}, in its unit",
            len(follow_up),
        )
    )
    return True


def _blank_if_censored(days: pd.Series, event: pd.Series) -> bool:
    """Whether a time column is blank exactly where the event is 0 (and some are): a time to
    death, kept for the dead only ('Time to Death (days)' of NSCLC Radiogenomics)."""
    censored = event.eq(0).fillna(False)
    return bool(censored.any()) and bool((days.isna() == censored).all())


def _set_aside_for_dates(
    path: Path,
    time_text: str,
    start: str | None,
    dates: pd.DataFrame,
    taken: set[str | None],
    report: list[Coercion],
) -> None:
    """Set aside a time column found by name that is blank for every censored patient (a time to
    death), for the dates, which give the living their follow-up too; refuse naming the dates
    that could be the start where none is recognised as one. Every kept patient had died: 162
    events among 211 patients, the 49 living left out."""
    if start is None:
        starts = [c for c in dates if c not in taken]
        raise InputError(
            f"{path.name}: the survival time {time_text!r} is blank for every censored patient, "
            "so every patient kept would have had the event; the dates could give the censored "
            "their follow-up, but no start date is recognised"
            + (f" among {_show(starts)}" if starts else "")
            + ". Give the date the time counts from as the time column ("
            + _give("time_column", starts[0] if starts else "")
            + "), or the time column of every patient's time."
        )
    report.append(
        Coercion(
            time_text,
            "not the time: blank for every censored patient; the time is from the dates",
            int(dates[start].notna().sum()),
        )
    )


def _death_event(
    dates: pd.DataFrame, death: str, timed: pd.Series, report: list[Coercion]
) -> pd.Series:
    """The event as whether ``death`` holds a date, for the ``timed`` rows (the others missing)."""
    event = dates[death].notna().astype("Int64").where(timed)
    report.append(
        Coercion("(from dates)", f"event: a date in {death!r}", int(event.fillna(0).sum()))
    )
    return event


def _no_censored(
    event: pd.Series, timed: pd.Series, event_text: str, death: str | None
) -> list[Coercion]:
    """A warning where every row of an outcome (``timed``) has the event and no row is censored,
    as ``fit`` warns (:func:`~survival_core.outcome.no_censored_said`): an event from a date of
    ``death`` is said to be one (lymph-node's 'deathdate', the living's last contact, made all
    686 patients dead), an event column named to be checked."""
    events = event[timed & event.notna()]
    if events.empty or not (events == 1).all() or (event == 0).any():
        return []
    if event_text == "(from dates)" and death is not None:
        check = (
            f"whether each date in {death!r} is a death: the event is whether it holds one, "
            f"and a last contact written there counts as one (give the event column: "
            f"{_give('event_column')})"
        )
    else:
        check = f"that {event_text!r} is the event's column ({_give('event_column')})"
    said = no_censored_said(len(events), "patients with an outcome", check)
    return [Coercion(event_text, f"{NO_CENSORED_START}{said}", len(events))]


def _death_column(h: Header | None) -> bool:
    """Whether an event column is known to be a death's ('vital_status', 'censdead'): a date of
    death beside its 'alive' is a contradiction; beside a recurrence's 0 ('censrec') or a bare
    'status' it says nothing (387 of GBSG's 686 patients without recurrence lost their outcome)."""
    return h is not None and _endpoint(h) == "death"


def _last_contact_dates(
    dates: pd.DataFrame,
    starts: list[str],
    death: str,
    outcome: tuple[pd.Series, pd.Series, str],
    columns: str,
    report: list[Coercion],
) -> pd.Series:
    """The rows alive by the event whose date in ``death`` is their follow-up's end: a start
    date plus their time (``outcome`` being the days, the event and the time column's unit),
    within two days or half that unit. ``starts`` are the start date, else the other dates
    (GBSG's 'diagdateb' names none). A last-contact date, as GBSG's lymph-node file writes
    'deathdate' for living patients (all 515 lost their outcome), said in the report."""
    days, event, unit = outcome
    within = max(2.0, TIME_UNITS[unit] / 2)
    alive = (event == 0).fillna(False).astype(bool)
    found, plus = pd.Series(False, index=days.index), []  # the starts that gave some
    died_on = dates[death].dt.normalize()
    for start in starts:
        to_date = (died_on - dates[start].dt.normalize()).dt.days
        rows = alive & (to_date - days).abs().le(within).fillna(False).astype(bool)
        found = found | rows
        plus += [repr(start)] if rows.any() else []
    if found.any():
        report.append(
            Coercion(
                columns,
                f"a date in {death!r} at the end of a living patient's follow-up "
                f"({' or '.join(plus)} plus the time): read as the last contact, not a death",
                int(found.sum()),
            )
        )
    return found


def _alive_with_a_death_date(
    death: pd.Series,
    event: pd.Series,
    days: pd.Series,
    ids: pd.Series,
    columns: str,
    report: list[Coercion],
    last_contact: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Time and event with the outcome left missing where the event column says alive beside a
    date of ``death``: which of the two is wrong is not guessed (censored at the death date, a
    dead patient would count as alive until then). The ``last_contact`` rows' date is their
    follow-up's end (:func:`_last_contact_dates`), no contradiction."""
    alive = (event == 0).fillna(False).astype(bool) & death.notna() & ~last_contact
    _name_rows(
        alive, ids, columns, "alive by the event column but with a date of death: outcome left "
        "missing for {} (correct one of the two)", report,
    )  # fmt: skip
    return days.mask(alive), event.mask(alive)


def _dead_without_a_death_date(
    death: pd.Series, event: pd.Series, ids: pd.Series, column: str, report: list[Coercion]
) -> None:
    """Say which patients dead by the event column have no date of ``death``: their time runs to
    the last follow-up, when they were last known alive, so their death may have come later."""
    dead = (event == 1).fillna(False).astype(bool) & death.isna()
    _name_rows(
        dead, ids, column, "dead by the event column without a date of death: time to the last "
        "follow-up used for {} (the death may have come later)", report,
    )  # fmt: skip


def _name_rows(
    rows: pd.Series, ids: pd.Series, column: str, action: str, report: list[Coercion]
) -> None:
    """Report ``action`` for the ``rows`` there are, ``{}`` in it naming their first IDs."""
    if rows.any():
        report.append(Coercion(column, action.format(_show(list(ids[rows]))), int(rows.sum())))


def _refuse_unread_headers(path: Path, headers: dict[str, Header], outcomes: set[str]) -> None:
    """Refuse variable columns headed in a script other than Latin ('年龄', 'Рецидив'): whether
    a column is another outcome, an identifier or has a unit is read from its header's words,
    and read as predictors a Chinese sheet's recurrence flag and hospital record number lifted a
    c-index from 0.65 to 0.87 and wrote the record numbers into clinical.csv. The columns given
    as the ID, time and event may be headed in any script."""
    unread = [
        text
        for text, h in headers.items()
        if text not in outcomes and h.name not in ID_NAMES and not h.name.isascii()
    ]
    if unread:
        raise InputError(
            f"{path.name}: {_show(unread)} are headed in a script whose words RadSurv does not "
            "read: whether a column is another outcome (a recurrence, a date of death), an "
            "identifier (a record number, a name) or has a unit is read from its header, and one "
            "read as a predictor would leak the outcome or the patient's identity into the "
            "model. Head the columns to use in English ('Age (years)', 'Tumour size (mm)') and "
            f"remove the others; the ID, time and event columns may be given by name "
            f"({_give('id_column')}, {_give('time_column')}, {_give('event_column')})."
        )


def _unique_names(headers: dict[str, Header], path: Path) -> None:
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


def _ids(cells: pd.Series, column: str, path: Path, report: list[Coercion]) -> pd.Series:
    ids = cells.str.strip()
    blank = ids.str.lower().isin(MISSING_TOKENS)
    if blank.any():  # named by the file's row numbers, as a spreadsheet shows them
        rows = [str(number) for number in ids.index[blank]]
        raise InputError(
            f"{path.name}: row(s) {', '.join(rows[:10])} have no patient ID in {column!r}."
        )
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated:
        raise InputError(
            f"{path.name}: patient ID(s) {', '.join(repeated[:10])} appear more than once in "
            f"{column!r}; each patient needs one row."
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


def _id_key(text: str) -> str:
    """An ID as spellings of one patient's compare: 'P-004', 'p004' and 'P4' -> 'p4'."""
    letters_digits = re.sub(r"[\W_]+", "", text.casefold())
    return re.sub(r"(?<!\d)0+(?=\d)", "", letters_digits) or text


#: A row under the patients summing them up, by its ID cell ('Total', 'n = 500', 'Mean').
_SUMMARY_ID = re.compile(
    r"(?i)(?:totals?|sum|mean|median|average|count|overall|all patients|n\s*=\s*\d+)\b.*"
)


def _without_note_rows(cells: pd.DataFrame, column: str, report: list[Coercion]) -> pd.DataFrame:
    """The table without the rows whose ID is a note's ('Notes', 'Units', 'Legend: ...',
    :data:`_NOTE_ROW`): a sheet's remarks on its columns, never a patient (GBSG2's 'Notes' row
    of units and ranges was one, without an outcome, its 'I-III' a grade)."""
    notes = cells[column].str.fullmatch(_NOTE_ROW.pattern)
    if notes.any():
        shown = _show(list(cells[column][notes].str.strip()))
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


def _one_row_per_case(
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
    if any(h.name == _REDCAP_ROW_FIELDS[0] for h in headers.values()):
        return _one_row_per_record(cells, ids, headers, path, report)
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
            f"within a case dropped: {_show(differing)}",
            repeated,
        )
    )
    return cells[~ids.duplicated()].drop(columns=differing)


def _one_row_per_record(
    cells: pd.DataFrame,
    ids: pd.Series,
    headers: dict[str, Header],
    path: Path,
    report: list[Coercion],
) -> pd.DataFrame:
    """REDCap's longitudinal export, a record's fields spread over one row per event
    ('baseline_arm_1', 'followup_arm_1'), as one row per record: each field from the event it is
    filled in, REDCap's event and repeat fields (:data:`_REDCAP_ROW_FIELDS`) dropped, said in
    the report. A field filled differently in two events of a record is refused
    (:func:`_refuse_differing_events`); REDCap's form statuses, dropped after
    (:func:`_redcap_field`), may differ."""
    rows = sorted(  # the event first
        (c for c in cells.columns if headers[c].name in _REDCAP_ROW_FIELDS),
        key=lambda c: _REDCAP_ROW_FIELDS.index(headers[c].name),
    )
    filled = _written(cells.drop(columns=rows))
    by_record = filled.groupby(ids.to_numpy(), sort=False)
    statuses = [c for c in filled.columns if _redcap_field(headers[c], filled[c].dropna(), True)]
    clashes = (by_record.nunique() > 1).drop(columns=statuses)
    if clashes.any(axis=None):
        _refuse_differing_events(cells, ids, rows, clashes, path)
    first = ~ids.duplicated()
    events = _show(list(dict.fromkeys(_written(cells[rows]).iloc[:, 0].dropna())))
    report.append(
        Coercion(
            "(rows)",
            f"REDCap's longitudinal export: {len(ids)} rows of {int(first.sum())} records in "
            f"the events {events} joined into one row per record, each field from the event "
            f"it is filled in; REDCap's event fields dropped: {_show(rows)}",
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


def _without_summary_rows(cells: pd.DataFrame, column: str, report: list[Coercion]) -> pd.DataFrame:
    """The table without the summary rows at its bottom (a spreadsheet's totals)."""
    ids = cells[column].str.strip()
    end = len(ids)
    while end and _SUMMARY_ID.fullmatch(ids.iloc[end - 1]):
        end -= 1
    if end < len(ids):
        report.append(
            Coercion(
                "(rows)",
                f"summary rows at the bottom skipped: {_show(list(ids.iloc[end:]))}",
                len(ids) - end,
            )
        )
    return cells.iloc[:end]


def read_clinical_spreadsheet(
    path: str | Path,
    *,
    id_column: str | None = None,
    time_column: str | None = None,
    event_column: str | None = None,
    time_unit: str | None = None,
) -> ClinicalImport:
    """Read and clean a cohort's clinical CSV (comma, semicolon, tab or pipe delimited, else
    whitespace-separated; UTF-8, UTF-16 or Windows-1252) or XLSX (first sheet).

    The ID, time and event columns are found by name unless given (headers matched ignoring case
    and punctuation). The time unit comes from the header (``OS (months)``, ``os_days``) or
    ``time_unit`` (days, weeks, months, years); times are returned in days. An automatically
    found censoring column (``censored``) is inverted, as is one given as ``event_column`` whose
    header says its 1 / yes is no event (``alive``, ``survived``, ``censored``, ADaM's ``CNSR``);
    another given column is read as-is (1, yes, dead = event). Raises :class:`InputError` /
    :class:`ClinicalValueError` for an unreadable file, a missing ID, time or event column, or
    repeated patient IDs.
    """
    path = Path(path)
    report: list[Coercion] = []
    cells, delimiter = _read_cells(path, report)
    repeated = sorted(set(cells.columns[cells.columns.duplicated()]))
    if repeated:  # two columns under one header: which would be the variable is anyone's guess
        raise InputError(
            f"{path.name}: the header {', '.join(map(repr, repeated))} is written on more than "
            "one column; rename or remove the copies."
        )
    headers = {text: parse_header(text) for text in cells.columns}
    _unique_names(headers, path)

    id_text = _find_named(headers, id_column, "ID", "id_column", path)
    if id_text is None:
        id_text = _first_by_name(headers, ID_NAMES, base=False) or _named_id(headers, cells)
        if id_text is None:
            raise InputError(
                f"{path.name} has no patient ID column (looked for {', '.join(ID_NAMES[:6])}, "
                f"...); its columns are: {', '.join(headers)}"
                f"{_other_sheets(cells.attrs.get('sheets', []))}. Give it: {_give('id_column')}."
            )
    how = "given" if id_column else "recognised by its name"
    report.append(Coercion(id_text, f"used as the patient ID ({how})", len(cells)))
    cells = _without_summary_rows(_without_note_rows(cells, id_text, report), id_text, report)
    cells = _one_row_per_case(cells, id_text, headers, path, report)
    headers = {text: h for text, h in headers.items() if text in cells.columns}
    ids = _ids(cells[id_text], id_text, path, report)
    numbers = number_marks(
        cells,
        path.name,
        default=POINTS_UNLESS_SAID if delimiter in (",", "") else None,
        points_decimal=not delimiter,  # a workbook's (or JSON's) typed numbers
    )

    time_text = _find_named(headers, time_column, "time", "time_column", path)
    event_text = _find_named(headers, event_column, "event", "event_column", path)
    # a given 'alive' or 'CNSR' column is read as its header says, as one found by name is
    censoring = event_text is not None and _says_no_event(headers[event_text])
    death_text = _first_by_name(headers, DEATH_DAYS_NAMES, base=False)
    follow_text = _first_by_name(headers, FOLLOW_UP_DAYS_NAMES, base=False)
    if time_text is None:
        of_event = _endpoint(headers[event_text]) if event_text is not None else None
        time_text = _time_by_name(headers, cells, numbers, of_event)
    if time_text is None and not (death_text and follow_text):  # TCGA's pair is read below
        time_text = (
            _split_days(headers)
            or _named_time(headers)
            or _follow_up_length(headers, cells, numbers)
        )
    if event_text is None:
        endpoints = _time_endpoints(headers[time_text]) if time_text is not None else []
        others = {text: h for text, h in headers.items() if text != time_text}
        own = [
            *(_own_event_names(headers[time_text].base) if time_text is not None else ()),
            *(name for endpoint in endpoints for name in ENDPOINT_EVENTS.get(endpoint, ())),
        ]
        time_header = headers[time_text] if time_text is not None else None
        event_text = _first_by_name(others, own, base=False) or _glued_event(others, time_header)
        own_censor = [
            f"{endpoint}_{c}"
            for endpoint in endpoints
            for c in ("censored", "censor", "cens", "censoring")
        ]
        if event_text is None and (found := _first_by_name(others, own_censor, base=False)):
            event_text, censoring = found, True  # 'DFS_censor': the DFS's, not the vital status
        event_text = event_text or _first_by_name(others, EVENT_NAMES, base=False)
        if event_text is None:
            event_text = _first_by_name(others, CENSOR_NAMES, base=False)
            censoring = event_text is not None
        vital = _first_by_name(others, _VITAL_STATUS_NAMES, base=False)
        if time_text is not None and _endpoint(headers[time_text]) == "disease":
            vital = None  # a DFS's own censoring is not replaced by a death's event
        if censoring and not _says_no_event(headers[event_text]) and vital is not None:
            report.append(
                Coercion(
                    event_text,
                    f"not the event: its 1 may mean censored or the event; the vital status "
                    f"{vital!r} beside it is read instead",
                    len(cells),
                )
            )
            event_text, censoring = vital, False  # UPENN-GBM's 'Survival_Status' (Deceased/Alive)
        elif censoring and not _says_no_event(headers[event_text]):
            raise InputError(
                f"{path.name}: the column {event_text!r} does not say which of its values is "
                "the event: a 'censor' column's 1 means censored in some exports and the "
                "event in others (scikit-survival's GBSG2 'cens' and AIDS 'censor'). If its "
                "1 means the event, give it as the event column "
                f"({_give('event_column', event_text)}); if its 1 means censored, name the "
                "column 'censored'."
            )
    start_given = None
    if time_column is not None and _holds_dates(cells[time_text], headers[time_text], numbers):
        # a registry's several start dates (diagnosis, surgery): the one the time counts from
        _refuse_end_as_start(path, headers[time_text])
        start_given, time_text = time_text, None
        report.append(
            Coercion(
                start_given, "used as the date the survival time counts from (given)", len(cells)
            )
        )
    to_censoring = None if time_text is None else _censoring_days(headers, time_text)
    if time_text is not None and time_text == event_text:
        raise InputError(f"{path.name}: {time_text!r} cannot be both the time and the event.")
    if time_text is not None and event_text is not None:
        _check_endpoints(
            path,
            (time_text, _endpoint(headers[time_text])),
            (event_text, _endpoint(headers[event_text])),
            given=time_column is not None and event_column is not None,
        )
    for text, given, role in (
        (time_text, time_column, "survival time"),
        (event_text, event_column, "event"),
    ):
        if text is not None:
            how = "given" if given else "recognised by its name"
            report.append(Coercion(text, f"used as the {role} ({how})", len(cells)))
    days = unit = event = deaths_counted = None
    vital_status = False
    marked = None if event_text or time_text is None else _censor_marks(cells[time_text])
    if time_text is not None:
        times = cells[time_text] if marked is None else marked[0]
        days, unit = _time_days(times, headers[time_text], time_unit, report, numbers)
    if event_text is not None:
        event, ones = _event_01(
            cells[event_text],
            headers[event_text],
            censoring=censoring,
            report=report,
            numbers=numbers,
        )
        deaths_counted = _deaths_counted(headers[event_text], ones)
        vital_status = _names_deaths_only(headers[event_text], ones) or _ispy_vital_status(
            headers[event_text], ones
        )  # I-SPY1's 'sstat' 8: dead
    elif marked is not None:  # '361+', 'ALIVE (361 days later)': censored; plain numbers: events
        event = (~marked[1]).astype("Int64").where(days.notna())
        event_text = f"({time_text}: censoring marks)"
        report.append(
            Coercion(
                time_text,
                "no event column: a time marked '+' or 'alive' is censored, any other an event",
                int(marked[1].sum()),
            )
        )
    if to_censoring is not None:  # days to the event for the events, else to the last follow-up
        days, event = _days_to_event_or_censoring(
            cells, headers, (time_text, days), to_censoring, event, time_unit, report, numbers
        )
        event_text = event_text or time_text  # the events: those with days to it
    outcome_texts = {id_text, time_text, event_text, start_given}
    if days is not None and event is not None:
        follow_up = _follow_up_time(headers, outcome_texts)
        if follow_up is not None:
            days = _censored_from_follow_up(
                cells[follow_up],
                headers[follow_up],
                (time_text, days, unit),
                event,
                report,
                numbers,
            )
    blank_if_censored = (
        time_column is None
        and days is not None
        and event is not None
        and _blank_if_censored(days, event)
    )
    if days is None and death_text and follow_text:
        days, event = _days_to_death_or_follow_up(
            cells, headers, death_text, follow_text, event, time_unit, report, numbers
        )
        unit, time_text = "days", f"({death_text} / {follow_text})"
        event_text = event_text or death_text  # the dead: those with days to death
        outcome_texts |= {death_text, follow_text}
    if to_censoring is not None:  # named as the pair, as TCGA's is
        outcome_texts.add(to_censoring)
        time_text = f"({time_text} / {to_censoring})"
    _refuse_unread_headers(path, headers, outcome_texts)
    order = date_order(
        _present(cells[c]) for c in cells.columns if c not in outcome_texts or c == start_given
    )
    variables: dict[str, pd.Series] = {}
    units: dict[str, str] = {}
    labels: dict[str, str] = {}
    dates: dict[str, pd.Series] = {}
    texts: dict[str, str] = {}  # each variable's header as written
    born_ages: dict[str, pd.Series] = {}  # ages from birth dates in days (:func:`_birth_days`)
    redcap_export = _redcap_export(cells, headers)
    timed = timed_events(headers.values())
    datasets = bookkeeping(headers.values())
    for text in cells.columns:
        h = headers[text]
        if text in outcome_texts:
            continue
        if h.name in ID_NAMES:
            report.append(Coercion(text, _OUTCOME_DROPPED, len(cells)))
            continue
        staged = text in timed and _holds_stages(cells[text])
        if text in timed and not staged:
            why = f"dropped: another outcome, the event of {timed[text]!r}, not a clinical variable"
            report.append(Coercion(text, why, len(cells)))
            continue
        if text in datasets:
            why = "dropped: which dataset or split the patient is in, not a clinical variable"
            report.append(Coercion(text, why, len(cells)))
            continue
        if after := measured_after_treatment(h):
            why = (
                f"dropped: measured after treatment (its header says {after!r}): not a baseline "
                "predictor; if it is one, rename the column so its header does not say so"
            )
            report.append(Coercion(text, why, len(cells)))
            continue
        if text in cells.attrs.get("unnamed", ()) and holds_row_labels(cells[text]):
            report.append(Coercion(text, _ROW_LABELS_DROPPED, len(cells)))
            continue
        kind, values, var_unit = _clean_variable(
            cells[text],
            h,
            numbers,
            report,
            order=order,
            outcome=not staged and is_outcome_like(h, headers.values()),
            redcap_export=redcap_export,
        )
        if kind == "date":
            dates[text] = values
        elif kind == "age":  # a birth date in days before diagnosis: the age, unless given
            born_ages[text] = values
        elif kind == "variable":
            variables[h.name], units[h.name], labels[h.name] = values, var_unit, h.label
            texts[h.name] = text
    if start_given is not None:  # read as a date, never cleaned as a variable
        dates[start_given] = _given_start(
            cells[start_given], headers[start_given], numbers, order, report
        )
    dates_frame = pd.DataFrame(dates, index=cells.index)
    _two_digit_births(dates_frame, cells, headers, report)
    start, death, last = _outcome_dates(dates_frame, headers)
    start = start_given or start
    taken = _birth_dates(dates_frame, headers) | {start, death, last}
    disease_named = _dates_named(dates_frame, headers, _DISEASE_DATE_WORDS, taken)
    if blank_if_censored and (death or last):  # Radiogenomics' 'Time to Death (days)'
        _set_aside_for_dates(
            path, time_text, start, dates_frame, taken | set(disease_named), report
        )
        days = None
    recurred = disease_named[0] if len(disease_named) == 1 else None
    disease_dates = False
    if days is None and start is not None and (death or last):
        disease = event_text in headers and _endpoint(headers[event_text]) == "disease"
        uses_disease_dates = (event_column is not None or death is None) and (
            disease or event is None
        )
        if len(disease_named) > 1 and uses_disease_dates:
            raise InputError(
                f"{path.name}: {_show(disease_named)} are each a date of a recurrence or "
                "progression: the time to the event studied needs one. Keep the one of that "
                "event (the first of a local and a distant recurrence, written in one column)."
            )
        if recurred and uses_disease_dates:
            given = None if event is None else (event, cells[event_text], headers[event_text])
            days, event = _days_to_disease_event(
                dates_frame, start, recurred, (death, last), given, ids, report
            )
            # a death is an event where the event column states its code and has its date
            deaths_counted = given is not None and death is not None and bool(given[2].death_codes)
            disease_dates, event_text = True, event_text or "(from dates)"
        elif disease and event_column is None and death is not None:  # the dates give the death
            report.append(
                Coercion(
                    event_text,
                    "not the event: a recurrence's or progression's, where the dates give the "
                    f"time to death; the event is whether {death!r} holds a date"
                    + (
                        f" (for the time to {recurred!r}: {_give('event_column', event_text)})"
                        if recurred
                        else ""
                    ),
                    len(cells),
                )
            )
            event = event_text = None
        elif disease:  # dates of death and follow-up, not of the disease's event
            others = [c for c in dates_frame if c not in taken]
            raise InputError(
                f"{path.name}: the event {event_text!r} is a recurrence's or progression's, but "
                "no date of it is recognised among the dates"
                + (f" ({_show(others)} not read as one)" if others else "")
                + f", only {' and '.join(repr(c) for c in (start, death, last) if c)}: its time "
                "cannot come from them. Name the column of that date 'Date of recurrence' or "
                f"'Date of progression', or give the time column ({_give('time_column')})."
            )
        if not disease_dates:
            ends = [c for c in (death, last) if c is not None]
            days = _days_between(dates_frame, start, ends, report)
        if time_unit not in (None, "days"):  # a unit for a time column that was not found
            ends = [c for c in (recurred if disease_dates else None, death, last) if c]
            raise InputError(
                f"{path.name}: the times come from the dates ({start!r} to "
                f"{' or '.join(map(repr, ends))}), counted in days, so the time unit "
                f"{time_unit!r} applies to no column. Give the time column of numbers it is the "
                f"unit of ({_give('time_column')}), or leave the time unit out."
            )
        unit, time_text = "days", "(from dates)"
    if event is None and days is not None and death is not None:
        event, event_text = _death_event(dates_frame, death, days.notna(), report), "(from dates)"
    elif (
        event is not None
        and days is not None
        and death is not None
        and not disease_dates
        and (time_text == "(from dates)" or _death_column(headers.get(event_text)))
    ):  # alive beside a death date contradicts a death's event, not a relapse's nor an unsaid one
        columns = f"({event_text} / {death})"
        starts = [start] if start else [c for c in dates_frame if c not in taken]
        if time_text == "(from dates)":  # the time runs to the death date: it says nothing
            starts = []
        last_contact = _last_contact_dates(
            dates_frame, starts, death, (days, event, unit), columns, report
        )
        days, event = _alive_with_a_death_date(
            dates_frame[death], event, days, ids, columns, report, last_contact
        )
        if time_text == "(from dates)":
            _dead_without_a_death_date(dates_frame[death], event, ids, death, report)
    if days is None or event is None:
        lacking = " and ".join(w for w, t in (("time", days), ("event", event)) if t is None)
        raise InputError(
            f"{path.name}: no survival {lacking} column recognised among: "
            f"{', '.join(headers)}. Give the time column ({_give('time_column')}) and the event "
            f"column ({_give('event_column')}), with the time unit when the time header does not "
            f"say days, weeks, months or years ({_give('time_unit')}), or give a start date "
            "(diagnosis, treatment) with a last follow-up or death date."
            + _why_no_time_from_dates(dates_frame, headers, report)
        )
    for name in list(variables):
        why = tells_the_event(variables[name], event)
        if why:
            report.append(Coercion(texts[name], f"dropped: {why}", int(variables[name].size)))
            del variables[name], units[name], labels[name]
    age = _first_age(born_ages, "age" in variables, report)
    if age is None and "age" not in variables:
        age = _age_from_dates(dates_frame, headers, report)
    if age is not None:
        variables["age"], units["age"], labels["age"] = age, "years", "Age"

    table = pd.DataFrame({"time": days, "event": event, **variables}, index=cells.index)
    table.index = pd.Index(ids, name="case_id")
    if time_text != "(from dates)":  # days between dates: no unit to doubt
        header = headers.get(time_text)
        stated_by = header if header is not None and _stated_unit(header) else None
        report.extend(_follow_up_said(table["time"], time_text, unit, stated_by))
    dates_frame.index = table.index
    no_outcome = list(table.index[table["time"].isna() | table["event"].isna()])
    warned = False  # the rows left without an outcome said as a warning
    if no_outcome:
        said = f"no usable time/event for {_show(no_outcome)}: kept, outcome left missing"
        lost = table["time"].isna() | table["event"].isna()
        censored = (
            f"each of the {len(no_outcome)} is censored (event 0) without a time, and every "
            "patient kept had the event: survival curves and models of the cohort would fall to "
            "0. Give the censored patients' time: a column of the time to the last follow-up, or "
            "the start date as the time column with a last follow-up date beside it."
        )
        censored_lost = table["event"][lost].eq(0).fillna(False) & table["time"][lost].isna()
        if not (censored_lost.all() and (table["event"][~lost] == 1).all()):
            censored = ""
        if len(no_outcome) > len(table) / 2:  # a warning: models would see the others alone
            said = (
                f"{MOST_OUTCOMES_MISSING_START}{said} ({len(no_outcome)} of {len(table)} rows): "
                "a model or survival curve of the cohort would use the others alone. "
                + (
                    censored[:1].upper() + censored[1:]
                    or "Check why in the lines above (the event's or time's column, "
                    "its coding, a date beside it)."
                )
            )
        elif censored:
            said = f"{CENSORED_OUTCOMES_MISSING_START}{said}: {censored}"
        report.append(Coercion("(rows)", said, len(no_outcome)))
        warned = asks_to_act(said)
    if not warned:
        report.extend(_no_censored(table["event"], table["time"].notna(), event_text, death))
    report.extend(_no_events(table["event"], event_text))
    schema = infer_schema(table.drop(columns=["time", "event"]), units=units, labels=labels)
    endpoint = _outcome_endpoint(headers, time_text, event_text, disease_dates)
    if endpoint is None and vital_status:  # RADCURE's 'Status' Alive/Dead: overall survival's
        endpoint = "death"
    return ClinicalImport(
        table=table,
        schema=schema,
        report=report,
        id_column=id_text,
        time_column=time_text,
        event_column=event_text,
        time_unit=unit,
        dates=dates_frame,
        no_outcome=no_outcome,
        endpoint=endpoint,
        deaths_counted=True if endpoint == "death" else deaths_counted,
        endpoint_name=_outcome_name(headers, time_text, event_text, vital_status),
    )


def _no_events(event: pd.Series, event_text: str) -> list[Coercion]:
    """The warning (:data:`NO_EVENTS_START`) where no patient of the final table has the event,
    however the events were read: an event column, TCGA's days to death, dates or censoring
    marks ('361+'); none otherwise."""
    if not event.notna().any() or event.fillna(0).any():
        return []
    said = (
        f"{NO_EVENTS_START}no patient has the event (every outcome censored): no model can learn "
        "from the cohort; check the event column and how its values are read"
    )
    return [Coercion(event_text, said, 0)]


def _outcome_endpoint(
    headers: dict[str, Header], time_text: str, event_text: str, disease_dates: bool
) -> str | None:
    """Whose outcome the table's is (:func:`_endpoint`): its event column's, else its time
    column's; a recurrence's or progression's when the time runs to its date, a death's when the
    event is whether a date of death is written; None when nothing says."""
    if disease_dates:
        return "disease"
    for text in (event_text, time_text):
        if text in headers and (endpoint := _endpoint(headers[text])) is not None:
            return endpoint
    return "death" if event_text == "(from dates)" else None


#: Endpoints a header names by a word anywhere in it (CRLM's 'months_to_DFS_progression').
_NAMED_INSIDE = frozenset({"os", "dss", "dfs", "pfs", "rfs", "efs"})


def _outcome_name(
    headers: dict[str, Header], time_text: str, event_text: str, vital_status: bool
) -> str | None:
    """The endpoint the outcome's headers name (:func:`~survival_core.io.headers.endpoint_name`,
    else a word of :data:`_NAMED_INSIDE` within it): its event column's, else its time column's
    ('dss' of a vital status beside 'dss_months'); where neither names one, 'os' of a
    ``vital_status`` (OPC-Radiomics' 'Status' Alive/Dead), else None. OS and DSS, RFS and PFS are
    each one class of endpoint (:func:`_outcome_endpoint`), but a re-import of one beside the
    other mixed two outcomes."""
    named = (
        endpoint_name(h) or next((w for w in h.tokens if w in _NAMED_INSIDE), None)
        for h in (headers[t] for t in (event_text, time_text) if t in headers)
    )
    return next((name for name in named if name), "os" if vital_status else None)
