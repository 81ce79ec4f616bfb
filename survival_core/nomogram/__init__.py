"""Cox nomograms (``rms::nomogram`` style): points per variable, total points, linear predictor
and 1/2/3-year survival axes, as data (:mod:`.cox`), layout (:mod:`.layout`) and figures
(:mod:`.figure`: plotly, and PNG/SVG through matplotlib)."""

from survival_core.nomogram.cox import (
    LINEAR_COX,
    Nomogram,
    NomogramVariable,
    PatientPoints,
    build_nomogram,
)
from survival_core.nomogram.figure import plotly_figure, static_image
from survival_core.nomogram.layout import NomogramLayout, nice_ticks, nomogram_layout, points_rows

__all__ = [
    "LINEAR_COX",
    "Nomogram",
    "NomogramLayout",
    "NomogramVariable",
    "PatientPoints",
    "build_nomogram",
    "nice_ticks",
    "nomogram_layout",
    "plotly_figure",
    "points_rows",
    "static_image",
]
