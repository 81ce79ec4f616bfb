"""Where a cohort's outcome came from: ``outcome.json`` beside its ``clinical.csv``.

A cohort's ``clinical.csv`` holds one outcome, a time (days) and an event (0/1), whichever
endpoint the spreadsheet's columns gave: overall survival's (a death) or a recurrence's or
progression's (RFS, PFS). The import records which columns gave it, their time unit and the
endpoint it decided (:class:`OutcomeSource`), so that a re-import of another endpoint is neither
merged with the earlier rows nor swapped for them without a word. A cohort imported before the
record has none (:func:`load_outcome_source` returns None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from survival_core.errors import InputError
from survival_core.io.atomic import write_json
from survival_core.io.headers import parse_header

OUTCOME_FILE = "outcome.json"
#: The endpoints an import tells from the outcome's headers, as said to the user.
ENDPOINT_WORDS = {"death": "death", "disease": "recurrence or progression"}
#: What a model of each endpoint predicts: the survival its probabilities and curves are of.
SURVIVAL_WORDS = {
    "death": "overall survival",
    "disease": "survival free of recurrence or progression",
}
#: The same, short enough for a figure's axis or a metric's label.
SHORT_SURVIVAL_WORDS = {**SURVIVAL_WORDS, "disease": "recurrence/progression-free survival"}
#: A recurrence's or progression's endpoint, survival and short survival where the import
#: counted a death as an event too: an RFS of 'Dead' cells was called free of recurrence or
#: progression.
_DEATHS_COUNTED_WORDS = (
    "recurrence, progression or death",
    "survival free of recurrence, progression or death",
    "recurrence/progression/death-free survival",
)
#: A recurrence's or progression's events, by whether the import counted a death too (None: it
#: could not tell, a PFS's 0/1; the event column fills the braces).
_DISEASE_EVENTS = {
    True: "recurrences or progressions, or deaths",
    False: "recurrences or progressions",
    None: "recurrence, progression or death, as {!r} records them",
}
#: Endpoints (:attr:`OutcomeSource.name`) whose words are not their class's: a disease-specific
#: survival's (a cancer-specific one's, SEER's cause-specific) deaths are the disease's alone,
#: its model was labelled overall survival; an event-free survival's events are those its
#: protocol counts (a relapse, a progression, a death, a second cancer), named by its event
#: column, which fills the braces: it was labelled overall survival, or named no endpoint.
#: (The endpoint, the survival, its events in the outcome line and as counted: '337 events'.)
_NAMED_WORDS = {
    "dss": (
        "death from the disease",
        "disease-specific survival",
        "deaths from the disease",
        "deaths from the disease",
    ),
    "efs": (
        "event-free survival's event",
        "event-free survival",
        _DISEASE_EVENTS[None],
        f"events ({_DISEASE_EVENTS[None]})",
    ),
}


@dataclass(frozen=True)
class EndpointWords:
    """How a model's survival probabilities, events and curves are named
    (:meth:`OutcomeSource.words`); a model without a recorded outcome keeps these defaults."""

    #: The survival its probabilities are of: 'overall survival'.
    survival: str = "survival"
    #: The same for a figure's axis or a metric's label.
    short: str = "survival"
    #: What its training events are: 'deaths'.
    events: str = "events"
    #: The outcome said once where the model is described ('' without a record): the endpoint
    #: and the columns it was read from, or the columns alone where their headers name none.
    outcome: str = ""


@dataclass(frozen=True)
class OutcomeSource:
    """The spreadsheet columns a cohort's time and event were read from (as written, or a
    reader's mark such as '(from dates)'), the unit the times were read in and the endpoint:
    'death', 'disease' (a recurrence's or progression's), or None where the headers say
    neither (GBSG2's 'time' and 'cens')."""

    time_column: str
    event_column: str
    time_unit: str
    endpoint: str | None = None
    #: Whether the import counted a death as an event (a 'Dead' cell, a stated death's code,
    #: 'recurrence or death'); False where it knows it did not (a 'Recurrence' cell, a
    #: recurrence's code or column alone, a death censored from dates) or not every death (a
    #: disease-specific survival's, censoring the other causes'); None where nothing said (a
    #: PFS's 0/1), or recorded before it was kept.
    deaths_counted: bool | None = None
    #: The endpoint the headers name ('os', 'dss', 'rfs', 'pfs', 'pfi', 'dfi', 'efs':
    #: :func:`~survival_core.io.headers.endpoint_name`); None where they name none, or recorded
    #: before it was kept. Left out of a record without one (:meth:`record`).
    name: str | None = None

    def said(self) -> str:
        """'os_days'/'os_status' (death), 'dss_days'/'dss_status' (death from the disease),
        'rfs_days'/'rfs_status' (recurrence, progression or death): the columns and the endpoint,
        for a message."""
        endpoint = ENDPOINT_WORDS.get(self.endpoint or "", "endpoint not named by the headers")
        endpoint = _DEATHS_COUNTED_WORDS[0] if self._disease_deaths_counted() else endpoint
        endpoint = _NAMED_WORDS[self.name][0] if self.name in _NAMED_WORDS else endpoint
        return f"{self.time_column!r}/{self.event_column!r} ({endpoint})"

    def words(self) -> EndpointWords:
        """The endpoint's words: a recurrence-free model's '24 months: 76 %' was read as overall
        survival. Its events, and its survival where deaths were events, are as the import
        counted them (:attr:`deaths_counted`): an RFS whose 'Dead' cells were events was said to
        count recurrences alone, then called survival free of recurrence or progression."""
        columns = f"{self.time_column!r}/{self.event_column!r}"
        if self.endpoint not in SURVIVAL_WORDS:
            return EndpointWords(outcome=f"{columns}, endpoint not named by its headers")
        kinds = events = "deaths"
        survival, short = SURVIVAL_WORDS[self.endpoint], SHORT_SURVIVAL_WORDS[self.endpoint]
        if self.endpoint == "disease":
            counted = self._disease_deaths_counted()
            kinds = _DISEASE_EVENTS[counted].format(self.event_column)
            events = kinds if counted is not None else f"events ({kinds})"
            if counted:
                survival, short = _DEATHS_COUNTED_WORDS[1:]
        if self.name in _NAMED_WORDS:
            _, survival, kinds, events = (
                words.format(self.event_column) for words in _NAMED_WORDS[self.name]
            )
            short = survival
        return EndpointWords(survival, short, events, f"{survival} ({columns}; events: {kinds})")

    def _disease_deaths_counted(self) -> bool | None:
        """A recurrence's or progression's :attr:`deaths_counted`, True too in a record kept
        before the field whose event header states a death's code; None for another endpoint."""
        if self.endpoint != "disease":
            return None
        if self.deaths_counted is None and parse_header(self.event_column).death_codes:
            return True
        return self.deaths_counted

    def same_outcome(self, other: OutcomeSource) -> bool:
        """Whether ``other`` is this outcome: the same endpoint where both headers name one
        ('OS.time'/'OS' and 'os_days'/'os_status' are both OS: one was refused as another
        outcome; DSS after OS, PFS after RFS were one, both a death's or a recurrence's), its
        deaths counted alike where both records say and the columns differ (the same columns'
        re-import of patients none of whom died counted no death: it is the same outcome), else
        the same class of endpoint, else read from the same columns (names compared ignoring
        case, punctuation and units: 'OS (months)' is 'os_days' in another unit) naming no other
        endpoint. A model's c-index against another endpoint's events is not its validation."""
        if self.name and other.name and self.name != other.name:
            return False
        counted = (self.deaths_counted, other.deaths_counted)
        if None not in counted and counted[0] != counted[1] and not self.same_columns(other):
            return False
        if self.endpoint and other.endpoint:
            return self.endpoint == other.endpoint
        names = [parse_header(s.time_column).name for s in (self, other)]
        events = [parse_header(s.event_column).name for s in (self, other)]
        return names[0] == names[1] and events[0] == events[1]

    def same_columns(self, other: OutcomeSource) -> bool:
        """Whether ``other`` was read from this record's time and event columns, as written."""
        return (self.time_column, self.event_column) == (other.time_column, other.event_column)

    def merged(self, earlier: OutcomeSource) -> OutcomeSource:
        """This record beside the ``earlier`` rows of the same columns it is kept with: deaths
        counted where either import counted one (a follow-up update of patients still alive
        saw no 'Dead' cell, its earlier rows' deaths are still events)."""
        if not self.same_columns(earlier) or True not in (
            earlier.deaths_counted,
            self.deaths_counted,
        ):
            return self
        return replace(self, deaths_counted=True)

    def label(self) -> str:
        """The endpoint in a table's cell: 'overall survival', 'recurrence/progression-free
        survival', or the columns where the headers name none."""
        words = self.words()
        return words.short if self.endpoint in SURVIVAL_WORDS else words.outcome

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> OutcomeSource:
        """The record as saved (:meth:`save`, a model card's ``outcome``); one written before a
        field was kept takes its default, and a disease-specific survival's counts no death
        (recorded True before: kept beside a re-import's rows, it said so of them again).
        KeyError without a column or the unit."""
        given = [f.name for f in fields(cls) if f.name in record or f.default is MISSING]
        source = cls(**{name: record[name] for name in given})
        return replace(source, deaths_counted=False) if source.name == "dss" else source

    def record(self) -> dict[str, Any]:
        """The record saved (:meth:`save`, a model card's ``outcome``): its fields, :attr:`name`
        left out where not known, as RadSurv 0.2.2 wrote it (builds before :meth:`from_record`
        refused a key not a field)."""
        recorded = asdict(self)
        if recorded["name"] is None:
            del recorded["name"]
        return recorded

    def save(self, folder: Path | str) -> Path:
        """Write :data:`OUTCOME_FILE` into ``folder``."""
        return write_json(Path(folder) / OUTCOME_FILE, self.record())


def endpoint_words(outcome: Mapping[str, Any] | None) -> EndpointWords:
    """The words of a model card's recorded ``outcome`` (:meth:`OutcomeSource.words`); the
    defaults ('survival', 'events') for a model fitted on a table no import recorded."""
    return EndpointWords() if outcome is None else OutcomeSource.from_record(outcome).words()


def load_outcome_source(folder: Path | str) -> OutcomeSource | None:
    """The outcome record of the cohort in ``folder``; None without one (imported before it was
    kept, or a table not imported)."""
    path = Path(folder) / OUTCOME_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return OutcomeSource.from_record(data)
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(
            f"{path} is not a readable outcome record ({err}): it says which spreadsheet "
            f"columns the cohort's time and event came from. Restore it, or import the cohort's "
            "whole spreadsheet again to write it afresh."
        ) from err
