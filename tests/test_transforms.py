"""Case transforms route to the preprocessing functions, compose, and never mutate their input."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import ConfigError, MaskError
from survival_core.preprocess.roi import ORGAN_MINUS_GTV, PERITUMORAL_RING
from survival_core.preprocess.transforms import (
    ApplyWindow,
    Compose,
    CropToROI,
    DeriveROIs,
    Resample,
    ResizeToShape,
    ZScore,
)
from survival_core.preprocess.window import Window

SPACING = (0.8, 0.8, 4.0)
SIZE = (50, 50, 12)  # x y z


def _image(array_zyx: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx)
    image.SetSpacing(SPACING)
    image.SetOrigin((-20.0, -20.0, -24.0))
    return image


def _case(modality: str = "CT") -> Case:
    z, y, x = np.indices(SIZE[::-1]) * np.asarray(SPACING[::-1])[:, None, None, None]
    centre = np.asarray(SIZE[::-1]) * np.asarray(SPACING[::-1]) / 2
    r_liver = np.sqrt(
        ((z - centre[0]) / 18) ** 2 + ((y - centre[1]) / 16) ** 2 + ((x - centre[2]) / 16) ** 2
    )
    r_gtv = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2] - 4) ** 2)
    liver, gtv = r_liver <= 1, r_gtv <= 6
    hu = np.where(liver, 60.0, -900.0) + np.where(gtv, -30.0, 0.0)
    hu += np.random.default_rng(0).normal(0, 5, hu.shape)
    return Case(
        "case-001",
        _image(hu.astype(np.float32)),
        {"organ": _image(liver.astype(np.uint8)), "gtv": _image(gtv.astype(np.uint8))},
        {"age": 61.0},
        modality=modality,
    )


def _snapshot(case: Case) -> dict:
    return {
        "image": case.array().copy(),
        "geometry": (case.image.GetSpacing(), case.image.GetOrigin(), case.image.GetSize()),
        "masks": {role: case.mask_array(role).copy() for role in case.masks},
        "clinical": dict(case.clinical),
        "masks_dict": case.masks,
        "clinical_dict": case.clinical,
    }


def _assert_unchanged(case: Case, before: dict) -> None:
    np.testing.assert_array_equal(case.array(), before["image"])
    assert (case.image.GetSpacing(), case.image.GetOrigin(), case.image.GetSize()) == before[
        "geometry"
    ]
    assert set(case.masks) == set(before["masks"])
    for role, mask in before["masks"].items():
        np.testing.assert_array_equal(case.mask_array(role), mask)
    assert case.clinical == before["clinical"]
    assert case.masks is before["masks_dict"] and case.clinical is before["clinical_dict"]


STEPS = [
    pytest.param(Resample((1.0, 1.0, 1.0)), id="resample"),
    pytest.param(DeriveROIs(ring_mm=5.0), id="derive"),
    pytest.param(CropToROI("gtv", 5.0), id="crop"),
    pytest.param(ResizeToShape((16, 16, 8)), id="resize"),
    pytest.param(ApplyWindow("liver"), id="window"),
    pytest.param(ZScore("organ"), id="zscore"),
]


@pytest.mark.parametrize("step", STEPS)
def test_each_step_returns_a_new_case_and_leaves_the_input_alone(step):
    case = _case()
    before = _snapshot(case)
    out = step(case)
    _assert_unchanged(case, before)
    assert out is not case and out.masks is not case.masks and out.clinical is not case.clinical
    assert (out.case_id, out.clinical, out.modality) == (case.case_id, case.clinical, case.modality)
    out.clinical["age"] = 99.0
    assert case.clinical["age"] == 61.0
    for role in out.masks:  # masks always stay on the image grid
        assert out.masks[role].GetSize() == out.image.GetSize()
        assert out.masks[role].GetOrigin() == pytest.approx(out.image.GetOrigin())
    assert out.image.GetPixelID() == sitk.sitkFloat32


def test_resample_routes_image_and_masks():
    out = Resample((1.0, 1.0, 1.0))(_case())
    assert out.spacing == (1.0, 1.0, 1.0)
    assert out.image.GetSize() == (40, 40, 48)
    assert out.masks["gtv"].GetSpacing() == (1.0, 1.0, 1.0)
    gtv_mm3 = out.mask_array("gtv").sum()
    assert gtv_mm3 == pytest.approx(_case().mask_array("gtv").sum() * np.prod(SPACING), rel=0.05)


def test_derive_rois_adds_the_derived_masks():
    case = _case()
    out = DeriveROIs(ring_mm=5.0)(case)
    assert set(out.masks) == {"organ", "gtv", "body", ORGAN_MINUS_GTV, PERITUMORAL_RING}
    liver, gtv = case.mask_array("organ"), case.mask_array("gtv")
    np.testing.assert_array_equal(out.mask_array(ORGAN_MINUS_GTV), liver & ~gtv)
    ring = out.mask_array(PERITUMORAL_RING)
    assert ring.any() and not np.any(ring & gtv) and not np.any(ring & ~liver)
    assert set(DeriveROIs()(case).masks) == {"organ", "gtv", "body", ORGAN_MINUS_GTV}


def test_derive_rois_needs_the_gtv_only():
    case = _case()
    del case.masks["organ"]
    # Without an organ: no organ_minus_gtv, and the ring is clipped to the body outline.
    out = DeriveROIs(ring_mm=5.0)(case)
    assert set(out.masks) == {"gtv", "body", PERITUMORAL_RING}
    assert not np.any(out.mask_array(PERITUMORAL_RING) & ~out.mask_array("body"))
    del case.masks["gtv"]
    with pytest.raises(MaskError, match="case-001 has no GTV"):
        DeriveROIs()(case)


def test_window_and_zscore_values():
    case = _case()
    windowed = ApplyWindow(Window(60, 100))(case).array()
    assert windowed.min() >= 0.0 and windowed.max() <= 1.0
    assert np.median(windowed[case.mask_array("organ") & ~case.mask_array("gtv")]) == pytest.approx(
        0.5, abs=0.05
    )
    scored = ZScore("organ")(case).array()[case.mask_array("organ")]
    assert scored.mean() == pytest.approx(0.0, abs=1e-4) and scored.std() == pytest.approx(
        1.0, rel=1e-4
    )


def test_window_rejects_mr_and_unknown_presets():
    with pytest.raises(ConfigError, match="CT only"):
        ApplyWindow("liver")(_case(modality="MR"))
    with pytest.raises(ConfigError, match="Unknown CT window"):
        ApplyWindow("livr")
    with pytest.raises(MaskError, match="tumour"):
        ZScore("tumour")(_case())


def test_compose_chains_steps_without_mutating_the_input():
    case = _case()
    before = _snapshot(case)
    pipeline = Compose(
        [
            Resample((1.0, 1.0, 2.0)),
            DeriveROIs(ring_mm=3.0),
            CropToROI("organ", 4.0),
            ResizeToShape((24, 24, 12)),
        ]
    )
    out = pipeline(case)
    _assert_unchanged(case, before)
    assert out.image.GetSize() == (24, 24, 12)
    assert set(out.masks) == {"organ", "gtv", "body", ORGAN_MINUS_GTV, PERITUMORAL_RING}
    assert all(out.mask_array(role).any() for role in out.masks)
    assert "Resample(spacing=(1.0, 1.0, 2.0)" in repr(pipeline) and "ResizeToShape" in repr(
        pipeline
    )


def test_compose_rejects_non_callables():
    with pytest.raises(ConfigError, match="not callable"):
        Compose([Resample(), "crop"])
