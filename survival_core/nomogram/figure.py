"""The nomogram drawn from its :class:`~survival_core.nomogram.layout.NomogramLayout`: an
interactive plotly figure for the page and a matplotlib drawing for PNG/SVG downloads (kaleido,
plotly's static exporter, is not a dependency). Both draw the same rows, ticks, marks and guides.
"""

from __future__ import annotations

import io

import plotly.graph_objects as go

from survival_core.errors import InputError
from survival_core.nomogram.layout import NomogramLayout, label_lines
from survival_core.text import drawable, literal_texts
from survival_core.viewer.curves import PALETTE

#: Height of one axis row (plotly pixels; static inches are this / 100).
ROW_PX = 46
#: Vertical offsets (row units) of tick marks and of labels above / below the line.
TICK, ABOVE, BELOW = 0.12, 0.2, -0.38
#: Width of one label character: plotly pixels, and share of the static figure's width.
LABEL_PX, LABEL_FRACTION = 7.5, 0.0068
MARK_COLOUR = PALETTE[1]
LINE_COLOUR = "#222222"
STATIC_FORMATS = ("png", "svg")


def _segments(pairs: list[tuple[float, float, float, float]]) -> tuple[list, list]:
    """Line segments (x0, y0, x1, y1) as one plotly trace's x and y (None separated)."""
    xs, ys = [], []
    for x0, y0, x1, y1 in pairs:
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    return xs, ys


def _lines(layout: NomogramLayout) -> list[tuple[float, float, float, float]]:
    """Axis lines and tick marks, row ``i`` at height ``-i``."""
    lines = []
    for i, row in enumerate(layout.rows):
        lines.append((row.start, -i, row.end, -i))
        lines += [(t.x, -i, t.x, -i + TICK) for t in row.ticks]
    return lines


def plotly_figure(layout: NomogramLayout) -> go.Figure:
    """The nomogram as a plotly figure (hover a red mark for the patient's value and points)."""
    fig = go.Figure()
    xs, ys = _segments(_lines(layout))
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": LINE_COLOUR, "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    ticks = [(t, -i) for i, row in enumerate(layout.rows) for t in row.ticks]
    fig.add_trace(
        go.Scatter(
            x=[t.x for t, _ in ticks],
            y=[y + (BELOW if t.below else ABOVE) for t, y in ticks],
            text=[t.text for t, _ in ticks],
            mode="text",
            textposition="middle center",
            textfont={"size": 11},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for i, row in enumerate(layout.rows):  # row labels in the left margin (paper coordinates)
        fig.add_annotation(
            x=0, xref="paper", xanchor="right", xshift=-8, y=-i, yref="y",
            text="<br>".join(f"<b>{line}</b>" for line in label_lines(row.label)),
            showarrow=False, font={"size": 12, "color": LINE_COLOUR},
        )  # fmt: skip
    if layout.guides:
        xs, ys = _segments([(x, -top, x, -bottom) for x, top, bottom in layout.guides])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={"color": MARK_COLOUR, "width": 1, "dash": "dot"},
            )
        )
        marked = [(i, row) for i, row in enumerate(layout.rows) if row.marker is not None]
        fig.add_trace(
            go.Scatter(
                x=[row.marker for _, row in marked],
                y=[-i for i, _ in marked],
                hovertext=[row.marker_text for _, row in marked],
                hoverinfo="text",
                mode="markers",
                marker={"color": MARK_COLOUR, "size": 10, "symbol": "diamond"},
                name="Patient",
                showlegend=False,
            )
        )
    n = len(layout.rows)
    fig.update_layout(
        title=layout.title,
        height=ROW_PX * n + 110,
        margin={"l": 30 + LABEL_PX * layout.label_chars, "r": 30, "t": 60, "b": 20},
        xaxis={"visible": False, "range": list(layout.x_range)},
        yaxis={"visible": False, "range": [-n + 0.4, 0.8]},
        plot_bgcolor="white",
    )
    fig.update_xaxes(fixedrange=True)
    fig.update_yaxes(fixedrange=True)
    return fig


def static_image(layout: NomogramLayout, fmt: str) -> bytes:
    """The nomogram as PNG or SVG bytes, drawn with matplotlib (no display needed)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if fmt not in STATIC_FORMATS:
        raise InputError(f"Export format {fmt!r} is not one of {', '.join(STATIC_FORMATS)}.")
    # a PNG's texts are drawn with the server's font, which holds no Chinese, Japanese or Korean
    # letter (empty boxes): those as code points; an SVG keeps its text for the viewer's fonts
    shown = drawable if fmt == "png" else str
    n = len(layout.rows)
    fig = Figure(figsize=(11, ROW_PX / 100 * n + 0.9))
    left = min(0.5, 0.03 + LABEL_FRACTION * layout.label_chars)
    ax = fig.add_axes((left, 0.02, 0.98 - left, 0.9))
    for x0, y0, x1, y1 in _lines(layout):
        ax.plot([x0, x1], [y0, y1], color=LINE_COLOUR, linewidth=0.8)
    for i, row in enumerate(layout.rows):
        ax.text(
            layout.x_range[0] - 1,
            -i,
            shown("\n".join(label_lines(row.label))),
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
        )
        for t in row.ticks:
            ax.text(
                t.x,
                -i + (BELOW if t.below else ABOVE),
                shown(t.text),
                ha="center",
                va="center",
                fontsize=7.5,
            )
        if row.marker is not None:
            ax.plot([row.marker], [-i], marker="D", color=MARK_COLOUR, markersize=5)
    for x, top, bottom in layout.guides:
        ax.plot([x, x], [-top, -bottom], color=MARK_COLOUR, linewidth=0.8, linestyle=":")
    ax.set_xlim(*layout.x_range)
    ax.set_ylim(-n + 0.4, 0.8)
    ax.set_axis_off()
    ax.set_title(shown(layout.title), fontsize=11, loc="left")
    literal_texts(fig)  # a column header's '$' is no mathtext
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # SVG text stays editable text, not outlines
        fig.savefig(buffer, format=fmt, dpi=150 if fmt == "png" else None)
    return buffer.getvalue()
