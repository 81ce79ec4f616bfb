"""Risk page: the current case's risk, survival curve, risk group, attributions and model card
under the session's model (picked in the sidebar)."""

from __future__ import annotations

import streamlit as st

from survival_core.text import markdown_literal
from ui.auth import require
from ui.models import chosen_model, loaded_model
from ui.risk import (
    attribution_section,
    model_card_section,
    risk_group_section,
    risk_summary,
    survival_section,
)
from ui.state import current_case, refused_notice, show_error

st.title("Risk")
require("score_case")
case = current_case()
if case is None:
    st.info("No case loaded yet: pick a demo case or upload one first.")
    st.page_link("pages/case.py", label="Go to the Case page", icon=":material/person_search:")
    st.stop()
if refused_notice(case):  # loaded, but this model refuses a clinical value: where to fix it
    st.stop()

st.subheader(markdown_literal(case.case_id))
choice = chosen_model()
result = risk_summary(case, choice)
if result is None:
    st.stop()
try:
    card = loaded_model(choice).card
except Exception as error:  # noqa: BLE001 - shown, never a traceback
    show_error(error)
    st.stop()

survival_section(case, choice)
st.subheader("Risk groups of the training cohort")
risk_group_section(card, result)
st.subheader("Top feature attributions")
attribution_section(case, choice)
st.subheader("Model card")
model_card_section(choice, card)
