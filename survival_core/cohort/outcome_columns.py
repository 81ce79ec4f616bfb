"""Finding a clinical spreadsheet's survival time and event columns by their names.

A given column matched by its header; otherwise the time named first among the time names (one of
the given event's endpoint first), the event of the time's endpoint (TCGA's 'OS' beside
'OS.time', HECKTOR's 'Relapse' beside its RFS), an identifier named so, a time named by its unit,
the columns of days to an event and to the last follow-up, and a length of follow-up. Used by the
import (:mod:`survival_core.cohort.clinical_table`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from survival_core.cohort.clinical_events import DEATH_HEADER_WORDS, column_endpoint
from survival_core.cohort.clinical_values import holds_dates, present_texts
from survival_core.cohort.import_report import give_option, show
from survival_core.cohort.outcome_dates import FOLLOW_UP_DATE_WORDS
from survival_core.cohort.survival_times import DEATH_DAYS_NAMES, FOLLOW_UP_DAYS_NAMES
from survival_core.errors import InputError
from survival_core.io.dates import date_stems, names_a_date
from survival_core.io.delimited import NumberMarks
from survival_core.io.headers import (
    EVENT_NAMES,
    TIME_NAMES,
    TIME_UNIT_OF,
    Header,
    endpoint_name,
    glued_to_censoring,
    name_unit,
    normalise_name,
    stated_unit,
    time_lookup_name,
)

#: Names of a death's event column (a vital status), in :data:`EVENT_NAMES`' order.
_DEATH_EVENT_NAMES = tuple(n for n in EVENT_NAMES if set(n.split("_")) & DEATH_HEADER_WORDS)
#: Names of a vital status column, read before an ambiguous censoring column beside it.
VITAL_STATUS_NAMES = ("vital_status", "survival_status", "vitalstatus", "deadstatus")
#: Names of a recurrence's event column (R's survival::rotterdam: 'recur', Duke-Breast-Cancer-
#: MRI's 'Recurrence event(s)', 'recurrence_event_s' beside its codes).
_RECURRENCE_EVENTS = (
    "relapse", "relapsed", "recurrence", "recurred", "recur", "recurrence_event",
    "recurrence_events", "recurrence_event_s",
)  # fmt: skip
#: Event names of a time column's endpoint (its name's first part), looked for before the rest:
#: HECKTOR's RFS pairs with its Relapse column, never with a vital status beside it; an OS time
#: with the death column, never a bare 'status' beside it (GBSG2's recurrence flag was).
ENDPOINT_EVENTS = {
    # TCGA's Pan-Cancer table: 'OS' (0/1) beside 'OS.time', 'PFI' beside 'PFI.time'...
    "os": ("os_event", "os_status", "os", *_DEATH_EVENT_NAMES),
    "pfi": ("pfi_event", "pfi_status", "pfi"),
    "dfi": ("dfi_event", "dfi_status", "dfi"),
    "dss": ("dss_event", "dss_status", "dss"),
    "css": ("css_event", "css_status", "css"),  # a cancer-specific survival's: a DSS
    "rfs": ("rfs_event", "rfs_status", "rfs", *_RECURRENCE_EVENTS),
    "dfs": ("dfs_event", "dfs_status", "dfs", *_RECURRENCE_EVENTS),
    "pfs": ("pfs_event", "pfs_status", "pfs", "progression", "progressed"),
    "efs": ("efs_event", "efs_status", "efs"),
    "ttp": ("progression", "progressed"),
}


def find_named(
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


def first_by_name(headers: dict[str, Header], names: Sequence[str], *, base: bool) -> str | None:
    """The header whose name (or base name) comes first in ``names``; a header of codes by its
    event's too ('Death_1_StillAliveorLostToFU_0' as 'death': :attr:`Header.event_name`)."""
    keys = {text: (h.base,) if base else (h.name, h.event_name) for text, h in headers.items()}
    return next((text for wanted in names for text, k in keys.items() if wanted in k), None)


