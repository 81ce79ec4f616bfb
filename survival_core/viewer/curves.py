"""Plotly figures of evaluation results: Kaplan-Meier curves by risk group, the training risk
distribution, time-dependent AUC and ROC, calibration and decision curves.

The figures only draw: every number comes from a result object of
:mod:`survival_core.evaluation` (or a :class:`~survival_core.models.card.ModelCard`); nothing is
re-estimated here. Times arrive in days and are shown in ``time_unit`` (months by default, one of
:data:`survival_core.io.tables.TIME_UNITS`). Colours are the Okabe-Ito palette, distinguishable
with the common colour-vision deficiencies, and reference lines also differ by dash pattern.

:func:`figure_to_html` writes a figure as one self-contained HTML file with plotly.js embedded
(``include_plotlyjs=True``, about 4.5 MB), so it opens without internet access (run artifacts).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.bootstrap import Estimate
from survival_core.evaluation.calibration import CalibrationResult, SmoothedCalibration
from survival_core.evaluation.decision_curve import DecisionCurve
from survival_core.evaluation.risk_groups import (
    KaplanMeierCurve,
    RiskGroupCut,
    StratificationResult,
    digits_apart_from_cut,
)
from survival_core.evaluation.td_auc import RocCurve
from survival_core.io import atomic
from survival_core.io.tables import TIME_UNITS
from survival_core.text import file_name_part, percentile_text, upper_first

if TYPE_CHECKING:
    from survival_core.models.card import ModelCard

#: Okabe-Ito colours; low risk blue and high risk vermillion on every page.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
GROUP_COLOURS = {"low": PALETTE[0], "high": PALETTE[1]}
REFERENCE_COLOUR = "#555555"
#: The figures' font: the browser's own sans-serif, which its PNG export (an SVG drawn as an
#: image, where no web font loads) draws too. In the app's web font the legend was laid out for
#: narrower text than the export drew: 'no, n = 440' ran into 'yes, n = 246', clipped to 'n = 2'.
FONT_FAMILY = "Helvetica, Arial, sans-serif"
#: Width (px) a figure's PNG download is laid out at (:func:`export_config`).
EXPORT_WIDTH = 1200
#: Characters per line of a y axis title: 'Recurrence/progression-free survival probability'
#: on one line ran past the top of a Kaplan-Meier plot into its title.
AXIS_TITLE_WIDTH = 30
#: A stratification's risk groups (:func:`~survival_core.evaluation.risk_groups.stratify`).
_RISK_GROUPS = {0: "low", 1: "high"}
_KM_FIELDS = ("time", "survival", "ci_low", "ci_high", "n_at_risk", "n_events")
_DAYS_PER_YEAR = TIME_UNITS["years"]


def _days_per(time_unit: str) -> float:
    try:
        return TIME_UNITS[time_unit]
    except KeyError as err:
        raise ConfigError(
            f"Time unit must be one of {', '.join(TIME_UNITS)}; got {time_unit!r}."
        ) from err


def _array(values: Any, what: str) -> np.ndarray:
    """``values`` as a non-empty 1-D float array."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"{what} must be numbers; got {values!r:.80}.") from err
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{what} must be a non-empty list of numbers; got shape {array.shape}.")
    return array


def _same_length(arrays: Mapping[str, np.ndarray], owner: str) -> None:
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{owner}: the arrays must have one value per point each; got {lengths}.")


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _ci_text(low: float, high: float, level: float, digits: int = 2) -> str:
    return f"{level:.0%} CI {low:.{digits}f} to {high:.{digits}f}"


def _finish(fig: go.Figure, title: str, height: int) -> go.Figure:
    """The layout shared by these figures: white background, title, legend below the plot."""
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        template="plotly_white",
        font={"size": 14, "family": FONT_FAMILY},
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.18, "font": {"size": 14}},
        hoverlabel={"font_size": 14},
    )
    return fig


