"""RadSurv dashboard: navigation and the shared sidebar. Run with `make run`."""

from __future__ import annotations

import streamlit as st

from survival_core import __version__
from survival_core.errors import RadSurvError
from survival_core.paths import data_dir
from survival_core.text import markdown_literal
from ui.auth import sign_in
from ui.models import model_picker
from ui.retention import startup_cleanup
from ui.state import case_pool, clinical_refusal, current_case, show_error

st.set_page_config(page_title="RadSurv", page_icon=":material/monitor_heart:", layout="wide")

st.sidebar.markdown(f"**RadSurv** {__version__}")
try:
    case_pool()  # the server's case workers start with its first page run, not with the first case
except RadSurvError as error:  # a wrong RADSURV_RAY_ADDRESS: said, not a traceback on every page
    show_error(error)
    st.stop()
startup_cleanup()  # expired uploads, caches and job logs: at start and every 6 h, in the background
# Each page with the action it requires at its top (ui.auth.require): the navigation lists only
# the pages the user's role may open; before login, only the login screen.
pages = [
    (st.Page("pages/case.py", title="Case", icon=":material/person_search:", default=True), "view"),
    (st.Page("pages/viewer.py", title="Viewer", icon=":material/view_in_ar:"), "view"),
    (st.Page("pages/risk.py", title="Risk", icon=":material/monitoring:"), "score_case"),
    (st.Page("pages/nomogram.py", title="Nomogram", icon=":material/linear_scale:"), "view"),
    (st.Page("pages/report.py", title="Report", icon=":material/picture_as_pdf:"), "export_report"),
    (st.Page("pages/cohort.py", title="Cohort", icon=":material/groups:"), "explore_cohort"),
    (st.Page("pages/training.py", title="Training", icon=":material/model_training:"), "train"),
    (st.Page("pages/users.py", title="Users", icon=":material/manage_accounts:"), "manage_users"),
]
user, navigation = sign_in(pages)
if user is None:
    navigation.run()
    st.stop()

with st.sidebar:
    case_line = st.empty()
    model_picker()
    st.caption(f"Data folder: `{data_dir()}`")
    st.caption("For research use only; not a medical device.")


def show_case_line() -> None:
    """The sidebar's line naming the current case."""
    case = current_case(read_again=False)
    shown = f"Current case: **{markdown_literal(case.case_id)}**" if case else "No case loaded yet."
    if case is not None and clinical_refusal(case) is not None:  # the pages say why
        shown += " (clinical values refused by this model: see the Case page)"
    case_line.caption(shown)


show_case_line()  # kept by a page that stops early (st.stop: nothing is drawn after it)
navigation.run()
show_case_line()  # after the page ran, so a case picked on this run is already shown
