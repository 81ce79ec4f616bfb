"""Read a cohort's clinical table (CSV, XLSX or a JSON array of patients) as a study exports it.

:func:`read_clinical_spreadsheet` finds the patient ID, survival time and event columns (by name
unless given), converts the time to days and the event to 0/1, and cleans every other column into
a clinical variable: missing-value tokens and numeric sentinels (-999) to missing, units read from
the header (``Dose [Gy]``) or the values (mm and cm lengths in mm), decimal commas and thousands
separators (told apart by the file's numbers), spelling variants of a category merged, yes/no
columns as booleans, dates kept aside, identifiers and free text dropped. Nothing is changed
silently: each recognition, conversion and drop is a
:class:`~survival_core.cohort.import_report.Coercion` in the import's report. The cleaned table
comes with a drafted :class:`~survival_core.io.clinical_schema.CohortSchema`.

This module holds the entry point, the imported table and the report's warnings; the steps live in
the modules named after what they read: :mod:`~survival_core.cohort.clinical_sheet` (the file's
cells), :mod:`~survival_core.cohort.outcome_columns` (the columns found by name),
:mod:`~survival_core.cohort.survival_times`, :mod:`~survival_core.cohort.clinical_events`,
:mod:`~survival_core.cohort.outcome_dates` (the outcome from dates),
:mod:`~survival_core.cohort.clinical_values` (the variables) and
:mod:`~survival_core.cohort.import_report` (the report's lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from survival_core.cohort.clinical_events import (
    DISEASE_DATE_WORDS,
    column_endpoint,
    counts_deaths,
    death_event_codes,
    event_01,
    is_death_column,
    ispy_vital_status,
    names_deaths_only,
    ncdb_vital_status,
    says_no_event,
    states_codes,
)
from survival_core.cohort.clinical_sheet import (
    one_row_per_case,
    other_sheets,
    patient_ids,
    read_cells,
    refuse_samples_as_patients,
    unique_names,
    without_note_rows,
    without_summary_rows,
)
from survival_core.cohort.clinical_values import (
    IDENTIFIER_DROPPED,
    OUTCOME_DROPPED,
    clean_variable,
    holds_dates,
    holds_stages,
    is_redcap_export,
    present_texts,
)
from survival_core.cohort.import_report import Coercion, give_option, show
from survival_core.cohort.outcome_columns import (
    ENDPOINT_EVENTS,
    VITAL_STATUS_NAMES,
    censoring_days,
    check_endpoints,
    find_named,
    first_by_name,
    follow_up_length,
    follow_up_time,
    glued_event,
    named_id,
    named_time,
    one_days_to_event,
    own_event_names,
    split_days,
    time_by_name,
    time_endpoints,
)
from survival_core.cohort.outcome_dates import (
    age_from_dates,
    alive_with_a_death_date,
    birth_dates,
    dates_named,
    days_between,
    days_to_disease_event,
    dead_without_a_death_date,
    death_event,
    first_age,
    given_start,
    last_contact_dates,
    outcome_date_columns,
    refuse_end_as_start,
    set_aside_for_dates,
    two_digit_births,
    why_no_time_from_dates,
)
from survival_core.cohort.survival_times import (
    DEATH_DAYS_NAMES,
    FOLLOW_UP_DAYS_NAMES,
    blank_for_the_censored,
    censor_marks,
    censored_from_follow_up,
    days_to_event_or_censoring,
    follow_up_said,
    time_days,
)
from survival_core.errors import InputError
from survival_core.io.clinical import MISSING_TOKENS
from survival_core.io.clinical_schema import CohortSchema, infer_schema
from survival_core.io.dates import date_order
from survival_core.io.delimited import POINTS_UNLESS_SAID, NumberMarks, number_marks
from survival_core.io.headers import (
    CENSOR_NAMES,
    CHART_NUMBER_NAMES,
    EVENT_NAMES,
    ID_NAMES,
    INTERVAL_ENDPOINTS,
    TIMED_ENDPOINTS,
    Header,
    bookkeeping,
    endpoint_name,
    is_outcome_like,
    measured_after_treatment,
    parse_header,
    stated_unit,
    timed_events,
)
from survival_core.io.outcome_source import OutcomeSource
from survival_core.io.tables import (
    FOLLOW_UP_NOTE_START,
    holds_row_labels,
    tells_the_event,
    vital_status_by_cells,
)
from survival_core.outcome import no_censored_said

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

#: What the report says of days to death holding none beside days to another event (MAMA-MIA's
#: 'days_to_death' beside 'days_to_recurrence'): its pair with the follow-up gave no event.
_NO_DEATH_DAYS = (
    "holds no days: not the outcome (an overall survival without a death); the days to {} are "
    "read instead"
)

_ROW_LABELS_DROPPED = (
    "dropped: row numbers or labels, not a variable (a column without a header, or headed as a "
    "reader names a blank one: 'Unnamed: 0', whose values are all different, as R's write.csv "
    "writes its row names and pandas its index); a variable needs a header"
)

#: cBioPortal's bookkeeping of a patient's samples ('Sample Type': Primary / Recurrence, 'Number
#: of Samples Per Patient', its SAMPLE_COUNT): a recurrence's sample, or a second one, says the
#: patient was followed long enough to have one. The counts by name, a 'Sample Type' by
#: :func:`_samples_bookkeeping`.
_SAMPLE_COUNTS = frozenset({"number_of_samples_per_patient", "sample_count"})
#: Words of cBioPortal's sample types ('Primary', 'Primary Tumor', 'Recurrence', 'Metastatic',
#: 'Solid Tissue Normal', 'Xenograft'), one in each of a 'Sample Type' of its download; never a
#: specimen's type ('FFPE', 'frozen', 'biopsy').
_CBIOPORTAL_SAMPLE_WORDS = frozenset(
    {"primary", "recurrence", "recurrent", "relapse", "metastasis", "metastases", "metastatic",
     "progression", "progressed", "normal", "xenograft", "cfdna"}
)  # fmt: skip
_SAMPLES_DROPPED = (
    "dropped: the dataset's bookkeeping of the patient's samples (cBioPortal's), not a clinical "
    "variable: a recurrence's sample, or a second one, tells the outcome"
)


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
    #: Whether a death counted as an event (:func:`counts_deaths`): False for a disease-specific
    #: survival's, its other causes' deaths censored; None where unsaid.
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


def asks_to_act(action: str) -> bool:
    """Whether a report line's ``action`` is a warning to act on, not a coercion done: a longest
    follow-up implausible in the time unit the times were read in (:func:`follow_up_said`), or
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
            f"{give_option('event_column')})"
        )
    else:
        check = f"that {event_text!r} is the event's column ({give_option('event_column')})"
    said = no_censored_said(len(events), "patients with an outcome", check)
    return [Coercion(event_text, f"{NO_CENSORED_START}{said}", len(events))]


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
            f"{path.name}: {show(unread)} are headed in a script whose words RadSurv does not "
            "read: whether a column is another outcome (a recurrence, a date of death), an "
            "identifier (a record number, a name) or has a unit is read from its header, and one "
            "read as a predictor would leak the outcome or the patient's identity into the "
            "model. Head the columns to use in English ('Age (years)', 'Tumour size (mm)') and "
            f"remove the others; the ID, time and event columns may be given by name "
            f"({give_option('id_column')}, {give_option('time_column')}, "
            f"{give_option('event_column')})."
        )


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
    cells, delimiter = read_cells(path, report)
    repeated = sorted(set(cells.columns[cells.columns.duplicated()]))
    if repeated:  # two columns under one header: which would be the variable is anyone's guess
        raise InputError(
            f"{path.name}: the header {', '.join(map(repr, repeated))} is written on more than "
            "one column; rename or remove the copies."
        )
    headers = {text: parse_header(text) for text in cells.columns}
    unique_names(headers, path)

    id_text = _id_column(path, cells, headers, id_column, report)
    cells = without_summary_rows(without_note_rows(cells, id_text, report), id_text, report)
    cells = one_row_per_case(cells, id_text, headers, path, report)
    headers = {text: h for text, h in headers.items() if text in cells.columns}
    ids = patient_ids(cells, id_text, path, report)
    numbers = number_marks(
        cells,
        path.name,
        default=POINTS_UNLESS_SAID if delimiter in (",", "") else None,
        points_decimal=not delimiter,  # a workbook's (or JSON's) typed numbers
    )

    time_text = find_named(headers, time_column, "time", "time_column", path)
    event_text = find_named(headers, event_column, "event", "event_column", path)
    # a given 'alive' or 'CNSR' column is read as its header says, as one found by name is
    censoring = event_text is not None and says_no_event(headers[event_text])
    death_text = first_by_name(headers, DEATH_DAYS_NAMES, base=False)
    follow_text = first_by_name(headers, FOLLOW_UP_DAYS_NAMES, base=False)
    if time_text is None:
        given = headers[event_text] if event_text is not None else None
        time_text = time_by_name(headers, cells, numbers, given)
    to_events = split_days(headers, cells) if time_text is None else []
    if death_text and follow_text and to_events and present_texts(cells[death_text]).empty:
        report.append(Coercion(death_text, _NO_DEATH_DAYS.format(show(to_events)), len(cells)))
        death_text = None  # MAMA-MIA's: its days to recurrence are the outcome
    if time_text is None and not (death_text and follow_text):  # TCGA's pair is read below
        time_text = (
            one_days_to_event(path, headers, to_events)
            or named_time(headers)
            or follow_up_length(headers, cells, numbers)
        )
    if event_text is None:
        event_text, censoring = _event_by_name(path, cells, headers, time_text, report)
    start_given = None
    if time_column is not None and holds_dates(cells[time_text], headers[time_text], numbers):
        # a registry's several start dates (diagnosis, surgery): the one the time counts from
        refuse_end_as_start(path, headers[time_text])
        start_given, time_text = time_text, None
        report.append(
            Coercion(
                start_given, "used as the date the survival time counts from (given)", len(cells)
            )
        )
    to_censoring = None if time_text is None else censoring_days(headers, time_text)
    if time_text is not None and time_text == event_text:
        raise InputError(f"{path.name}: {time_text!r} cannot be both the time and the event.")
    if time_text is not None and event_text is not None:
        check_endpoints(
            path,
            (time_text, column_endpoint(headers[time_text])),
            (event_text, column_endpoint(headers[event_text])),
            given=time_column is not None and event_column is not None,
        )
    for text, given, role in (
        (time_text, time_column, "survival time"),
        (event_text, event_column, "event"),
    ):
        if text is not None:
            how = "given" if given else "recognised by its name"
            report.append(Coercion(text, f"used as the {role} ({how})", len(cells)))
    outcome_columns = [text for text in (time_text, event_text) if text is not None]
    refuse_samples_as_patients(cells, id_text, headers, outcome_columns, path)
    days = unit = event = deaths_counted = None
    vital_status = False
    marked = None if event_text or time_text is None else censor_marks(cells[time_text])
    if time_text is not None:
        times = cells[time_text] if marked is None else marked[0]
        days, unit = time_days(times, headers[time_text], time_unit, report, numbers)
    if event_text is not None:
        event, ones = event_01(
            cells[event_text],
            headers[event_text],
            censoring=censoring,
            report=report,
            numbers=numbers,
        )
        deaths_counted = counts_deaths(headers[event_text], ones)
        vital_status = any(
            said(headers[event_text], ones)
            for said in (names_deaths_only, ispy_vital_status, ncdb_vital_status)
        )  # I-SPY1's 'sstat' 8, NCDB's 'PUF_VITAL_STATUS' 0: dead
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
        days, event = days_to_event_or_censoring(
            cells, headers, (time_text, days), to_censoring, event, time_unit, report, numbers
        )
        event_text = event_text or time_text  # the events: those with days to it
    outcome_texts = {id_text, time_text, event_text, start_given}
    if days is not None and event is not None:
        follow_up = follow_up_time(headers, outcome_texts)
        if follow_up is not None:
            days = censored_from_follow_up(
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
        and blank_for_the_censored(days, event)
    )
    if days is None and death_text and follow_text:
        to_death, _ = time_days(cells[death_text], headers[death_text], time_unit, report, numbers)
        days, event = days_to_event_or_censoring(
            cells, headers, (death_text, to_death), follow_text, event, time_unit, report, numbers
        )
        unit, time_text = "days", f"({death_text} / {follow_text})"
        event_text = event_text or death_text  # the dead: those with days to death
        outcome_texts |= {death_text, follow_text}
    if to_censoring is not None:  # named as the pair, as TCGA's is
        outcome_texts.add(to_censoring)
        time_text = f"({time_text} / {to_censoring})"
    _refuse_unread_headers(path, headers, outcome_texts)
    order = date_order(
        present_texts(cells[c]) for c in cells.columns if c not in outcome_texts or c == start_given
    )
    variables, units, labels, dates, texts, born_ages = _clean_variables(
        cells, headers, outcome_texts, numbers, order, report
    )
    if start_given is not None:  # read as a date, never cleaned as a variable
        dates[start_given] = given_start(
            cells[start_given], headers[start_given], numbers, order, report
        )
    dates_frame = pd.DataFrame(dates, index=cells.index)
    two_digit_births(dates_frame, cells, headers, report)
    start, death, last = outcome_date_columns(dates_frame, headers)
    start = start_given or start
    taken = birth_dates(dates_frame, headers) | {start, death, last}
    disease_named = dates_named(dates_frame, headers, DISEASE_DATE_WORDS, taken)
    if blank_if_censored and (death or last):  # Radiogenomics' 'Time to Death (days)'
        set_aside_for_dates(path, time_text, start, dates_frame, taken | set(disease_named), report)
        days = None
    recurred = disease_named[0] if len(disease_named) == 1 else None
    disease_dates = False
    if days is None and start is not None and (death or last):
        disease = event_text in headers and column_endpoint(headers[event_text]) == "disease"
        uses_disease_dates = (event_column is not None or death is None) and (
            disease or event is None
        )
        if len(disease_named) > 1 and uses_disease_dates:
            raise InputError(
                f"{path.name}: {show(disease_named)} are each a date of a recurrence or "
                "progression: the time to the event studied needs one. Keep the one of that "
                "event (the first of a local and a distant recurrence, written in one column)."
            )
        if recurred and uses_disease_dates:
            given = None if event is None else (event, cells[event_text], headers[event_text])
            days, event = days_to_disease_event(
                dates_frame, start, recurred, (death, last), given, ids, report
            )
            # a death is an event where the event column states its code and has its date
            deaths_counted = (
                given is not None and death is not None and bool(death_event_codes(given[2]))
            )
            disease_dates, event_text = True, event_text or "(from dates)"
        elif disease and event_column is None and death is not None:  # the dates give the death
            report.append(
                Coercion(
                    event_text,
                    "not the event: a recurrence's or progression's, where the dates give the "
                    f"time to death; the event is whether {death!r} holds a date"
                    + (
                        f" (for the time to {recurred!r}: "
                        f"{give_option('event_column', event_text)})"
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
                + (f" ({show(others)} not read as one)" if others else "")
                + f", only {' and '.join(repr(c) for c in (start, death, last) if c)}: its time "
                "cannot come from them. Name the column of that date 'Date of recurrence' or "
                f"'Date of progression', or give the time column ({give_option('time_column')})."
            )
        if not disease_dates:
            ends = [c for c in (death, last) if c is not None]
            days = days_between(dates_frame, start, ends, report)
        if time_unit not in (None, "days"):  # a unit for a time column that was not found
            ends = [c for c in (recurred if disease_dates else None, death, last) if c]
            raise InputError(
                f"{path.name}: the times come from the dates ({start!r} to "
                f"{' or '.join(map(repr, ends))}), counted in days, so the time unit "
                f"{time_unit!r} applies to no column. Give the time column of numbers it is the "
                f"unit of ({give_option('time_column')}), or leave the time unit out."
            )
        unit, time_text = "days", "(from dates)"
    if event is None and days is not None and death is not None:
        event, event_text = death_event(dates_frame, death, days.notna(), report), "(from dates)"
    elif (
        event is not None
        and days is not None
        and death is not None
        and not disease_dates
        and (time_text == "(from dates)" or is_death_column(headers.get(event_text)))
    ):  # alive beside a death date contradicts a death's event, not a relapse's nor an unsaid one
        columns = f"({event_text} / {death})"
        starts = [start] if start else [c for c in dates_frame if c not in taken]
        if time_text == "(from dates)":  # the time runs to the death date: it says nothing
            starts = []
        last_contact = last_contact_dates(
            dates_frame, starts, death, (days, event, unit), columns, report
        )
        days, event = alive_with_a_death_date(
            dates_frame[death], event, days, ids, columns, report, last_contact
        )
        if time_text == "(from dates)":
            dead_without_a_death_date(dates_frame[death], event, ids, death, report)
    if days is None or event is None:
        lacking = " and ".join(w for w, t in (("time", days), ("event", event)) if t is None)
        raise InputError(
            f"{path.name}: no survival {lacking} column recognised among: "
            f"{', '.join(headers)}. Give the time column ({give_option('time_column')}) and the "
            f"event column ({give_option('event_column')}), with the time unit when the time "
            f"header does not say days, weeks, months or years ({give_option('time_unit')}), or "
            "give a start date (diagnosis, treatment) with a last follow-up or death date."
            + why_no_time_from_dates(dates_frame, headers, report)
        )
    for name in list(variables):
        why = tells_the_event(variables[name], event)
        if why:
            report.append(Coercion(texts[name], f"dropped: {why}", int(variables[name].size)))
            del variables[name], units[name], labels[name]
    age = first_age(born_ages, "age" in variables, report)
    if age is None and "age" not in variables:
        age = age_from_dates(dates_frame, headers, report)
    if age is not None:
        variables["age"], units["age"], labels["age"] = age, "years", "Age"

    table = pd.DataFrame({"time": days, "event": event, **variables}, index=cells.index)
    table.index = pd.Index(ids, name="case_id")
    if time_text != "(from dates)":  # days between dates: no unit to doubt
        header = headers.get(time_text)
        stated_by = header if header is not None and stated_unit(header) else None
        report.extend(follow_up_said(table["time"], time_text, unit, stated_by))
    dates_frame.index = table.index
    no_outcome = _missing_outcomes(table, event_text, death, report)
    schema = infer_schema(table.drop(columns=["time", "event"]), units=units, labels=labels)
    endpoint = _outcome_endpoint(headers, time_text, event_text, disease_dates)
    if endpoint is None and vital_status:  # RADCURE's 'Status' Alive/Dead: overall survival's
        endpoint = "death"
    name = _outcome_name(headers, time_text, event_text, vital_status)
    if endpoint == "death":  # a disease-specific survival censors the other causes' deaths
        deaths_counted = name != "dss"
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
        deaths_counted=deaths_counted,
        endpoint_name=name,
    )


def _id_column(
    path: Path,
    cells: pd.DataFrame,
    headers: dict[str, Header],
    id_column: str | None,
    report: list[Coercion],
) -> str:
    """The patient ID column: ``id_column`` where given, else the one named so; said in
    ``report``, refused when there is none."""
    id_text = find_named(headers, id_column, "ID", "id_column", path)
    if id_text is None:
        id_text = first_by_name(headers, ID_NAMES, base=False) or named_id(headers, cells)
        if id_text is None:
            raise InputError(
                f"{path.name} has no patient ID column (looked for {', '.join(ID_NAMES[:6])}, "
                f"...); its columns are: {', '.join(headers)}"
                f"{other_sheets(cells.attrs.get('sheets', []))}. Give it: "
                f"{give_option('id_column')}."
            )
    how = "given" if id_column else "recognised by its name"
    report.append(Coercion(id_text, f"used as the patient ID ({how})", len(cells)))
    return id_text


def _event_by_name(
    path: Path,
    cells: pd.DataFrame,
    headers: dict[str, Header],
    time_text: str | None,
    report: list[Coercion],
) -> tuple[str | None, bool]:
    """The event column found by name where none is given (the time's endpoint's first, a
    censoring column's only where no event column is named), and whether it is a censoring
    indicator, to be inverted; a censoring column that does not say its 1 is refused."""
    censoring = False
    endpoints = time_endpoints(headers[time_text]) if time_text is not None else []
    others = {text: h for text, h in headers.items() if text != time_text}
    own = [
        *(own_event_names(headers[time_text].base) if time_text is not None else ()),
        *(  # an endpoint's own event names ('ttr_status' of 'TTR.time'), then those listed
            name
            for endpoint in endpoints
            for name in (
                *(
                    own_event_names(endpoint)
                    if endpoint in (*TIMED_ENDPOINTS, *INTERVAL_ENDPOINTS)
                    else ()
                ),
                *ENDPOINT_EVENTS.get(endpoint, ()),
            )
        ),
    ]
    time_header = headers[time_text] if time_text is not None else None
    event_text = first_by_name(others, own, base=False) or glued_event(others, time_header)
    own_censor = [
        f"{endpoint}_{c}"
        for endpoint in endpoints
        for c in ("censored", "censor", "cens", "censoring")
    ]
    if event_text is None and (found := first_by_name(others, own_censor, base=False)):
        event_text, censoring = found, True  # 'DFS_censor': the DFS's, not the vital status
    event_text = event_text or first_by_name(others, EVENT_NAMES, base=False)
    event_text = event_text or next(
        (text for text, h in others.items() if vital_status_by_cells(h, cells[text])), None
    )  # a bare 'Estado' of 'vivo'/'fallecido', not of states ('SP', 'RJ')
    if event_text is None:
        event_text = first_by_name(others, CENSOR_NAMES, base=False)
        censoring = event_text is not None
    vital = first_by_name(others, VITAL_STATUS_NAMES, base=False)
    if time_text is not None and column_endpoint(headers[time_text]) == "disease":
        vital = None  # a DFS's own censoring is not replaced by a death's event
    ambiguous = censoring and not (
        says_no_event(headers[event_text]) or states_codes(headers[event_text])
    )  # 'censor (1=censored, 0=dead)' says its 1
    if ambiguous and vital is not None:
        report.append(
            Coercion(
                event_text,
                f"not the event: its 1 may mean censored or the event; the vital status "
                f"{vital!r} beside it is read instead",
                len(cells),
            )
        )
        event_text, censoring = vital, False  # UPENN-GBM's 'Survival_Status' (Deceased/Alive)
    elif ambiguous:
        raise InputError(
            f"{path.name}: the column {event_text!r} does not say which of its values is "
            "the event: a 'censor' column's 1 means censored in some exports and the "
            "event in others (scikit-survival's GBSG2 'cens' and AIDS 'censor'). If its "
            "1 means the event, give it as the event column "
            f"({give_option('event_column', event_text)}); if its 1 means censored, name the "
            "column 'censored'."
        )
    return event_text, censoring


def _samples_bookkeeping(h: Header, cells: pd.Series, headers: dict[str, Header]) -> bool:
    """Whether a column is cBioPortal's bookkeeping of the patient's samples: a count of them
    (:data:`_SAMPLE_COUNTS`), or a 'Sample Type' beside such a count (a cBioPortal download) or
    of its types alone (:data:`_CBIOPORTAL_SAMPLE_WORDS`: Primary, Recurrence, Metastasis). A
    specimen's type elsewhere (FFPE, frozen) is a variable: it was dropped, said cBioPortal's."""
    if h.name != "sample_type":
        return h.name in _SAMPLE_COUNTS
    if any(other.name in _SAMPLE_COUNTS for other in headers.values()):
        return True
    types = set(cells.dropna().astype(str).str.strip().str.lower()) - MISSING_TOKENS
    return bool(types) and all(
        set(re.split(r"[\W_]+", kind)) & _CBIOPORTAL_SAMPLE_WORDS for kind in types
    )


def _clean_variables(
    cells: pd.DataFrame,
    headers: dict[str, Header],
    outcome_texts: set[str | None],
    numbers: NumberMarks,
    order: str | None,
    report: list[Coercion],
) -> tuple[
    dict[str, pd.Series],
    dict[str, str],
    dict[str, str],
    dict[str, pd.Series],
    dict[str, str],
    dict[str, pd.Series],
]:
    """Every column but the outcome's cleaned (:func:`clean_variable`) or dropped, said in
    ``report``: the variables, their units, labels and headers as written (by name), the date
    columns and the ages read from birth dates in days (by header)."""
    variables: dict[str, pd.Series] = {}
    units: dict[str, str] = {}
    labels: dict[str, str] = {}
    dates: dict[str, pd.Series] = {}
    texts: dict[str, str] = {}  # each variable's header as written
    born_ages: dict[str, pd.Series] = {}  # ages from birth dates in days (:func:`_birth_days`)
    redcap_export = is_redcap_export(cells, headers)
    timed = timed_events(headers.values())
    datasets = bookkeeping(headers.values())
    for text in cells.columns:
        h = headers[text]
        if text in outcome_texts:
            continue
        if h.name in CHART_NUMBER_NAMES:  # a 'Prontuário' beside the study's 'ID'
            report.append(Coercion(text, IDENTIFIER_DROPPED, len(cells)))
            continue
        if h.name in ID_NAMES:
            report.append(Coercion(text, OUTCOME_DROPPED, len(cells)))
            continue
        staged = text in timed and holds_stages(cells[text])
        if text in timed and not staged:
            why = f"dropped: another outcome, the event of {timed[text]!r}, not a clinical variable"
            report.append(Coercion(text, why, len(cells)))
            continue
        if text in datasets:
            why = "dropped: which dataset or split the patient is in, not a clinical variable"
            report.append(Coercion(text, why, len(cells)))
            continue
        if _samples_bookkeeping(h, cells[text], headers):
            report.append(Coercion(text, _SAMPLES_DROPPED, len(cells)))
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
        kind, values, var_unit = clean_variable(
            cells[text],
            h,
            numbers,
            report,
            order=order,
            outcome=not staged
            and (is_outcome_like(h, headers.values()) or vital_status_by_cells(h, cells[text])),
            redcap_export=redcap_export,
        )
        if kind == "date":
            dates[text] = values
        elif kind == "age":  # a birth date in days before diagnosis: the age, unless given
            born_ages[text] = values
        elif kind == "variable":
            variables[h.name], units[h.name], labels[h.name] = values, var_unit, h.label
            texts[h.name] = text
    return variables, units, labels, dates, texts, born_ages


def _missing_outcomes(
    table: pd.DataFrame, event_text: str, death: str | None, report: list[Coercion]
) -> list[str]:
    """The IDs of the rows left without an outcome, said in ``report`` (a warning where they
    are most rows or all censored ones), with the warnings of a cohort without a censored
    patient (unless said so) or without an event."""
    lost = table["time"].isna() | table["event"].isna()
    no_outcome = list(table.index[lost])
    warned = False  # the rows left without an outcome said as a warning
    if no_outcome:
        said = f"no usable time/event for {show(no_outcome)}: kept, outcome left missing"
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
    return no_outcome


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
    """Whose outcome the table's is (:func:`column_endpoint`): its event column's, else its time
    column's; a recurrence's or progression's when the time runs to its date, a death's when the
    event is whether a date of death is written; None when nothing says."""
    if disease_dates:
        return "disease"
    for text in (event_text, time_text):
        if text in headers and (endpoint := column_endpoint(headers[text])) is not None:
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