def _note(fig: go.Figure, text: str) -> None:
    """A boxed statistics note in the top-right corner of the plot area."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.99,
        y=0.99,
        xanchor="right",
        yanchor="top",
        align="right",
        showarrow=False,
        bgcolor="rgba(255,255,255,0.85)",
        bordercolor=REFERENCE_COLOUR,
        borderwidth=1,
    )


def _diagonal(name: str) -> go.Scatter:
    """The dashed y = x reference line of a unit square plot (ROC chance, ideal calibration)."""
    return go.Scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"color": REFERENCE_COLOUR, "dash": "dash"},
        name=name,
        hoverinfo="skip",
    )


def _fill(colour: str, alpha: float = 0.18) -> str:
    red, green, blue = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


# --- Kaplan-Meier --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Steps:
    """A Kaplan-Meier curve checked for drawing, with its legend label and colour."""

    label: str
    colour: str
    time: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray

    def at_risk(self, t: np.ndarray) -> np.ndarray:
        """Patients still at risk (time >= t) read off the curve's risk-set sizes."""
        k = np.searchsorted(self.time, t, side="left")
        return np.append(self.n_at_risk, 0)[k].astype(int)

    def censored(self) -> np.ndarray:
        """Number censored at each curve time: those leaving the risk set without an event."""
        leaving = self.n_at_risk - np.append(self.n_at_risk[1:], 0)
        return (leaving - self.n_events).astype(int)


def _steps(key: Any, curve: KaplanMeierCurve, position: int) -> _Steps:
    group = _RISK_GROUPS.get(key)
    label = f"{group.title()} risk" if group else str(key)
    colour = GROUP_COLOURS[group] if group else PALETTE[position % len(PALETTE)]
    if not isinstance(curve, KaplanMeierCurve):
        raise InputError(
            f"Kaplan-Meier curve {label!r} must be a KaplanMeierCurve; got {type(curve).__name__}."
        )
    arrays = {
        name: _array(getattr(curve, name), f"Kaplan-Meier {name} of {label!r}")
        for name in _KM_FIELDS
    }
    _same_length(arrays, f"Kaplan-Meier curve {label!r}")
    if not np.isfinite(arrays["time"]).all() or (np.diff(arrays["time"]) < 0).any():
        raise InputError(f"Kaplan-Meier times of {label!r} must be finite and ascending (days).")
    return _Steps(label, colour, **arrays)


def _yearly_ticks(max_days: float, every: float | None) -> np.ndarray:
    """Times (days) for the number-at-risk table: yearly, quarterly for follow-up under 2 years."""
    if every is not None and not every > 0:
        raise ConfigError(f"The number-at-risk interval must be positive days; got {every!r}.")
    step = every or (_DAYS_PER_YEAR if max_days >= 2 * _DAYS_PER_YEAR else _DAYS_PER_YEAR / 4)
    return np.arange(0.0, max_days + 1e-9, step)


def _add_curve(
    fig: go.Figure, key: Any, s: _Steps, mine: bool, unit: float, time_unit: str, level: float
) -> None:
    """One group's confidence band (upper, then lower filled up to it) and survival steps."""
    x = np.concatenate(([0.0], s.time)) / unit
    band = {"line_shape": "hv", "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip"}
    lower = {"fill": "tonexty", "fillcolor": _fill(s.colour)}
    for side, bound, fill in (("upper", s.ci_high, {}), ("lower", s.ci_low, lower)):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.append(1.0, bound),
                legendgroup=s.label,
                showlegend=False,
                name=f"{s.label} {side} CI",
                **fill,
                **band,
            ),
            row=1,
            col=1,
        )
    name = f"{s.label} (this patient's group)" if mine else s.label
    fig.add_trace(
        go.Scatter(
            x=x,
            y=np.append(1.0, s.survival),
            mode="lines",
            line_shape="hv",
            line={"color": s.colour, "width": 4 if mine else 2.5},
            name=f"{name}, n = {int(s.n_at_risk[0])}",
            legendgroup=s.label,
            customdata=np.column_stack((np.append(1.0, s.ci_low), np.append(1.0, s.ci_high))),
            hovertemplate=(
                f"{s.label}<br>%{{x:.1f}} {time_unit}: survival %{{y:.0%}} "
                f"({level:.0%} CI %{{customdata[0]:.0%}} to %{{customdata[1]:.0%}})"
                "<extra></extra>"
            ),
            meta={"role": "km", "group": str(key)},
        ),
        row=1,
        col=1,
    )


