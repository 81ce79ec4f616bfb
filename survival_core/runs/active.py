"""Which model is the app's active one now: one resolution for `score` and the app's pages.

The registry is asked whenever it can be read: an active version deleted there, whose name and
version now belong to another run's model, or archived, is no longer used (`score` kept scoring
a deleted model's local copy under the label the registry gave another model, while the pages
used the demo default model: one patient, two models). Only when the registry cannot be read at
all is the active model's local copy used, and that is said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from survival_core.errors import InputError, StoreError
from survival_core.runs.store import (
    ACTIVE_FILE,
    ARCHIVED,
    ActiveModel,
    ActiveRetired,
    ModelFilesMissing,
    OtherRegistry,
    UnreadablePointer,
    local_active_model,
    own_database_missing,
)
from survival_core.text import short_run

if TYPE_CHECKING:
    from survival_core.runs.store import RunStore

#: Why a model's files cannot be loaded, without the server's folders their message names.
FILES_MISSING = "its files are missing on the server (moved or deleted; details in the server log)"
#: The data folder's own registry database, as users are told it is missing.
ACTIVE_DATABASE = "runs/mlflow.db"
#: What the pages' users are told to do once the active model is not used (the default
#: ``advice`` of :func:`resolve_active`; `score` gives its own, in commands).
CHOOSE_AGAIN = "make another model active (the Training page's Promote, `train --activate`)"
#: What follows once the active model is not used, for the pages and `score` alike.
INSTEAD = "the demo default model is used instead"


class ActiveResolution(NamedTuple):
    """The active model to use (None: the app's default, the demo's), the store when it could
    be read, and what users are told (``problems``); with the store unreadable (``unread``), the
    active model is its local copy (``offline``), else ``missing`` says why none is used."""

    active: ActiveModel | None
    store: RunStore | None
    problems: list[str]
    offline: bool = False
    unread: Exception | None = None
    missing: str = ""


def resolve_active(
    open_store: Callable[[], RunStore],
    runs: Path,
    *,
    refuse_elsewhere: bool = False,
    advice: str = CHOOSE_AGAIN,
) -> ActiveResolution:
    """The app's active model as the registry of ``open_store()`` holds it now; the local copy
    under ``runs`` (the store's root) only when that store cannot be opened or read. With
    ``refuse_elsewhere`` (`score`) one chosen in another registry is refused
    (:class:`~survival_core.runs.store.OtherRegistry`, naming it), not replaced by the demo's.
    ``advice`` ends each problem with what to do, in the caller's words (the pages' buttons,
    `score`'s commands)."""
    log = logging.getLogger(__name__)
    problems: list[str] = []
    try:
        # a model made active here, its database gone: not created anew, where the active
        # model would look deleted
        if (runs / ACTIVE_FILE).is_file() and own_database_missing(runs):
            raise StoreError(f"its database {ACTIVE_DATABASE} is missing (moved or deleted)")
        store = open_store()
        try:
            return ActiveResolution(store.active_model(), store, problems)
        except (UnreadablePointer, OtherRegistry) as error:  # its file; another store's choice
            if refuse_elsewhere and isinstance(error, OtherRegistry):
                raise
            problems.append(pointer_problem(error, advice))
        except ModelFilesMissing as error:  # still registered: its files are gone
            log.exception("the active model cannot be fetched")
            problems.append(
                f"The app's active model ({error.what}) is still registered, but {FILES_MISSING}: "
                f"it is not used, {INSTEAD}; {advice}."
            )
        except ActiveRetired as error:  # deleted, replaced or archived in the registry
            log.info("the active model is retired: %s", error)
            problems.append(retired_problem(error, advice))
        except InputError:  # still registered: its files cannot be fetched
            log.exception("the active model cannot be used")
            problems.append(  # not the store's address (a registry URI may hold a password)
                "The app's active model cannot be fetched from the model registry (details in "
                f"the server log): it is not used, {INSTEAD}; {advice}."
            )
        return ActiveResolution(None, store, problems)
    except OtherRegistry:  # refused, as asked
        raise
    except Exception as error:  # noqa: BLE001 - the registry unreadable: the local copy is used
        log.exception("the run store could not be read")
        active, missing = _local_active(runs, problems, refuse_elsewhere, advice)
        return ActiveResolution(active, None, problems, active is not None, error, missing)


def retired_problem(error: ActiveRetired, advice: str) -> str:
    """What users are told of an active model the registry retired: which one (its name,
    version and run, as another model may carry its name and version now), what happened and
    what to do (``advice``)."""
    what = f"The app's active model {error.name} v{error.version} ({short_run(error.run_id)})"
    how = {
        "deleted": "was deleted from the model registry",
        "replaced": "was deleted from the model registry, and its name and version now belong "
        f"to another model ({short_run(error.now)})",
        "archived": f"was archived in the model registry (stage '{ARCHIVED}')",
    }[error.why]
    return f"{what} {how}: it is no longer used, {INSTEAD}; {advice}."


def pointer_problem(error: InputError, advice: str) -> str:
    """What users are told of the active model's pointer: chosen in another registry
    (:class:`~survival_core.runs.store.OtherRegistry`, whose message says what to do), else
    unreadable, with what to do (``advice``)."""
    if isinstance(error, OtherRegistry):
        return f"The app's active model is not offered: {error}"
    return f"The app's active model cannot be read: {error} {INSTEAD.capitalize()}; {advice}."


def _local_active(
    runs: Path, problems: list[str], refuse_elsewhere: bool, advice: str
) -> tuple[ActiveModel | None, str]:
    """The active model from its pointer and local copy alone, the store unreadable; else None
    and why it is not used ('' when none was set, or when ``problems`` says why: its pointer
    unreadable, chosen in another registry)."""
    try:
        active = local_active_model(runs, refuse_elsewhere=True)
    except InputError as error:  # its pointer unreadable, or chosen in another registry
        if refuse_elsewhere and isinstance(error, OtherRegistry):
            raise
        problems.append(pointer_problem(error, advice))
        return None, ""
    if active is None and (runs / ACTIVE_FILE).is_file():
        return None, "no local copy of it here"
    return active, ""
