"""Dates in tables as sites export them: ISO, day/month/year or month/day/year text, and Excel's
serial day numbers, with or without a time of day.

A spreadsheet's day/month order is one choice for the whole file (:func:`date_order`): a column
of a few US dates, none with a day above 12, is read in the order another column of the same file
proves, never in its own guess. Excel stores a date as the days since 1899-12-30; a CSV saved from
a sheet whose date cells lost their format holds those numbers (40637 for 2011-04-03).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

ISO_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
#: A time of day after a date, as exports write a datetime: Excel's '6/29/2004 0:00', .NET's
#: '6/29/2004 12:00:00 AM', '29.06.2004 00:00:00', SAS's DATETIME20. '29JUN2004:00:00:00', ISO's
#: 'T08:30:00.000Z' or '+01:00' (FHIR, JSON exports). Survival is counted in calendar days
#: between the dates as written at the site, so the time and its zone are read off (converted
#: to UTC, 2004-06-29T23:30-05:00 would be the next day).
CLOCK_TIME = (
    r"(?:[ T]|:(?=\d{1,2}:))\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:\s?[AaPp]\.?[Mm]\.?)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?"
)
DMY_DATE = r"(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})"
#: A d/m/y or m/d/y date with a two-digit year ('10/06/22'), whose century is a guess.
TWO_DIGIT_YEAR = r"\d{1,2}[./-]\d{1,2}[./-]\d{2}|\d{1,2}[-\s]?[A-Za-z]{3}[-\s]?\d{2}"
#: A day, an English month name's first three letters and a year, as SAS's DATE9. ('11DEC1998'),
#: Stata's %td ('11dec1998') and Excel's d-mmm-yy ('30-Sep-88') write them.
NAMED_MONTH_DATE = r"(\d{1,2})[-\s]?([A-Za-z]{3})[-\s]?(\d{4}|\d{2})"
_MONTHS = {m: k for k, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
#: A date given to the month, as de-identified exports write one ('1985-02', '02/1985').
YEAR_MONTH = r"(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])|(?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}"
#: Share of a column's present values that must read as dates for it to be a date column.
DATE_SHARE = 0.95
DAY_FIRST, MONTH_FIRST = "day/month/year", "month/day/year"
#: Excel's day 0 (its serial numbers count from here, 1900 leap-year bug included).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Serial numbers read as dates: 1919-03-02 (7,000) to 2100-01-01 (73,051).
EXCEL_SERIALS = (7_000, 73_051)
#: Header words naming a date column.
DATE_WORDS = frozenset({"date", "dob", "datum", "fecha"})
#: English words that begin or end as a date word does without naming one.
_NOT_DATES = frozenset(
    {"candidate", "update", "mandate", "validate", "accommodate", "consolidate", "sedate", "dated"}
)
#: CDISC's ending of a date and of a date-time variable ('RANDDT', 'ADT', 'TRTSDTM'), which
#: other headers share ('ADT' is also androgen deprivation therapy, 'PSA DT' a doubling time).
CDISC_DATE_ENDINGS = ("dt", "dtm")


def _glued_date(word: str) -> bool:
    """Whether a header word is a date word glued to another ('dxdate', 'dateofbirth')."""
    return (word.startswith("date") or word.endswith("date")) and word not in _NOT_DATES


def _date_word(word: str) -> bool:
    """Whether a header word is a date word ('date', 'dob') or one glued to another ('dxdate')."""
    return word in DATE_WORDS or _glued_date(word)


def names_a_date(words: Iterable[str]) -> bool:
    """Whether a header's words (:attr:`~survival_core.io.headers.Header.words`) name a date:
    a date word ('Date of birth', 'DiagnosisDate' split at its case) or one glued to another
    ('dxdate', as Stata exports name them): its numbers are day numbers, never a variable. An
    age's header never does (:func:`_names_an_age`)."""
    words = list(words)
    return not _names_an_age(words) and any(_date_word(w) for w in words)


def may_name_a_date(words: Iterable[str]) -> bool:
    """Whether a header's words name a date (:func:`names_a_date`) or end as CDISC's dates do
    (:data:`CDISC_DATE_ENDINGS`): such a column is a date when its values are day numbers."""
    words = list(words)
    return not _names_an_age(words) and any(
        _date_word(w) or w.endswith(CDISC_DATE_ENDINGS) for w in words
    )


def _names_an_age(words: list[str]) -> bool:
    """Whether a header's first word is 'age': an age at some date ('Age at the date of
    diagnosis (years)'; Duke-Breast-Cancer-MRI's 'Age at last contact ... (from the date of
    diagnosis)' in days, which Excel's serial numbers read as dates of 1949 to 1982)."""
    return bool(words) and words[0] == "age"


def date_stems(words: Iterable[str]) -> set[str]:
    """A header's words with the word each glued date word is made of ('dxdate': dx, CDISC's
    'randdt': rand, 'dthdt': dth, 'dateofbirth': birth), which say whose date it is."""
    stems = set(words)
    for word in set(stems) - _NOT_DATES:
        if word.startswith("date"):
            stems.add(word.removeprefix("date").removeprefix("of"))
        for ending in ("date", *CDISC_DATE_ENDINGS):
            if word.endswith(ending):
                stems.add(word.removesuffix(ending))
    return stems - {""}


