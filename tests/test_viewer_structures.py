"""Any case in the viewer: every named structure with its own colour and legend entry, roles named."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.viewer.figures import (
    STRUCTURE_PALETTE,
    display_layers,
    intensity_unit,
    layer_colours,
    role_label,
    slice_figure,
    structure_label,
)
from survival_core.viewer.slices import extract_slice, n_slices
from tests.case_builders import make_case

SIZE = (48, 40, 20)  # x, y, z voxels
SPACING = (1.0, 1.0, 2.5)


def _image(array: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    return image


def lung_case(modality: str = "CT", gtvs: int = 1) -> Case:
    """A thorax-like case: two lungs, ``gtvs`` tumours in the left lung, a spinal cord; the roles
    made of them as the loader makes them (GTVs united, both lungs the organ)."""
    nx, ny, nz = SIZE
    z, y, x = np.indices((nz, ny, nx))
    left = ((x - 14) / 10.0) ** 2 + ((y - 18) / 12.0) ** 2 + ((z - 10) / 8.0) ** 2 <= 1
    right = ((x - 34) / 10.0) ** 2 + ((y - 18) / 12.0) ** 2 + ((z - 10) / 8.0) ** 2 <= 1
    cord = ((x - 24) ** 2 + (y - 34) ** 2 <= 4) & (z >= 1) & (z <= 18)
    tumours = [
        (x - 14) ** 2 + (y - 18 + 5 * n) ** 2 + ((z - 10 + 3 * n) * 2.5) ** 2 <= 9
        for n in range(gtvs)
    ]
    pixels = np.full((nz, ny, nx), 40.0 if modality == "CT" else 300.0, np.float32)
    pixels[left | right] = -800.0 if modality == "CT" else 60.0
    for tumour in tumours:
        pixels[tumour] = 30.0 if modality == "CT" else 900.0
    pixels += 2.0 * x + y  # a smooth bias field, so no region is flat
    structures = {f"GTV-{n + 1}": _image(t.astype(np.uint8)) for n, t in enumerate(tumours)}
    structures |= {
        "Lung-Left": _image(left.astype(np.uint8)),
        "Lung-Right": _image(right.astype(np.uint8)),
        "Spinal-Cord": _image(cord.astype(np.uint8)),
    }
    return Case(
        case_id="LUNG-1",
        image=_image(pixels),
        masks={
            "gtv": _image(np.logical_or.reduce(tumours).astype(np.uint8)),
            "organ": _image((left | right).astype(np.uint8)),
        },
        modality=modality,
        site="lung",
        structures=structures,
    )


def _legend(fig) -> list[str]:
    return [t.name for t in fig.data if t.type == "scatter" and t.showlegend]


def test_every_structure_is_a_layer_labelled_with_its_role():
    layers = display_layers(lung_case())
    assert list(layers) == ["GTV-1", "Lung-Left", "Lung-Right", "Spinal-Cord"]
    assert [layer.label for layer in layers.values()] == [
        "GTV-1 · GTV",
        "Lung-Left · Lung (organ)",
        "Lung-Right · Lung (organ)",
        "Spinal-Cord",
    ]
    assert layers["Lung-Left"].roles == ("organ",) and layers["Spinal-Cord"].roles == ()


def test_several_gtvs_each_keep_their_own_layer():
    layers = display_layers(lung_case(gtvs=2))
    assert [k for k, layer in layers.items() if layer.roles == ("gtv",)] == ["GTV-1", "GTV-2"]
    assert "gtv" not in layers  # the united GTV is drawn by its parts


def test_a_case_with_four_structures_shows_four_legend_entries_on_every_slice():
    case = lung_case()
    layers = display_layers(case)
    masks = {name: layer.mask for name, layer in layers.items()}
    labels = {name: layer.label for name, layer in layers.items()}
    colours = {name: layer.colour for name, layer in layers.items()}
    for index in (0, 10, n_slices(case.image, "axial") - 1):
        view = extract_slice(case, "axial", index, masks=masks)
        fig = slice_figure(view, -1000, 400, labels=labels, colours=colours)
        legend = _legend(fig)
        assert len(legend) == 4
        # a structure the slice does not cut is still listed, and says so
        assert {re.sub(r" \(not on this slice\)$", "", n) for n in legend} == set(labels.values())
    # each structure's outlines are drawn in its own colour
    view = extract_slice(case, "axial", 10, masks=masks)
    fig = slice_figure(view, -1000, 400, labels=labels, colours=colours)
    drawn = {t.legendgroup: t.line.color for t in fig.data if t.type == "scatter"}
    assert drawn == colours


def test_toggled_off_structures_are_not_drawn():
    case = lung_case()
    masks = {name: layer.mask for name, layer in display_layers(case).items()}
    view = extract_slice(case, "axial", 10, masks=masks, roles=["GTV-1", "Spinal-Cord"])
    assert set(view.contours) == {"GTV-1", "Spinal-Cord"}


def test_colours_are_distinct_per_structure():
    colours = [layer.colour for layer in display_layers(lung_case(gtvs=2)).values()]
    assert len(set(colours)) == len(colours) == 5
    many = layer_colours([f"S{n}" for n in range(60)])
    assert len(set(many.values())) == 60
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in many.values())
    assert list(many.values())[: len(STRUCTURE_PALETTE)] == list(STRUCTURE_PALETTE)


def test_fifty_structures_get_colours_apart_from_each_other_and_the_overlay():
    """RT structure sets hold 30-50 structures: past 16, golden-angle hues came within deltaE
    2.4 of each other (s26, s39) and within 4.8 of the overlay's red (s32)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    def lab(colours):
        rgb = [[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours]
        return rgb2lab(np.asarray(rgb, dtype=float)[None])[0]

    colours = lab(list(layer_colours([f"s{n}" for n in range(50)]).values()))
    apart = deltaE_ciede2000(colours[:, None], colours[None, :])
    np.fill_diagonal(apart, np.inf)
    assert apart.min() >= 10.0
    reds_and_blues = lab(["#053061", "#2166ac", "#4393c3", "#d6604d", "#b2182b", "#67001f"])
    assert deltaE_ciede2000(colours[:, None], reds_and_blues[None, :]).min() >= 10.0
    assert (colours[:, 0] >= 40).all()  # none too dark to read on black


def test_a_lone_gtv_stays_yellow_and_the_organ_green():
    layers = display_layers(make_case())  # role masks only, no named structures
    assert list(layers) == ["gtv", "organ"]
    assert layers["gtv"].colour == "#ffd400" and layers["organ"].colour == "#2ca02c"
    assert layers["organ"].label == "Liver (organ)"


def test_a_gtv_inside_the_organ_contour_is_not_taken_for_the_organ():
    case = make_case()  # the tumour lies inside the liver ellipsoid
    case.structures = {"Liver": case.masks["organ"], "GTV": case.masks["gtv"]}
    layers = display_layers(case)
    assert [(k, layer.roles) for k, layer in layers.items()] == [
        ("GTV", ("gtv",)),
        ("Liver", ("organ",)),
    ]


def test_a_role_no_structure_makes_up_is_a_layer_of_its_own():
    case = lung_case()
    organ = sitk.GetArrayFromImage(case.masks["organ"])
    gtv = sitk.GetArrayFromImage(case.masks["gtv"])
    case.masks["organ_minus_gtv"] = _image((organ & (1 - gtv)).astype(np.uint8))
    layers = display_layers(case)
    assert layers["organ_minus_gtv"].label == "Lung minus GTV"
    assert len(layers) == 5


@pytest.mark.parametrize(
    ("name", "roles", "label"),
    [
        ("gtv.nii.gz", ["GTV"], "GTV"),
        ("GTV", ["GTV"], "GTV"),
        ("Liver", ["Liver (organ)"], "Liver (organ)"),
        ("liver.nii.gz", ["Liver (organ)"], "Liver (organ)"),
        ("GTV-1", ["GTV"], "GTV-1 · GTV"),
        ("Lung-Left", ["Lung (organ)"], "Lung-Left · Lung (organ)"),
        ("Spinal-Cord", [], "Spinal-Cord"),
        ("cord.nrrd", [], "cord"),
        ("labels.nrrd:7", [], "labels:7"),  # pyradiomics' prostate phantom's label map
        ("labels.nrrd:1", ["GTV"], "labels:1 · GTV"),
        ("masks/rois.nii.gz:2.3", [], "masks/rois:2.3"),
        ("T2:cor.nii.gz", [], "T2:cor"),
    ],
)
def test_structure_labels_say_the_role_once(name, roles, label):
    assert structure_label(name, roles) == label


@pytest.mark.parametrize(
    ("role", "site", "label"),
    [
        ("gtv", "lung", "GTV"),
        ("organ", "lung", "Lung (organ)"),
        ("organ", "head_and_neck", "Head and neck (organ)"),
        ("organ", None, "Organ"),
        ("organ_minus_gtv", "liver", "Liver minus GTV"),
        ("organ_minus_gtv", None, "Organ minus GTV"),
        ("liver", None, "Liver"),
        ("peritumoral_ring", "lung", "Peritumoral ring"),
    ],
)
def test_role_labels_name_the_site(role, site, label):
    assert role_label(role, site) == label


def test_mr_slices_are_not_labelled_in_hu():
    case = lung_case("MR")
    view = extract_slice(case, "axial", 10)
    image = slice_figure(view, 0, 1000, modality="MR").data[0]
    assert "HU" not in image.hovertemplate and image.name == "MR"
    assert "HU" in slice_figure(view, 0, 1000).data[0].hovertemplate


def test_the_hover_gives_the_values_unit():
    """HU for CT, SUVbw for a PET in SUV (a PET in counts and an MR: no unit)."""
    mr = lung_case("MR")
    pet = dataclasses.replace(mr, modality="PT", image=mr.image * 0.01)  # SUV 0.8-9.5
    counts = dataclasses.replace(pet, image=pet.image * 5300.0)
    units = [intensity_unit(c) for c in (lung_case("CT"), pet, counts, mr)]
    assert units == ["HU", "SUVbw", "", ""]
    view = extract_slice(pet, "axial", 10)
    hover = slice_figure(view, 0, 5, modality="PT", unit="SUVbw").data[0].hovertemplate
    assert hover.endswith(": %{z:.4g} SUVbw<extra></extra>")
    assert "SUV" not in slice_figure(view, 0, 5, modality="PT", unit="").data[0].hovertemplate


def test_a_label_maps_structures_are_shown_without_its_extension(shared_data, tmp_path):
    """pyradiomics' prostate phantom (image + label map): its legend read 'labels.nrrd:1'; the
    structures keep their stored names, only the label shown drops the extension."""
    from survival_core.io.case_loader import load_case

    folder = shared_data / "pyradiomics"
    (tmp_path / "image.nrrd").write_bytes((folder / "prostate_phantom_subvolume.nrrd").read_bytes())
    labels = (folder / "prostate_phantom_subvolume-label.nrrd").read_bytes()
    (tmp_path / "labels.nrrd").write_bytes(labels)
    case = load_case(tmp_path, modality="MR", require=())
    layers = display_layers(case)
    assert list(layers) == list(case.structures) == [f"labels.nrrd:{n}" for n in (1, 7, 8, 9)]
    assert [layer.label for layer in layers.values()] == [f"labels:{n}" for n in (1, 7, 8, 9)]
