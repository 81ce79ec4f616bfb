"""Slices for display: planes, physical coordinates, contours, overlays and the plotly figure."""

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.errors import ConfigError, GeometryError
from survival_core.viewer.figures import (
    OVERLAY_FLOOR,
    display_layers,
    overlay_range,
    role_colour,
    slice_figure,
    visible_overlay,
)
from survival_core.viewer.slices import (
    PLANES,
    best_slice,
    crosshair_mm,
    extract_slice,
    make_overlay,
    n_slices,
    robust_limit,
)
from tests.case_builders import make_case

ANISOTROPIC = {"size": (50, 40, 16), "spacing": (0.8, 0.8, 2.5)}


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
    assert legend == {"Organ", "GTV"}
    layers = display_layers(case)
    fig = slice_figure(view, -100, 200, labels={k: v.label for k, v in layers.items()})
    legend = {trace.name for trace in fig.data if trace.type == "scatter" and trace.showlegend}
    assert legend == {"Liver (organ)", "GTV"}  # the organ named by the case's site
    assert fig.layout.yaxis.scaleanchor == "x"


def _signed_map(case, seed=0):
    """A smooth signed map on the case grid, zero outside a box (like a network crop)."""
    shape = sitk.GetArrayViewFromImage(case.image).shape
    z, y, x = np.indices(shape, dtype=np.float32)
    values = np.sin(x / 4.0) * np.cos(y / 5.0) + 0.1 * z
    values[:, :, :5] = 0.0
    values[0, 0, 10] = 50.0  # one outlier the robust limit must ignore
    image = sitk.GetImageFromArray(values.astype(np.float32))
    image.CopyInformation(case.image)
    return image, values


@pytest.mark.parametrize("plane", PLANES)
def test_overlay_is_cut_like_numpy_indexing_of_the_map(plane):
    case = make_case(**ANISOTROPIC)
    image, values = _signed_map(case)
    overlay = make_overlay(case, image, "IG")
    index = n_slices(case.image, plane) // 3
    view = extract_slice(case, plane, index, overlay=overlay)
    axis = {"axial": 0, "coronal": 1, "sagittal": 2}[plane]  # of the (z, y, x) array
    np.testing.assert_array_equal(view.overlay, np.take(values, index, axis=axis))
    np.testing.assert_array_equal(view.pixels, np.take(case.array(), index, axis=axis))


@pytest.mark.parametrize(
    ("plane", "extent"),
    [("axial", (50 * 0.8, 40 * 0.8)), ("coronal", (50 * 0.8, 16 * 2.5)),
     ("sagittal", (40 * 0.8, 16 * 2.5))],
)  # fmt: skip
def test_planes_keep_physical_aspect_for_anisotropic_voxels(plane, extent):
    case = make_case(**ANISOTROPIC)
    view = extract_slice(case, plane, 0)
    assert view.extent_mm == pytest.approx(extent)
    fig = slice_figure(view, -100, 200)
    # equal mm per pixel on both axes: a 2.5 mm slice is drawn 3.125x as tall as a 0.8 mm pixel
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert np.diff(fig.data[0].y)[0] == pytest.approx(extent[1] / view.pixels.shape[0])
    # coronal/sagittal: superior at the top; axial: anterior at the top (first row on top)
    assert fig.layout.yaxis.autorange == (True if plane != "axial" else "reversed")


def test_signed_overlay_scale_is_symmetric_and_global():
    case = make_case(**ANISOTROPIC)
    image, values = _signed_map(case)
    overlay = make_overlay(case, image, "IG")
    covered = np.abs(values[values != 0])
    assert overlay.scale.signed
    assert overlay.scale.limit == pytest.approx(np.percentile(covered, 99.5), rel=1e-6)
    assert overlay.scale.limit < 5  # the 50 outlier does not set the scale
    ranges = set()
    for plane in PLANES:
        for index in (0, n_slices(case.image, plane) - 1):
            fig = slice_figure(extract_slice(case, plane, index, overlay=overlay), -100, 200)
            heat = fig.data[1]
            ranges.add((heat.zmin, heat.zmax))
            assert heat.colorscale[0][1] != heat.colorscale[-1][1]
    assert ranges == {(-overlay.scale.limit, overlay.scale.limit)}


def test_non_negative_overlay_gets_a_sequential_scale_from_zero():
    case = make_case(**ANISOTROPIC)
    image, values = _signed_map(case)
    overlay = make_overlay(case, np.abs(values), "Grad-CAM")
    assert not overlay.scale.signed
    assert overlay_range(overlay.scale) == (0.0, overlay.scale.limit)


def test_weak_overlay_voxels_are_transparent():
    case = make_case(**ANISOTROPIC)
    image, values = _signed_map(case)
    overlay = make_overlay(case, image)
    shown = visible_overlay(values, overlay.scale)
    weak = np.abs(values) < OVERLAY_FLOOR * overlay.scale.limit
    assert weak.any() and (~weak).any()
    assert np.isnan(shown[weak]).all()
    np.testing.assert_array_equal(shown[~weak], values[~weak])


def test_overlay_trace_has_opacity_and_colour_bar():
    case = make_case(**ANISOTROPIC)
    overlay = make_overlay(case, _signed_map(case)[0], "IG")
    view = extract_slice(case, "axial", 8, overlay=overlay)
    heat = slice_figure(view, -100, 200, overlay_opacity=0.3).data[1]
    assert heat.opacity == 0.3 and heat.showscale and heat.colorbar.title.text == "IG"
    assert not slice_figure(view, -100, 200, colour_bar=False).data[1].showscale


