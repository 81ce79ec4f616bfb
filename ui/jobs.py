"""The live panel of background jobs (training runs, cohort imports): progress, log tail and a
cancel button for running jobs, a table of the ended ones. Jobs are the app's (on disk), not a
session's; the panel refreshes itself while one of its jobs runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from survival_core.runs.jobs import Job, cancel, list_jobs
from ui.auth import record as record_action
from ui.auth import require_in_fragment

REFRESH_S = 2.0
#: Columns a page adds to its ended-jobs table: header -> value of one job.
Columns = Mapping[str, Callable[[Job], Any]]


def when(iso: str | pd.Timestamp | None) -> str:
    """A time as 'YYYY-MM-DD HH:MM UTC' ('' when unknown)."""
    if iso is None or pd.isna(iso):
        return ""
    return pd.Timestamp(iso).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


#: How the panel names the jobs of each kind ("No training jobs yet.").
NOUNS = {"train": "training", "import": "import"}
#: The action (survival_core.security.roles) that shows and cancels the jobs of each kind.
ACTIONS = {"train": "train", "import": "import_cohort"}


def jobs_panel(kind: str, *, store: Any = None, columns: Columns | None = None) -> None:
    """The jobs of ``kind`` (see :data:`survival_core.runs.jobs.KINDS`); cancelling a training
    job marks its run in ``store`` FAILED at once. Refreshes every :data:`REFRESH_S` seconds
    while one of them runs, and redraws the whole page when one ends."""
    running = any(job.alive() for job in list_jobs(kind))
    body = st.fragment(run_every=REFRESH_S if running else None)(_jobs_body)
    body(kind, store, columns or {})


def _jobs_body(kind: str, store: Any, columns: Columns) -> None:
    require_in_fragment(ACTIONS[kind])  # its clicks and refreshes skip the page's own check
    jobs = list_jobs(kind)
    running = [job for job in jobs if job.status == "running"]
    ids = {job.job_id for job in running}
    seen_key = f"running_jobs_{kind}"
    seen = st.session_state.get(seen_key, set())
    st.session_state[seen_key] = ids
    if seen - ids:  # a job ended since the last refresh: redraw the page (its results)
        st.rerun()
    if not jobs:
        st.info(f"No {NOUNS[kind]} jobs yet.")
        return
    for job in running:
        _running_job(job, store)
    ended = [job for job in jobs if job.job_id not in ids][:20]
    if not ended:
        return
    table = {
        "job": [job.label for job in ended],
        "status": [job.status for job in ended],
        "started": [when(job.started) for job in ended],
    }
    table |= {name: [value(job) for job in ended] for name, value in columns.items()}
    table["error"] = [job.error() or "" for job in ended]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    _show_newest_ended(kind, ended[0])
    shown = st.selectbox(
        "Log of",
        ended,
        format_func=lambda job: f"{job.label} ({job.status})",
        key=f"job-log-{kind}",
    )
    if shown is not None:
        st.code(shown.log_tail(40) or "(empty)", language=None)


def _show_newest_ended(kind: str, newest: Job) -> None:
    """Point the 'Log of' box at ``newest`` when it ended since the panel last showed (a retry
    that succeeded): the box kept its choice, the failed job's log under the retry's row."""
    key = f"job-log-newest-{kind}"
    if st.session_state.get(key) != newest.job_id:
        st.session_state[key] = newest.job_id
        st.session_state.pop(f"job-log-{kind}", None)


def _running_job(job: Job, store: Any) -> None:
    with st.container(border=True):
        progress = job.progress()
        steps = f" · {progress.unit} {progress.done}/{progress.total}" if progress.total else ""
        st.markdown(f"**{job.label}** · started {when(job.started)}{steps}")
        st.progress(progress.fraction, text=progress.stage[:120])
        st.code(job.log_tail(12) or "(starting)", language=None)
        if st.button("Cancel", key=f"cancel-{job.job_id}", icon=":material/cancel:"):
            cancel(job, store=store)
            record_action(f"{job.kind}_cancel", job.run_id or job.job_id)
            st.rerun()