def date_part(written: pd.Series) -> pd.Series:
    """Date texts without their surrounding blanks and a :data:`CLOCK_TIME` after the date."""
    return written.str.strip().str.replace(f"(?<=\\S){CLOCK_TIME}$", "", regex=True)


def is_iso(present: pd.Series) -> bool:
    """Whether (nearly) all of a column's present texts are ISO dates."""
    return bool(len(present)) and present.str.fullmatch(ISO_DATE).mean() >= DATE_SHARE


def _parts(present: pd.Series) -> pd.DataFrame | None:
    """Day-or-month, month-or-day and year of a column of d/m/y or m/d/y texts; None when under
    :data:`DATE_SHARE` of them are."""
    parts = present.str.extract(f"^{DMY_DATE}$")
    if not len(present) or parts[0].notna().mean() < DATE_SHARE:
        return None
    return parts.apply(pd.to_numeric)


def _named_month_parts(present: pd.Series) -> pd.DataFrame | None:
    """Day, month and year of a column of :data:`NAMED_MONTH_DATE` texts; None when under
    :data:`DATE_SHARE` of them are."""
    parts = present.str.extract(f"^{NAMED_MONTH_DATE}$")
    month = parts[1].str.lower().map(_MONTHS)
    if not len(present) or month.notna().mean() < DATE_SHARE:
        return None
    return pd.DataFrame({0: pd.to_numeric(parts[0]), 1: month, 2: pd.to_numeric(parts[2])})


def date_order(columns: Iterable[pd.Series]) -> str | None:
    """The day/month order a file's d/m/y-or-m/d/y columns prove together: day first when a first
    number is above 12 somewhere, month first when a second one is, None when nothing says (or
    the columns contradict each other, so each keeps its own)."""
    day_first = month_first = False
    for present in columns:
        parts = _parts(date_part(present))
        if parts is None:
            continue
        day_first |= bool((parts[0] > 12).any())
        month_first |= bool((parts[1] > 12).any())
    if day_first != month_first:
        return DAY_FIRST if day_first else MONTH_FIRST
    return None


def parse_dates(present: pd.Series, order: str | None = None) -> tuple[pd.Series, str] | None:
    """A column's present texts as dates and the order read (ISO, day/month...), when (nearly)
    all are dates; ``order`` is the file's (:func:`date_order`), else the column's own. A time of
    day after a date is read off (:data:`CLOCK_TIME`)."""
    text = date_part(present)
    if is_iso(text):
        return pd.to_datetime(text, errors="coerce", format="ISO8601"), "ISO (year-month-day)"
    named = _named_month_parts(text)
    parts = _parts(text) if named is None else named
    if parts is None:
        return None
    first, second, year = parts[0], parts[1], parts[2]
    year = year.where(year >= 100, year + np.where(year <= date.today().year % 100, 2000, 1900))
    if named is not None:
        frame = pd.DataFrame({"year": year, "month": second, "day": first})
        return pd.to_datetime(frame, errors="coerce"), "day, month name, year (SAS, Stata)"
    if order is None:
        if (first > 12).any() or not (second > 12).any():
            order = DAY_FIRST
            if not (first > 12).any():
                order += " (ambiguous: no day above 12; day first assumed)"
        else:
            order = MONTH_FIRST
    day, month = (first, second) if order.startswith(DAY_FIRST) else (second, first)
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(frame, errors="coerce"), order


def births_before(
    born: pd.Series, written: pd.Series, reference: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Birth dates ``born`` whose year was ``written`` with two digits put a century earlier
    where they fall after the ``reference`` date (diagnosed in 2002, '10/06/22' is 1922, not the
    2022 :func:`parse_dates` reads by today's century), and which were."""
    two_digit = date_part(written).str.fullmatch(TWO_DIGIT_YEAR).fillna(False).astype(bool)
    moved = two_digit & (born > reference)
    return born.where(~moved, born - pd.DateOffset(years=100)), moved


def excel_serial_dates(values: pd.Series) -> pd.Series | None:
    """Numbers in :data:`EXCEL_SERIALS` as the dates Excel means by them (a fraction is the time
    of day, as a datetime cell that lost its format holds it); None when any present value is
    not one (the caller checks that the header names a date)."""
    present = values.dropna()
    if present.empty:
        return None
    numbers = present.astype(float)
    low, high = EXCEL_SERIALS
    if not ((numbers >= low) & (numbers <= high)).all():
        return None
    days = values.astype("Float64").astype(float)
    return EXCEL_EPOCH + pd.to_timedelta(days, unit="D")


def looks_like_dates(column: pd.Series) -> bool:
    """Whether a text column's present values are (nearly) all dates (ISO, d/m/y or m/d/y, a
    month's name: :data:`NAMED_MONTH_DATE`, or to the month: :data:`YEAR_MONTH`), a time of day
    after them or not."""
    present = column.dropna()
    if present.empty or not all(isinstance(v, str) for v in present):
        return False
    text = date_part(present)
    return (
        is_iso(text)
        or _parts(text) is not None
        or _named_month_parts(text) is not None
        or bool(text.str.fullmatch(YEAR_MONTH).mean() >= DATE_SHARE)
    )
