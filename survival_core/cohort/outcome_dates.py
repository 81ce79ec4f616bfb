"""A clinical spreadsheet's outcome and ages from its date columns.

The start, death, last follow-up and recurrence dates recognised by their headers, the survival
time and event counted between them, the contradictions between an event column and a date of
death (a last contact written as a death date), two-digit birth years, and the age at diagnosis
from a birth date. Used by the import (:mod:`survival_core.cohort.clinical_table`) where no time
column gives the time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from survival_core.cohort.clinical_events import DISEASE_DATE_WORDS, death_event_codes
from survival_core.cohort.clinical_values import BIRTH_WORDS, OLDEST, date_column, present_texts
from survival_core.cohort.import_report import Coercion, give_option, name_rows, show
from survival_core.errors import InputError
from survival_core.io.dates import births_before, date_stems
from survival_core.io.delimited import NumberMarks
from survival_core.io.headers import Header
from survival_core.io.tables import TIME_UNITS


def refuse_end_as_start(path: Path, h: Header) -> None:
    """InputError for a date of death, follow-up, recurrence or birth given as the time column:
    taken as the start, an end date gave every patient 0 days and a birth date their lifetime."""
    ends = _DEATH_DATE_WORDS | FOLLOW_UP_DATE_WORDS | DISEASE_DATE_WORDS | BIRTH_WORDS
    if ends & date_stems(h.words):
        raise InputError(
            f"{path.name}: {h.text!r}, given as the time column, is a date the survival time "
            "ends at (or a birth date): the time column takes the survival time, or the date it "
            "counts from (diagnosis, surgery, treatment start) when there are several."
        )


def given_start(
    cells: pd.Series, h: Header, numbers: NumberMarks, order: str | None, report: list[Coercion]
) -> pd.Series:
    """The dates of the start date given as the time column, read in the file's day/month
    ``order`` as a date, never cleaned as a variable (a header of another script was refused, one
    with 'ID' in it dropped as an identifier and then missed)."""
    read, how = date_column(present_texts(cells), h, order, numbers)  # dates: holds_dates
    report.append(Coercion(h.text, f"dates ({how}) kept aside", int(read.notna().sum())))
    return read.reindex(cells.index)


def first_age(
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
    birth = birth_dates(dates, headers)
    reference = _one_date(dates, headers, _AGE_DATE_WORDS, birth)
    return (next(iter(birth)), reference) if len(birth) == 1 and reference else None


def two_digit_births(
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


def age_from_dates(
    dates: pd.DataFrame, headers: dict[str, Header], report: list[Coercion]
) -> pd.Series | None:
    """Age (years) at the one diagnosis/treatment date when a birth date is given too; an age
    below 0 or above :data:`OLDEST` (a date wrong) is left missing, reported."""
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
    impossible = (age < 0) | (age > OLDEST)
    if impossible.any():
        action = (
            f"ages below 0 or above {OLDEST} years ({show(sorted(age[impossible]))}) read as "
            f"missing: check {born!r} and {reference!r}"
        )
        report.append(Coercion("age", action, int(impossible.sum())))
    return age.mask(impossible)


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
FOLLOW_UP_DATE_WORDS = {
    "last", "lfu", "followup", "follow", "contact", "censoring", "censor", "lstalv",
    # 'letzter Kontakt', 'date des dernières nouvelles', 'última visita', 'ultimo contatto',
    # 'laatste contact', 'último contato'
    "letzter", "kontakt", "dernieres", "nouvelles", "ultima", "ultimo", "visita", "contatto",
    "laatste", "contato",
}  # fmt: skip


def birth_dates(dates: pd.DataFrame, headers: dict[str, Header]) -> set[str]:
    """The date columns whose header names a birth date."""
    return {c for c in dates if BIRTH_WORDS & date_stems(headers[c].words)}


def _one_date(
    dates: pd.DataFrame, headers: dict[str, Header], words: set[str], taken: set[str | None]
) -> str | None:
    """The one date column (not in ``taken``) whose header holds one of ``words``."""
    found = dates_named(dates, headers, words, taken)
    return found[0] if len(found) == 1 else None


def dates_named(
    dates: pd.DataFrame, headers: dict[str, Header], words: set[str], taken: set[str | None]
) -> list[str]:
    """The date columns (not in ``taken``) whose header holds one of ``words``."""
    return [c for c in dates if c not in taken and words & date_stems(headers[c].words)]


def why_no_time_from_dates(
    dates: pd.DataFrame, headers: dict[str, Header], report: list[Coercion]
) -> str:
    """Why the table's date columns gave no survival time ("" when it has none): not read as
    dates, several start dates, no start or no end."""
    unread = [c.column for c in report if c.action.startswith("dropped: named as a date")]
    if dates.empty and not unread:
        return ""
    why = []
    if unread:
        why.append(f"{show(unread)} not read as dates (mixed or unknown formats)")
    birth = birth_dates(dates, headers)
    roles = (
        ("start", _START_DATE_WORDS),
        ("death or last follow-up", _DEATH_DATE_WORDS | FOLLOW_UP_DATE_WORDS),
    )
    for role, words in roles if not dates.empty else ():
        found = [c for c in dates if c not in birth and words & date_stems(headers[c].words)]
        if len(found) > 1 and role == "start":
            why.append(
                f"several start dates ({show(found)}): give the one the time counts from as "
                f"the time column ({give_option('time_column', found[0])})"
            )
        elif not found:
            why.append(f"no {role} date among the dates ({show(list(dates)) or 'none'})")
    return " The date columns gave no time: " + "; ".join(why) + "." if why else ""


def outcome_date_columns(
    dates: pd.DataFrame, headers: dict[str, Header]
) -> tuple[str | None, str | None, str | None]:
    """The date columns an outcome can come from: the one start (diagnosis, treatment...), death
    and last follow-up date, each None when not exactly one column says it."""
    birth = birth_dates(dates, headers)
    start = _one_date(dates, headers, _START_DATE_WORDS, birth)
    death = _one_date(dates, headers, _DEATH_DATE_WORDS, birth | {start})
    last = _one_date(dates, headers, FOLLOW_UP_DATE_WORDS, birth | {start, death})
    return start, death, last


def days_between(
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


def days_to_disease_event(
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
        codes = death_event_codes(h)  # not another cause's a TTR censors ('2=DOC')
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
            name_rows(rows, ids, h.text, what + "missing for {} (correct one of the two)", report)
        events = events.mask(undated | contradicted)
    if death is not None:  # a recurrence after death: one of the two dates is wrong
        after = (happened > dates[death]).fillna(False).astype(bool)
        name_rows(
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


def set_aside_for_dates(
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
            + (f" among {show(starts)}" if starts else "")
            + ". Give the date the time counts from as the time column ("
            + give_option("time_column", starts[0] if starts else "")
            + "), or the time column of every patient's time."
        )
    report.append(
        Coercion(
            time_text,
            "not the time: blank for every censored patient; the time is from the dates",
            int(dates[start].notna().sum()),
        )
    )


def death_event(
    dates: pd.DataFrame, death: str, timed: pd.Series, report: list[Coercion]
) -> pd.Series:
    """The event as whether ``death`` holds a date, for the ``timed`` rows (the others missing)."""
    event = dates[death].notna().astype("Int64").where(timed)
    report.append(
        Coercion("(from dates)", f"event: a date in {death!r}", int(event.fillna(0).sum()))
    )
    return event


def last_contact_dates(
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


def alive_with_a_death_date(
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
    follow-up's end (:func:`last_contact_dates`), no contradiction."""
    alive = (event == 0).fillna(False).astype(bool) & death.notna() & ~last_contact
    name_rows(
        alive, ids, columns, "alive by the event column but with a date of death: outcome left "
        "missing for {} (correct one of the two)", report,
    )  # fmt: skip
    return days.mask(alive), event.mask(alive)


def dead_without_a_death_date(
    death: pd.Series, event: pd.Series, ids: pd.Series, column: str, report: list[Coercion]
) -> None:
    """Say which patients dead by the event column have no date of ``death``: their time runs to
    the last follow-up, when they were last known alive, so their death may have come later."""
    dead = (event == 1).fillna(False).astype(bool) & death.isna()
    name_rows(
        dead, ids, column, "dead by the event column without a date of death: time to the last "
        "follow-up used for {} (the death may have come later)", report,
    )  # fmt: skip
