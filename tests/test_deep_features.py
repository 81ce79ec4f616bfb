"""Deep features of the tumour patch from a saved image model or a ResNet weights file."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch

from survival_core.cli.extract import run_deep
from survival_core.errors import ConfigError, InputError
from survival_core.features.deep import (
    check_layer,
    extract_deep_features,
    load_network,
    patch_features,
    read_deep_info,
    tumour_centre,
    tumour_patch,
    write_deep_features,
)
from survival_core.io.case_loader import load_case
from survival_core.io.hashing import content_hash
from survival_core.io.tables import load_model_table
from survival_core.models.cnn3d import CNN3DModel
from survival_core.models.image_data import network_input
from survival_core.models.image_set import ImageSet, VolumeSpec
from survival_core.models.pretrained import make_resnet
from survival_core.models.reduction import make_reduction
from tests.case_builders import make_case

TINY = {"volume_shape": (32, 32, 16), "patch_size": (16, 16, 8)}


@pytest.fixture(scope="module")
def cnn_folder(small_cohort, tmp_path_factory):
    """A tiny cnn3d trained one epoch on the small cohort, saved."""
    table = load_model_table([small_cohort / "clinical.csv"])
    model = CNN3DModel(channels=(4, 8), fc=8, epochs=1, batch_size=4, **TINY)
    images = ImageSet.from_cohort(small_cohort)
    images.prepare(table.case_ids, model.volume_spec, workers=1)  # no process pool start-up
    model.with_images(images).fit(table.X, table.y)
    return model.save(tmp_path_factory.mktemp("models") / "cnn3d")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(make_resnet(depth=18, widen_factor=0.25).state_dict(), path)
    return path


def _first_case(cohort):
    folder = next(p for p in sorted((cohort / "cases").iterdir()) if p.is_dir())
    return load_case(folder)


def test_model_embedding_rows_columns_and_value(small_cohort, cnn_folder):
    result = extract_deep_features(small_cohort, cnn_folder, workers=1)
    clinical = load_model_table([small_cohort / "clinical.csv"])
    assert list(result.features.index) == clinical.case_ids and result.failures.empty
    assert list(result.features.columns) == [f"deep_embedding_{k}" for k in range(8)]
    network = load_network(cnn_folder)
    case = _first_case(small_cohort)
    patch = torch.from_numpy(tumour_patch(case, network.spec, network.patch_size))[None]
    with torch.no_grad():
        expected = network.module.embed(patch)[0].double().numpy()  # FC after the activation
    np.testing.assert_allclose(result.features.loc[case.case_id], expected, rtol=1e-5, atol=1e-7)
    assert (result.features.to_numpy() >= -0.2785).all()  # SiLU's minimum


def test_layer_activation_equals_a_manual_hook(small_cohort, cnn_folder):
    cases = [_first_case(small_cohort)]
    result = extract_deep_features(cases, cnn_folder, layer="blocks.1")
    network = load_network(cnn_folder)
    patch = torch.from_numpy(tumour_patch(cases[0], network.spec, network.patch_size))[None]
    net = network.module
    with torch.no_grad():
        x = net._pool(net.blocks[0](patch))
        expected = net.blocks[1](x).mean(dim=(0, 2, 3, 4)).double().numpy()
    assert list(result.features.columns) == [f"deep_blocks_1_{k}" for k in range(8)]
    np.testing.assert_allclose(result.features.iloc[0], expected, rtol=1e-5, atol=1e-7)


def test_table_joins_clinical_and_han2020_reduction_applies(small_cohort, cnn_folder, tmp_path):
    result = extract_deep_features(small_cohort, cnn_folder, workers=1)
    table, failures = write_deep_features(result, tmp_path / "deep.parquet")
    assert failures.name == "deep.failures.csv" and failures.read_text().startswith("case_id,error")
    joined = load_model_table([small_cohort / "clinical.csv", table])
    assert len(joined.X) == 6 and [c for c in joined.X if c.startswith("deep_")] == list(
        result.features.columns
    )
    info = read_deep_info(table)
    assert info["preset"] == "deep" and info["layer"] == "embedding"
    assert info["network_sha256"] == content_hash(cnn_folder) and info["model"] == "cnn3d"
    deep = joined.X.filter(like="deep_")
    reduced = make_reduction("han2020").fit(deep, joined.y).transform(deep)
    assert set(reduced.columns) <= set(deep.columns)


def test_wrong_layer_lists_the_valid_names(small_cohort, cnn_folder):
    with pytest.raises(
        ConfigError,
        match=r"no image layer 'head'.*blocks\.0, blocks\.1, fc, activation \(.*e\.g\. blocks\.0\.0",
    ):
        extract_deep_features(small_cohort, cnn_folder, layer="head")


def test_weights_file_features_equal_monai_pooled_feature(weights_file):
    case = make_case(size=(40, 40, 12), case_id="W1")
    result = extract_deep_features([case], weights_file, **TINY)
    assert result.features.shape == (1, 128) and result.features.columns[0] == "deep_embedding_000"
    expected_hash = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    assert result.info["network_sha256"] == expected_hash
    assert result.info["architecture"]["depth"] == 18
    reference = make_resnet(depth=18, widen_factor=0.25, stem_stride=(2, 2, 2))
    reference.load_state_dict(torch.load(weights_file, weights_only=True))
    patch = tumour_patch(case, VolumeSpec(TINY["volume_shape"]), TINY["patch_size"])
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(patch)[None])[0].double().numpy()
    np.testing.assert_allclose(result.features.iloc[0], expected, rtol=1e-5, atol=1e-6)


def test_patch_is_centred_on_the_tumour_and_kept_inside():
    case = make_case(size=(48, 48, 16), case_id="C1")
    spec = VolumeSpec((32, 32, 16))
    volume, _ = network_input(case, spec.shape, spec.window, spec.margin_mm)
    patch = tumour_patch(case, spec, (8, 8, 4))
    centre = [(s - p) // 2 for s, p in zip(volume.shape[1:], (4, 8, 8), strict=True)]
    box = tuple(slice(c, c + p) for c, p in zip(centre, (4, 8, 8), strict=True))
    np.testing.assert_array_equal(patch, volume[(slice(None), *box)])
    # a GTV in the liver's first corner: the patch shifts to start at the volume's corner
    gtv = np.zeros(sitk.GetArrayFromImage(case.masks["gtv"]).shape, np.uint8)
    liver = sitk.GetArrayFromImage(case.masks["organ"]).astype(bool)
    z, y, x = (int(a.min()) for a in np.nonzero(liver))
    gtv[z, y, x] = 1
    mask = sitk.GetImageFromArray(gtv)
    mask.CopyInformation(case.masks["gtv"])
    corner = dataclasses.replace(case, masks={**case.masks, "gtv": mask})
    np.testing.assert_array_equal(tumour_patch(corner, spec, (8, 8, 4)), volume[:, :4, :8, :8])


def test_cases_without_gtv_become_failures(cnn_folder):
    good = make_case(size=(40, 40, 12), case_id="G1")
    bad = dataclasses.replace(
        make_case((40, 40, 12), case_id="NOGTV"), masks={"organ": good.masks["organ"]}
    )
    result = extract_deep_features([good, bad], cnn_folder)
    assert list(result.features.index) == ["G1"]
    assert result.failures.case_id.tolist() == ["NOGTV"]
    assert "no GTV mask" in result.failures.error.iloc[0]


def test_network_errors(small_cohort, cnn_folder, tmp_path):
    with pytest.raises(InputError, match="missing.pt does not exist"):
        extract_deep_features(small_cohort, tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="saved model"):
        load_network(cnn_folder, patch_size=(8, 8, 8))
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a ResNet"):
        load_network(tmp_path / "other.pt")


def test_run_deep_writes_and_reports(small_cohort, cnn_folder, tmp_path, capsys):
    args = argparse.Namespace(
        cohort=small_cohort, network=cnn_folder, layer="fc", workers=1,
        out=tmp_path / "deep.parquet", json=True,
    )  # fmt: skip
    assert run_deep(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_cases"] == 6 and summary["n_features"] == 8 and summary["layer"] == "fc"
    assert read_deep_info(tmp_path / "deep.parquet")["layer"] == "fc"
    with pytest.raises(ConfigError, match="--network"):
        run_deep(argparse.Namespace(**{**vars(args), "network": None}))


def test_run_deep_lists_each_cases_load_warnings(shared_data, cnn_folder, tmp_path, capsys):
    """A real lung CT whose GTV file holds label 2 alone (HECKTOR's nodes) is taken as the GTV,
    with a warning, and its patch centred on it: `extract --preset deep` dropped the warning
    where the radiomics extract writes OUT.warnings.csv. It writes the same table and says so,
    in the same words and JSON fields; the clean case is not listed."""
    from survival_core.features.cohort import warnings_path
    from tests.real_cohorts import lung_cohort

    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung2_label.nrrd"))
    nodes = (sitk.GetArrayFromImage(label) != 0) * 2
    outcomes = {"lung1": (300.0, 1), "nodes": (200.0, 0)}
    cohort = lung_cohort(shared_data, tmp_path / "lungs", outcomes, {"nodes": ("lung2", nodes)})
    out = tmp_path / "deep.parquet"
    args = argparse.Namespace(
        cohort=cohort, network=cnn_folder, layer=None, workers=1, out=out, json=True
    )
    assert run_deep(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["n_cases"] == 2 and summary["n_failed"] == 0
    assert summary["n_warned"] == 1 and summary["warnings"] == str(warnings_path(out))
    assert "1 case(s) loaded with warnings (their features may rest on a guess, such as " in (
        captured.err
    )
    table = pd.read_csv(warnings_path(out))
    assert table["case_id"].tolist() == ["nodes"]
    assert (
        table["warning"]
        .iloc[0]
        .startswith("gtv.nii:2 is the only label of gtv.nii, named as the GTV, and not label 1")
    )


def test_an_mr_case_is_refused_by_a_ct_network(cnn_folder, tmp_path):
    """A CT network's deep features of an MR case (no HU scale) were extracted without a word,
    where scoring and explaining refuse it; a NIfTI MR cohort's manifest says MR."""
    from survival_core.synthetic.generate import generate_cohort

    mr = dataclasses.replace(make_case((40, 40, 12), case_id="MR1"), modality="MR")
    result = extract_deep_features([make_case((40, 40, 12), case_id="CT1"), mr], cnn_folder)
    assert list(result.features.index) == ["CT1"]
    assert "HU window" in result.failures.error.iloc[0] and "is MR" in result.failures.error.iloc[0]
    generate_cohort(tmp_path / "mr", n=2, seed=2, workers=1, modality="MR")
    cohort = extract_deep_features(tmp_path / "mr", cnn_folder, workers=1)
    assert cohort.features.empty and len(cohort.failures) == 2
    assert cohort.failures.error.str.contains("is MR").all()


def test_a_batch_norm_layers_features_are_its_own_output(weights_file):
    """A ResNet's 'resnet.bn1' and a block's 'bn2' gave the ReLU's output (and 'bn2' the sum with
    the residual): the hook kept the tensor the network then changed in place. A block's shared
    activation, run after each of its convolutions, has no one output: refused."""
    network = load_network(weights_file, **TINY)
    patch = tumour_patch(
        make_case(size=(40, 40, 12), case_id="W1"), network.spec, TINY["patch_size"]
    )
    resnet = network.module.resnet
    with torch.no_grad():
        x = torch.from_numpy(patch)[None]
        bn1 = resnet.bn1(resnet.conv1(x))
        block = resnet.layer1[0]
        h = resnet.maxpool(torch.relu(bn1))
        bn2 = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(h)))))
    for layer, output in (("resnet.bn1", bn1), ("resnet.layer1.0.bn2", bn2)):
        expected = output.double().mean(dim=(0, 2, 3, 4)).numpy()
        np.testing.assert_allclose(patch_features(network, patch, layer), expected, atol=1e-6)
        assert (expected < 0).any()  # a ReLU's output has no negative mean
    with pytest.raises(ConfigError, match="'resnet.layer1.0.act' .* runs more than once per pass"):
        check_layer(network, "resnet.layer1.0.act")