def time_endpoints(h: Header) -> list[str]:
    """The endpoints whose event columns (:data:`ENDPOINT_EVENTS`) a time column's are looked
    for among: the one its header names ('rfs' of R's 'rfstime', whose 'recur' was not looked
    for; 'os' of 'overall survival'), then its name's first part as written ('css' of
    'css_months'), then 'rfs' where it names a recurrence (Duke's 'Days to local recurrence',
    beside whose 'Recurrence event(s)' the vital status was taken)."""
    recurrence = "rfs" if set(h.tokens) & {"recurrence", "relapse"} else None
    return list(dict.fromkeys(e for e in (endpoint_name(h), h.tokens[0], recurrence) if e))


def check_endpoints(
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
        f"of the time's endpoint ({give_option('event_column')}), or the time of the event's "
        f"({give_option('time_column')})."
    )


def time_by_name(
    headers: dict[str, Header], cells: pd.DataFrame, numbers: NumberMarks, event: Header | None
) -> str | None:
    """The header named first in :data:`TIME_NAMES` (:func:`time_lookup_name`), a given
    ``event``'s own endpoint's first (:func:`endpoint_name`: TCGA's 'DFI.time' for 'DFI', where
    'PFI.time' was taken), then one of its kind (:func:`column_endpoint`: a death's, a
    disease's); one holding only 0 and 1 only when no other is named so: beside another it is
    its endpoint's event indicator (TCGA's Pan-Cancer 'OS' beside 'OS.time': its 0/1 were read
    as days)."""
    kind = column_endpoint(event) if event is not None else None
    own = endpoint_name(event) if event is not None else None
    tests = [
        *([lambda h: endpoint_name(h) == own] if own else []),
        *([lambda h: column_endpoint(h) == kind] if kind else []),
        lambda h: True,
    ]
    looked_up = {text: time_lookup_name(h) for text, h in headers.items()}
    named = [
        text
        for fits in tests
        for wanted in TIME_NAMES
        for text, h in headers.items()
        if looked_up[text] == wanted and fits(h)
    ]
    timed = (text for text in named if not _zero_one(cells[text], text, numbers))
    return next(timed, named[0] if named else None)


#: Bare survival times, an overall survival's where nothing else names the endpoint (GBSG's
#: lymph-node 'survtime' beside its 'censdead').
_SURVIVAL_TIMES = frozenset({"survival", "survival_time", "surv_time", "survtime"})


def glued_event(headers: dict[str, Header], time: Header | None) -> str | None:
    """The event column glued to a censoring word (:func:`~survival_core.io.headers.
    glued_to_censoring`) of the ``time``'s endpoint: 'censrec' of a recurrence's 'rectime',
    'censdead' of a death's time or a bare survival time ('survtime'). lymph-node's 'survtime'
    found none, and its 'deathdate', the living's last contact, made all 686 patients dead."""
    whose = None if time is None else column_endpoint(time)
    if time is not None and whose is None and time.base in _SURVIVAL_TIMES:
        whose = "death"
    if whose is None:
        return None
    return next(
        (t for t, h in headers.items() if glued_to_censoring(h) and column_endpoint(h) == whose),
        None,
    )


def own_event_names(time_base: str) -> tuple[str, ...]:
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


def named_id(headers: dict[str, Header], cells: pd.DataFrame) -> str | None:
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


def named_time(headers: dict[str, Header]) -> str | None:
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


#: A column of days to an event, and the event ('local_recurrence' of Duke-Breast-Cancer-MRI's
#: 'Days to local recurrence', 'death' of TCGA BCR's 'death_days_to'); never to the last one nor
#: to the follow-up (MAMA-MIA's 'days_to_follow_up').
_DAYS_TO = re.compile(r"days_to_(?!last_|follow_?up$)(?P<to>\w+)|(?!last_)(?P<of>\w+)_days_to")


