"""Retention in the server: a cleanup at its start and every :data:`CLEANUP_EVERY_S` after, in
the background, and the Users page's storage section (disk use per area, the retention period, a
button to clean up now).

See :mod:`survival_core.runs.retention` for what is deleted and what never is.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from survival_core.audit import audit
from survival_core.errors import RadSurvError
from survival_core.paths import data_dir
from survival_core.runs.retention import (
    AREAS,
    RETENTION_ENV,
    cleanup,
    disk_usage,
    format_bytes,
    retention_days,
)
from ui.auth import record
from ui.state import show_error

log = logging.getLogger("radsurv.ui")


def _cleanup_quietly(root: Path) -> None:
    """The start-up cleanup of ``root``: deletions audited as ``server``; a failure logged, never
    raised (no page waits for it)."""
    try:
        report = cleanup(root=root)
        if report.removed:
            audit(
                "server",
                "cleanup",
                outcome="error" if report.errors else "ok",
                deleted=len(report.removed),
                freed_bytes=report.freed_bytes,
            )
        for error in report.errors:
            log.warning("start-up cleanup could not delete %s", error)
    except Exception:  # noqa: BLE001 - a failed cleanup must never reach a page
        log.exception("the start-up cleanup failed")


#: Seconds between two cleanups of a running server: an upload expiring while it ran was kept
#: until its next start.
CLEANUP_EVERY_S = 6 * 3600.0


def _cleanup_periodically(root: Path, stop: threading.Event) -> None:
    """:func:`_cleanup_quietly` of ``root`` now and every :data:`CLEANUP_EVERY_S`, until ``stop``."""
    while True:
        _cleanup_quietly(root)
        if stop.wait(CLEANUP_EVERY_S):
            return


#: Modules imported before the first page goes on: imported on demand by two threads at once (the
#: cleanup reading a job's config, and a page; or two sessions' first pages), pydicom's circular
#: imports handed one of them a half-made module, and the first page after a start showed an
#: ImportError.
FIRST_IMPORTS = ("pydicom", "survival_core.runs.jobs")


@st.cache_resource(show_spinner=False)
def startup_cleanup() -> threading.Event:
    """Start the server's cleanups (one thread per process) in a daemon thread, so the first page
    does not wait for them; returns the event that stops them.

    :data:`FIRST_IMPORTS` are imported here, before any page goes on (Streamlit runs this
    once, other sessions waiting for it)."""
    for module in FIRST_IMPORTS:
        importlib.import_module(module)
    stop = threading.Event()
    thread = threading.Thread(
        target=_cleanup_periodically, args=(data_dir(), stop), name="radsurv-cleanup", daemon=True
    )
    thread.start()
    return stop


def storage_section() -> None:
    """The admin's view of the data folder: the retention period, a cleanup button (audited) and
    the bytes each area holds."""
    st.subheader("Storage")
    try:
        days = retention_days()
    except RadSurvError as error:
        show_error(error)
        days = None
    if days:
        st.caption(
            f"Uploads, caches and job logs unused for {days} days are deleted at server start, "
            f"every {CLEANUP_EVERY_S / 3600:g} hours after, and by `python -m survival_core "
            f"cleanup` (`{RETENTION_ENV}`; 0 keeps everything). "
            "Models, training runs, cohorts, keys and the audit log are never deleted."
        )
        if st.button("Delete expired files now", key="storage-cleanup"):
            try:
                with st.spinner("Deleting expired files..."):
                    report = cleanup(days)
            except RadSurvError as error:
                show_error(error)
            else:
                outcome = "error" if report.errors else "ok"
                freed = report.freed_bytes
                record("cleanup", outcome=outcome, deleted=len(report.removed), freed_bytes=freed)
                st.success(f"Deleted {len(report.removed)} item(s), {format_bytes(freed)} freed.")
                for error in report.errors:
                    st.warning(f"Could not delete {error}", icon=":material/warning:")
    elif days == 0:
        st.caption(f"Retention is off (`{RETENTION_ENV}=0`): nothing is deleted for its age.")
    usage = disk_usage()
    st.caption(f"Data folder `{data_dir()}`: {format_bytes(usage['total'])} in all.")
    table = pd.DataFrame(
        {
            "area": [AREAS[key] for key in AREAS],
            "size": [format_bytes(usage[key]) for key in AREAS],
            "bytes": [usage[key] for key in AREAS],
        }
    )
    st.dataframe(table, hide_index=True)
