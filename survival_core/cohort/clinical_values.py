"""Cleaning one column of a clinical spreadsheet into a variable.

Missing-value tokens and the words that are a text column's level, numeric sentinels (-999),
numbers with units ('12 mm', '60 Gy') and detection bounds ('<0.5'), yes/no columns as booleans,
spelling variants of a category merged, dates kept aside, TNM stages, REDCap's own fields and
identifiers dropped (:func:`clean_variable`); also the time unit a header states and a birth date
written as days before diagnosis, which a variable column may be. Used by the spreadsheet reader
(:mod:`survival_core.cohort.clinical_table`) for every column that is not the outcome.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

import pandas as pd

from survival_core.cohort.import_report import Coercion, show
from survival_core.io.clinical import (
    LEVEL_WORDS,
    MISSING_TOKENS,
    negative_signs,
    no_value_numbers,
    same_unit,
)
from survival_core.io.clinical_schema import (
    NO_TOKENS,
    YES_TOKENS,
    YES_WORDS,
    names_a_category_code,
    names_a_centre,
    names_a_scale,
    yes_no_words,
)
from survival_core.io.dates import (
    date_stems,
    excel_serial_dates,
    may_name_a_date,
    names_a_date,
    parse_dates,
)
from survival_core.io.delimited import DECIMAL, NumberMarks, as_ascii, read_bounds
from survival_core.io.headers import Header, stated_unit
from survival_core.io.tables import TIME_UNITS

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

#: Share of a column's present values that must be numbers for it to be numeric (the rest,
#: text without digits such as "not done", is read as missing and reported).
_NUMERIC_SHARE = 0.95
_NUMBER_WITH_UNIT = re.compile(f"({DECIMAL})" + r"\s*([A-Za-zµ%°/][A-Za-zµ%°/^0-9.]*)")
#: One-letter units of a number ('65 y', '3 d', '70 g'); others ('2a', '3b') are substages.
_LETTER_UNITS = frozenset({"y", "d", "w", "h", "g", "l", "m", "%"})
#: Lengths a column may give in either unit ('12 mm', '1.2 cm'), read in millimetres.
_MILLIMETRES = {"mm": 1.0, "cm": 10.0}

#: Share of a text column's cells with a value that must write a word of
#: :data:`~survival_core.io.clinical.LEVEL_WORDS` ('none') for it to be a level, not missing.
_LEVEL_SHARE = 0.05

OUTCOME_DROPPED = "dropped: another outcome or ID column, not a clinical variable"
IDENTIFIER_DROPPED = "dropped: an identifier or free text (by its name)"
#: clinical_report.csv's action for a column without a value (an external run names it).
NO_VALUES_DROPPED = "dropped: no values"


def missing_mask(
    cells: pd.Series, column: str, report: list[Coercion], numbers: NumberMarks | None = None
) -> pd.Series:
    """Which cells are missing-value tokens, but a negative '-' among '+'
    (:func:`~survival_core.io.clinical.negative_signs`); the tokens other than blanks are
    reported. Given the file's ``numbers``, a word of :data:`LEVEL_WORDS` a text column writes
    often is a level of it (:func:`_word_levels`)."""
    lowered = cells.str.strip().str.lower()
    missing = lowered.isin(MISSING_TOKENS) & ~negative_signs(cells)
    if numbers is not None:
        missing &= ~_word_levels(cells, lowered, missing, column, numbers, report)
    tokens = Counter(cells[missing & (lowered != "")])
    if tokens:
        report.append(
            Coercion(column, f"read {show(sorted(tokens))} as missing", sum(tokens.values()))
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
    said = show(sorted(set(cells[words].str.strip())))
    report.append(Coercion(column, f"read {said} as a level of this text column, not missing",
                           int(words.sum())))  # fmt: skip
    return words


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
            report.append(Coercion(column, f"merged {show(variants)} into {target!r}", n))
    return merged


def sentinels(values: pd.Series, column: str, report: list[Coercion]) -> pd.Series:
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


def unit_factor(unit: str, to: str, *, cells: bool = False) -> float | None:
    """What a value in ``unit`` is multiplied by to read in ``to``, where the reader converts
    between them exactly: 1 for one unit written otherwise ('ug/L', 'ng/mL'), 10 from cm to mm
    (:data:`_MILLIMETRES`, as a column of lengths in both is read); None for any other pair
    (g/L and g/dL, years and months). ``cells``: a cell count's, whose 'G/L' is 10^9/L
    (:func:`~survival_core.io.clinical.same_unit`)."""
    if same_unit(unit, to, cells=cells):
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
    present, bounds = read_bounds(present)
    if bounds:  # a lab's '<0.5', '>1000': the bound, said (they made the column text)
        report.append(
            Coercion(column, "values written as bounds ('<0.5', '>1000') read as the bound", bounds)
        )
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
                f"texts {show(sorted(set(present[~parsed])))} in a numeric column read as missing",
                int((~parsed).sum()),
            )
        )
    report.extend(Coercion(column, action, n) for action, n in numbers.said(present, column))
    values = sentinels(values, column, report)
    written_whole = not as_ascii(present[parsed]).str.contains(r"[.,eE]").any()
    if written_whole:
        return values.astype("Int64"), unit
    return values.astype(float), unit


#: REDCap's form status codes and labels: 0 Incomplete, 1 Unverified, 2 Complete.
_REDCAP_STATUS = frozenset({"0", "1", "2", "incomplete", "unverified", "complete"})


def _status_codes(present: pd.Series) -> set[str]:
    """A column's values as REDCap's form-status codes would be compared (lower case, '2.0' 2)."""
    return set(present.str.lower().str.replace(r"\.0+$", "", regex=True))


def is_redcap_export(cells: pd.DataFrame, headers: Mapping[str, Header]) -> bool:
    """Whether the table is a REDCap export: a 'redcap_*' field or 'record_id', or two or more
    '<form>_complete' columns of form-status codes (one per form)."""
    names = [headers[text].name for text in cells.columns]
    statuses = 0
    for text, name in zip(cells.columns, names, strict=True):
        written = cells[text].str.strip()
        present = written[~written.str.lower().isin(MISSING_TOKENS)]
        statuses += name.endswith("_complete") and _status_codes(present) <= _REDCAP_STATUS
    return statuses >= 2 or any(n.startswith("redcap_") or n == "record_id" for n in names)


def redcap_field(h: Header, present: pd.Series, redcap_export: bool) -> str:
    """What REDCap's own column is ("" for a clinical one): its fields named 'redcap_*' (the
    data access group, the event), and, in a REDCap export (:func:`is_redcap_export`) or holding
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


