"""Plotly figures of slices: gray-scale CT in a window, ROI contours, optional heat-map overlay.

The figures are drawn dark (black background, white text, thick contours) so they read on a
projector as on a reading-room monitor. An overlay's colours come from its volume-wide
:class:`~survival_core.viewer.slices.OverlayScale`: signed maps blue (lowers the risk) - white -
red (raises it), symmetric about 0; non-negative maps a sequential scale from 0. Voxels whose
|value| is below ``floor`` x the scale's limit are left transparent so the CT shows through.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from survival_core.viewer.slices import OverlayScale, SliceView

#: Contour colours by role, chosen to stay distinct on gray CT, on the red/blue overlay and on a
#: projector (the GTV is yellow, not red, so it cannot be confused with a risk-raising overlay).
ROLE_COLOURS = {
    "liver": "#2ca02c",
    "gtv": "#ffd400",
    "liver_minus_gtv": "#17becf",
    "ring": "#ff9900",
}
_FALLBACK = ("#9467bd", "#e377c2", "#bcbd22", "#8c564b")
#: Overlay voxels below this fraction of the scale's limit are transparent.
OVERLAY_FLOOR = 0.1
SIGNED_COLOURS = "RdBu_r"
POSITIVE_COLOURS = "Hot"
FONT = {"size": 16, "color": "white"}


def role_colour(role: str, position: int = 0) -> str:
    """The display colour of a role (a fallback palette for unknown roles)."""
    return ROLE_COLOURS.get(role, _FALLBACK[position % len(_FALLBACK)])


def role_label(role: str) -> str:
    """A role as shown in legends: 'GTV', 'Liver', 'Liver minus gtv'."""
    return role.upper() if role == "gtv" else role.replace("_", " ").capitalize()


def overlay_range(scale: OverlayScale) -> tuple[float, float]:
    """(zmin, zmax) of an overlay's colours: symmetric about 0 for signed maps, from 0 else."""
    return (-scale.limit if scale.signed else 0.0), scale.limit


def visible_overlay(
    values: np.ndarray, scale: OverlayScale, floor: float = OVERLAY_FLOOR
) -> np.ndarray:
    """``values`` as float32 with NaN (transparent in plotly) where |value| < floor x limit."""
    values = np.asarray(values, dtype=np.float32)
    return np.where(np.abs(values) >= floor * scale.limit, values, np.nan)


def _colour_bar(scale: OverlayScale) -> dict:
    low, high = overlay_range(scale)
    if scale.signed:
        ticks = [low, 0.0, high]
        labels = [f"{low:.2g} lowers risk", "0", f"{high:.2g} raises risk"]
    else:
        ticks, labels = [0.0, high], ["0", f"{high:.2g}"]
    return {
        "title": {"text": scale.label, "font": FONT},
        "tickvals": ticks,
        "ticktext": labels,
        "tickfont": FONT,
        "thickness": 16,
        "len": 0.8,
    }


def slice_figure(
    view: SliceView,
    low: float,
    high: float,
    *,
    overlay_opacity: float = 0.5,
    overlay_floor: float = OVERLAY_FLOOR,
    line_width: float = 3.0,
    height: int = 560,
    title: str | None = None,
    colour_bar: bool = True,
    crosshair: tuple[float, float] | None = None,
) -> go.Figure:
    """A slice shown between ``low`` and ``high`` (HU) with contours and, if any, an overlay.

    Axes are in mm with equal scale, so anisotropic voxels look physically right. ``colour_bar``
    can be turned off when several planes share one overlay scale. ``crosshair`` (col_mm,
    row_mm) marks where the other planes' slices cross this one (thin dashed lines).
    """
    fig = go.Figure(
        go.Heatmap(
            z=view.pixels,
            x=view.col_mm,
            y=view.row_mm,
            colorscale="gray",
            zmin=low,
            zmax=high,
            showscale=False,
            name="CT",
            hovertemplate="%{x:.1f} mm, %{y:.1f} mm: %{z:.0f} HU<extra></extra>",
        )
    )
    if view.overlay is not None and view.overlay_scale is not None:
        zmin, zmax = overlay_range(view.overlay_scale)
        fig.add_trace(
            go.Heatmap(
                z=visible_overlay(view.overlay, view.overlay_scale, overlay_floor),
                x=view.col_mm,
                y=view.row_mm,
                colorscale=SIGNED_COLOURS if view.overlay_scale.signed else POSITIVE_COLOURS,
                zmin=zmin,
                zmax=zmax,
                opacity=overlay_opacity,
                showscale=colour_bar,
                colorbar=_colour_bar(view.overlay_scale),
                name=view.overlay_scale.label,
                hoverinfo="skip",
            )
        )
    for position, (role, outlines) in enumerate(view.contours.items()):
        for n, points in enumerate(outlines):
            fig.add_trace(
                go.Scatter(
                    x=points[:, 0],
                    y=points[:, 1],
                    mode="lines",
                    line={"color": role_colour(role, position), "width": line_width},
                    name=role_label(role),
                    legendgroup=role,
                    showlegend=n == 0,
                    hoverinfo="name",
                )
            )
    if crosshair is not None:
        line = {"color": "rgba(255, 255, 255, 0.6)", "width": 1, "dash": "dash"}
        fig.add_vline(x=crosshair[0], line=line)
        fig.add_hline(y=crosshair[1], line=line)
    fig.update_xaxes(showgrid=False, zeroline=False, title="mm", constrain="domain", color="white")
    fig.update_yaxes(
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
        autorange=True if view.row_up else "reversed",
        title="mm",
        color="white",
    )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
        title={"text": title, "font": FONT} if title else None,
        font=FONT,
        plot_bgcolor="black",
        paper_bgcolor="black",
        legend={"orientation": "h", "y": -0.12, "font": FONT},
    )
    return fig
