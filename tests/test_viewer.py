"""Slices for display: planes, physical coordinates, contours and the plotly figure."""

import numpy as np
import pytest

from survival_core.errors import ConfigError
from survival_core.viewer.figures import slice_figure
from survival_core.viewer.slices import best_slice, extract_slice, n_slices
from tests.case_builders import make_case


@pytest.mark.parametrize(
    ("plane", "shape", "spacings"),
    [
        ("axial", (40, 48), (1.0, 1.0)),
        ("coronal", (20, 48), (1.0, 2.5)),
        ("sagittal", (20, 40), (1.0, 2.5)),
    ],
)
def test_planes_have_expected_shape_and_mm_axes(plane, shape, spacings):
    case = make_case(size=(48, 40, 20), spacing=(1.0, 1.0, 2.5))
    view = extract_slice(case, plane, best_slice(case, plane))
    assert view.pixels.shape == shape
    assert view.col_mm[1] - view.col_mm[0] == spacings[0]
    assert view.row_mm[1] - view.row_mm[0] == spacings[1]


def test_contour_encloses_the_mask_area():
    case = make_case(size=(64, 64, 10), spacing=(0.5, 0.5, 3.0))
    index = best_slice(case, "axial", "gtv")
    view = extract_slice(case, "axial", index)
    (outline,) = view.contours["gtv"]
    x, y = outline[:, 0], outline[:, 1]
    polygon_area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    mask_area = case.mask_array("gtv")[index].sum() * 0.25
    assert polygon_area == pytest.approx(mask_area, rel=0.1)


def test_best_slice_is_the_largest_cross_section():
    case = make_case()
    areas = case.mask_array("gtv").sum(axis=(1, 2))
    assert best_slice(case, "axial") == int(np.argmax(areas))


def test_out_of_range_slice_and_unknown_plane_are_refused():
    case = make_case()
    with pytest.raises(ConfigError, match="outside"):
        extract_slice(case, "axial", n_slices(case.image, "axial"))
    with pytest.raises(ConfigError, match="Unknown plane"):
        extract_slice(case, "oblique", 0)


def test_figure_has_image_and_one_legend_entry_per_roi():
    case = make_case()
    view = extract_slice(case, "axial", best_slice(case, "axial"))
    fig = slice_figure(view, -100, 200)
    assert fig.data[0].type == "heatmap" and fig.data[0].zmin == -100
    legend = {trace.name for trace in fig.data if trace.type == "scatter" and trace.showlegend}
    assert legend == {"Liver", "GTV"}
    assert fig.layout.yaxis.scaleanchor == "x"