def _add_censorings(fig: go.Figure, key: Any, s: _Steps, unit: float, time_unit: str) -> None:
    """Tick marks where patients of the group were censored, with how many in the hover."""
    counts = s.censored()
    censored = counts > 0
    fig.add_trace(
        go.Scatter(
            x=s.time[censored] / unit,
            y=s.survival[censored],
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 9, "color": s.colour},
            name=f"{s.label} censored",
            legendgroup=s.label,
            showlegend=False,
            customdata=counts[censored],
            hovertemplate=(
                f"{s.label}: %{{customdata}} censored at %{{x:.1f}} {time_unit}<extra></extra>"
            ),
            meta={"role": "censored", "group": str(key)},
        ),
        row=1,
        col=1,
    )


def _add_at_risk_table(
    fig: go.Figure, steps: list[_Steps], ticks: np.ndarray, unit: float, time_unit: str
) -> None:
    """The number-at-risk table under the curves: one text row per group at ``ticks`` (days)."""
    for s in steps:
        fig.add_trace(
            go.Scatter(
                x=ticks / unit,
                y=[s.label] * ticks.size,
                mode="text",
                text=[str(c) for c in s.at_risk(ticks)],
                textfont={"color": s.colour, "size": 13},
                showlegend=False,
                name=f"{s.label} at risk",
                hovertemplate=(
                    f"{s.label}: %{{text}} at risk at %{{x:.0f}} {time_unit}<extra></extra>"
                ),
                meta={"role": "at_risk", "group": s.label},
            ),
            row=2,
            col=1,
        )
    fig.update_xaxes(tickvals=ticks / unit, showgrid=True)
    fig.update_xaxes(title=f"Time ({time_unit})", row=2, col=1)
    fig.update_yaxes(title="At risk", autorange="reversed", showgrid=False, row=2, col=1)


def _statistics_text(
    logrank_p: float | None, hazard_ratio: Estimate | Sequence[float] | None, level: float
) -> str:
    """The note's lines: log-rank p and the high-vs-low hazard ratio with its CI, when given."""
    stats = []
    if logrank_p is not None:
        stats.append(f"Log-rank {_p_text(float(logrank_p))}")
    if hazard_ratio is not None:
        hr = (
            (hazard_ratio.value, hazard_ratio.ci_low, hazard_ratio.ci_high)
            if isinstance(hazard_ratio, Estimate)
            else tuple(_array(hazard_ratio, "The hazard ratio (value, CI low, CI high)"))
        )
        if len(hr) != 3:
            raise InputError(
                f"The hazard ratio must be (value, CI low, CI high); got {len(hr)} numbers."
            )
        stats.append(f"HR high vs low {hr[0]:.2f} ({_ci_text(hr[1], hr[2], level)})")
    return "<br>".join(stats)


