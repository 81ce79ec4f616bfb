"""The current case's risk under the session's model: the summary metrics (Case page's Risk tab,
Risk page) and the Risk page's sections (survival curve, risk groups, attributions, model card)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from survival_core.case import Case
from survival_core.errors import ValuesNeeded
from survival_core.io.outcome_source import EndpointWords
from survival_core.models.card import ModelCard, packages_changed
from survival_core.models.scoring import BEYOND_FOLLOW_UP, DAYS_PER_MONTH, survival_text
from survival_core.text import percentile_text, upper_first
from ui.auth import record
from ui.models import (
    ModelChoice,
    clinical_json,
    current_store,
    explanation,
    loaded_model,
    score,
)
from ui.state import pooled, show_error

CALIBRATION_REPORT = Path("reports") / "calibration.json"


#: Said under a model whose survival curves can cross (a forest, a discrete-time head, an
#: ensemble): its risk group need not order the patients' survival at a given year.
CURVES_CROSS = (
    "This model's survival curves can cross: its risk groups rank patients by the risk score, "
    "and a patient of higher risk may still have the better predicted survival at a given year "
    "(see the survival figures above)."
)


def risk_summary(case: Case, choice: ModelChoice | None) -> dict | None:
    """Risk score, training-cohort percentile, risk group and 1/2/3-year survival; returns the
    score (None, with the reason shown, when there is no model or the case cannot be scored)."""
    if choice is None:
        st.info(
            "No model is available yet: train one on the Training page (`make run` also trains "
            "the demo model on first use)."
        )
        return None
    try:
        with st.spinner("Scoring the case (radiomics extraction included)..."):
            result = score(case, choice)
        record("score_case", case.case_id, once=True, model=choice.label)
    except ValuesNeeded as error:  # nothing entered yet: what to do, not a failure
        st.info(str(error), icon=":material/info:")
        return None
    except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
        show_error(error)
        return None
    # rows of three: six side by side were cut to '5...' in a laptop's window with the sidebar open
    columns = [*st.columns(3), *st.columns(3)]
    scale = result.get("risk_scale", "the model's own scale")
    card = loaded_model(choice).card
    digits = card.risk_digits(result["risk"])
    columns[0].metric("Risk score", f"{result['risk']:.{digits}f}", help=f"{scale}; higher = worse")
    columns[1].metric(
        "Percentile of training cohort",
        f"{percentile_text(result['percentile'])} %",
        help=f"Among {result['percentile_among']}: the share with a risk at or below this one",
    )
    columns[2].metric("Risk group", result["risk_group"])
    for column, (months, value) in zip(columns[3:], result["survival"].items(), strict=True):
        label = f"{int(months) // 12}-year {card.endpoint.short}"
        if value is None:
            column.metric(label, "n/a", help=BEYOND_FOLLOW_UP)
            continue
        column.metric(label, survival_text(value))
    if result["imputed"]:
        st.warning(
            "Missing values imputed with the training cohort's statistics: "
            + ", ".join(result["imputed"]),
            icon=":material/warning:",
        )
    for caution in result.get("cautions", []):
        st.warning(caution, icon=":material/warning:")
    st.caption(f"Risk score: {scale}, higher = worse.")
    if result.get("curves_may_cross"):
        st.caption(CURVES_CROSS)
    st.caption(f"Model: {choice.label} (research use only)")
    return result


def survival_section(case: Case, choice: ModelChoice) -> None:
    """The predicted survival curve with its band (or why there is none), 1/2/3 years marked."""
    from survival_core.viewer.patient import survival_band_figure
    from survival_core.workflows.case_pool import band_task

    try:
        band = pooled(
            band_task,
            case,
            clinical_json(case),
            str(choice.folder),
            choice.modified,
            doing="Computing the survival curve",
        )
    except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
        show_error(error)
        return
    title = f"Predicted {loaded_model(choice).card.endpoint.survival} of this patient"
    st.plotly_chart(survival_band_figure(band, title=title), key="risk-survival")
    if band.low is None:
        st.caption(f"{upper_first(band.note)}.")


def _cut_rule(cut: dict) -> str:
    if cut["method"] == "median":
        return "median of the training risks"
    if cut.get("horizon"):
        return f"{cut['method']} at {cut['horizon'] / DAYS_PER_MONTH:.0f} months"
    return f"{cut['method']} cut"


def risk_group_section(card: ModelCard, result: dict) -> None:
    """The training cohort's risk distribution with the patient marked, and its Kaplan-Meier
    curves per risk group (the patient's group highlighted, log-rank p)."""
    from survival_core.viewer.curves import km_from_card, risk_distribution_figure

    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            risk_distribution_figure(
                card.training_risk,
                card.cut,
                result["risk"],
                patient_percentile=result["percentile"],
            ),
            key="risk-distribution",
        )
    with right:
        st.plotly_chart(km_from_card(card, patient_risk=result["risk"]), key="risk-km")
    honest = f"; the {card.validated} c-index under Model card is not" if card.validated else ""
    st.caption(
        f"Risk groups: cut at {card.cut['threshold']:.{card.risk_digits(result['risk'])}f} "
        f"({_cut_rule(card.cut)}), as the model "
        "was trained; "
        f"this patient is in the **{result['risk_group']}**-risk group. The curves, log-rank p "
        "and hazard ratio are apparent: the model was fitted and the groups cut on these same "
        f"patients, which overstates their separation for a new patient{honest}."
    )