def test_non_finite_weights_or_features_name_the_tensor_or_the_case(
    shared_data, weights_file, tmp_path
):
    """pyradiomics' real lung1: a weights file with one NaN weight gave NaN deep features, with
    n_failed 0 and exit status 0. The file is refused naming the tensor; finite weights whose
    activations overflow on a case's patch fail that case, named, instead of a row of NaN."""
    folder = tmp_path / "lung1"
    folder.mkdir()
    shutil.copy(shared_data / "pyradiomics" / "lung1_image.nrrd", folder / "image.nrrd")
    shutil.copy(shared_data / "pyradiomics" / "lung1_label.nrrd", folder / "gtv.nrrd")
    case = load_case(folder)
    state = torch.load(weights_file, weights_only=True)
    state["layer4.1.conv2.weight"][0, 0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    said = "nan.pt holds non-finite weights: 1 of the .* its tensor layer4.1.conv2.weight are NaN"
    with pytest.raises(InputError, match=said):
        extract_deep_features([case], tmp_path / "nan.pt", **TINY)
    state = torch.load(weights_file, weights_only=True)
    for name in ("conv1.weight", "layer1.0.conv1.weight"):  # finite, each 1e20 times too large
        state[name] *= 1e20
    torch.save(state, tmp_path / "huge.pt")
    result = extract_deep_features([case], tmp_path / "huge.pt", **TINY)
    assert result.features.empty and result.failures.case_id.tolist() == ["lung1"]
    assert result.failures.error.iloc[0].startswith(
        "Case lung1: 128 of its 128 deep features (embedding of huge.pt) are NaN or infinite"
    )


def test_patch_of_a_primary_and_its_node_far_apart_is_centred_on_the_primary(shared_data, tmp_path):
    """pyradiomics' real lung1 tumour with a smaller copy 86 mm away in one GTV (a primary and
    its node): the whole GTV's centroid fell between them, and the network's patch held
    neither. The patch is centred on the largest lesion, as on the tumour alone."""
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    tumour = sitk.GetArrayFromImage(label).astype(np.uint8)
    two = tumour.copy()
    two[33:35, :, 56:80] = tumour[33:35, :, 206:230]  # the node: two of the tumour's 3 slices
    for name, array in (("alone", tumour), ("two", two)):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(shared_data / "pyradiomics" / "lung1_image.nrrd", folder / "image.nrrd")
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(label)
        sitk.WriteImage(mask, str(folder / "gtv.nrrd"))
    alone, both = load_case(tmp_path / "alone"), load_case(tmp_path / "two")
    spec = VolumeSpec(TINY["volume_shape"])
    _, reference = spec.input(both)
    np.testing.assert_allclose(
        tumour_centre(both, reference), tumour_centre(alone, reference), atol=1e-6
    )
    volume, _ = spec.input(both)
    gtv_on_grid = sitk.GetArrayFromImage(
        sitk.Resample(alone.masks["gtv"], reference, sitk.Transform(), sitk.sitkNearestNeighbor)
    )
    patch = tumour_patch(both, spec, TINY["patch_size"])
    start = [
        int(np.clip(round(c - (p - 1) / 2), 0, s - p))
        for c, p, s in zip(
            tumour_centre(both, reference), TINY["patch_size"][::-1], volume.shape[1:], strict=True
        )
    ]
    held = gtv_on_grid[
        tuple(slice(s, s + p) for s, p in zip(start, TINY["patch_size"][::-1], strict=True))
    ]
    assert patch.shape[1:] == held.shape and held.any()  # the primary lies in the patch