def censoring_days(headers: dict[str, Header], to_event: str) -> str | None:
    """The column of a censored patient's days beside ``to_event``, a column of days to an event
    blank for the others (:data:`_DAYS_TO`): days to the last assessment free of that event
    (Duke-Breast-Cancer-MRI's 'Days to last local recurrence free assessment'), else to the last
    follow-up or contact (TCGA / GDC: :data:`FOLLOW_UP_DAYS_NAMES`); None when there is none."""
    written = _DAYS_TO.fullmatch(headers[to_event].name)
    if written is None:
        return None
    event = written["to"] or written["of"]
    free = (f"days_to_last_{event}_free_assessment", f"days_to_last_{event}_free")
    return first_by_name(headers, (*free, *FOLLOW_UP_DAYS_NAMES), base=False)


def split_days(headers: dict[str, Header], cells: pd.DataFrame) -> list[str]:
    """The columns of days to an event other than death, each holding some, beside days to the
    last assessment free of it or to the last follow-up (:func:`censoring_days`;
    Duke-Breast-Cancer-MRI's local recurrence, MAMA-MIA's 'days_to_recurrence' beside
    'days_to_follow_up'), for a table without a survival time column (TCGA's days to death are
    read apart)."""
    return [
        text
        for text, h in headers.items()
        if h.name not in DEATH_DAYS_NAMES
        and censoring_days(headers, text) is not None
        and not present_texts(cells[text]).empty
    ]


def one_days_to_event(path: Path, headers: dict[str, Header], to_events: list[str]) -> str | None:
    """The one of :func:`split_days`' columns, the survival time; None when there is none;
    several are refused: which event is the outcome is the user's to say."""
    if len(to_events) <= 1:
        return to_events[0] if to_events else None
    censoring = censoring_days(headers, to_events[0])
    raise InputError(
        f"{path.name}: {show(to_events)} each hold the days to an event, {censoring!r} the others' "
        f"days: which is the survival time is yours to say. Give the time column of the endpoint "
        f"studied ({give_option('time_column', to_events[0])}): a patient without its days is "
        f"censored at {censoring!r}."
    )


#: Header words of a follow-up, whose time column holds a censored patient's time.
_FOLLOW_UP_WORDS = frozenset({"follow", "followup", "fu", "lfu"})
#: Header words of an age or a calendar year, never a length of follow-up: 'Year of last
#: follow-up' (1970) and 'Age at last follow-up (years)' (70) gave the censored 719,542 and
#: 25,667 days.
_NOT_A_LENGTH = frozenset({"age", "year"})


def follow_up_time(headers: dict[str, Header], taken: set[str | None]) -> str | None:
    """The one column (not in ``taken``) of a length of follow-up ('Time – diagnosis to last
    follow-up(days)', 'Length FU'), not a date ('Last FU', 'Date of last follow-up'), an age or
    a year ('Year of last follow-up'); None when not exactly one."""
    found = [
        text
        for text, h in headers.items()
        if text not in taken
        and set(h.tokens) & _FOLLOW_UP_WORDS
        and (stated_unit(h) or set(h.tokens) & {"time", "length", "duration"})
        and not set(h.words) & _NOT_A_LENGTH
        and not names_a_date(h.words)
    ]
    return found[0] if len(found) == 1 else None


#: Names of a length of follow-up without a unit word (OPC-Radiomics' 'Length FU').
_FOLLOW_UP_LENGTHS = frozenset(
    {"length_fu", "fu", "fu_length", "length_of_follow_up", "length_of_followup"}
)


def follow_up_length(
    headers: dict[str, Header], cells: pd.DataFrame, numbers: NumberMarks
) -> str | None:
    """The one length-of-follow-up column ('Length FU', 'FU', 'Length of follow-up'), every
    patient's time, where no last-follow-up date gives the living theirs: OPC-Radiomics' time
    was taken from 'Diag' to 'Date of Death', which only the dead have (its 285 living patients'
    outcomes missing). Beside a date of the last follow-up ('Last FU') the dates give it."""
    found = [text for text, h in headers.items() if h.base in _FOLLOW_UP_LENGTHS]
    dated = any(
        FOLLOW_UP_DATE_WORDS & date_stems(h.words) and holds_dates(cells[text], h, numbers)
        for text, h in headers.items()
        if text not in found
    )
    return found[0] if len(found) == 1 and not dated else None
