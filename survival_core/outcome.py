"""Survival outcomes: reading (event, time) from the forms RadSurv accepts.

A survival outcome is a scikit-survival structured array (an event field, then a time field, as
built by ``sksurv.util.Surv.from_arrays``) or an ``(event, time)`` pair of arrays; times in days.
"""

from __future__ import annotations

import numpy as np

from survival_core.errors import InputError

#: A survival outcome: a structured array (event, time) or an ``(event, time)`` pair of arrays.
Outcome = np.ndarray | tuple[np.ndarray, np.ndarray]


def survival_arrays(y: Outcome) -> tuple[np.ndarray, np.ndarray]:
    """``(event, time)`` as bool and float arrays from a structured survival array (fields event,
    time, as built by ``sksurv.util.Surv.from_arrays``) or from an ``(event, time)`` pair; days."""
    if isinstance(y, tuple) and len(y) == 2:
        event, time = y
    else:
        names = getattr(np.asarray(y).dtype, "names", None)
        if not names or len(names) != 2:
            raise InputError(
                "A survival outcome must be a structured array with an event field and a time "
                "field (build it with sksurv.util.Surv.from_arrays) or an (event, time) pair; "
                f"got an array of dtype {np.asarray(y).dtype}."
            )
        event, time = np.asarray(y)[names[0]], np.asarray(y)[names[1]]
    event = np.ascontiguousarray(event)
    time = np.ascontiguousarray(time, dtype=float)
    if event.ndim != 1 or time.shape != event.shape:
        raise InputError(
            f"Event and time must be 1-D arrays of the same length; got shapes {event.shape} "
            f"and {time.shape}."
        )
    if event.dtype != bool:
        if not np.isin(event, (0, 1)).all():
            raise InputError(
                f"Event indicators must be 0/1 or True/False; got values {np.unique(event)[:5]}."
            )
        event = event.astype(bool)
    if not np.isfinite(time).all() or (time < 0).any():
        raise InputError("Survival times must be finite and non-negative (days).")
    return event, time


def training_arrays(y: Outcome) -> tuple[np.ndarray, np.ndarray]:
    """:func:`survival_arrays` for fitting a model: at least one event is required."""
    event, time = survival_arrays(y)
    if not event.any():
        raise InputError("The training data contain no events; a survival model cannot be fitted.")
    return event, time


def no_censored_said(count: int, who: str, check: str) -> str:
    """The warning that every one of ``count`` patients (``who``: 'training patients') has the
    event: unless the cohort was followed until each had it, its censored patients were lost or
    the event read the other way; ``check`` is what to check beside the event's coding. The
    import says it (lymph-node's 'deathdate', the living's last contact, made all 686 dead), and
    fit, cv and train do."""
    return (
        f"Every one of the {count} {who} has the event, none is censored. Unless the cohort was "
        "followed until every patient had it, its censored patients are missing: check the "
        f"event column's coding (is the event read the other way?) and {check}. The survival "
        "curves fall to 0, and the risks and metrics are of the events alone."
    )
