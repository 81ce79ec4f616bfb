"""Deep features (Han 2020 style): activations of a trained or pretrained network on the tumour.

The network is either a saved RadSurv image model folder (``cnn3d``, ``resnet_fusion``; its input
geometry comes with it) or a local weights file of a MONAI ResNet (architecture read from the file,
see :func:`~survival_core.models.pretrained.resnet_architecture`; input geometry given, by default
that of ``cnn3d``: 224 x 224 x 48 voxels, patch 80 x 80 x 40).

Input: the tumour patch. The case becomes the network input
(:func:`~survival_core.models.image_data.network_input`: organ box (else GTV box) + margin, resized, windowed onto
[0, 1]); the patch is the network's patch size centred on the GTV's largest lesion (the physical centroid of
its largest 3-D connected part mapped onto the network grid, so a GTV thinner than a grid voxel
still places it, and a primary and its node far apart do not centre it between them), shifted to lie inside the volume where the tumour is near its edge.

Features: the activations of ``layer`` (a module name of the network, e.g. ``encoder.resnet.layer4``
or ``blocks.3``) averaged over every axis but the channels (space, and the slices of a 2-D net), or
by default the embedding the risk head reads (``cnn3d``: the FC layer after its activation; ResNet: the pooled
last feature map). Columns ``deep_<layer>_<k>`` (dots of the layer name become underscores).

The table is Parquet indexed by ``case_id``, so it joins clinical.csv in ``cv``/``fit`` and the
``han2020`` reduction applies; its metadata (key ``radsurv.deep``) records preset "deep", the
network file, its SHA-256, the layer and the input geometry.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import SimpleITK as sitk
import torch
from scipy import ndimage
from torch import nn

from survival_core.case import Case
from survival_core.columns import DEEP_PREFIX
from survival_core.engine import SerialMapper, make_mapper
from survival_core.errors import ConfigError, InputError, MaskError
from survival_core.features.cohort import (
    FAILURE_COLUMNS,
    CaseOutcome,
    describe_error,
    line_progress,
    outcome_warnings,
    write_failures,
)
from survival_core.features.table import INDEX_NAME, write_table
from survival_core.io.case_loader import load_case_read
from survival_core.io.hashing import content_hash, file_sha256
from survival_core.io.load_warnings import WARNING_COLUMNS, warned_cases
from survival_core.io.manifest import CaseRead, cases_read_as
from survival_core.io.volume import nonzero_box
from survival_core.models.image_data import PATCH_SIZE, _check_size, extract_patches
from survival_core.models.image_set import VolumeSpec

PREFIX = DEEP_PREFIX
DEEP_KEY = b"radsurv.deep"
#: Name of the default layer: the embedding the risk head reads.
EMBEDDING = "embedding"
#: Stride (x, y, z) of a weights file's first convolution (MedicalNet and ImageNet ResNets: 2).
WEIGHTS_STEM_STRIDE = (2, 2, 2)


@dataclass
class DeepNetwork:
    """A network ready for feature extraction: ``module`` (layer names are relative to it),
    ``embed`` (its image branch, ``(N, 1, z, y, x)`` -> ``(N, features)``), the input geometry, and
    ``info`` describing where it came from (JSON-ready)."""

    module: nn.Module
    embed: Callable[[torch.Tensor], torch.Tensor]
    spec: VolumeSpec
    patch_size: tuple[int, int, int]
    info: dict[str, Any]

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device


def load_network(
    network_file: str | Path,
    volume_shape: Sequence[int] | None = None,
    window: str | None = None,
    margin_mm: float | None = None,
    patch_size: Sequence[int] | None = None,
) -> DeepNetwork:
    """A saved RadSurv image model folder, or a MONAI ResNet weights file, in eval mode.

    The geometry arguments apply to a weights file only (None: the ``cnn3d`` defaults); a model
    folder brings its own.
    """
    from survival_core.models import load_model
    from survival_core.models.device import resolve_device
    from survival_core.models.image_base import ImageSurvivalModel
    from survival_core.models.pretrained import load_weights, read_state_dict, resnet_architecture
    from survival_core.models.resnet_fusion import ResNetEncoder

    path = Path(network_file)
    if not path.exists():
        raise InputError(
            f"Network {path} does not exist (expected a saved RadSurv image model folder or a "
            "ResNet weights file)."
        )
    geometry = (volume_shape, window, margin_mm, patch_size)
    if path.is_dir():
        if any(g is not None for g in geometry):
            raise ConfigError(
                f"{path} is a saved model: its input geometry (volume shape, window, margin, "
                "patch size) comes with it and cannot be changed."
            )
        model = load_model(path)
        if not isinstance(model, ImageSurvivalModel):
            raise InputError(
                f"{path} holds a '{model.name}' model, which reads no image; deep features need "
                "an image model (cnn3d, resnet_fusion) or a ResNet weights file."
            )
        net = model.network_.eval()
        return DeepNetwork(
            net,
            net.embed,
            model.volume_spec,
            tuple(model.patch_size),
            {"network": path.name, "network_sha256": content_hash(path), "model": model.name},
        )
    state = read_state_dict(path)
    architecture = resnet_architecture(state, f"Weights file {path}")
    encoder = ResNetEncoder(**architecture, stem_stride=WEIGHTS_STEM_STRIDE)
    load_weights(encoder.resnet, path, f"ResNet-{architecture['depth']}")
    encoder = encoder.to(resolve_device("auto")).eval()
    spec = VolumeSpec(
        tuple(volume_shape or VolumeSpec().shape),
        window or VolumeSpec().window,
        VolumeSpec().margin_mm if margin_mm is None else float(margin_mm),
    )
    return DeepNetwork(
        encoder,
        encoder,
        spec,
        _check_size(patch_size or PATCH_SIZE, "Patch size"),
        {"network": path.name, "network_sha256": file_sha256(path), "architecture": architecture},
    )


def layer_names(network: DeepNetwork) -> list[str]:
    """Modules the image branch runs through, in order: the valid ``layer`` values. A module
    run more than once per pass (a MONAI ResNet block's one activation, called after each of its
    convolutions) has no one output: it is left out."""
    return _run_once(_fired(network))


def _run_once(fired: Counter[str]) -> list[str]:
    """The modules of :func:`_fired` run once per pass, in order."""
    return [name for name, count in fired.items() if count == 1]


def _fired(network: DeepNetwork) -> Counter[str]:
    """How often one pass of the image branch runs each named module, in the order they run."""
    fired: list[str] = []
    handles = [
        module.register_forward_hook(lambda *_, name=name: fired.append(name))
        for name, module in network.module.named_modules()
        if name
    ]
    zyx = network.patch_size[::-1]
    try:
        with torch.no_grad():
            network.embed(torch.zeros((1, 1, *zyx), device=network.device))
    finally:
        for handle in handles:
            handle.remove()
    return Counter(fired)


def check_layer(network: DeepNetwork, layer: str | None) -> None:
    """ConfigError listing the valid names when ``layer`` is not one the image branch runs."""
    if layer is None:
        return
    fired = _fired(network)
    valid = _run_once(fired)
    if fired.get(layer, 0) > 1:
        raise ConfigError(
            f"The layer {layer!r} of {network.info['network']} runs more than once per pass (one "
            "activation shared by a block's convolutions): it has no one output. Choose the "
            "block itself or one of its convolutions."
        )
    if layer not in valid:
        # name the stages and blocks, not the layers inside numbered blocks
        top = [n for n in valid if not any(p.isdigit() for p in n.split(".")[:-1])]
        raise ConfigError(
            f"The network {network.info['network']} has no image layer {layer!r}; choose "
            f"{EMBEDDING!r} (default) or one of: {', '.join(top)} (or a submodule of one, "
            f"e.g. {max(valid, key=lambda n: n.count('.'))})."
        )


def tumour_centre(case: Case, reference: sitk.Image) -> np.ndarray:
    """The centroid of the GTV's largest lesion (3-D connected part, 26-connectivity) as a
    continuous (z, y, x) voxel index of the network grid ``reference``: the whole GTV's centroid
    of a primary and a node 15 cm apart fell between them, and the patch held no tumour."""
    gtv = case.masks.get("gtv")
    if gtv is None:
        raise MaskError(
            f"Case {case.case_id} has no GTV mask to centre the tumour patch on "
            f"(it has {sorted(case.masks)})."
        )
    mask = sitk.GetArrayViewFromImage(gtv) != 0
    if not mask.any():
        raise MaskError(f"Case {case.case_id}: the GTV mask is empty.")
    box = nonzero_box(mask)
    labels, _ = ndimage.label(mask[box], structure=np.ones((3, 3, 3)))
    largest = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
    zyx = np.add(ndimage.center_of_mass(labels == largest), [s.start for s in box])
    point = gtv.TransformContinuousIndexToPhysicalPoint([float(v) for v in zyx[::-1]])
    return np.asarray(reference.TransformPhysicalPointToContinuousIndex(point)[::-1])


def tumour_patch(
    case: Case, spec: VolumeSpec, patch_size: Sequence[int] = PATCH_SIZE
) -> np.ndarray:
    """The ``(1, pz, py, px)`` patch of the network input centred on the GTV (see module doc);
    a case of another modality than CT is refused (the network reads HU)."""
    if case.modality != "CT":
        raise InputError(
            f"The deep-feature network reads CT through the HU window {spec.window!r}; case "
            f"{case.case_id} is {case.modality}, which has no HU scale."
        )
    volume, reference = spec.input(case)
    zyx = np.asarray(_check_size(patch_size, "Patch size")[::-1])
    highest = np.maximum(np.asarray(volume.shape[1:]) - zyx, 0)
    start = np.clip(np.round(tumour_centre(case, reference) - (zyx - 1) / 2), 0, highest)
    return extract_patches(volume, [start.astype(int)], patch_size)[0]


def _item_patch(
    source: Case | CaseRead, spec: VolumeSpec, patch_size: tuple[int, int, int]
) -> tuple[np.ndarray, float, tuple[str, ...]] | Exception:
    """The tumour patch of a loaded case or of a cohort's case (loaded here, as its manifest row
    reads it) with the seconds it took and the case's load warnings (a label 2 taken as the GTV
    the patch is centred on...), or the error that stopped it (picklable, for worker
    processes)."""

    start = time.perf_counter()
    try:
        if not isinstance(source, Case):
            source = load_case_read(source)
        patch = tumour_patch(source, spec, patch_size)
        return patch, time.perf_counter() - start, tuple(source.warnings)
    except Exception as error:  # noqa: BLE001 - every failure is reported per case
        return error


def patch_features(network: DeepNetwork, patch: np.ndarray, layer: str | None = None) -> np.ndarray:
    """The ``layer`` activations (default: the embedding) of one ``(1, z, y, x)`` patch, averaged
    over every axis but the channels: a float64 vector."""
    x = torch.as_tensor(patch, dtype=torch.float32, device=network.device)[None]
    captured: list[torch.Tensor] = []
    handle = None
    if layer is not None:
        module = dict(network.module.named_modules())[layer]
        # a copy: the network changes the output in place after the hook (a ResNet's
        # ReLU(inplace=True) on its batch norm's output, 'out += residual')
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.clone()))
    try:
        with torch.no_grad():
            output = network.embed(x)
    finally:
        if handle is not None:
            handle.remove()
    activation = captured[0] if captured else output
    axes = [a for a in range(activation.ndim) if a != 1]
    return activation.double().mean(dim=axes).cpu().numpy()


def _non_finite(
    case_id: str, values: np.ndarray, network: DeepNetwork, layer: str | None
) -> InputError | None:
    """The failure of a case whose features are not all finite (None when they are): a NaN row
    counted as extracted reached the models."""
    bad = int((~np.isfinite(values)).sum())
    if not bad:
        return None
    return InputError(
        f"Case {case_id}: {bad} of its {values.size} deep features ({layer or EMBEDDING} of "
        f"{network.info['network']}) are NaN or infinite: the network's activations overflow on "
        "this case's patch. Check the network's weights, or choose another layer."
    )


def feature_columns(layer: str | None, n: int) -> list[str]:
    """``deep_<layer>_<k>`` with zero-padded k (dots of the layer name become underscores)."""
    tag = (layer or EMBEDDING).replace(".", "_")
    width = len(str(n - 1))
    return [f"{PREFIX}{tag}_{k:0{width}d}" for k in range(n)]


@dataclass
class DeepFeatures:
    """Deep features (index case_id, ``deep_*`` columns), failures (case_id, error), ``info``
    (the table metadata: preset, network, hash, layer, geometry) and the extracted cases' load
    ``warnings`` (case_id, warning: :func:`~survival_core.features.cohort.outcome_warnings`)."""

    features: pd.DataFrame
    failures: pd.DataFrame
    info: dict[str, Any]
    seconds: float = 0.0
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))

    @property
    def n_warned(self) -> int:
        """Number of extracted cases loaded with warnings."""
        return warned_cases(self.warnings)


def extract_deep_features(
    cohort_or_cases: str | Path | Sequence[Case],
    network_file: str | Path,
    layer: str | None = None,
    *,
    workers: int | None = None,
    volume_shape: Sequence[int] | None = None,
    window: str | None = None,
    margin_mm: float | None = None,
    patch_size: Sequence[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeepFeatures:
    """Deep features of every case of a cohort folder (patches cut in ``workers`` processes) or of
    loaded cases; a case that fails becomes a row of ``failures``."""
    start = time.perf_counter()
    network = load_network(network_file, volume_shape, window, margin_mm, patch_size)
    check_layer(network, layer)
    from_folder = isinstance(cohort_or_cases, str | Path)
    items: list[Case] | list[CaseRead]
    items = cases_read_as(Path(cohort_or_cases)) if from_folder else list(cohort_or_cases)
    mapper = make_mapper(workers, len(items)) if from_folder else SerialMapper()
    make_patch = partial(_item_patch, spec=network.spec, patch_size=network.patch_size)
    results = mapper.map_unordered(make_patch, items)
    show = line_progress(progress) if progress else None
    rows, failures, outcomes = {}, [], []
    for done, (item, cut) in enumerate(results, 1):
        case_id = item.case_id
        error = cut if isinstance(cut, BaseException) else None
        if error is None:
            patch, seconds, warnings = cut
            embed_start = time.perf_counter()
            values = patch_features(network, patch, layer)
            seconds += time.perf_counter() - embed_start
            error = _non_finite(case_id, values, network, layer)
        if error is not None:
            failures.append((case_id, describe_error(error)))
            outcome, how = CaseOutcome(case_id, error=failures[-1][1]), "failed"
        else:
            rows[case_id] = values
            outcome = CaseOutcome(case_id, seconds=seconds, warnings=warnings)
            how = "extracted"
        outcomes.append(outcome)
        if show:
            show(done, len(items), outcome, how)
    order = [item.case_id for item in items if item.case_id in rows]
    position = {item.case_id: i for i, item in enumerate(items)}
    n = len(rows[order[0]]) if order else 0
    features = pd.DataFrame(
        [rows[c] for c in order],
        index=pd.Index(order, name=INDEX_NAME),
        columns=feature_columns(layer, n),
    )
    info = {
        "preset": "deep",
        **network.info,
        "layer": layer or EMBEDDING,
        "volume_shape": list(network.spec.shape),
        "window": network.spec.window,
        "margin_mm": network.spec.margin_mm,
        "patch_size": list(network.patch_size),
    }
    return DeepFeatures(
        features,
        pd.DataFrame(failures, columns=FAILURE_COLUMNS),
        info,
        time.perf_counter() - start,
        outcome_warnings(sorted(outcomes, key=lambda o: position[o.case_id])),  # cases' order
    )


def write_deep_features(result: DeepFeatures, out: str | Path) -> tuple[Path, Path]:
    """The failures table (:func:`write_failures`: InputError when every case failed) and the
    feature table (Parquet, ``info`` in its metadata, moved into place when complete); returns
    both paths."""
    n_cases = len(result.features) + len(result.failures)
    failures = write_failures(result.failures, n_cases, out)
    path = write_table(result.features, out, {DEEP_KEY: json.dumps(result.info).encode()})
    return path, failures


def read_deep_info(path: str | Path) -> dict[str, Any]:
    """The ``info`` metadata of a deep-feature table (InputError if it is not one)."""
    try:
        metadata = pq.read_schema(Path(path)).metadata or {}
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path} is not a readable Parquet table: {err}") from err
    if DEEP_KEY not in metadata:
        raise InputError(f"{path} is not a deep-feature table written by RadSurv.")
    return json.loads(metadata[DEEP_KEY].decode())
