"""The clinical import's report lines and how its messages word things.

Every module of the clinical spreadsheet import (:mod:`survival_core.cohort.clinical_table` and the
modules it reads with) says what it did as a :class:`Coercion`, shows a few values of a column with
:func:`show` and tells how to give a reading option (``--time-unit``, the Cohort page's
field, the Python keyword) with :func:`give_option`; they are kept here, below all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from survival_core.io.outcome_source import OutcomeSource

#: Where each reading option is given: the command line's flag and the Cohort page's field
#: (its "Spreadsheet columns"); Python callers pass the keyword itself.
_OPTIONS = {
    "id_column": ("--id-column", "Patient ID column"),
    "time_column": ("--time-column", "Survival time column"),
    "event_column": ("--event-column", "Event column"),
    "time_unit": ("--time-unit", "Time unit"),
}


def give_option(option: str, value: str = "") -> str:
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
    """How to give ``column`` as ``option`` again (:func:`give_option`); a reader's mark in its
    place ('(from dates)', TCGA's '(days_to_death / days_to_last_follow_up)') is no column: the
    option is left out, so the import reads it so again (the advice gave the mark as an event
    column, which no sheet has)."""
    if not (column.startswith("(") and column.endswith(")")):
        return give_option(option, column)
    flag, field_name = _OPTIONS[option]
    read = "from the dates" if column == "(from dates)" else f"from {column}"
    role = "time" if option == "time_column" else "event"
    return (
        f"no {flag} (Cohort page: {field_name} left blank; Python: {option}=None), the {role} "
        f"read {read} as before"
    )


_SHOWN = 5


@dataclass(frozen=True)
class Coercion:
    """One thing done to the spreadsheet: the ``column`` (its header, or ``(file)``/``(rows)``),
    what was done, and how many cells or rows it touched."""

    column: str
    action: str
    count: int

    def __str__(self) -> str:
        return f"{self.column}: {self.action} ({self.count})"


def show(values: Sequence[Any]) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:_SHOWN])
    return shown + (f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else "")


def name_rows(
    rows: pd.Series, ids: pd.Series, column: str, action: str, report: list[Coercion]
) -> None:
    """Report ``action`` for the ``rows`` there are, ``{}`` in it naming their first IDs."""
    if rows.any():
        report.append(Coercion(column, action.format(show(list(ids[rows]))), int(rows.sum())))
