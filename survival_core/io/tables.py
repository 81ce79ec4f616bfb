"""Feature and outcome tables (CSV or Parquet) joined on ``case_id`` for modelling.

One of the tables must hold ``time`` and ``event`` columns (names case-insensitive). Times are
converted to days from the unit the user states; events must be 0/1 or true/false. Rows without an
outcome are dropped with a note, never silently kept or filled.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError
from survival_core.io.clinical import (
    LEVEL_WORDS,
    MISSING_TOKENS,
    negative_signs,
    no_value_numbers,
)
from survival_core.io.clinical_schema import (
    YES_NO_ABROAD,
    names_nominal_codes,
    schema_beside,
    yes_no_words,
)
from survival_core.io.delimited import (
    BOUND_VALUE,
    read_bounds,
    read_delimited,
    written_numbers,
)
from survival_core.io.headers import (
    DEATH_WORDS_ABROAD,
    STATE_OR_STATUS_NAMES,
    Header,
    is_outcome_like,
    measured_after_treatment,
    parse_header,
    stated_unit,
)
from survival_core.io.outcome_source import OutcomeSource, load_outcome_source
from survival_core.text import first_few

#: A longest follow-up shorter than this (days) suggests times in months or years read as days.
SHORT_FOLLOW_UP_DAYS = 366.0
#: A longest follow-up longer than this (days, 50 years) suggests days read as months or years.
LONG_FOLLOW_UP_DAYS = 50 * 365.25
#: A typical oncology follow-up (days, 5 years): the likely unit of implausible times puts their
#: longest follow-up nearest it (:func:`likely_time_unit`).
TYPICAL_FOLLOW_UP_DAYS = 5 * 365.25
#: A longest follow-up shorter than this (days, half a year: a tenth of a typical 5 years, as 50
#: years is ten times it) is no study's in the unit its time column's header states: GBSG2's
#: months under 'rfs_days' (87 days) are told to rename it; Rossi's 52 weeks under 'week' are
#: a short study, noted as such (:func:`imported_follow_up_note`).
STATED_FOLLOW_UP_FLOOR_DAYS = TYPICAL_FOLLOW_UP_DAYS / 10
#: How a note on a follow-up implausible in its unit starts (:func:`follow_up_unit_note`).
FOLLOW_UP_NOTE_START = "The longest follow-up is "
#: Days per unit for ``--time-unit``.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12, "years": 365.25}
#: A vital status's cells (lower case) of a death and of a life, in English and abroad: cells
#: are read lower-cased as written, a death's words with their accents and without.
DEATH_CELLS = {"dead", "deceased", "died", "death", "expired"}
DEATH_CELLS |= {"décédé", "décédée", "décès", "óbito", "dcd", "mort", "tot", *DEATH_WORDS_ABROAD}
_ALIVE_CELLS = {"alive", "living", "vivant", "vivante", "lebend", "lebt", "levend", "vivo", "viva"}
#: Event-column values (lower case) meaning the event happened, and meaning it did not (yet).
EVENT_WORDS = DEATH_CELLS | {"event", "yes", "y", "true", "1"}
ALIVE_WORDS = _ALIVE_CELLS | {"censored", "no", "n", "false", "0", "no event"}
EVENT_WORDS |= {word for word, meaning in YES_NO_ABROAD.items() if meaning == "yes"}
#: A recurrence- or progression-free survival's event, and its absence.
EVENT_WORDS |= {"recurrence", "recurred", "relapse", "relapsed", "progression", "progressed"}
ALIVE_WORDS |= {"no recurrence", "no relapse", "no progression", "disease free", "disease-free"}
#: Oncology's abbreviations: dead of disease, of other causes, with disease; alive with disease,
#: with no evidence of disease; lost to follow-up (censored when last seen).
_DEAD_CODES = frozenset({"dod", "doc", "dwd"})
_ALIVE_CODES = frozenset({"awd", "ned", "nedalive", "lost", "ltfu"})
EVENT_WORDS |= _DEAD_CODES
ALIVE_WORDS |= _ALIVE_CODES | {"lost to follow-up", "lost to follow up"}
#: Those vital status codes with the lone letters a status column writes beside them
#: (Soft-tissue-Sarcoma's 'Status (NED, AWD, D)'), and what each letter means there: a lone 'D'
#: or 'A' is a death or a life only among such codes.
VITAL_STATUS_CODES = _DEAD_CODES | _ALIVE_CODES
VITAL_STATUS_LETTERS = {"d": "dead", "a": "alive"}
#: Cells of a vital status: a death's or a life's words and codes, or 0/1.
_VITAL_STATUS_CELLS = DEATH_CELLS | _ALIVE_CELLS | VITAL_STATUS_CODES | {"0", "1"}
ALIVE_WORDS |= {word for word, meaning in YES_NO_ABROAD.items() if meaning == "no"}
#: cBioPortal's status cells: the code, then what it means ('1:DECEASED', '0:LIVING',
#: '1:Recurred/Progressed'), compared lower-cased.
CODED_STATUS = re.compile(r"([01])\s*:\s*[a-z].*")
#: Marks that end a cell's words, read as whitespace is ('Not dead.', 'No!', 'Dead: no;').
END_MARKS = r"[\s.;,!]"
#: End marks after a cell's last word or bracket ('not dead.'; not the '.' of 'dead: .').
_WORDS_END = re.compile(rf"(?<=[\w)\]]){END_MARKS}+$")
#: Parquet metadata keys of a radiomics table: its extraction settings (canonical JSON), their
#: hash, and the imaging modality (CT, MR, PT) the features were computed on, when known.
SETTINGS_KEY = b"radsurv.settings"
HASH_KEY = b"radsurv.settings_hash"
MODALITY_KEY = b"radsurv.modality"
#: ... and, for features of each case's companion image, that image's name ('PT', 'FLAIR').
IMAGE_KEY = b"radsurv.image"
#: ... and the MR weightings of its cases' images, with how many cases each (JSON), when known.
SEQUENCES_KEY = b"radsurv.sequences"
#: ... and how its images were read (:func:`~survival_core.features.settings.reading_stamp`).
READING_KEY = b"radsurv.reading"
#: ... and the cohort folder (resolved) its cases were extracted from, which a withdrawal from
#: that cohort finds its tables by whatever their names (a case edited since is a new table name).
COHORT_KEY = b"radsurv.cohort"
#: Separates the image (a modality, a companion's name) from the feature name in a model on
#: several images' radiomics ('PT:gtv__original_firstorder_Mean').
IMAGE_SEPARATOR = ":"


@dataclass
class ModelTable:
    """Features ``X`` (index = case_id), outcome ``y`` (days) and what was noticed on the way;
    ``beside_outcomes``: the columns of the table that held the outcomes (the cohort's clinical
    variables, whatever their names)."""

    X: pd.DataFrame
    y: np.ndarray
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    beside_outcomes: frozenset[str] = frozenset()

    @property
    def case_ids(self) -> list[str]:
        return [str(i) for i in self.X.index]

    def subset(self, case_ids: Iterable[str]) -> ModelTable:
        """The rows of ``case_ids`` (in the table's order); unknown ids are an error."""
        wanted = set(case_ids)
        missing = sorted(wanted - set(self.case_ids))
        if missing:
            raise InputError(
                f"{len(missing)} case(s) are not in the table: {', '.join(missing[:5])}."
            )
        keep = self.X.index.isin(wanted)
        return replace(
            self,
            X=self.X[keep],
            y=self.y[keep],
            notes=list(self.notes),
            metadata=dict(self.metadata),
        )


#: How a spreadsheet as a hospital exports it becomes a table these commands read.
_IMPORT_FIRST = (
    "A spreadsheet as exported (any ID, time and event headers, dates, units, an Excel "
    "workbook) is read by the cohort import (`cohort import --clinical FILE --out DIR`, or the "
    "Cohort page's Import), which writes the cohort's clinical.csv."
)


#: A header that may name a table's patient ID (PatientID, Patient, ID, Case, subject_id): named
#: in the refusal of a table without ``case_id`` (a feature table has no outcomes for the import).
_ID_HEADER = re.compile(
    r"^(?=[a-z])(?:patient|case|subject)?[ _.-]?(?:id|no|nr|number)?$", re.IGNORECASE
)


def numpy_backed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its extension-typed columns held as numpy ones: Arrow-backed
    (``pd.read_csv(dtype_backend="pyarrow")``, ``pd.read_parquet`` of such a table) and pandas'
    nullable types (``Int64``, ``Float64``, ``boolean``, ``string``: ``convert_dtypes()``,
    ``dtype_backend="numpy_nullable"``). Numbers become float, text and flags objects, missing
    NaN, a ``Period`` its start date; categories and dates keep their types. Arrow keeps a number
    that failed to parse as NaN, not missing (GBSG2's grade, menopause and hormone therapy were
    dropped as constant without a word); an ``Int64`` column refused its median fill of 32.5 (a
    crash); a ``string`` column of numbers with one typo became a category of one level per
    value."""
    kept = (pd.CategoricalDtype, pd.DatetimeTZDtype)
    extension = [
        c
        for c, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(dtype, kept)
    ]
    if not extension:
        return frame
    frame = frame.copy()
    for name in extension:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            frame[name] = column.to_numpy(dtype=float, na_value=np.nan)
        elif pd.api.types.is_bool_dtype(column) and not column.isna().any():
            frame[name] = column.to_numpy(dtype=bool)
        elif isinstance(column.dtype, pd.PeriodDtype):
            frame[name] = column.dt.to_timestamp()
        elif pd.api.types.is_datetime64_any_dtype(column):
            frame[name] = pd.to_datetime(column.to_numpy(dtype=object, na_value=None))
        else:
            frame[name] = column.to_numpy(dtype=object, na_value=np.nan)
    return frame


def read_table(path: Path | str) -> pd.DataFrame:
    """A CSV or Parquet table with a ``case_id`` column (as text) and normalised column names.
    A CSV's delimiter, decimal mark and encoding are found (:func:`.delimited.read_delimited`);
    ``attrs["read_as"]`` says which when not comma-separated UTF-8."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise InputError(f"Table {path} is a spreadsheet workbook: {_IMPORT_FIRST}")
    if path.suffix.lower() == ".json":  # parsed as delimited text, it had 'no case_id column'
        raise InputError(
            f"Table {path} is JSON, not a CSV or Parquet table: a JSON array of one object per "
            "patient is read by the cohort import (`cohort import --clinical FILE --out DIR`, or "
            "the Cohort page's Import), which writes the cohort's clinical.csv."
        )
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = numpy_backed(pd.read_parquet(path))
            if "case_id" not in frame.columns and frame.index.name == "case_id":
                frame = frame.reset_index()
        else:
            # the ID column as text under any case ('Case_ID'): '001' must not become 1
            frame, how = read_delimited(
                path.read_bytes(),
                f"Table {path}",
                text_columns=lambda column: str(column).strip().lower() == "case_id",
            )
            frame.attrs["read_as"] = how
    except FileNotFoundError as err:
        raise InputError(f"Table {path} does not exist.") from err
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(f"Table {path} could not be read: {err}") from err
    lower = {
        c: c.strip().lower()
        for c in frame.columns
        if c.strip().lower() in ("case_id", "time", "event")
    }
    frame = frame.rename(columns=lower)
    if "case_id" not in frame.columns:
        named = [str(c) for c in frame.columns if _ID_HEADER.search(str(c))]
        rename = (
            f" Is {named[0]!r} its patient ID? Rename that column case_id; a table with "
            "outcomes under other headers (any ID, time and event headers, dates, units) is read "
            "by the cohort import (`cohort import --clinical FILE --out DIR`)."
            if named
            else f" {_IMPORT_FIRST}"
        )
        raise InputError(f"Table {path} has no case_id column to join on.{rename}")
    frame["case_id"] = _case_ids(frame["case_id"], path)
    duplicated = frame["case_id"][frame["case_id"].duplicated()].unique()
    if duplicated.size:
        raise InputError(f"Table {path} has repeated case_id values: {', '.join(duplicated[:5])}.")
    return frame.set_index("case_id")


def _case_ids(ids: pd.Series, path: Path) -> pd.Series:
    """A table's case ids as text, stripped; :class:`InputError` naming the rows without one
    (empty, blank or a missing-value word: 'NaN', 'NA', :data:`MISSING_TOKENS`), as the cohort
    import names them: a CSV's by its line as a spreadsheet shows it (the header is row 1), a
    Parquet table's by its position. They were joined as patients 'nan' and '', and an
    out-of-fold export so keyed joined no input row."""
    text = ids.astype(str).str.strip()
    blank = (ids.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
    if blank.any():
        first = 1 if path.suffix.lower() in (".parquet", ".pq") else 2
        rows = [str(first + k) for k in np.flatnonzero(blank)]
        raise InputError(
            f"Table {path}: row(s) {first_few(rows, 10)} "
            "have no patient ID in case_id (empty, or a missing-value word such as 'NaN'): give "
            "each its patient's ID, or remove the rows."
        )
    return text


def parquet_metadata(path: Path) -> dict[bytes, bytes]:
    """Key-value metadata of a Parquet file (e.g. the feature settings), empty for CSV."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return {}
    import pyarrow.parquet as pq

    return dict(pq.read_schema(path).metadata or {})


def without_end_marks(text: str) -> str:
    """An event cell without the end marks after its last word ('not dead.' -> 'not dead'), so
    that its yes or no reads as without them: 'Not dead.' was read as a death not known, 'No.'
    and 'Yes.' left unread, a bare 'Estado' of 'Fallecido.' / 'Vivo.' no vital status."""
    return _WORDS_END.sub("", text)


def _event_word(value: object) -> str:
    """A cell of an event column as a word of :data:`EVENT_WORDS` / :data:`ALIVE_WORDS`: numbers
    as 0, 1, 2 (1.0 read from a column with gaps is 1), cBioPortal's '1:DECEASED' as its code
    (:data:`CODED_STATUS`), text lower-cased, its end marks left out ('Fallecido.' was unread,
    :func:`without_end_marks`) but a no-value word's kept ('n.a.', 'N.D.': :data:`NO_VALUE_WORDS`
    writes them so); '' when empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip().lower()
    text = text if text in NO_VALUE_WORDS else without_end_marks(text)
    if (coded := CODED_STATUS.fullmatch(text)) is not None:
        return coded[1]
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:g}"