@pytest.mark.parametrize(
    "change",
    [
        lambda image: image.SetSpacing((1.0, 1.0, 2.5)),
        lambda image: image.SetOrigin((0.0, 0.0, 0.0)),
        lambda image: image.SetDirection((-1, 0, 0, 0, 1, 0, 0, 0, 1)),
    ],
)
def test_overlay_off_the_ct_grid_is_refused(change):
    case = make_case(**ANISOTROPIC)
    image, _ = _signed_map(case)
    change(image)
    with pytest.raises(GeometryError, match="IG map is not on the image grid"):
        make_overlay(case, image, "IG")


def test_overlay_array_of_another_shape_is_refused():
    case = make_case(**ANISOTROPIC)
    with pytest.raises(GeometryError, match=r"shape \(16, 40, 49\).*TEST-1"):
        make_overlay(case, np.zeros((16, 40, 49), np.float32), "IG")


@pytest.mark.parametrize("n", [1, 2, 7, 1001, 20000])
@pytest.mark.parametrize("percentile", [0.0, 50.0, 99.5, 100.0])
def test_robust_limit_matches_numpy_percentile_of_the_covered_voxels(n, percentile):
    values = np.random.default_rng(n).normal(size=n)
    values[1::3] = 0.0
    covered = np.abs(values[values != 0])
    expected = np.percentile(covered, percentile)
    assert robust_limit(values, percentile) == pytest.approx(expected, rel=1e-6)


def test_robust_limit_of_an_empty_map_is_one():
    assert robust_limit(np.zeros((3, 3, 3))) == 1.0
    sparse = np.zeros(1000)
    sparse[0] = 2.0
    assert robust_limit(sparse) == 2.0


def test_roles_choose_the_contours_and_keep_their_colours():
    case = make_case()
    index = best_slice(case, "axial")
    view = extract_slice(case, "axial", index, roles=["gtv"])
    assert set(view.contours) == {"gtv"}
    fig = slice_figure(view, -100, 200, line_width=4)
    (line,) = [t for t in fig.data if t.type == "scatter"]
    assert line.line.color == role_colour("gtv") and line.line.width == 4
    assert role_colour("gtv") != role_colour("organ")


@pytest.mark.parametrize(
    ("plane", "expected"),
    [("axial", (30 * 0.8, 20 * 0.8)), ("coronal", (30 * 0.8, 5 * 2.5)),
     ("sagittal", (20 * 0.8, 5 * 2.5))],
)  # fmt: skip
def test_crosshair_marks_the_other_planes_slices(plane, expected):
    case = make_case(**ANISOTROPIC)
    indices = {"axial": 5, "coronal": 20, "sagittal": 30}
    assert crosshair_mm(case, plane, indices) == pytest.approx(expected)
    view = extract_slice(case, plane, indices[plane])
    fig = slice_figure(view, -100, 200, crosshair=expected)
    assert {(s.type, s.x0 if s.x0 == s.x1 else s.y0) for s in fig.layout.shapes} == {
        ("line", expected[0]),
        ("line", expected[1]),
    }
    with pytest.raises(ConfigError, match="both other planes"):
        crosshair_mm(case, plane, {plane: 1})


@pytest.mark.parametrize(
    ("plane", "edges"),
    [("axial", ("R", "L", "A", "P")), ("coronal", ("R", "L", "S", "I")),
     ("sagittal", ("A", "P", "S", "I"))],
)  # fmt: skip
def test_each_edge_is_labelled_with_its_patient_direction(plane, edges):
    """No L/R/A/P/S/I was drawn: the radiologist could not tell the patient's sides apart."""
    case = make_case()  # LPS, as every case is read
    view = extract_slice(case, plane, best_slice(case, plane))
    assert view.edges == edges
    fig = slice_figure(view, -100, 200)
    drawn = {(a.x, a.y): a.text for a in fig.layout.annotations}
    assert drawn == {
        (0, 0.5): f"<b>{edges[0]}</b>",
        (1, 0.5): f"<b>{edges[1]}</b>",
        (0.5, 1): f"<b>{edges[2]}</b>",
        (0.5, 0): f"<b>{edges[3]}</b>",
    }


def test_edge_labels_follow_the_image_direction():
    """A tilted or mirrored grid is labelled by where its axes point (the nearest direction)."""
    from survival_core.viewer.slices import edge_labels

    image = sitk.Image(4, 4, 4, sitk.sitkFloat32)
    tilt = np.deg2rad(20)
    image.SetDirection(
        (-np.cos(tilt), -np.sin(tilt), 0, np.sin(tilt), -np.cos(tilt), 0, 0, 0, -1)
    )  # RAI, tilted 20 degrees about z
    assert edge_labels(image, "axial") == ("L", "R", "P", "A")
    assert edge_labels(image, "coronal") == ("L", "R", "I", "S")
    assert edge_labels(image, "sagittal") == ("P", "A", "I", "S")


def test_a_slice_copies_the_slice_not_the_scan() -> None:
    """Each slice copied the whole scan and kept the copy alive through its pixels: three planes
    of a 512 x 512 x 900 CT took 1.8 GB more. A slice costs its own pixels."""
    import tracemalloc

    case = make_case(size=(256, 256, 96))  # a 25 MB scan
    tracemalloc.start()
    try:
        view = extract_slice(case, "axial", 40)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(view.pixels, case.array()[40])
    assert peak < 5e6 and view.pixels.base is None
