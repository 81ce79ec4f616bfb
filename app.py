"""RadSurv dashboard: navigation and the shared sidebar. Run with `make run`."""

from __future__ import annotations

import streamlit as st

from survival_core import __version__
from survival_core.paths import data_dir
from ui.models import model_picker
from ui.state import current_case

st.set_page_config(page_title="RadSurv", page_icon=":material/monitor_heart:", layout="wide")

pages = [
    st.Page("pages/case.py", title="Case", icon=":material/person_search:", default=True),
]
navigation = st.navigation(pages)

with st.sidebar:
    st.markdown(f"**RadSurv** {__version__}")
    case_line = st.empty()
    model_picker()
    st.caption(f"Data folder: `{data_dir()}`")
    st.caption("For research use only; not a medical device.")

navigation.run()

# After the page ran, so a case picked on this run is already shown.
case = current_case()
case_line.caption(f"Current case: **{case.case_id}**" if case else "No case loaded yet.")