def vital_status_by_cells(h: Header, cells: pd.Series) -> bool:
    """Whether a column that is a vital status only by its cells, a bare 'Estado' or 'Stato'
    (:data:`~survival_core.io.headers.STATE_OR_STATUS_NAMES`), holds one: each filled cell a
    death's or a life's word ('fallecido', 'vivo', 'deceduto', 'óbito'), a vital status code
    (DOD, NED), 0/1 or cBioPortal's '1:DECEASED'. A Brazilian state ('SP', 'RJ') or a country
    ('Italia') so named is a variable (it was dropped as an outcome by its name)."""
    if h.name not in STATE_OR_STATUS_NAMES:
        return False
    words = set(cells.map(_event_word)) - NO_VALUE_WORDS
    return bool(words) and words <= _VITAL_STATUS_CELLS


def event_indicator(cells: pd.Series) -> pd.Series:
    """An event column as True / False, None where missing or unreadable (0/1, 1.0/0.0, true/false,
    yes/no, dead/alive, event/censored, '1:DECEASED'/'0:LIVING'). A column of 1s and 2s is
    refused: R's survival package reads 2 as the event, other tools 1, so only the user can say."""
    words = cells.map(_event_word)
    present = set(words) - {""}
    if present and present <= {"1", "2"} and "2" in present:
        raise InputError(
            "The event column holds 1 and 2, not 0/1: in R's survival coding 2 is the event and "
            "1 censored, other tools use 1 for the event. Recode it as 0/1 (1 = event), or import "
            "the table with the cohort import, whose header can state the codes "
            "('status (1=alive, 2=dead)')."
        )
    return words.map(lambda w: True if w in EVENT_WORDS else False if w in ALIVE_WORDS else None)


