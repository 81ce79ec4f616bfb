"""Report page: the tumor-board PDF of the current case under the session's model."""

from __future__ import annotations

import streamlit as st

from survival_core.report.pdf import explanation_method
from survival_core.text import file_name_part, markdown_literal
from ui.auth import record, require
from ui.models import chosen_model, clinical_json, explanation, loaded_model, report_pdf, score
from ui.state import current_case, refused_notice, show_error

#: This session's last report: ((case, values, model) it was built for, PDF bytes).
REPORT = "report_pdf"

st.title("Report")
require("export_report")
case = current_case()
if case is None:
    st.info("Pick a case on the Case page first: the report is of the current case.")
    st.stop()
if refused_notice(case):  # loaded, but this model refuses a clinical value: where to fix it
    st.stop()
choice = chosen_model()
if choice is None:
    st.info("No model yet: train one on the Training page (or `make run` prepares the demo model).")
    st.stop()

st.markdown(
    "An A4 PDF for the tumor board (one page, more for a long list of checks): case "
    f"**{markdown_literal(case.case_id)}** under "
    f"**{markdown_literal(choice.label)}** "
    "(risk and percentile, 1/2/3-year survival, the training cohort's Kaplan-Meier groups, a CT "
    "snapshot with contours and, for image models, the Grad-CAM overlay, the top features and "
    "the model card). It names the case by its id only."
)
built_for = (  # the same upload read again with other contours or warnings is another case
    case.shown_digest(),
    clinical_json(case),
    str(choice.folder),
    choice.modified,
)

if st.button("Build report", type="primary", icon=":material/picture_as_pdf:"):
    try:
        loaded = loaded_model(choice)
        scored = score(case, choice)
        explained = explanation(case, choice, explanation_method(loaded))
        pdf = report_pdf(case, choice, scored, explained)
        st.session_state[REPORT] = (built_for, pdf)
        record("export_report", case.case_id, model=choice.label)
    except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
        show_error(error)

stored = st.session_state.get(REPORT)
if stored is not None and stored[0] == built_for:
    st.download_button(
        "Download the PDF",
        stored[1],
        file_name=f"{file_name_part(case.case_id)}-radsurv-report.pdf",
        mime="application/pdf",
        on_click="ignore",
        icon=":material/download:",
    )
    st.caption("For research use only. Not a medical device; not for clinical decision-making.")