def km_figure(
    curves: Mapping[Any, KaplanMeierCurve],
    *,
    logrank_p: float | None = None,
    hazard_ratio: Estimate | Sequence[float] | None = None,
    patient_group: Any = None,
    patient_time: float | None = None,
    time_unit: str = "months",
    at_risk_every: float | None = None,
    level: float = 0.95,
    title: str = "Kaplan-Meier survival by risk group",
    height: int = 560,
    survival: str = "survival",
) -> go.Figure:
    """Step curves with confidence bands and censoring ticks per group (keys 0/1 are the low and
    high risk groups), a number-at-risk table every ``at_risk_every`` days (yearly by default),
    and the log-rank p and hazard ratio (high vs low) in a note. ``survival`` names the
    endpoint's survival on the y axis (its short words: 'overall survival').

    ``patient_group`` (a key of ``curves``) draws that group's curve thicker and names it as the
    patient's; ``patient_time`` (days) draws a vertical line. ``level`` labels the intervals (it
    is not stored with the hazard ratio).
    """
    if not curves:
        raise InputError("No Kaplan-Meier curves to draw: the risk groups are empty.")
    if patient_group is not None and patient_group not in curves:
        raise InputError(
            f"The patient's group {patient_group!r} is not one of the curves "
            f"({', '.join(map(str, curves))})."
        )
    unit = _days_per(time_unit)
    steps = [_steps(key, curve, n) for n, (key, curve) in enumerate(curves.items())]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2], vertical_spacing=0.1
    )
    for key, s in zip(curves, steps, strict=True):
        _add_curve(fig, key, s, key == patient_group, unit, time_unit, level)
        _add_censorings(fig, key, s, unit, time_unit)
    ticks = _yearly_ticks(max(s.time[-1] for s in steps), at_risk_every)
    _add_at_risk_table(fig, steps, ticks, unit, time_unit)
    axis = textwrap.wrap(
        f"{upper_first(survival)} probability",
        AXIS_TITLE_WIDTH,
        break_long_words=False,
        break_on_hyphens=False,
    )
    fig.update_yaxes(
        title="<br>".join(axis), automargin=True, range=[0, 1.02], tickformat=".0%", row=1, col=1
    )
    if patient_time is not None:
        fig.add_vline(
            x=float(patient_time) / unit,
            line={"color": "black", "dash": "dot", "width": 2},
            annotation_text=f"patient: {float(patient_time) / unit:.1f} {time_unit}",
            annotation_position="bottom right",
            row=1,
            col=1,
        )
    stats = _statistics_text(logrank_p, hazard_ratio, level)
    if stats:
        _note(fig, stats)
    return _finish(fig, title, height)


def km_from_stratification(result: StratificationResult, **options: Any) -> go.Figure:
    """:func:`km_figure` of risk groups with their log-rank p and hazard ratio (either is None on
    a model card whose training cohort had too few events for them)."""
    options.setdefault("level", result.km[0].level)
    return km_figure(
        result.km,
        logrank_p=None if result.logrank is None else result.logrank.p_value,
        hazard_ratio=result.hazard_ratio,
        **options,
    )


def km_from_card(card: ModelCard, patient_risk: float | None = None, **options: Any) -> go.Figure:
    """The training cohort's Kaplan-Meier curves per risk group from a model card (Risk page);
    with ``patient_risk`` the group the card's cut puts the patient in is highlighted. Titled
    apparent: the model was fitted and the groups cut on these same patients. Its title and y
    axis name the card's endpoint."""
    words = card.endpoint
    options.setdefault(
        "title",
        f"Training cohort ({card.n} patients, {card.n_events} {words.events}): {words.short} by "
        "risk group (apparent)",
    )
    options.setdefault("survival", words.short)
    group = None if patient_risk is None else int(card.risk_group(float(patient_risk)) == "high")
    return km_from_stratification(card.stratification_result(), patient_group=group, **options)


# --- risk distribution ---------------------------------------------------------------------------


def _threshold(cut: float | RiskGroupCut | Mapping[str, Any]) -> tuple[float, str]:
    if isinstance(cut, Mapping):
        cut = RiskGroupCut.from_dict(dict(cut))
    if isinstance(cut, RiskGroupCut):
        if cut.threshold_ is None:
            raise ConfigError(
                "The risk-group cut has not been fitted; call fit() on training data."
            )
        return cut.threshold_, f"cut ({cut.method})"
    return float(cut), "cut"


