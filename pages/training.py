"""Training page: configure and launch a run in the background, follow and cancel jobs, look at
and compare finished runs, promote a run's model to the app's active model."""

from __future__ import annotations

import streamlit as st

from survival_core.errors import RadSurvError
from survival_core.runs.jobs import list_jobs, start_job
from ui.auth import actor, record, require
from ui.models import current_store, shown_active
from ui.state import show_error
from ui.training import (
    BLANK,
    cancelled_runs,
    checked_config,
    compare_runs,
    config_form,
    promote_panel,
    run_details,
    run_label,
    runs_table,
    study_configs,
    template,
    training_jobs,
)

st.title("Training")
require("train")
new_tab, jobs_tab, runs_tab = st.tabs(["New run", "Jobs", "Runs"])

with new_tab:
    choice = st.selectbox(
        "Start from",
        [*study_configs(), BLANK],
        help="A study config of assets/configs, or a blank one",
    )
    try:
        raw, base_dir = template(choice)
        config = checked_config(config_form(raw, f"train-{choice}"), base_dir, f"train-{choice}")
    except RadSurvError as err:
        show_error(err)
        config = None
    activate = st.checkbox("Make its model the app's active model when the run finishes")
    if st.button(
        "Start run", type="primary", disabled=config is None, icon=":material/play_arrow:"
    ):
        try:
            job = start_job(config, activate=activate, user=actor("train_start"))
            record("train_start", job.job_id, config=config.name, activate=activate)
            st.success(
                f"Started **{job.label}**; follow it under Jobs.", icon=":material/rocket_launch:"
            )
        except RadSurvError as err:
            show_error(err)

try:
    store = current_store()
    with jobs_tab:
        training_jobs(store)
    with runs_tab:
        store.reap_dead_runs()
        active = shown_active(store)  # a retired one said: the runs' Promote is the way out
        st.caption(
            f"Active model: **{active.name} v{active.version}**"
            if active
            else "No active model: the pages use the demo default model."
        )
        runs = store.list_runs()
        if runs.empty:
            st.info(
                "No runs yet: start one under New run, or headless with "
                "`python -m survival_core train --config FILE`."
            )
        else:
            cancelled = cancelled_runs(list_jobs("train"))
            st.dataframe(runs_table(runs, cancelled), hide_index=True, width="stretch")
            labels = {row["run_id"]: run_label(row, cancelled) for row in runs.to_dict("records")}
            run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="train-run")
            if run_id:
                run_details(store, run_id, cancelled=run_id in cancelled)
                require("promote_model")
                promote_panel(store, run_id)
            finished = runs.loc[runs["status"] == "FINISHED", "run_id"].tolist()
            st.subheader("Compare runs")
            compared = st.multiselect(
                "Runs to compare", finished, format_func=labels.get, key="train-compare"
            )
            if len(compared) >= 2:
                compare_runs(runs, compared)
            else:
                st.caption("Pick two or more finished runs.")
except Exception as err:  # noqa: BLE001 - shown, never a traceback on the page
    show_error(err)