def attribution_section(case: Case, choice: ModelChoice) -> None:
    """Bar chart of the inputs that move this patient's risk most (image models: where the
    attribution map lies)."""
    from survival_core.viewer.patient import attribution_figure

    try:
        with st.spinner("Explaining the risk..."):
            explained = explanation(case, choice)
        figure = attribution_figure(explained.top_features, baseline=explained.baseline)
    except Exception as error:  # noqa: BLE001 - shown to the user, logged if unexpected
        show_error(error)
        return
    st.plotly_chart(figure, key="risk-attributions")
    notes = [explained.additivity()]  # the baseline, its risk and the attributions' sum
    if explained.map is not None:
        notes.insert(
            0,
            "Image model: shares of the Integrated Gradients map by region (the map "
            "itself is on the Viewer page).",
        )
    if any(notes):
        st.caption(" ".join(filter(None, notes)))


@st.cache_data(max_entries=32, show_spinner=False)
def _run_reports(root: str, folder: str) -> tuple[dict | None, str | None]:
    """The protocol and the calibration figure (plotly JSON) of the run that registered the model
    in ``folder``; (None, None) for a model not in the registry (e.g. the demo default).
    ``root`` (the data folder) keys the cache: runs never change once they registered a model."""
    store = current_store()
    for row in store.list_models().itertuples():
        if row.folder != Path(folder):  # the entry's copy, without fetching every version
            continue
        protocol = store.run_config(row.run_id).get("protocol")
        path = store.get_run(row.run_id).folder / CALIBRATION_REPORT
        return protocol, path.read_text() if path.is_file() else None
    return None, None


def _packages_text(card: ModelCard) -> str:
    """The model card's line of the packages it was fitted with, naming those installed now in
    another version (its risks may differ slightly from the fit's); none for an older card."""
    if not card.packages:
        return ""
    made = ", ".join(f"{name} {v}" for name, v in sorted(card.packages.items()))
    changed = packages_changed(card)
    now = f" — installed now: {'; '.join(changed)}" if changed else ""
    return f"\n- **Fitted with:** {made}{now}"


def events_help(card: ModelCard) -> str | None:
    """The tooltip of the card's Events: what its events are ('Deaths'), the columns named as
    written; none for a model whose events are plain 'events' (no outcome recorded)."""
    events = card.endpoint.events
    return None if events == EndpointWords().events else upper_first(events)


def _protocol_text(card: ModelCard, protocol: dict | None) -> str:
    if protocol:
        details = ", ".join(f"{k} {v}" for k, v in protocol.items() if k != "name" and v)
        return f"{protocol['name']}" + (f" ({details})" if details else "")
    if card.cv:
        return f"cross-validation, {card.cv.get('n_folds', '?')} folds"
    return "fitted on the whole cohort, not cross-validated"


def model_card_section(choice: ModelChoice, card: ModelCard) -> None:
    """Training cohort, protocol, c-index with its CI, risk-group cut and the calibration plot."""
    import plotly.io

    from survival_core.paths import data_dir

    try:
        protocol, calibration = _run_reports(str(data_dir()), str(choice.folder))
    except Exception as error:  # noqa: BLE001 - the card stays readable without the run
        show_error(error)
        protocol, calibration = None, None
    columns = st.columns(4)
    columns[0].metric("Training patients", card.n)
    columns[1].metric("Events", card.n_events, help=events_help(card))
    cv = card.cv or {}
    if card.validated:
        low, high = cv.get("ci_low"), cv.get("ci_high")
        columns[2].metric(
            f"C-index ({card.validated})",
            f"{cv['c_index']:.3f}",
            help=None if low is None else f"95 % CI {low:.3f} to {high:.3f}",
        )
        if low is not None:
            columns[2].caption(f"95 % CI {low:.3f} to {high:.3f}")
    else:
        columns[2].metric(
            "C-index (apparent)",
            f"{card.apparent_c_index:.3f}",
            help="On the training rows: optimistic; no cross-validation stored",
        )
    loaded = loaded_model(choice)
    columns[3].metric("Model", loaded.kind)
    if loaded.chosen is not None:  # the metric cuts a long label short
        columns[3].caption(f"{card.model} chose {loaded.chosen}, which alone predicts")
    inputs = ", ".join(card.clinical_columns) or "none"
    radiomics = "with radiomics" if card.radiomics_settings else "no radiomics"
    outcome = card.endpoint.outcome
    st.markdown(
        (f"- **Outcome:** {outcome}\n" if outcome else "")
        + f"- **Protocol:** {_protocol_text(card, protocol)}\n"
        f"- **Clinical inputs:** {inputs}; {radiomics}; tables: {', '.join(card.tables) or '-'}\n"
        f"- **Trained:** {card.created or 'unknown'} (RadSurv {card.radsurv_version})"
        + _packages_text(card)
    )
    if calibration is not None:
        st.plotly_chart(plotly.io.from_json(calibration), key="risk-calibration")
    else:
        st.caption(
            "No calibration data for this model (only models trained by a run with a "
            "calibration horizon have it)."
        )
