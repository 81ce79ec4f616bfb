"""A clinical spreadsheet's survival times in days, from its time and follow-up columns.

The unit a time column's header states or the one given, censoring marks ('361+'), a longest
follow-up implausible in its unit, days to an event beside days to the last follow-up (TCGA / GDC,
Duke-Breast-Cancer-MRI) and a censored patient's blank time taken from a follow-up column. Read
by the import (:mod:`survival_core.cohort.clinical_table`) once its columns are found.
"""

from __future__ import annotations

import re

import pandas as pd

from survival_core.cohort.clinical_values import missing_mask, sentinels
from survival_core.cohort.import_report import Coercion, give_option, show
from survival_core.errors import InputError
from survival_core.io.delimited import NumberMarks
from survival_core.io.headers import Header, d_names_death, stated_unit
from survival_core.io.tables import TIME_UNITS, imported_follow_up_note

#: Columns of days to death and of days to the last follow-up (TCGA / GDC exports): the time is
#: the first for the dead, the second for the others (:func:`censoring_days`).
DEATH_DAYS_NAMES = ("days_to_death", "death_days_to")
FOLLOW_UP_DAYS_NAMES = (
    "days_to_last_follow_up", "days_to_last_followup", "last_contact_days_to",
    "days_to_last_contact", "days_to_last_known_alive",
    # MAMA-MIA's, beside its days to recurrence, metastasis and death
    "days_to_follow_up", "days_to_followup",
)  # fmt: skip


#: A censored time in a time column: a number followed by "+", or "alive"/"censored" then one.
_CENSORED_TIME = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?)\s*\+\s*$|(?i:alive|censored)\D*?(\d+(?:[.,]\d+)?)"
)


def censor_marks(cells: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """A time column's cells with censoring marks ('361+', BraTS's 'ALIVE (361 days later)')
    replaced by their number, and which were marked; None when no cell is."""
    found = cells.astype(str).str.extract(_CENSORED_TIME)
    number = found[0].where(found[0].notna(), found[1])
    censored = number.notna()
    if not censored.any():
        return None
    return cells.where(~censored, number), censored


def time_days(
    cells: pd.Series,
    h: Header,
    time_unit: str | None,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, str]:
    """Times in days and their unit (from the header, else ``time_unit``; they must agree)."""
    stated = stated_unit(h)
    if h.unit and not stated and time_unit is None:
        raise InputError(
            f"The time column {h.text!r} states the unit {h.unit!r}, which is not read as one "
            f"of {', '.join(TIME_UNITS)}; give the right one: {give_option('time_unit')}."
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
            f"{', '.join(TIME_UNITS)}: {give_option('time_unit')}."
        )
    missing = missing_mask(cells, h.text, report)
    value = numbers.read(cells, h.text)
    report.extend(Coercion(h.text, action, n) for action, n in numbers.said(cells, h.text))
    bad = ~missing & (value.isna() | (value < 0))
    if bad.any():
        report.append(
            Coercion(
                h.text,
                f"unusable times (not a number or negative) {show(cells[bad].unique())} "
                "read as missing",
                int(bad.sum()),
            )
        )
        value = value.where(~bad)
    value = sentinels(value, h.text, report)  # 9999 days, 999 months: no time, not 27 years
    days = value * TIME_UNITS[stated]
    action = "time in days" if stated == "days" else f"time in {stated}, converted to days"
    if stated != "days":
        action += f" (x {TIME_UNITS[stated]:g})"
    report.append(Coercion(h.text, action, int(value.notna().sum())))
    return days, stated


def follow_up_said(
    days: pd.Series, column: str, unit: str, stated_by: Header | None = None
) -> list[Coercion]:
    """A warning when the longest of the times (``days``, read in ``unit``) suggests another
    unit (:func:`~survival_core.io.tables.imported_follow_up_note`, said again where cv and fit
    read the cohort's clinical.csv): GBSG2's days imported as years made a 2,659-year follow-up
    without a word. ``stated_by``: the time column's header where it states the unit."""
    times = days.dropna()
    if not len(times):
        return []
    note = imported_follow_up_note(float(times.max()), unit, stated_by, _import_again)
    return [Coercion(column, note, len(times))] if note else []


def _import_again(unit: str) -> str:
    """How to import a sheet again in the time unit ``unit`` ("": unknown)."""
    return (
        f"import the sheet again with {give_option('time_unit', unit)}, or with the unit in the "
        "time column's header"
    )


def days_to_event_or_censoring(
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
    their days in ``to_censoring`` (:func:`censoring_days`; TCGA / GDC's days to death or to
    the last follow-up): ``to_event`` (its header and days) for the events (the event column's,
    else the rows with days to the event), ``to_censoring`` for the others; an event without its
    days has no time."""
    text, to_it = to_event
    to_last, _ = time_days(cells[to_censoring], headers[to_censoring], time_unit, report, numbers)
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


#: How many times the longest time of the time column a censored patient's follow-up may be:
#: beyond it, the follow-up column holds no length of time (a year, an age, a date's number).
_FOLLOW_UP_REACH = 10


def censored_from_follow_up(
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
    follow_up, _ = time_days(cells, h, None if stated_unit(h) else unit, [], numbers)
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


def blank_for_the_censored(days: pd.Series, event: pd.Series) -> bool:
    """Whether a time column is blank exactly where the event is 0 (and some are): a time to
    death, kept for the dead only ('Time to Death (days)' of NSCLC Radiogenomics)."""
    censored = event.eq(0).fillna(False)
    return bool(censored.any()) and bool((days.isna() == censored).all())
