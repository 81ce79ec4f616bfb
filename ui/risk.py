"""The risk summary of the current case under a saved model (default: the demo model)."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from survival_core.case import Case
from ui.state import case_score, clinical_values, show_error


def risk_summary(case: Case, model_dir: Path) -> None:
    """Risk score, training-cohort percentile, risk group and 1/2/3-year survival."""
    card = model_dir / "card.json"
    if not card.exists():
        st.info("No model is available yet: `make run` trains the demo model on first use.")
        return
    try:
        with st.spinner("Scoring the case (radiomics extraction included)..."):
            score = case_score(
                case,
                (case.case_id, case.source),
                json.dumps(clinical_values(case), sort_keys=True, default=str),
                str(model_dir),
                card.stat().st_mtime,
            )
    except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
        show_error(error)
        return
    columns = st.columns(6)
    columns[0].metric("Risk score", f"{score['risk']:.2f}", help="Log-hazard scale; higher = worse")
    columns[1].metric(
        "Percentile", f"{score['percentile']:.0f} %", help="Among the training cohort"
    )
    columns[2].metric("Risk group", score["risk_group"])
    for column, (months, value) in zip(columns[3:], score["survival"].items(), strict=True):
        shown = f"{100 * value:.0f} %" if value >= 0.005 else "< 1 %"
        column.metric(f"{int(months) // 12}-year survival", shown)
    if score["imputed"]:
        st.warning(
            "Missing values imputed with the training cohort's statistics: "
            + ", ".join(score["imputed"]),
            icon=":material/warning:",
        )
    st.caption(f"Model: {score['model']} (research use only)")