def image_names(metadata: Iterable[dict[bytes, bytes]]) -> list[str] | None:
    """The name each radiomics table among tables' ``metadata`` gives its features
    ('CT:gtv__...'): the companion image it was computed on, else its modality. Features are
    named so when radiomics of several images are joined (a PET/CT model) or come from a case's
    companion image (scored on that image), each name said and different; else None."""
    tables = [m for m in metadata if SETTINGS_KEY in m]
    names = [(m.get(IMAGE_KEY) or m.get(MODALITY_KEY) or b"").decode() for m in tables]
    companion = any(IMAGE_KEY in m for m in tables)
    if (len(names) < 2 and not companion) or "" in names or len(set(names)) < len(names):
        return None
    return names


def _image_named(
    frames: list[pd.DataFrame], metadata: list[dict[bytes, bytes]], notes: list[str]
) -> list[pd.DataFrame]:
    """``frames`` with each radiomics table's features named after its image
    (:func:`image_names`: 'CT:gtv__...', 'PT:gtv__...'), which joined would otherwise share every
    name; unchanged otherwise."""
    names = image_names(metadata)
    if names is None:
        return frames
    named, prefixes = [], iter(names)
    for frame, meta in zip(frames, metadata, strict=True):
        if SETTINGS_KEY in meta:
            prefix = next(prefixes) + IMAGE_SEPARATOR
            frame = frame.rename(
                columns={c: prefix + c for c in frame.columns if c not in ("time", "event")}
            )
        named.append(frame)
    notes.append(
        f"Radiomics of {' and '.join(names)}: each feature is named after its image "
        f"('{names[0]}{IMAGE_SEPARATOR}...')."
    )
    return named


def _some(ids: pd.Index, shown: int = 5) -> str:
    """The first ``shown`` of ``ids``, and how many more."""
    more = f" and {ids.size - shown} more" if ids.size > shown else ""
    return ", ".join(map(str, ids[:shown])) + more


def _check_same_outcomes(
    first: pd.DataFrame, other: pd.DataFrame, first_path: Path, other_path: Path
) -> None:
    """Refuse a second table's ``time``/``event`` that differ from the outcomes' table's for the
    same patients: only the first table's were read, the other's dropped without a word, so the
    result hung on the order of ``--table`` (a feature table carrying the outcomes in months
    beside the clinical table's days). Equal ones are the same outcomes written twice. The
    tables are named (:func:`_outcome_named`) only in the refusal."""
    shared = first.index.intersection(other.index)
    differ: dict[str, pd.Index] = {}
    if "time" in other.columns and "time" in first.columns:
        a = pd.to_numeric(first.loc[shared, "time"], errors="coerce").to_numpy(float)
        b = pd.to_numeric(other.loc[shared, "time"], errors="coerce").to_numpy(float)
        same = np.isclose(a, b, rtol=1e-6, atol=0.0) | (np.isnan(a) & np.isnan(b))
        differ["time"] = shared[~same]
    if "event" in other.columns and "event" in first.columns:
        a = event_indicator(first.loc[shared, "event"])
        b = event_indicator(other.loc[shared, "event"])
        differ["event"] = shared[~((a == b) | (a.isna() & b.isna())).to_numpy(bool)]
    said = [
        f"{column} for {ids.size} ({_some(ids, 3)})" for column, ids in differ.items() if ids.size
    ]
    if said:
        first_name, other_name = _outcome_named(first_path), _outcome_named(other_path)
        raise InputError(
            f"{first_name} and {other_name} both give outcomes, and they differ for the same "
            f"patients: {'; '.join(said)}. Keep the outcomes in one table (drop the other's "
            "time and event columns): which one holds is yours to say (times in another unit? "
            "another endpoint?)."
        )


def _outcome_named(path: Path) -> str:
    """A table named for a refusal of outcomes that differ: with its cohort folder and the
    outcome its import recorded where it has one (two cohorts' clinical.csv, RFS and OS of one
    sheet, were refused as 'clinical.csv and clinical.csv'); its file name alone where the record
    is unreadable, the refusal then about the outcomes, not the record."""
    try:
        source = load_outcome_source(path.parent) if path.is_file() else None
    except InputError:
        source = None
    if source is None:
        return path.name
    return f"{path.parent.name}/{path.name} (its import's outcome: {source.said()})"


def _id_key(case_id: str) -> str:
    """``case_id`` as two tables may write one patient's otherwise: case, separators, zero
    padding and a float's '.0' aside ('001', '1', '1.0'; 'STS_001', 'sts-1')."""
    text = re.sub(r"\.0+$", "", str(case_id).strip().lower())
    return re.sub(r"\d+", lambda m: m[0].lstrip("0") or "0", re.sub(r"[-_. ]", "", text))