def risk_distribution_figure(
    training_risk: Sequence[float],
    cut: float | RiskGroupCut | Mapping[str, Any],
    patient_risk: float | None = None,
    *,
    patient_percentile: float | None = None,
    bins: int = 30,
    title: str = "Risk scores of the training cohort",
    height: int = 420,
) -> go.Figure:
    """Histogram of the training cohort's risks coloured by risk group, the cut (a threshold, a
    fitted :class:`RiskGroupCut` or a card's cut dict) and, if given, the patient's risk labelled
    with ``patient_percentile`` (the share of training risks at or below it, e.g.
    :meth:`ModelCard.percentile`)."""
    risk = _array(training_risk, "The training risks")
    if not np.isfinite(risk).all():
        raise InputError("The training risks contain NaN or infinite values.")
    threshold, cut_label = _threshold(cut)
    # the patient's risk and the cut in the decimals that tell them apart
    digits = 2 if patient_risk is None else digits_apart_from_cut(float(patient_risk), threshold)
    edges = np.histogram_bin_edges(risk, bins=bins)
    xbins = {"start": edges[0], "end": edges[-1], "size": edges[1] - edges[0]}
    fig = go.Figure()
    for name, member, colour in (
        ("Low risk", risk <= threshold, GROUP_COLOURS["low"]),
        ("High risk", risk > threshold, GROUP_COLOURS["high"]),
    ):
        fig.add_trace(
            go.Histogram(
                x=risk[member],
                xbins=xbins,
                autobinx=False,
                marker={"color": colour, "line": {"color": "white", "width": 0.5}},
                name=f"{name} (n = {int(member.sum())})",
                hovertemplate="risk %{x}: %{y} patients<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="stack", bargap=0.02)
    fig.add_vline(
        x=threshold,
        line={"color": REFERENCE_COLOUR, "dash": "dash", "width": 2},
        annotation_text=f"{cut_label}: {threshold:.{digits}f}",
        annotation_position="top left",
    )
    low, high = float(edges[0]), float(edges[-1])
    if patient_risk is not None:
        text = f"this patient: {float(patient_risk):.{digits}f}"
        if patient_percentile is not None:
            text += f" (percentile {percentile_text(float(patient_percentile))})"
        low, high = min(low, float(patient_risk)), max(high, float(patient_risk))
        right_half = float(patient_risk) > (low + high) / 2  # label on the side with room
        fig.add_vline(
            x=float(patient_risk),
            line={"color": "black", "width": 3},
            annotation_text=text,
            annotation_position="top left" if right_half else "top right",
            annotation={"yshift": -18},  # one line below the cut's label
        )
    pad = 0.05 * (high - low or 1.0)
    # a fixed range: plotly's autorange would stretch the axis to fit the labels' text
    fig.update_xaxes(
        title="Risk score (model output, higher = worse)", range=[low - pad, high + pad]
    )
    fig.update_yaxes(title="Patients")
    return _finish(fig, title, height)


# --- discrimination ------------------------------------------------------------------------------


def td_auc_figure(
    horizons: Sequence[float],
    aucs: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    time_unit: str = "months",
    title: str = "Time-dependent AUC",
    height: int = 420,
) -> go.Figure:
    """Cumulative/dynamic AUC against the horizon (days) for one model or several (a mapping of
    name to AUCs, in ``horizons`` order); NaN (a horizon a fold could not score) leaves a gap."""
    unit = _days_per(time_unit)
    h = _array(horizons, "The AUC horizons (days)")
    series = aucs if isinstance(aucs, Mapping) else {"model": aucs}
    if not series:
        raise InputError("No AUC series to draw.")
    fig = go.Figure()
    for n, (name, values) in enumerate(series.items()):
        auc = _array(values, f"The AUCs of {name!r}")
        _same_length({"horizons": h, name: auc}, "Time-dependent AUC")
        if ((auc < 0) | (auc > 1)).any():
            raise InputError(f"AUCs of {name!r} must lie in [0, 1]; got {auc.tolist()}.")
        fig.add_trace(
            go.Scatter(
                x=h / unit,
                y=auc,
                mode="lines+markers",
                marker={"size": 9, "symbol": n},
                line={"color": PALETTE[n % len(PALETTE)], "width": 2.5},
                name=str(name),
                hovertemplate=f"{name}<br>%{{x:.0f}} {time_unit}: AUC %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_hline(
        y=0.5,
        line={"color": REFERENCE_COLOUR, "dash": "dash"},
        annotation_text="chance (0.5)",
        annotation_position="bottom right",
    )
    fig.update_xaxes(
        title=f"Horizon ({time_unit})",
        tickvals=h / unit,
        ticktext=[f"{v:.3g}" for v in h / unit],  # 365 days -> "12" months, not "11.99179"
    )
    fig.update_yaxes(title="AUC (cumulative/dynamic)", range=[0.0, 1.0])
    return _finish(fig, title, height)


def td_auc_from_cv(summary: Mapping[str, Any], **options: Any) -> go.Figure:
    """:func:`td_auc_figure` of a cross-validation summary (``summary["td_auc"]`` maps the horizon
    in days, as text, to the pooled out-of-fold AUC)."""
    table = summary.get("td_auc") or {}
    if not table:
        raise InputError("The cross-validation summary holds no time-dependent AUCs.")
    return td_auc_figure([float(h) for h in table], list(table.values()), **options)


def roc_figure(
    roc: RocCurve | Mapping[str, RocCurve],
    *,
    horizon: float | None = None,
    time_unit: str = "months",
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Cumulative/dynamic ROC curve(s) at ``horizon`` days with the AUC in the legend."""
    unit = _days_per(time_unit)
    curves = {"model": roc} if isinstance(roc, RocCurve) else dict(roc)
    if not curves:
        raise InputError("No ROC curves to draw.")
    fig = go.Figure()
    for n, (name, curve) in enumerate(curves.items()):
        fpr = _array(curve.false_positive_rate, f"False-positive rates of {name!r}")
        tpr = _array(curve.true_positive_rate, f"True-positive rates of {name!r}")
        thresholds = _array(curve.thresholds, f"Thresholds of {name!r}")
        _same_length({"fpr": fpr, "tpr": tpr, "thresholds": thresholds}, f"ROC curve {name!r}")
        shown = np.where(np.isfinite(thresholds), thresholds, np.nan)
        fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                mode="lines",
                line={"color": PALETTE[n % len(PALETTE)], "width": 2.5},
                name=f"{name} (AUC {curve.auc:.3f})",
                customdata=shown,
                hovertemplate=(
                    f"{name}: positive if risk ≥ %{{customdata:.3f}}<br>"
                    "sensitivity %{y:.0%}, 1 − specificity %{x:.0%}<extra></extra>"
                ),
            )
        )
    fig.add_trace(_diagonal("chance"))
    if title is None:
        title = "Time-dependent ROC" + (
            "" if horizon is None else f" at {horizon / unit:.0f} {time_unit}"
        )
    fig.update_xaxes(
        title="1 − specificity (false-positive rate)", range=[0, 1], constrain="domain"
    )
    fig.update_yaxes(
        title="Sensitivity (true-positive rate)", range=[0, 1], scaleanchor="x", scaleratio=1
    )
    return _finish(fig, title, height)


# --- calibration and clinical usefulness ---------------------------------------------------------


def calibration_figure(
    result: CalibrationResult,
    *,
    time_unit: str = "months",
    level: float = 0.95,
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """Observed (Kaplan-Meier, with CI) against mean predicted survival at the horizon per risk
    group, the smoothed calibration curve, the ideal diagonal, and slope, calibration-in-the-large
    and ICI in a note (or why the smoothed curve is left out). Both axes are survival
    probabilities by the horizon; ``level`` labels the intervals (the result does not store it)."""
    unit = _days_per(time_unit)
    table = result.table
    arrays = {
        name: _array(getattr(table, name), f"Calibration {name}")
        for name in (
            "n",
            "predicted_survival",
            "observed_survival",
            "observed_low",
            "observed_high",
        )
    }
    _same_length(arrays, "Calibration table")
    when = f"{result.horizon / unit:.0f} {time_unit}"
    fig = go.Figure()
    fig.add_trace(_diagonal("ideal"))
    if result.smoothed is not None:
        fig.add_trace(_smoothed_trace(result.smoothed))
    obs = arrays["observed_survival"]
    fig.add_trace(
        go.Scatter(
            x=arrays["predicted_survival"],
            y=obs,
            mode="markers",
            marker={"color": PALETTE[0], "size": 10, "symbol": "circle"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": arrays["observed_high"] - obs,
                "arrayminus": obs - arrays["observed_low"],
                "color": PALETTE[0],
            },
            name=f"risk groups (Kaplan-Meier, {level:.0%} CI)",
            customdata=np.column_stack(
                (arrays["n"], arrays["observed_low"], arrays["observed_high"])
            ),
            hovertemplate=(
                "%{customdata[0]} patients<br>predicted %{x:.0%}, observed %{y:.0%} "
                "(CI %{customdata[1]:.0%} to %{customdata[2]:.0%})<extra></extra>"
            ),
        )
    )
    slope, large, smooth = result.slope, result.in_the_large, result.smoothed
    lines = [
        f"Slope {slope.value:.2f} ({_ci_text(slope.ci_low, slope.ci_high, level)})",
        f"In-the-large (observed − predicted risk) {large.value:+.3f} "
        f"({_ci_text(large.ci_low, large.ci_high, level, 3)})",
    ]
    if smooth is not None:
        lines.append(f"ICI {smooth.ici:.3f}, E50 {smooth.e50:.3f}, E90 {smooth.e90:.3f}")
    if result.smoothed_note:  # a sentence: wrapped, the box stays inside the square plot
        lines += textwrap.wrap(result.smoothed_note[0].upper() + result.smoothed_note[1:], 60)
    _note(fig, "<br>".join(lines))
    # square and fixed: with a scale anchor alone plotly widens the x range to fill the width
    fig.update_xaxes(
        title=f"Predicted survival at {when}", range=[0, 1], tickformat=".0%", constrain="domain"
    )
    fig.update_yaxes(
        title=f"Observed survival at {when}",
        range=[0, 1],
        tickformat=".0%",
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    return _finish(fig, title or f"Calibration at {when}", height)


def _smoothed_trace(smooth: SmoothedCalibration) -> go.Scatter:
    """The smoothed calibration curve, as survival by the horizon, named by its model."""
    predicted = _array(smooth.predicted_risk, "Smoothed predicted risk")
    observed = _array(smooth.observed_risk, "Smoothed observed risk")
    _same_length({"predicted": predicted, "observed": observed}, "Smoothed calibration")
    order = np.argsort(predicted, kind="stable")
    return go.Scatter(
        x=1.0 - predicted[order],
        y=1.0 - observed[order],
        mode="lines",
        line={"color": PALETTE[2], "width": 2.5},
        name=f"smoothed ({smooth.method})",
        hovertemplate="predicted %{x:.0%}, smoothed observed %{y:.0%}<extra></extra>",
    )


def decision_curve_figure(
    result: DecisionCurve,
    *,
    time_unit: str = "months",
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Net benefit of acting on the model against treating everybody and nobody, per threshold
    probability of an event by the horizon."""
    unit = _days_per(time_unit)
    lines = {
        "model": _array(result.model, "Decision-curve net benefit (model)"),
        "treat all": _array(result.treat_all, "Decision-curve net benefit (treat all)"),
        "treat none": _array(result.treat_none, "Decision-curve net benefit (treat none)"),
    }
    thresholds = _array(result.thresholds, "Decision-curve thresholds")
    _same_length({"thresholds": thresholds, **lines}, "Decision curve")
    when = f"{result.horizon / unit:.0f} {time_unit}"
    styles = {
        "model": {"color": PALETTE[0], "width": 3},
        "treat all": {"color": PALETTE[1], "width": 2, "dash": "dash"},
        "treat none": {"color": "black", "width": 2, "dash": "dot"},
    }
    fig = go.Figure()
    for name, values in lines.items():
        fig.add_trace(
            go.Scatter(
                x=thresholds,
                y=values,
                mode="lines",
                line=styles[name],
                name=name,
                hovertemplate=(
                    f"{name}: threshold %{{x:.0%}}, net benefit %{{y:.3f}}<extra></extra>"
                ),
            )
        )
    top = max(float(np.nanmax(lines["model"])), float(np.nanmax(lines["treat all"])), 0.01)
    fig.update_xaxes(title=f"Threshold probability of an event by {when}", tickformat=".0%")
    fig.update_yaxes(
        title="Net benefit (true positives per patient)", range=[-0.25 * top, 1.1 * top]
    )
    return _finish(fig, title or f"Decision curve at {when}", height)


# --- export --------------------------------------------------------------------------------------


def export_config(name: str, height: int, width: int = EXPORT_WIDTH) -> dict[str, Any]:
    """Plotly's chart config for a figure's PNG download (the camera button): the file named
    ``name`` (made safe: :func:`~survival_core.text.file_name_part`) rather than after its
    title's first characters, laid out at ``width`` x ``height`` px, drawn at twice that for
    print, whatever the size of the browser window it was shown in."""
    options = {"format": "png", "filename": file_name_part(name), "width": width}
    return {"toImageButtonOptions": {**options, "height": height, "scale": 2}}


def figure_to_html(fig: go.Figure, path: Path | str) -> Path:
    """Write ``fig`` as one self-contained HTML file (plotly.js embedded, no internet needed),
    atomically (:mod:`survival_core.io.atomic`), so a reader never sees half a file."""
    path = Path(path)
    try:
        return atomic.write_text(path, fig.to_html(include_plotlyjs=True, full_html=True))
    except OSError as err:
        raise InputError(f"Cannot write the figure to {path}: {err.strerror or err}.") from err


def comparison_figure(
    rows: Sequence[Mapping[str, Any]], chosen: str, height: int | None = None
) -> go.Figure:
    """Each model's pooled out-of-fold c-index with its 95 % CI (a forest plot, best on top),
    ``chosen`` (the run's model) highlighted; hovering shows the paired difference and its q."""
    if not rows:
        raise InputError("No models to compare.")
    ordered = sorted(rows, key=lambda r: float(r["c_index"]))
    names = [str(r["model"]) for r in ordered]
    c = np.array([float(r["c_index"]) for r in ordered])
    low = np.array([float(r["ci_low"]) for r in ordered])
    high = np.array([float(r["ci_high"]) for r in ordered])
    hover = [
        "reference"
        if r.get("difference") is None or r["difference"] != r["difference"]
        else f"difference {float(r['difference']):+.3f}, q = {float(r['q_value']):.3f}"
        for r in ordered
    ]
    colours = ["#d62728" if name == chosen else "#1f77b4" for name in names]
    fig = go.Figure(
        go.Scatter(
            x=c,
            y=names,
            mode="markers",
            marker={"color": colours, "size": 10},
            error_x={"type": "data", "array": high - c, "arrayminus": c - low},
            customdata=hover,
            hovertemplate="%{y}: c-index %{x:.3f}<br>%{customdata}<extra></extra>",
        )
    )
    fig.add_vline(x=0.5, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=f"Model comparison on the same folds ({chosen} in red)",
        xaxis_title="Harrell's c-index, pooled out-of-fold (95 % BCa CI)",
        height=height or 120 + 28 * len(rows),
        margin={"l": 10},
    )
    return fig
