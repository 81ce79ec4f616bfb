"""Plotly figures of slices: gray-scale CT in a window, ROI contours, optional heat-map overlay."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from survival_core.viewer.slices import SliceView

#: Contour colours by role, chosen to stay distinct on gray CT and on a projector.
ROLE_COLOURS = {
    "liver": "#2ca02c",
    "gtv": "#e4002b",
    "liver_minus_gtv": "#1f77b4",
    "ring": "#ff9900",
}
_FALLBACK = ("#9467bd", "#17becf", "#bcbd22", "#8c564b")


def role_colour(role: str, position: int = 0) -> str:
    """The display colour of a role (a fallback palette for unknown roles)."""
    return ROLE_COLOURS.get(role, _FALLBACK[position % len(_FALLBACK)])


def slice_figure(
    view: SliceView,
    low: float,
    high: float,
    *,
    overlay_opacity: float = 0.4,
    height: int = 560,
    title: str | None = None,
) -> go.Figure:
    """A slice shown between ``low`` and ``high`` (HU) with contours and, if any, an overlay.

    Axes are in mm with equal scale, so anisotropic voxels look physically right.
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
            hovertemplate="x %{x:.1f} mm, y %{y:.1f} mm: %{z:.0f} HU<extra></extra>",
        )
    )
    if view.overlay is not None:
        fig.add_trace(
            go.Heatmap(
                z=np.where(view.overlay > 0, view.overlay, np.nan),
                x=view.col_mm,
                y=view.row_mm,
                colorscale="Jet",
                opacity=overlay_opacity,
                showscale=True,
                colorbar={"title": "attribution", "thickness": 12},
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
                    line={"color": role_colour(role, position), "width": 2},
                    name=role.upper() if role == "gtv" else role.replace("_", " ").title(),
                    legendgroup=role,
                    showlegend=n == 0,
                    hoverinfo="name",
                )
            )
    fig.update_xaxes(showgrid=False, zeroline=False, title="mm", constrain="domain")
    fig.update_yaxes(
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        autorange=True if view.row_up else "reversed",
        title="mm",
    )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title=title,
        plot_bgcolor="black",
        legend={"orientation": "h", "y": -0.08, "font": {"size": 14}},
    )
    return fig