def _check_ids_written_alike(only_left: pd.Index, only_other: pd.Index, other_name: str) -> None:
    """Refuse a join that would leave out patients whose ids differ only in how they are written
    ('001' against '1', a Parquet's integer ids against a CSV's padded texts), given the ids of
    each side the other lacks: the inner join lost 99 of 250 GBSG2 patients with only a count
    said."""
    if not only_left.size or not only_other.size:
        return
    keyed = {_id_key(i): i for i in only_other}
    pairs = [(i, keyed[_id_key(i)]) for i in only_left if _id_key(i) in keyed]
    if pairs:
        shown = "; ".join(f"{a!r} is {b!r} there" for a, b in pairs[:3])
        raise InputError(
            f"{len(pairs)} case id(s) are written otherwise in {other_name} ({shown}): the join "
            "would leave those patients out. Write the ids alike in every table (as text, with "
            "the same zero padding, case and separators)."
        )


def _ids_shown(frame: pd.DataFrame) -> str:
    ids = list(frame.index[:3])
    return ", ".join(map(str, ids)) + (", ..." if len(frame) > 3 else "")


#: A number as a table may write it: a decimal point or comma, an exponent ('6.370e-04', as
#: radiomics and lab exports write small values), a trailing percent sign.
_WRITTEN_NUMBER = r"\s*[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][-+]?\d+)?\s*%?\s*"
#: Most share of a number column's cells that may be text ('abc', 'n.d.') read as missing; a
#: column with more text is a category.
STRAY_TEXT_SHARE = 0.02
#: Thousands grouped by commas ('1,234'): never read as a decimal comma.
_GROUPED = re.compile(r"\s*[-+]?\d{1,3}(?:,\d{3})+\s*")
#: Cells that are no value at any share of a column, as the cohort import reads them: the
#: missing-value words ('-', 'unknown', '[Not Available]', SAS's '.', Excel's '#N/A') but those a
#: text column may use as a level (:data:`~survival_core.io.clinical.LEVEL_WORDS`: 'none').
NO_VALUE_WORDS = MISSING_TOKENS - LEVEL_WORDS
#: Most levels a column mostly of numbers may have as a category: more, it is numbers with
#: cells that are not (:func:`_refuse_numbers_as_levels`).
MOST_NUMBER_LEVELS = 20


