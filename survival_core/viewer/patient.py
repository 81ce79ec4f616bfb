"""Plotly figures of one patient (Risk page, report): the predicted survival curve with its band
and the 1/2/3-year estimates marked, and the top input attributions of the patient's risk.

Like :mod:`survival_core.viewer.curves` (whose layout and colours they share) these only draw;
the numbers come from :mod:`survival_core.models.survival_band` and
:mod:`survival_core.explain.case`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from survival_core.errors import InputError
from survival_core.models.scoring import DAYS_PER_MONTH, REPORT_MONTHS, survival_text
from survival_core.models.survival_band import SurvivalBand
from survival_core.viewer.curves import PALETTE, REFERENCE_COLOUR, _days_per, _fill, _finish


def survival_band_figure(
    band: SurvivalBand,
    *,
    time_unit: str = "months",
    title: str = "Predicted survival of this patient",
    height: int = 480,
) -> go.Figure:
    """The patient's S(t) as a step curve, its band (if any) shaded, and the 1/2/3-year survival
    marked with their intervals; the band's note (method, or why there is none) below the title."""
    unit = _days_per(time_unit)
    x = band.time / unit
    colour = PALETTE[0]
    fig = go.Figure()
    if band.low is not None and band.high is not None:
        common = {"mode": "lines", "line_shape": "hv", "line": {"width": 0}, "hoverinfo": "skip"}
        fig.add_trace(go.Scatter(x=x, y=band.high, showlegend=False, name="upper CI", **common))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=band.low,
                fill="tonexty",
                fillcolor=_fill(colour),
                name=f"{band.level:.0%} CI",
                meta={"role": "band"},
                **common,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=band.survival,
            mode="lines",
            line_shape="hv",
            line={"color": colour, "width": 3},
            name="predicted survival",
            text=[survival_text(v) for v in band.survival],  # '> 99 %', never a certain 100%
            hovertemplate=f"%{{x:.1f}} {time_unit}: survival %{{text}}<extra></extra>",
            meta={"role": "survival"},
        )
    )
    # no mark past the curve's end (the training cohort's last follow-up), as the score reports
    horizons = [m for m in REPORT_MONTHS if m * DAYS_PER_MONTH <= band.time[-1]]
    marks = [band.at(months * DAYS_PER_MONTH) for months in horizons]
    # as the Risk page's figures and the PDF write them: '> 99 %', never a certain '100%'
    texts = [
        f"{months // 12} y: {survival_text(value)}"
        + ("" if low is None else f" ({survival_text(low)} to {survival_text(high)})")
        for months, (value, low, high) in zip(horizons, marks, strict=True)
    ]
    values = np.array([m[0] for m in marks])
    error = None
    if band.low is not None:
        error = {
            "type": "data",
            "symmetric": False,
            "array": [m[2] - m[0] for m in marks],
            "arrayminus": [m[0] - m[1] for m in marks],
            "color": REFERENCE_COLOUR,
        }
    fig.add_trace(
        go.Scatter(
            x=np.array(horizons) * DAYS_PER_MONTH / unit,
            y=values,
            mode="markers+text",
            marker={"color": "black", "size": 10, "symbol": "diamond"},
            error_y=error,
            text=texts,
            textposition="top right",
            name="1/2/3-year survival",
            hovertemplate="%{text}<extra></extra>",
            meta={"role": "marks"},
        )
    )
    fig.update_xaxes(title=f"Time ({time_unit})")
    fig.update_yaxes(title="Survival probability", range=[0, 1.05], tickformat=".0%")
    return _finish(fig, f"{title}<br><sup>{band.note}</sup>", height)


def attribution_figure(
    features: Sequence[Mapping[str, Any]],
    *,
    title: str = "What drives this patient's risk",
    height: int | None = None,
    baseline: str | None = None,
) -> go.Figure:
    """Horizontal bars, largest on top: signed attributions (``{"name", "attribution"}``, and
    ``"imputed"`` to mark an input the case lacked, ``"standard_error"`` drawn as an error bar
    where sampled; red raises the risk, blue lowers it) measured from ``baseline`` (the
    explanation's, named on the axis: the mean patient, the training cohort...) or, for image
    models, the map's region shares (``{"name", "share"}``)."""
    if not features:
        raise InputError("No feature attributions to draw.")
    signed = all("attribution" in f for f in features)
    if not signed and not all("share" in f for f in features):
        raise InputError(
            "Attributions must all be {'name', 'attribution'} or all {'name', 'share'} items."
        )
    # an input the case did not give took the training median or level: not the patient's value
    names = [str(f["name"]) + (" (imputed)" if f.get("imputed") else "") for f in features][::-1]
    errors = None
    if signed:
        values = np.array([float(f["attribution"]) for f in features])[::-1]
        colours = [PALETTE[1] if v > 0 else PALETTE[0] for v in values]
        # the risk score's own scale: a log-hazard for Cox models, not a forest's or a
        # discrete-time model's; from the method's own baseline (a forest's: the cohort)
        axis = "Contribution to the risk score" + (f" (vs {baseline})" if baseline else "")
        hover = "%{y}: %{x:+.3f}<extra></extra>"
        if all("standard_error" in f for f in features):
            errors = dict(type="data", array=[float(f["standard_error"]) for f in features][::-1])
            hover = "%{y}: %{x:+.3f} ± %{error_x.array:.3f} (standard error)<extra></extra>"
    else:
        values = np.array([float(f["share"]) for f in features])[::-1]
        colours = [PALETTE[2]] * len(values)
        axis = "Share of the attribution map's absolute mass"
        hover = "%{y}: %{x:.0%}<extra></extra>"
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=colours,
            hovertemplate=hover,
            error_x=errors,
        )
    )
    fig.update_xaxes(title=axis, tickformat=None if signed else ".0%", zeroline=True)
    return _finish(fig, title, height or 140 + 36 * len(names))
