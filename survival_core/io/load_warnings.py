"""Tables of what loading cases warned of (a GTV taken from a label 2, a margin taken as the GTV,
contours off the image planes...): kept beside the features or volumes made from the cases and
listed by the commands and runs that learn from them, whose results may rest on such a guess."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from survival_core.io.atomic import write_text

#: Columns of a table of load warnings: one row per warning of a loaded case.
WARNING_COLUMNS = ("case_id", "warning")
#: Columns of a run's (a ``cv``'s, a fitted model's) load warnings: with the table behind each.
WARNED_COLUMNS = ("case_id", "warning", "table")
#: The table of a run's (in its reports), a ``cv --out``'s or a fitted model's load warnings.
LOAD_WARNINGS_FILE = "load_warnings.csv"


def warned_cases(warnings: pd.DataFrame) -> int:
    """How many cases a warnings table (:data:`WARNING_COLUMNS` or :data:`WARNED_COLUMNS`)
    names."""
    return int(warnings["case_id"].nunique())


def warned_note(n_warned: int, path: Path) -> str:
    """What the user is told of the cases loaded with warnings, listed in ``path``."""
    return (
        f"{n_warned} case(s) loaded with warnings (their features may rest on a guess, such as "
        f"which structure is the GTV): see {path}."
    )


def warned_notes(n_warned: int, folder: Path) -> list[str]:
    """The note on ``n_warned`` cases loaded with warnings, listed in ``folder``'s
    :data:`LOAD_WARNINGS_FILE`, for a command's notes (said and in its ``--json``); none for 0."""
    return [warned_note(n_warned, folder / LOAD_WARNINGS_FILE)] if n_warned else []


def write_load_warnings(
    warned: pd.DataFrame, folder: Path, say: Callable[[str], None] | None = None
) -> int:
    """Write the load warnings of the cases a model learned from (:data:`WARNED_COLUMNS`) into
    ``folder`` (:data:`LOAD_WARNINGS_FILE`: a run's reports, logged with them; a ``cv --out``
    folder; a fitted model's), none of an earlier attempt left behind, and ``say`` how many
    cases they are of; returns that count."""
    path = folder / LOAD_WARNINGS_FILE
    n_warned = warned_cases(warned)
    if not n_warned:
        path.unlink(missing_ok=True)
        return 0
    write_text(path, warned.to_csv(index=False))
    if say is not None:
        for note in warned_notes(n_warned, folder):
            say(f"note: {note}")
    return n_warned