def _without_outcomes(X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``X`` without the columns named as outcomes (``OS_months`` beside the time, a vital status,
    a recurrence), said in ``notes``: known only after follow-up, such a column lets a model learn
    the outcome back (veterans with two: c-index 0.95 instead of 0.71), nor those measured after
    treatment began (a tumour's response, 'ypT', 'PCR'). The clinical spreadsheet import drops
    them by the same names; a table made elsewhere may hold them."""
    headers = {c: parse_header(str(c)) for c in X.columns}
    outcomes = [
        c
        for c, h in headers.items()
        if is_outcome_like(h, headers.values()) or vital_status_by_cells(h, X[c])
    ]
    after = [c for c, h in headers.items() if c not in outcomes and measured_after_treatment(h)]
    if outcomes:
        notes.append(
            f"Left out as outcomes, not predictors: {', '.join(map(str, outcomes))} (known only "
            "after follow-up). Rename a column measured at baseline that only reads like one."
        )
    if after:
        notes.append(
            f"Left out as measured after treatment began, not baseline predictors: "
            f"{', '.join(map(str, after))} (a response, a stage after neoadjuvant therapy, a "
            "salvage treatment). Rename a column measured at baseline that only reads like one."
        )
    return X.drop(columns=outcomes + after)


#: pandas' name for a column read without a header ('Unnamed: 0').
_UNNAMED = re.compile(r"Unnamed: \d+")


def holds_row_labels(values: pd.Series) -> bool:
    """Whether a column without a header holds each row's number or label, as R's write.csv
    writes its row names and pandas' to_csv its index: filled in every row, all different,
    whole numbers (1..n, 0..n-1, or the numbers of rows once sorted) or all text, never
    measurements. Such a column says where a row stood, which a sorted export ties to the
    outcome: kept as a predictor, it gave GBSG2 a c-index of 0.99."""
    present = values.dropna().astype(str).str.strip()
    if present.empty or len(present) < len(values) or (present == "").any():
        return False
    if not present.is_unique:
        return False
    numbers = pd.to_numeric(present, errors="coerce")
    return bool(numbers.isna().all() or (numbers.notna().all() and (numbers % 1 == 0).all()))


#: pyradiomics' bookkeeping in its batch output: versions, settings, hashes, the image's and the
#: mask's size, spacing and whole-scan statistics (``diagnostics_Image-original_Mean``), and the
#: input list's columns (``Image``, ``Mask`` paths, ``Label``): no features of the patient.
_DIAGNOSTICS = re.compile(r"^(?:\w+_)?diagnostics_", re.IGNORECASE)
_BATCH_INPUTS = frozenset({"image", "mask", "label", "label_channel"})
#: A cell naming a file: an absolute or relative path ('/data/ct.nrrd', 'C:\\scans', './x',
#: '~/x', a UNC share) or a name with an image file's extension; never a category's 'yes/no'.
_FILE_PATH = re.compile(
    r"^(?:/|~/|\.\.?/|[a-z]:[/\\]|\\\\)\S|\.(?:nii(?:\.gz)?|nrrd|nhdr|mha|mhd|dcm)$",
    re.IGNORECASE,
)


def _without_bookkeeping(frame: pd.DataFrame, name: str, notes: list[str]) -> pd.DataFrame:
    """``frame`` (the table ``name``) without pyradiomics' diagnostics columns and, in a table
    holding them, its input list's (Image, Mask, Label), said in ``notes``: the scan's size,
    spacing and mean became features. Another table's own 'Label' (a clinical grouping) stays."""
    diagnostics = [c for c in frame.columns if _DIAGNOSTICS.match(str(c))]
    inputs = [c for c in frame.columns if diagnostics and str(c).lower() in _BATCH_INPUTS]
    if diagnostics:
        notes.append(
            f"Left out of {name} as pyradiomics' bookkeeping, not features: {len(diagnostics)} "
            "diagnostics column(s) (versions, settings, hashes, the scan's size, spacing and "
            "statistics)"
            + (f" and its input list's {', '.join(map(str, inputs))}" if inputs else "")
            + "."
        )
    return frame.drop(columns=[*diagnostics, *inputs])


def _without_file_paths(X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``X`` without columns of file paths, said in ``notes``: as predictors a path (which often
    names the patient) was one-hot encoded into the model."""
    paths = [
        c
        for c in X.columns
        if X[c].dtype == object
        and (texts := X[c].dropna().astype(str)).size
        and texts.str.contains(_FILE_PATH).mean() >= 0.9
    ]
    if paths:
        notes.append(
            f"Left out as file paths, not predictors: {', '.join(map(str, paths))} (a path "
            "often names the patient, and would be written into the model)."
        )
    return X.drop(columns=paths)


def _without_row_labels(X: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """``X`` without the columns that have no header and hold row numbers or labels
    (:func:`holds_row_labels`), said in ``notes``."""
    labels = [c for c in X.columns if _UNNAMED.fullmatch(str(c)) and holds_row_labels(X[c])]
    if labels:
        notes.append(
            f"Left out as row numbers or labels, not predictors: {', '.join(map(str, labels))} "
            "(a column without a header whose values are all different, as R's write.csv "
            "writes its row names); a variable needs a header."
        )
    return X.drop(columns=labels)


#: |Spearman correlation| with the survival time above which a column is a copy of it.
TIME_COPY_RHO = 0.95


#: Below this chance of matching the event exactly by chance (:func:`chance_of_exact_split`), a
#: column that does is the event in disguise; at or above it, a real predictor might (a category
#: of one patient always holds one outcome alone; 3 events among 40 patients fill a given
#: 3-patient level once in 9,880), and the match is said but the column kept. (A fixed count of
#: 10 events kept a copy of the event matching all 9 events and 31 censored patients, a chance of
#: 1 in 273 million, unsaid.)
CHANCE_TO_TELL = 1e-4
#: A match more likely than this by chance says nothing (3 patients of distinct values).
CHANCE_TO_NOTE = 0.01
#: Most categories of a column judged to tell the outcomes apart (more: a measurement).
_MOST_LEVELS_TO_TELL = 4


@dataclass(frozen=True)
class EventMatch:
    """How a column matches the event exactly (``how``) and the chance of that by chance."""

    how: str
    chance: float

    @property
    def why(self) -> str:
        """Why the column is left out, when it is (:attr:`tells`)."""
        return f"{self.how}: it tells the outcome, it does not predict it"

    @property
    def tells(self) -> bool:
        """Whether the match is too unlikely by chance for a predictor: the event in disguise."""
        return self.chance < CHANCE_TO_TELL


def chance_of_exact_split(sizes: Iterable[int], events: int) -> float:
    """The chance that ``events`` patients drawn at random among groups of ``sizes`` (a column's
    categories, or its filled and empty cells) fill whole groups only: the hypergeometric chance
    that a column of these group sizes, unrelated to the outcome, matches the event exactly."""
    sizes = [int(size) for size in sizes]
    ways = sum(
        sum(chosen) == events
        for r in range(1, len(sizes))
        for chosen in itertools.combinations(sizes, r)
    )
    return ways / math.comb(sum(sizes), events)


def event_match(values: pd.Series, event: pd.Series) -> EventMatch | None:
    """How a variable matches the event exactly (None if it does not): filled only for the
    patients with the event, or only for the others (flchain's cause of death, an ADaM EVNTDESC
    or CNSDTDSC), or of a few categories each held by one outcome alone (an ADaM SRCDOM: 'DS' for
    the deaths, 'SV' for the last visits)."""
    known = event.notna().to_numpy()
    died = event[known].astype(bool).to_numpy()
    if died.all() or not died.any():
        return None
    present = values[known].notna().to_numpy()
    if (present == died).all() or (present != died).all():
        whose = "with the event" if present[died].all() else "without the event"
        return EventMatch(
            f"filled only for the patients {whose} (a cause of death, an event's description)",
            chance_of_exact_split((present.sum(), (~present).sum()), int(died.sum())),
        )
    kept = values[known][present]
    if kept.nunique() > _MOST_LEVELS_TO_TELL:  # a measurement (a radiomics table is wide)
        return None
    written = pd.Series(kept.astype(str).to_numpy())
    with_event, without = set(written[died[present]]), set(written[~died[present]])
    if not with_event or not without or with_event & without:
        return None
    return EventMatch(
        f"its values tell the patients with the event ({_levels(with_event)}) from the others "
        f"({_levels(without)}) exactly",
        chance_of_exact_split(written.value_counts(), int(died[present].sum())),
    )


def tells_the_event(values: pd.Series, event: pd.Series) -> str:
    """Why a variable is the event in disguise ("" if it is not): it matches the event exactly
    (:func:`event_match`) where chance would do so less than :data:`CHANCE_TO_TELL` of the time;
    as a predictor it hands the model the outcome (an ADaM export's CV c-index 0.86 for 0.66)."""
    match = event_match(values, event)
    return match.why if match is not None and match.tells else ""


def _levels(values: set[str]) -> str:
    """A few of ``values``, quoted, for a message."""
    shown = sorted(values)
    return ", ".join(map(repr, shown[:5])) + (", ..." if len(shown) > 5 else "")


def _without_event_copies(X: pd.DataFrame, event: pd.Series, notes: list[str]) -> pd.DataFrame:
    """``X`` without the columns that tell the event (:func:`tells_the_event`), said in
    ``notes``: a table made elsewhere may hold a cause of death or an event's description."""
    matches = {c: match for c in X.columns if (match := event_match(X[c], event))}
    told = {c: m.why for c, m in matches.items() if m.tells}
    if told:
        notes.append(
            "Left out as the event in disguise, not predictors: "
            + "; ".join(f"{c}: {why}" for c, why in told.items())
            + "."
        )
    notes += [
        f"Kept, though it matches the event exactly: {c} ({m.how}), which a variable unrelated "
        f"to the outcome does by chance about once in {1 / m.chance:,.0f} with this few "
        "patients; check it is no copy of the outcome (a cause of death, a status)."
        for c, m in matches.items()
        if CHANCE_TO_TELL <= m.chance < CHANCE_TO_NOTE
    ]
    return X.drop(columns=list(told))


def _without_time_copies(X: pd.DataFrame, time: pd.Series, notes: list[str]) -> pd.DataFrame:
    """``X`` without the numeric columns whose values follow the survival time (|Spearman| above
    :data:`TIME_COPY_RHO`), said in ``notes``: a follow-up length under a name no rule knows
    (R's 'rfstime' beside an OS time) gave a c-index of 0.99. No baseline measurement tracks the
    time to the event that closely."""
    numeric = X.select_dtypes("number")
    complete = numeric.columns[numeric.notna().all()]
    rho = pd.Series(np.nan, index=numeric.columns)
    if len(numeric) >= 10 and len(complete):  # all at once: radiomics tables are wide
        ranks = numeric[complete].rank().to_numpy(float)
        ranks -= ranks.mean(axis=0)
        by_time = time.rank().to_numpy(float)
        by_time -= by_time.mean()
        scale = np.linalg.norm(ranks, axis=0) * np.linalg.norm(by_time)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[complete] = by_time @ ranks / scale
    for column in numeric.columns.difference(complete):
        present = numeric[column].notna()
        if present.sum() >= 10:
            rho[column] = numeric[column][present].rank().corr(time[present].rank())
    copies = [c for c in rho.index[rho.abs() > TIME_COPY_RHO] if numeric[c].nunique() > 2]
    X = X.drop(columns=copies)
    if copies:
        copies = [f"{c} (Spearman {rho[c]:.2f})" for c in copies]
        notes.append(
            f"Left out as copies of the survival time, not predictors: {', '.join(copies)}."
        )
    return X


def numbers_written_as_text(
    X: pd.DataFrame,
    notes: list[str],
    known_words: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    """Columns of numbers held as text ('60%', a quoted '0,9') as numbers, and infinite values as
    missing, each said in ``notes``: read as text they would become one category per value.

    A few words among a column's numbers are read as missing; with ``known_words`` (column ->
    the words a fitted model's training table held there) only those are, and a column with any
    other word is left as it is, for the reader to refuse (a new patient's 'abc' was imputed).
    The missing-value words (:data:`NO_VALUE_WORDS`: SAS's '.', Excel's '#DIV/0!', '-',
    '[Not Available]') are missing at any share: 3 % of '.' made a size 58 one-hot columns, 6 %
    of '-' GBSG2's lymph nodes 30. A lab value written as a bound ('<1') among numbers, or in a
    column ``known_words`` gives, is the bound (:func:`~survival_core.io.delimited.read_bounds`),
    as the cohort import reads it; a column of bounds ('<60'/'>=60') stays text, a category."""
    X = X.copy()
    for column in X.columns:
        values = X[column]
        if values.dtype == object:
            written = values.dropna().astype(str)
            if written.str.fullmatch(_GROUPED).any():
                continue  # '1,234': thousands or a decimal comma, not to be guessed
            present, bounds = read_bounds(written, numeric=known_words is not None)
            if bounds:
                values = values.copy()
                values.loc[values.notna()] = present.to_numpy()
            stray = ~present.str.fullmatch(_WRITTEN_NUMBER)
            coded = present.str.strip().str.lower().isin(NO_VALUE_WORDS)
            if known_words is not None:
                stray &= present.isin(known_words.get(str(column), ())) | coded
            typos = int(stray.sum())
            few = known_words is not None or int((stray & ~coded).sum()) <= max(
                1, STRAY_TEXT_SHARE * len(present)
            )
            if 0 < typos < len(present) and few:
                # a typo among numbers ('abc' in a Karnofsky column) made the column a category
                # of one level per value, and every later value unscorable (a lone word, with no
                # number to be among, is left for the reader to refuse)
                shown = ", ".join(map(repr, present[stray].unique()[:3]))
                notes.append(
                    f"'{column}': {typos} value(s) that are not numbers ({shown}) "
                    "among numbers: read as missing."
                )
                values = values.where(~values.index.isin(present.index[stray]))
            numbers = written_numbers(values, _WRITTEN_NUMBER)
            if numbers is None:
                continue
            X[column] = numbers
            if bounds:
                shown = ", ".join(map(repr, written[present != written].unique()[:3]))
                notes.append(
                    f"'{column}': {bounds} value(s) written as bounds ({shown}) read as the bound."
                )
            elif not stray.any():
                notes.append(
                    f"'{column}' holds numbers written as text ({present.iloc[0]!r}): read as "
                    "numbers."
                )
        elif pd.api.types.is_float_dtype(values) and np.isinf(values.to_numpy(float)).any():
            count = int(np.isinf(values.to_numpy(float)).sum())
            X[column] = values.where(~np.isinf(values.to_numpy(float)))
            notes.append(f"'{column}': {count} infinite value(s) read as missing.")
    return X


def _refuse_numbers_as_levels(X: pd.DataFrame) -> None:
    """:class:`InputError` naming a text column mostly of numbers that would be a category of
    more than :data:`MOST_NUMBER_LEVELS` levels, and its cells that are not numbers (by case
    id): too many to be typos read as missing (:func:`numbers_written_as_text`), they made it a
    category of one level per value (GBSG2's estrogen receptor of 231 levels, an apparent
    c-index of 0.78 for 0.69). A detection bound ('<5', :data:`~survival_core.io.delimited.
    BOUND_VALUE`) counts as a number: a CRP mostly '<5' was no column mostly of numbers. A
    column whose header names nominal codes (a centre's codes and names,
    :func:`~survival_core.io.clinical_schema.names_nominal_codes`) is a category."""
    for column in X.columns:
        if X[column].dtype != object or names_nominal_codes(str(column)):
            continue
        present = X[column].dropna().astype(str).str.strip()
        numbers = present.str.fullmatch(_WRITTEN_NUMBER) | present.str.fullmatch(BOUND_VALUE)
        levels = present.nunique()
        if numbers.all() or numbers.mean() <= 0.5 or levels <= MOST_NUMBER_LEVELS:
            continue
        others = present[~numbers]
        cells = [f"{case} {text!r}" for case, text in others.items()]
        raise InputError(
            f"Column '{column}' holds numbers and {len(others)} cell(s) that are not "
            f"({first_few(cells, 5)}): read as text, it would be a category of {levels} levels. "
            "Write those cells as numbers, or leave them empty where there is no value."
        )


def _text_variables(
    X: pd.DataFrame, notes: list[str], levels: Mapping[str, Collection[str]]
) -> pd.DataFrame:
    """``X``'s text columns read as the cohort import reads them, each said in ``notes``: the
    missing-value words (:data:`NO_VALUE_WORDS`: a grade 'unknown' was a level of its own) as
    missing, but a negative '-' among '+' (:func:`~survival_core.io.clinical.negative_signs`:
    ER's '-' was read as missing), and a column of yes and no words in any language
    (:func:`~survival_core.io.clinical_schema.yes_no_words`: 'ja'/'nein') as True/False. A
    word among the column's ``levels`` (the categories a cohort's schema lists) is that level,
    and such a column stays the categories it lists ('no', 'yes')."""
    X = X.copy()
    for column in X.columns:
        values = X[column]
        if values.dtype != object:
            continue
        listed = {str(level).strip().lower() for level in levels.get(str(column), ())}
        text = values.astype(str).str.strip()
        words = values.notna() & text.str.lower().isin(NO_VALUE_WORDS - listed)
        words &= ~negative_signs(values)
        if words.any():
            shown = ", ".join(map(repr, sorted(set(text[words]))[:3]))
            notes.append(f"'{column}': {int(words.sum())} value(s) {shown} read as missing.")
            X[column] = values = values.where(~words)
        spelled = pd.Series(sorted(set(text[values.notna()])), dtype=object)
        yes = None if listed or spelled.empty else yes_no_words(spelled)
        if yes is None:
            continue
        read = dict(zip(spelled, yes, strict=True))
        X[column] = text.where(values.notna()).map(read)
        if set(spelled.str.lower()) - {"yes", "no"}:
            said = ", ".join(f"{s!r} -> {'yes' if y else 'no'}" for s, y in read.items())
            notes.append(f"'{column}' read as yes/no: {said}.")
    return X


def plausible_follow_up(longest: float) -> bool:
    """Whether a longest follow-up of ``longest`` days fits days (between
    :data:`SHORT_FOLLOW_UP_DAYS` and :data:`LONG_FOLLOW_UP_DAYS`), not another unit read as
    days."""
    return SHORT_FOLLOW_UP_DAYS <= longest <= LONG_FOLLOW_UP_DAYS


def likely_time_unit(longest: float, time_unit: str) -> str | None:
    """The unit times read in ``time_unit`` (the longest ``longest`` days) are likely written
    in, where that longest follow-up is implausible (under :data:`SHORT_FOLLOW_UP_DAYS` or over
    :data:`LONG_FOLLOW_UP_DAYS`): of the units that make it plausible, the one putting it
    nearest :data:`TYPICAL_FOLLOW_UP_DAYS` (GBSG2's 87 months read as days: months, 2,659 days,
    not weeks, 612). None where it is plausible, or no unit makes it so."""
    if plausible_follow_up(longest):
        return None
    written = longest / TIME_UNITS[time_unit]
    plausible = {
        unit: written * days
        for unit, days in TIME_UNITS.items()
        if plausible_follow_up(written * days)
    }
    if not plausible:
        return None
    return min(plausible, key=lambda u: from_typical(plausible[u]))


def from_typical(longest: float) -> float:
    """How far a longest follow-up of ``longest`` days is from :data:`TYPICAL_FOLLOW_UP_DAYS`:
    the log of their ratio, larger over smaller (10 years and 2.5 are as far)."""
    return abs(math.log(longest / TYPICAL_FOLLOW_UP_DAYS))


def follow_up_unit_note(longest: float, time_unit: str, give: Callable[[str], str]) -> str:
    """A note when the longest follow-up (``longest`` days, the times read in ``time_unit``)
    suggests another unit, naming the likely one (:func:`likely_time_unit`) and how to give it
    (``give(unit)``, "" where none is likely: the options of what read the times); "" when it
    is plausible. One check for the tables ``cv``, ``fit`` and ``train`` read and for the
    cohort import, which converts a sheet's times to days."""
    if longest < SHORT_FOLLOW_UP_DAYS:
        read = f"{longest:g} days (time read in {time_unit})"
        wrong = "survival at 12, 24 and 36 months would otherwise be past the follow-up, or wrong"
    elif longest > LONG_FOLLOW_UP_DAYS:
        read = f"{longest:.0f} days ({longest / 365.25:.0f} years; time read in {time_unit})"
        wrong = (
            "horizons, calibration and survival at 12, 24 and 36 months would otherwise be wrong"
        )
    else:
        return ""
    unit = likely_time_unit(longest, time_unit) or ""
    likely = ""
    if unit:
        days = longest / TIME_UNITS[time_unit] * TIME_UNITS[unit]
        likely = f", likely in {unit} (read so, {days:.0f} days: {days / 365.25:.1f} years)"
    return (
        f"{FOLLOW_UP_NOTE_START}{read}{likely}: if the times are in another unit, give it "
        f"({give(unit)}); {wrong}."
    )


def _give_time_unit(unit: str) -> str:
    """How to give the time unit ``unit`` ("": unknown) to what reads a model table whose
    import recorded no unit (a table by path, a cohort imported before the record)."""
    option = f"--time-unit {unit}" if unit else "--time-unit"
    return (
        f"cv and fit: {option}; a cohort's clinical.csv, which train reads, is in days: "
        f"{_import_sheet_again(unit)}"
    )


def imported_follow_up_note(
    longest: float, unit: str, stated_by: Header | None, import_again: Callable[[str], str]
) -> str:
    """The import's note on its times (the longest ``longest`` days, read in ``unit``), said
    again where cv and fit read the cohort's clinical.csv (:func:`load_model_table`).
    ``stated_by``: the time column's header where it states the unit, which is then to be
    corrected (another unit given beside it is refused) where the follow-up cannot be in it
    (over 50 years or under :data:`STATED_FOLLOW_UP_FLOOR_DAYS`); one under a year, in the unit
    its header states, is noted as short. Else :func:`follow_up_unit_note`, with
    ``import_again(unit)``: how to import the sheet again in the likely unit."""
    if stated_by is not None and STATED_FOLLOW_UP_FLOOR_DAYS <= longest < SHORT_FOLLOW_UP_DAYS:
        return _short_follow_up(longest, unit, stated_by)
    give = import_again if stated_by is None else lambda u: _rename_time_column(stated_by, u)
    return follow_up_unit_note(longest, unit, give)


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


def _import_sheet_again(unit: str) -> str:
    """How to import a cohort's sheet again in the time unit ``unit`` ("": unknown): its
    clinical.csv is in days, converted so by the import."""
    chosen = f" {unit}" if unit else ""
    option = f"--time-unit{chosen}" + ("" if unit else " and the unit the sheet is written in")
    return (
        f"import the sheet again with cohort import {option} (Cohort page: Import mode, Time "
        f"unit{chosen})"
    )


def imported_outcome(path: Path) -> OutcomeSource | None:
    """The outcome record of the imported cohort whose clinical.csv ``path`` is: its times are
    in days, whatever unit the sheet wrote them in (:attr:`OutcomeSource.time_unit`); None for
    another table, or a cohort imported before the record was kept."""
    return load_outcome_source(path.parent) if path.name == "clinical.csv" else None


def _converted_again(path: Path, source: OutcomeSource, time_unit: str) -> str:
    """The refusal of ``time_unit`` for a cohort's clinical.csv (``path``): GBSG2 imported from
    'os_months', read again in months, had a longest follow-up of 222 years."""
    return (
        f"{path} is an imported cohort's clinical.csv: its import read the times of "
        f"{source.time_column!r} in {source.time_unit} and wrote them in days; read in "
        f"{time_unit}, every time would be {TIME_UNITS[time_unit]:.3g} times as long. Read it in "
        "days (cv, fit: leave --time-unit out; Cohort page: Time unit days) and give times in "
        "days: --horizons, --horizon, --param edges= (1, 2 and 3 years: 365,730,1095)."
    )


def _recorded_follow_up_note(longest: float, source: OutcomeSource) -> str:
    """The import's note on a cohort's clinical.csv (:func:`imported_follow_up_note`), in the
    unit its import recorded, never --time-unit, which would convert the days again: AIDS's 364
    days under 'os_days' were said to be likely in weeks, and to give --time-unit weeks."""
    header = parse_header(source.time_column)
    stated_by = header if stated_unit(header) else None
    return imported_follow_up_note(longest, source.time_unit, stated_by, _import_sheet_again)


def load_model_table(
    paths: list[Path | str],
    *,
    time_unit: str = "days",
    features: str | None = None,
    unit_advice: Callable[[str], str] = _give_time_unit,
) -> ModelTable:
    """Join ``paths`` on case_id (inner join), split off the outcome, select features by regex;
    ``unit_advice``: how the reader gives a time unit, for a note on a follow-up implausible in
    ``time_unit`` (:func:`follow_up_unit_note`; the command line's options unless said). The
    outcomes of an imported cohort's clinical.csv are in days: another ``time_unit`` is refused,
    and its follow-up noted as its import noted it (:func:`imported_outcome`)."""
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"Unknown time unit {time_unit!r}; choose {', '.join(TIME_UNITS)}.")
    if not paths:
        raise ConfigError("Give at least one table.")
    notes: list[str] = []
    frames = [read_table(p) for p in paths]
    notes.extend(
        f"{Path(p).name} was read as {f.attrs['read_as']}."
        for p, f in zip(paths, frames, strict=True)
        if f.attrs.get("read_as")
    )
    with_outcome = [i for i, f in enumerate(frames) if {"time", "event"} <= set(f.columns)]
    if not with_outcome:
        names = ", ".join(Path(p).name for p in paths)
        # an export's own headers ('os_months', 'status'): the cohort import reads them
        seen = sorted({c for f in frames for c in f.columns if c not in {"time", "event"}})
        shown = ", ".join(map(repr, seen[:8])) + (" ..." if len(seen) > 8 else "")
        raise InputError(
            f"None of the tables ({names}) has both a 'time' and an 'event' column; a cohort's "
            "outcomes are in its clinical.csv: give it too (--table COHORT/clinical.csv)."
            + (f" Their columns: {shown}. {_IMPORT_FIRST}" if seen else "")
        )
    outcome_path = Path(paths[with_outcome[0]])
    source = imported_outcome(outcome_path)
    if source is not None and time_unit != "days":
        raise ConfigError(_converted_again(outcome_path, source, time_unit))
    metas = [parquet_metadata(Path(p)) for p in paths]
    frames = _image_named(frames, metas, notes)
    frames = [
        _without_bookkeeping(f, Path(p).name, notes) for f, p in zip(frames, paths, strict=True)
    ]
    # the outcomes' table first, then the others as given
    first = with_outcome[0]
    names = [Path(p).name for p in paths]
    for i, frame in enumerate(frames):
        if i != first:
            _check_same_outcomes(frames[first], frame, Path(paths[first]), Path(paths[i]))
    order = [first, *range(first), *range(first + 1, len(frames))]
    joined = frames[first]
    for i in order[1:]:
        other = frames[i]
        clash = (set(joined.columns) & set(other.columns)) - {"time", "event"}
        if clash:
            raise InputError(
                f"Columns appear in more than one table: {', '.join(sorted(clash)[:5])}."
            )
        other = other.drop(
            columns=[c for c in ("time", "event") if c in joined.columns], errors="ignore"
        )
        left = joined
        lost, unmatched = left.index.difference(other.index), other.index.difference(left.index)
        _check_ids_written_alike(lost, unmatched, names[i])
        joined = joined.join(other, how="inner")
        if joined.empty:
            raise InputError(
                f"The tables share no case_id ({_ids_shown(left)} against {_ids_shown(other)}): "
                "do they name the patients the same way?"
            )
        if lost.size:
            notes.append(
                f"{lost.size} case(s) without a row in {names[i]} were left out: {_some(lost)}."
            )
        if unmatched.size:  # e.g. imaged cases without a clinical row, the clinical table first
            notes.append(
                f"{unmatched.size} case(s) of {names[i]} without a row in the table(s) before it "
                f"were left out: {_some(unmatched)}."
            )
    # rows in case id order: folds, inner CV and bootstraps draw by position, so the same
    # patients gave another c-index in another export's row order or with the tables swapped
    joined = joined.sort_index(kind="stable")
    time = pd.to_numeric(joined["time"], errors="coerce")
    worded = joined["time"][time.isna() & joined["time"].notna()]
    unread = (  # '1814.0 days': a number with words, which is not read
        f"{len(worded)} time value(s) are not numbers (e.g. {str(worded.iloc[0])!r}): the time "
        "column must hold plain numbers (days; another unit: --time-unit)."
        if len(worded)
        else ""
    )
    if unread:
        notes.append(unread)
    coded = time.isin(no_value_numbers(time.to_numpy(float)))
    if coded.any():  # 9999 days among times of at most 2659: unknown, not 27 years followed
        notes.append(
            f"{int(coded.sum())} time value(s) {', '.join(sorted({f'{t:g}' for t in time[coded]}))} "
            "read as missing (a no-value code, clearly outside the other times)."
        )
        time = time.mask(coded)
    event = event_indicator(joined["event"])
    bad = time.isna() | event.isna() | (time < 0)
    if bad.any():
        shown = ", ".join(map(str, joined.index[bad][:5])) + (", ..." if bad.sum() > 5 else "")
        notes.append(
            f"{int(bad.sum())} case(s) without a usable time/event (missing, negative, or an "
            f"event code other than 0/1) were left out: {shown}."
        )
        joined, time, event = joined[~bad], time[~bad], event[~bad]
    if joined.empty:
        raise InputError(
            f"No case has a usable outcome (time >= 0 and event 0/1). {unread}".strip()
        )
    X = joined.drop(columns=["time", "event"])
    X = _without_file_paths(_without_row_labels(X, notes), notes)
    X = numbers_written_as_text(_without_outcomes(X, notes), notes)
    schema = schema_beside(paths)
    listed = {v.name: v.categories for v in schema.variables} if schema is not None else {}
    X = _text_variables(X, notes, listed)
    X = _without_event_copies(_without_time_copies(X, time, notes), event, notes)
    if features:
        try:
            pattern = re.compile(features)
        except re.error as err:
            raise ConfigError(f"--features is not a valid regular expression: {err}") from err
        matched = X[[c for c in X.columns if pattern.search(str(c))]]
        if matched.empty:
            said = f" among those kept ({' '.join(notes)})" if notes else ""
            raise ConfigError(
                f"No feature column matches {features!r}{said}; the table's columns: "
                f"{_some(X.columns, 12)} (names as the table writes them, and "
                "case-sensitive: an imported cohort's are lower case, 'Age_in_years' became "
                "'age')."
            )
        X = matched
    _refuse_numbers_as_levels(X)  # of the columns kept: one left out refused the table
    # the columns in name order: a penalised fit's coordinate descent, a forest's feature draws
    # and a filter's ties follow it, so an export's column order moved GBSG2's forest c-index
    # (0.688 against 0.693) and put 13 of 200 patients in the other risk group
    X = X[sorted(X.columns, key=str)]
    # to the microday: 730 days written in months came back as 730.0000000000001, after the
    # 2-year horizon (its td-AUC differed from the same table's in days)
    days = np.round(time.to_numpy(float) * TIME_UNITS[time_unit], 6)
    y = Surv.from_arrays(event.astype(bool).to_numpy(), days)
    longest = float(y["time"].max())
    if source is None:
        note = follow_up_unit_note(longest, time_unit, unit_advice)
    else:
        note = _recorded_follow_up_note(longest, source)
    notes.extend([note] if note else [])
    zero = int((y["time"] == 0).sum())
    if zero:
        notes.append(
            f"{zero} case(s) have a follow-up time of 0: check that the time counts from "
            "diagnosis or treatment and that 0 does not stand for a missing time."
        )
    if len(np.unique(y["time"])) == 1:
        raise InputError(
            f"Every case has the same follow-up time ({y['time'][0]:g} days): no two "
            "patients can be compared; check the time column."
        )
    metadata = {str(p): meta for p, meta in zip(paths, metas, strict=True)}
    beside = frozenset(map(str, frames[0].columns)) & frozenset(map(str, X.columns))
    return ModelTable(X=X, y=y, notes=notes, metadata=metadata, beside_outcomes=beside)
