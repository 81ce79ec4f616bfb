"""Explaining real scans written by others under a (tiny) 3-D CNN: pyradiomics' lung1 (a CT with a
GTV and no organ) and the TCIA sarcoma CT STS_001. The tumour enrichment without an organ and with
a GTV beside the organ, IG maps that still add up on the CT grid, and the Grad-CAM layers offered.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from survival_core.case import Case
from survival_core.errors import ConfigError
from survival_core.explain import maps
from survival_core.explain.case import explain_case
from survival_core.features.case_row import case_features
from survival_core.io.case_loader import load_case_files
from survival_core.models.scoring import LoadedModel, case_model, load_scoring_model
from survival_core.preprocess.resample import Grid, resample_mask_onto
from survival_core.report.pdf import build_report, gather_report
from survival_core.workflows.scoring import score_case
from survival_core.workflows.training import train_model

TINY_CNN = {
    "channels": [4, 8],
    "fc": 8,
    "batch_size": 4,
    "epochs": 2,
    "volume_shape": [96, 96, 24],
    "patch_size": [24, 24, 8],
}


@pytest.fixture(scope="module")
def loaded(small_cohort, tmp_path_factory) -> LoadedModel:
    folder = tmp_path_factory.mktemp("real-explain") / "cnn3d"
    train_model([small_cohort / "clinical.csv"], "cnn3d", TINY_CNN, folder, cohort=small_cohort)
    return load_scoring_model(folder)


@pytest.fixture(scope="module")
def lung1(shared_data) -> Case:
    folder = shared_data / "pyradiomics"
    if not (folder / "lung1_image.nrrd").is_file():
        pytest.skip("pyradiomics' lung1 not in ../shared/data")
    masks = {"gtv": folder / "lung1_label.nrrd"}
    return load_case_files(folder / "lung1_image.nrrd", masks, None, "lung1", site="lung")


@pytest.fixture(scope="module")
def sarcoma(sarcoma_ct) -> Case:
    return sarcoma_ct


def _with_organ(case: Case, organ: np.ndarray) -> Case:
    image = sitk.GetImageFromArray(organ.astype(np.uint8))
    image.CopyInformation(case.image)
    return dataclasses.replace(case, masks={**case.masks, "organ": image})


# --- enrichment without an organ (the ranked voxels are those the map covers) ------------------


@pytest.mark.parametrize(("kind", "low", "high"), [("random", 0.6, 1.4), ("avoids GTV", 0.0, 0.05)])
def test_enrichment_without_organ_ranks_the_voxels_the_map_covers(
    kind, low, high, loaded, lung1, monkeypatch
):
    """lung1 has no organ: every CT voxel (12.6 M) used to be ranked, the network's crop box was
    smaller than the top 5 %, and both maps scored the ceiling 20.0. Measured now: random 0.91,
    tumour-avoiding 0.00."""
    _, reference = case_model(lung1, loaded).case_input(lung1)
    gtv = sitk.GetArrayFromImage(resample_mask_onto(lung1.masks["gtv"], Grid.of(reference)))
    values = (
        np.random.default_rng(0).random(gtv.shape) if kind == "random" else np.where(gtv, 0.01, 1)
    )
    monkeypatch.setattr(maps, "gradcam_map", lambda *_, **__: values.astype(np.float32))
    explanation = explain_case(lung1, loaded, "gradcam")
    assert low <= explanation.enrichment <= high
    assert explanation.enrichment_note == "top 5 % of the CT voxels in the network's crop box"


# --- a GTV beside the organ ----------------------------------------------------------------------


def test_a_gtv_beside_the_organ_is_explained_and_reported(loaded, lung1):
    """A nodal-like layout: 'lung' slabs left and right of lung1's GTV, no GTV voxel in them
    (explain and report used to fail: 'The GTV has no voxels among the ranked (organ) voxels')."""
    z, y, x = np.nonzero(lung1.mask_array("gtv"))
    organ = np.zeros(lung1.mask_array("gtv").shape, bool)
    rows = (slice(z.min() - 3, z.max() + 4), slice(y.min() - 30, y.max() + 31))
    organ[(*rows, slice(x.min() - 60, x.min() - 8))] = True
    organ[(*rows, slice(x.max() + 9, x.max() + 61))] = True
    case = _with_organ(lung1, organ)
    explanation = explain_case(case, loaded, "gradcam")
    assert explanation.map.GetSize() == case.image.GetSize()
    assert explanation.enrichment is not None and explanation.enrichment >= 0
    assert explanation.enrichment_note == "top 5 % of the lung and tumour voxels"
    score = score_case(case, loaded)
    content = gather_report(case, loaded, score, explanation)
    assert "Tumour enrichment of the top 5 % of the lung and tumour voxels" in content.feature_note
    assert build_report(case, loaded, score, explanation).startswith(b"%PDF")
    # An organ far from the GTV: the network's crop (the organ's box) leaves the GTV out.
    far = np.zeros_like(organ)
    far[:, :40, :40] = True
    case = _with_organ(lung1, far)
    explanation = explain_case(case, loaded, "gradcam")
    assert explanation.enrichment is None
    assert "outside the network's crop box" in explanation.enrichment_note
    content = gather_report(case, loaded, score_case(case, loaded), explanation)
    assert "No tumour enrichment: the GTV lies outside" in content.feature_note


# --- IG maps on the CT grid add up to the attribution total ----------------------------------


@pytest.mark.parametrize("name", ["sarcoma", "lung1"])
def test_saved_ig_map_sums_to_the_risk_difference(name, loaded, request):
    """The IG map on the CT grid sums to f(x) - f(baseline), as the completeness delta says. Without
    the voxel-volume factor it summed to that times (network / CT voxel volume): measured on this
    96 x 96 x 24 grid, 5.80x on the sarcoma and 1.19x on lung1; now 1.007x and 1.021x (linear
    interpolation samples a voxel-rough map, most coarsely along lung1's 5 mm slices)."""
    case = request.getfixturevalue(name)
    model = case_model(case, loaded)
    net = model.risk_function(case_features(case, loaded)[0])
    volume, _ = model.case_input(case)
    with torch.no_grad():
        x = torch.as_tensor(volume[None])
        difference = float(net(x)[0] - net(torch.zeros_like(x))[0])
    explanation = explain_case(case, loaded, "ig")
    assert explanation.completeness_delta <= 0.01
    total = float(sitk.GetArrayFromImage(explanation.map).astype(np.float64).sum())
    assert total == pytest.approx(difference, rel=0.03)


# --- Grad-CAM layers -------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["fc", "head", "activation", "dropout", "blocks"])
def test_only_spatial_layers_are_offered_for_gradcam(layer, loaded, sarcoma):
    """Layers after the pooling (their output has no voxels) and the never-called ModuleList are
    refused with the valid names (they used to crash: IndexError, KeyError 'net.net.blocks')."""
    with pytest.raises(ConfigError, match="choose one of: blocks.0, blocks.0.0,") as error:
        explain_case(sarcoma, loaded, "gradcam", layer=layer)
    choices = str(error.value).split("choose one of: ")[1].rstrip(".").split(", ")
    assert layer not in choices and all(c.startswith("blocks.") for c in choices)
    for choice in ("blocks.0", "blocks.1.2"):
        explanation = explain_case(sarcoma, loaded, "gradcam", layer=choice)
        assert explanation.map.GetSize() == sarcoma.image.GetSize()
