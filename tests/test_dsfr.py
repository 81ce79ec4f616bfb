"""Segmentation U-Net (grid, Dice, training, save/load) and DSFR feature pooling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from scipy.spatial.distance import dice as scipy_dice_dissimilarity

from survival_core.errors import ConfigError, InputError
from survival_core.features.dsfr import (
    FALLBACK_FRACTION,
    dsfr_features,
    feature_columns,
    pooled_features,
    read_dsfr_table,
    tumour_region,
    write_dsfr_table,
)
from survival_core.features.segmentation import (
    SegmentationModel,
    UNetConfig,
    UNetTraining,
    case_dice,
    dice_score,
    mask_on_grid,
    segmentation_input,
    train_unet,
)
from survival_core.io.tables import load_model_table
from tests.case_builders import make_case

TINY = UNetConfig(slice_size=32, n_slices=8, channels=(8, 16, 32), strides=(2, 2))
SIZES = [(48, 40, 20), (56, 48, 20), (44, 44, 24), (52, 40, 16), (48, 48, 22)]


def _physical_centroid(mask: sitk.Image) -> np.ndarray:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(mask)
    return np.array(stats.GetCentroid(1))


@pytest.fixture(scope="module")
def inputs():
    return [
        segmentation_input(make_case(size, case_id=f"C{i}"), TINY) for i, size in enumerate(SIZES)
    ]


@pytest.fixture(scope="module")
def trained(inputs):
    settings = UNetTraining(epochs=25, batch_size=8, lr=3e-3, seed=0, device="cpu")
    return train_unet(inputs[:4], TINY, settings)


def test_mask_on_grid_keeps_shape_volume_and_position():
    case = make_case((48, 40, 20), spacing=(1.0, 1.0, 2.5))
    config = UNetConfig(slice_size=64, n_slices=16, channels=(8, 16), strides=(2,))
    item = segmentation_input(case, config)
    assert item.image.shape == item.gtv.shape == item.organ.shape == (16, 64, 64)
    assert item.gtv.dtype == np.uint8 and set(np.unique(item.gtv)) == {0, 1}
    assert tuple(item.reference.GetSize()) == (64, 64, 16)
    # the sphere of radius 0.15 * 48 mm keeps its volume (nearest neighbour, within 20 %)
    voxel_mm3 = float(np.prod(item.reference.GetSpacing()))
    sphere_mm3 = 4.0 / 3.0 * math.pi * (0.15 * 48) ** 3
    assert item.gtv.sum() * voxel_mm3 == pytest.approx(sphere_mm3, rel=0.2)
    # ... and its place in space
    on_grid = sitk.GetImageFromArray(item.gtv)
    on_grid.CopyInformation(item.reference)
    np.testing.assert_allclose(
        _physical_centroid(on_grid), _physical_centroid(case.masks["gtv"]), atol=1.5
    )
    # arterial window 70/150 HU: tumour 120 HU -> 0.83, liver 60 HU -> 0.43
    assert np.median(item.image[item.gtv == 1]) == pytest.approx(125 / 150, abs=0.03)
    liver_only = (item.organ == 1) & (item.gtv == 0)
    assert np.median(item.image[liver_only]) == pytest.approx(65 / 150, abs=0.02)


def test_mask_on_grid_missing_role():
    case = make_case()
    del case.masks["gtv"]
    with pytest.raises(InputError, match="gtv"):
        mask_on_grid(case, "gtv", case.image)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((slice(0, 2), slice(0, 2), slice(0, 2)), (slice(0, 2), slice(0, 2), slice(1, 3)), 0.5),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), (slice(0, 2), slice(0, 2), slice(0, 2)), 1.0),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), (slice(3, 4), slice(3, 4), slice(3, 4)), 0.0),
        ((slice(0, 1), slice(0, 4), slice(0, 4)), (slice(0, 1), slice(0, 2), slice(0, 4)), 2 / 3),
    ],
)
def test_dice_on_hand_made_masks(a, b, expected):
    pred, truth = np.zeros((4, 5, 5), bool), np.zeros((4, 5, 5), bool)
    pred[a], truth[b] = True, True
    assert dice_score(pred, truth) == pytest.approx(expected)
    assert dice_score(pred, truth) == pytest.approx(
        1.0 - scipy_dice_dissimilarity(pred.ravel(), truth.ravel())
    )


def test_dice_edge_cases():
    empty = np.zeros((2, 3, 3), bool)
    assert dice_score(empty, empty) == 1.0
    full = np.ones((2, 3, 3), bool)
    assert dice_score(empty, full) == 0.0
    with pytest.raises(ConfigError):
        dice_score(empty, np.zeros((2, 3, 4), bool))


def test_config_checks():
    with pytest.raises(ConfigError, match="multiple of 8"):
        UNetConfig(slice_size=100)
    with pytest.raises(ConfigError, match="stride"):
        UNetConfig(channels=(8, 16), strides=(2, 2))
    with pytest.raises(ConfigError, match="window"):
        UNetConfig(window="nonsense")
    with pytest.raises(ConfigError):
        UNetTraining(epochs=0)
    with pytest.raises(ConfigError, match="validation_fraction"):
        UNetTraining(validation_fraction=0.2)
    assert UNetTraining(batch_size=1).batch_size == 1  # a single slice is a valid U-Net batch


def test_training_lowers_loss_and_segments_held_out_case(trained, inputs):
    loss = trained.history["train"]
    assert len(loss) == 25 and loss[-1] < 0.6 * loss[0]
    dice = case_dice(trained, inputs[4:])
    assert dice["C4"] > 0.5  # a bright sphere the net never saw


def test_training_is_seeded(inputs):
    settings = UNetTraining(epochs=2, batch_size=8, seed=3, device="cpu")
    a = train_unet(inputs[:2], TINY, settings)
    b = train_unet(inputs[:2], TINY, settings)
    assert a.history["train"] == b.history["train"]
    for (name, wa), wb in zip(
        a.network.state_dict().items(), b.network.state_dict().values(), strict=True
    ):
        assert torch.equal(wa, wb), name


def test_an_all_background_slice_gives_the_networks_constant_output(trained):
    """A slice that windows to all zeros (background or padding) passes through every instance
    norm as exact zeros, so the U-Net's output there is sigmoid(the last layer's bias): the GPU
    computed that, while the CPU gave rounding noise amplified by the norms (up to 0.46)."""
    probability = trained.forward_slices(np.zeros((2, 32, 32), np.float32))
    last_bias = [p for name, p in trained.network.named_parameters() if name.endswith("bias")][-1]
    expected = torch.sigmoid(last_bias.detach()).item()
    assert probability.min() == probability.max() == pytest.approx(expected, rel=1e-6)


def test_pooling_is_channel_mean_inside_predicted_tumour(trained, inputs):
    item = inputs[4]
    captured = []
    handle = trained.layer().register_forward_hook(lambda m, i, o: captured.append(o.numpy()))
    with torch.no_grad():
        trained.network.eval()
        logits = trained.network(torch.as_tensor(item.image[:, None])).numpy()[:, 0]
    handle.remove()
    maps = captured[0]  # (z, C, 16, 16): half resolution for the top skip connection
    assert maps.shape == (8, 16, 16, 16)
    full = np.repeat(np.repeat(maps, 2, axis=2), 2, axis=3)
    region = 1.0 / (1.0 + np.exp(-logits)) >= 0.5
    expected = full.transpose(1, 0, 2, 3)[:, region].mean(axis=1)

    values, fallback, n_voxels = pooled_features(trained, item, batch_size=3)
    assert not fallback and n_voxels == region.sum() > 0
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)


def test_tumour_region_fallback_takes_top_liver_voxels():
    rng = np.random.default_rng(0)
    probability = rng.uniform(0, 0.4, size=(4, 10, 10))
    liver = np.zeros((4, 10, 10), bool)
    liver[:, 2:8, 2:8] = True
    probability[0, 0, 0] = 0.45  # highest overall, but outside the liver
    region, fallback = tumour_region(probability, liver)
    k = math.ceil(FALLBACK_FRACTION * liver.sum())
    assert fallback and region.sum() == k and not region[0, 0, 0]
    assert region[liver].sum() == k
    assert probability[region].min() >= np.sort(probability[liver])[-k]
    probability[1, 5, 5] = 0.9
    region, fallback = tumour_region(probability, liver)
    assert not fallback and region.sum() == 1 and region[1, 5, 5]


def test_empty_prediction_is_flagged(trained, inputs):
    silent = SegmentationModel(TINY, trained.network, {})
    state = {k: v.clone() for k, v in trained.network.state_dict().items()}
    last = [m for m in silent.network.modules() if isinstance(m, torch.nn.ConvTranspose2d)][-1]
    with torch.no_grad():
        last.bias -= 1000.0
    try:
        table = dsfr_features(silent, inputs[3:5])
    finally:
        trained.network.load_state_dict(state)
    assert table.regions["fallback"].all() and table.n_fallback == 2
    assert (table.regions["region_voxels"] >= 1).all()
    assert np.isfinite(table.features.to_numpy()).all()


def test_save_load_round_trip_gives_identical_features(trained, inputs, tmp_path):
    trained.save(tmp_path / "unet")
    loaded = SegmentationModel.load(tmp_path / "unet", device="cpu")
    assert loaded.config == TINY and loaded.history["train"] == trained.history["train"]
    before = dsfr_features(trained, inputs)
    after = dsfr_features(loaded, inputs)
    assert list(before.features.columns) == feature_columns(16)
    np.testing.assert_array_equal(before.features.to_numpy(), after.features.to_numpy())

    path = write_dsfr_table(before, tmp_path / "dsfr.parquet", trained)
    read, info = read_dsfr_table(path)
    np.testing.assert_array_equal(read.features.to_numpy(), before.features.to_numpy())
    assert read.regions["fallback"].tolist() == before.regions["fallback"].tolist()
    assert info["unet"]["slice_size"] == 32


def test_dsfr_table_joins_with_clinical_table(trained, inputs, tmp_path):
    table = dsfr_features(trained, inputs)
    path = write_dsfr_table(table, tmp_path / "dsfr.parquet", trained)
    clinical = tmp_path / "clinical.csv"
    clinical.write_text(
        "case_id,time,event,age\n" + "".join(f"C{i},{100 * (i + 1)},1,6{i}\n" for i in range(5))
    )
    joined = load_model_table([clinical, path])
    assert list(joined.X.columns) == ["age", *feature_columns(16)]
    assert joined.y.shape == (5,)


def test_bad_weights_are_refused(trained, tmp_path):
    folder = trained.save(tmp_path / "unet")
    wider = UNetConfig(slice_size=32, n_slices=8, channels=(4, 8, 16), strides=(2, 2))
    other = train_unet([segmentation_input(make_case(), wider)], wider,
                       UNetTraining(epochs=1, device="cpu"))  # fmt: skip
    torch.save(other.network.state_dict(), folder / "weights.pt")
    with pytest.raises(InputError, match="does not match"):
        SegmentationModel.load(folder)
    (folder / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="state_dict"):
        SegmentationModel.load(folder)
    (folder / "weights.pt").unlink()
    with pytest.raises(InputError, match="missing"):
        SegmentationModel.load(folder)
    (folder / "unet.json").write_text("{}")
    with pytest.raises(InputError, match="not a RadSurv"):
        SegmentationModel.load(folder)


def test_wrong_grid_is_refused(trained):
    with pytest.raises(ConfigError, match="32"):
        trained.forward_slices(np.zeros((4, 64, 64), np.float32))


def test_a_unet_reads_one_modality(trained):
    """A U-Net learns one modality (CT windowed, MR between percentiles): ``dsfr`` trained one
    on a cohort mixing CT and MR cases without a word; another modality's case is refused."""
    import dataclasses

    assert trained.config.modality == "CT"
    mr = dataclasses.replace(make_case(SIZES[0], case_id="MR1"), modality="MR")
    with pytest.raises(InputError, match="The U-Net reads CT images; case MR1 is MR"):
        segmentation_input(mr, trained.config)
    assert segmentation_input(mr, dataclasses.replace(TINY, modality="MR")).image.shape == (
        8,
        32,
        32,
    )


def test_dsfr_refuses_a_cohort_mixing_modalities(tmp_path):
    """The manifest's modality reaches the NIfTI cases: a cohort with one MR case among CT ones
    is refused before the U-Net trains."""
    import pandas as pd

    from survival_core.synthetic.generate import generate_cohort
    from survival_core.workflows.dsfr_study import run_pipeline

    cohort = tmp_path / "mixed"
    generate_cohort(cohort, n=4, seed=3, workers=1)
    manifest = pd.read_csv(cohort / "manifest.csv")
    manifest.loc[2, "modality"] = "MR"
    manifest.to_csv(cohort / "manifest.csv", index=False)
    with pytest.raises(InputError, match=r"reads CT images; case \S+ is MR"):
        run_pipeline(cohort, tmp_path / "out", epochs=1, slice_size=32, n_slices=8)
    assert not (tmp_path / "out" / "unet").exists()