def date_column(
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


def present_texts(cells: pd.Series) -> pd.Series:
    """A column's texts that are not missing (:data:`MISSING_TOKENS`)."""
    return cells[~cells.str.strip().str.lower().isin(MISSING_TOKENS)]


#: A TNM stage's value ('M1', 'N2', 'T3a', 'cM0', 'pN1', 'Nx'): a baseline stage, never an
#: event flag.
_STAGE_VALUE = re.compile(r"(?i)\s*[cpy]?[tnm][0-4x][a-d]?\s*")


def holds_stages(cells: pd.Series) -> bool:
    """Whether a column's present values are all TNM stages ('M0'/'M1' of a 'metastasis_status'
    beside a time to metastasis): the stage at diagnosis, not whether the endpoint occurred."""
    present = present_texts(cells)
    return not present.empty and bool(present.str.fullmatch(_STAGE_VALUE).all())


def holds_dates(cells: pd.Series, h: Header, numbers: NumberMarks) -> bool:
    """Whether a column's present values are dates (:func:`date_column`)."""
    present = present_texts(cells)
    return not present.empty and date_column(present, h, None, numbers) is not None


#: The most levels, and the longest, of an attribute's codes under its '<attribute>_id'
#: (:func:`_codes_a_category`): I-SPY1's race codes are 6, '1' to '50'.
_CODE_LEVELS, _CODE_LENGTH = 20, 3


def _codes_a_category(cells: pd.Series, h: Header) -> bool:
    """Whether a column named as an attribute's code ('race_id', :func:`names_a_category_code`)
    holds few short codes, a category's; many or long ones are identifiers (a patient's)."""
    present = present_texts(cells).str.strip()
    return (
        names_a_category_code(h.name)
        and present.nunique() <= _CODE_LEVELS
        and bool(present.str.len().le(_CODE_LENGTH).all())
    )


def clean_variable(
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
    (of a ``redcap_export``, :func:`redcap_field`)."""
    column = h.text
    tokens = set(h.tokens)
    numbered = tokens & _NUMBER_WORDS and tokens & _IDENTIFYING_NUMBERS and "of" not in tokens
    identifying = tokens & _IDENTIFIER_PARTS or h.name.endswith("_id") or numbered
    # 'institution_id' is the centre's code, I-SPY1's 'race_id' a race's
    if identifying and not names_a_centre(column) and not _codes_a_category(cells, h):
        report.append(Coercion(column, IDENTIFIER_DROPPED, len(cells)))
        return "dropped", None, ""
    missing = missing_mask(cells, column, [] if outcome else report, None if outcome else numbers)
    as_written = cells[~missing]
    present = as_written.str.strip()
    redcap = redcap_field(h, present, redcap_export)
    if redcap:
        report.append(Coercion(column, f"dropped: {redcap}, not a clinical variable", len(cells)))
        return "dropped", None, ""
    parsed_dates = None if present.empty else date_column(present, h, order, numbers)
    if outcome and parsed_dates is None:
        report.append(Coercion(column, OUTCOME_DROPPED, len(cells)))
        return "dropped", None, ""
    if present.empty:
        report.append(Coercion(column, NO_VALUES_DROPPED, len(cells)))
        return "dropped", None, ""
    if parsed_dates is None and names_a_date(h.words):
        born = _birth_days(present, h, numbers)
        if born is not None and stated_unit(h) == "days":
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
                    f"unreadable dates {show(present[failed])} read as missing",
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
    boolean = yes_no_words(present)
    if boolean is not None:
        spellings = ", ".join(
            f"{s!r} -> {'yes' if s.lower() in YES_WORDS else 'no'}" for s in sorted(set(present))
        )
        report.append(Coercion(column, f"read as yes/no: {spellings}", len(present)))
        return "variable", boolean.astype("boolean").reindex(cells.index), h.unit
    merged = _merge_spellings(as_written, column, report)
    distinct = merged.nunique()
    if distinct > 10 and distinct > 0.5 * len(merged):
        units = sorted(set(_value_units(present)["unit"].dropna()))
        why = (
            f"values in several units ({show(units)}): convert them to one"
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
    and within :data:`OLDEST` years; else None."""
    if not BIRTH_WORDS & date_stems(h.words) or not numbers.readable(present, h.text).all():
        return None
    days = numbers.read(present, h.text)
    oldest = -OLDEST * TIME_UNITS["years"]
    return days if bool(((days < 0) & (days > oldest) & (days % 1 == 0)).all()) else None


#: The oldest age (years) a birth date may give; an older one is a wrong date.
OLDEST = 130


#: Header words of a birth date.
BIRTH_WORDS = frozenset({"birth", "dob", "brth"})
