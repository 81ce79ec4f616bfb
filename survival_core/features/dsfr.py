"""Deep segmentation-feature radiomics (DSFR, Wang 2022): the feature maps of a trained tumour
U-Net averaged over the tumour it predicts, one row of ``dsfr_000 ... dsfr_NNN`` per case.

The maps come from ``config.feature_layer`` (a forward hook; by default the tensor entering the
output convolution) and are brought to the slice size by nearest neighbour, so every voxel of the
network grid takes the value of the coarse cell it lies in. They are averaged per channel over the
voxels the U-Net predicts as tumour (probability >= 0.5). When the prediction is empty the region
falls back to the voxels of highest tumour probability, the top ``FALLBACK_FRACTION`` of the liver
voxels; such cases are flagged.

The table is Parquet indexed by ``case_id`` (it joins with clinical.csv in ``cv``/``fit``); its
metadata holds the U-Net configuration and, per case, the pooled region size and the fallback flag
(kept out of the columns so that ``fit`` does not take the flag for a feature).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from survival_core.columns import DSFR_PREFIX
from survival_core.errors import InputError
from survival_core.features.cohort import FAILURE_COLUMNS, describe_error, write_failures
from survival_core.features.segmentation import SegmentationInput, SegmentationModel, UNetConfig
from survival_core.features.table import INDEX_NAME, write_table
from survival_core.io.manifest import CaseRead

PREFIX = DSFR_PREFIX
DSFR_KEY = b"radsurv.dsfr"
#: Share of liver voxels (highest tumour probability) pooled when the predicted tumour is empty.
FALLBACK_FRACTION = 0.005
THRESHOLD = 0.5


def feature_columns(n: int) -> list[str]:
    """``dsfr_000 ... dsfr_{n-1}`` (three digits at least)."""
    width = max(3, len(str(n - 1)))
    return [f"{PREFIX}{i:0{width}d}" for i in range(n)]


def tumour_region(
    probability: np.ndarray,
    liver: np.ndarray,
    threshold: float = THRESHOLD,
    fallback_fraction: float = FALLBACK_FRACTION,
) -> tuple[np.ndarray, bool]:
    """``(region, fallback)``: voxels with probability >= ``threshold``; when there are none, the
    ``fallback_fraction`` of liver voxels (at least one; all voxels without a liver) of highest
    probability, and ``fallback`` True."""
    region = probability >= threshold
    if region.any():
        return region, False
    candidates = np.asarray(liver).astype(bool)
    if not candidates.any():
        candidates = np.ones_like(region)
    values = probability[candidates]
    k = max(1, math.ceil(fallback_fraction * values.size))
    cutoff = np.partition(values, values.size - k)[values.size - k]
    return candidates & (probability >= cutoff), True


def pooled_features(
    model: SegmentationModel, item: SegmentationInput, batch_size: int = 16
) -> tuple[np.ndarray, bool, int]:
    """``(features, fallback, n_voxels)`` of one case: the feature-layer channel means over its
    predicted tumour region (see :func:`tumour_region`) and the region's size in voxels."""
    maps: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        maps.append(output.detach().cpu())

    probability = model.forward_slices(item.image, batch_size, hook=keep)
    region, fallback = tumour_region(probability, item.organ)
    stack = torch.cat(maps)  # (z, C, h, w) at the layer's resolution
    size = tuple(item.image.shape[1:])
    sums = torch.zeros(stack.shape[1], dtype=torch.float64)
    for start in range(0, stack.shape[0], batch_size):
        chunk = stack[start : start + batch_size]
        if tuple(chunk.shape[2:]) != size:
            chunk = F.interpolate(chunk, size=size, mode="nearest")
        inside = torch.as_tensor(region[start : start + batch_size])[:, None]
        sums += (chunk.double() * inside).sum(dim=(0, 2, 3))
    n_voxels = int(region.sum())
    return (sums / n_voxels).numpy(), fallback, n_voxels


@dataclass
class DSFRTable:
    """DSFR features (index case_id, columns ``dsfr_*``) and, per case, the pooled region size
    (voxels of the network grid) and whether the fallback region was used."""

    features: pd.DataFrame
    regions: pd.DataFrame

    @property
    def n_fallback(self) -> int:
        return int(self.regions["fallback"].sum())


def dsfr_features(model: SegmentationModel, inputs: Sequence[SegmentationInput]) -> DSFRTable:
    """One row of pooled feature-layer means per case of ``inputs``."""
    rows, regions = [], []
    for item in inputs:
        values, fallback, n_voxels = pooled_features(model, item)
        rows.append(values)
        regions.append({"region_voxels": n_voxels, "fallback": fallback})
    ids = pd.Index([item.case_id for item in inputs], name=INDEX_NAME)
    features = pd.DataFrame(np.vstack(rows), index=ids, columns=feature_columns(len(rows[0])))
    return DSFRTable(features, pd.DataFrame(regions, index=ids))


def write_dsfr_table(table: DSFRTable, path: Path | str, model: SegmentationModel) -> Path:
    """Write the features to Parquet at ``path`` (moved into place when complete) with the U-Net
    configuration and the per-case regions in its metadata."""
    info = {
        "unet": asdict(model.config),
        "threshold": THRESHOLD,
        "fallback_fraction": FALLBACK_FRACTION,
        "regions": {
            str(case): {"region_voxels": int(row.region_voxels), "fallback": bool(row.fallback)}
            for case, row in table.regions.iterrows()
        },
    }
    return write_table(table.features, path, {DSFR_KEY: json.dumps(info).encode()})


def read_dsfr_table(path: Path | str) -> tuple[DSFRTable, dict[str, Any]]:
    """A table written by :func:`write_dsfr_table` and its metadata (U-Net config, regions)."""
    path = Path(path)
    try:
        metadata = pq.read_schema(path).metadata or {}
        data = pd.read_parquet(path)
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path} is not a readable Parquet DSFR table: {err}") from err
    if DSFR_KEY not in metadata or data.index.name != INDEX_NAME:
        raise InputError(f"{path} is not a DSFR feature table written by RadSurv.")
    info = json.loads(metadata[DSFR_KEY].decode())
    regions = pd.DataFrame.from_dict(info["regions"], orient="index").reindex(data.index)
    regions["fallback"] = regions["fallback"].astype(bool)
    return DSFRTable(data, regions), info


def cases_on_grid(
    reads: Sequence[CaseRead],
    config: UNetConfig,
    progress: Callable[[str], None] | None = None,
    training: bool = False,
) -> tuple[list[SegmentationInput], pd.DataFrame, UNetConfig]:
    """The cases of ``reads`` on the network grid of ``config``, the failures (case_id, error)
    of those left out, and the config. A case that cannot be read is left out and named, as
    ``extract`` leaves one out: one such case stopped the whole run, the message naming the case
    before it. A case of another modality refuses the cohort (one U-Net learns one modality).
    With ``training`` (cases to train the U-Net on and measure it by) the first case read sets
    the modality, and a case whose GTV disappears on the grid is left out too
    (:func:`~survival_core.features.segmentation.check_gtv_on_grid`); cases to score keep it."""
    from survival_core.features.segmentation import (
        check_gtv_on_grid,
        check_modality,
        segmentation_input,
    )
    from survival_core.io.case_loader import load_case_read

    inputs: list[SegmentationInput] = []
    failures: list[tuple[str, str]] = []
    learn_modality = training
    for i, read in enumerate(reads, 1):
        failed = len(failures)
        try:
            case = load_case_read(read)
        except Exception as error:  # noqa: BLE001 - every failure is reported per case
            failures.append((read.case_id, describe_error(error)))
        else:
            if learn_modality:
                config, learn_modality = replace(config, modality=case.modality), False
            check_modality(case, config)
            try:
                item = segmentation_input(case, config)
                if training:
                    check_gtv_on_grid(item)
                inputs.append(item)
            except Exception as error:  # noqa: BLE001 - every failure is reported per case
                failures.append((read.case_id, describe_error(error)))
        if progress:
            done = (
                f"left out: {failures[-1][1]}" if len(failures) > failed else "on the network grid"
            )
            progress(f"[{i}/{len(reads)}] {read.case_id} {done}")
    return inputs, pd.DataFrame(failures, columns=FAILURE_COLUMNS), config


def cohort_dsfr_table(
    cohort: Path, model: SegmentationModel, out: Path, progress: Any = None
) -> Path:
    """DSFR features of every case of a cohort folder with an already trained U-Net (e.g. an
    external validation cohort scored with the development U-Net), written to ``out``; the cases
    left out (:func:`cases_on_grid`) are named in its failures table beside it."""
    from survival_core.io.manifest import cases_read_as

    reads = cases_read_as(Path(cohort))
    inputs, failures, _ = cases_on_grid(reads, model.config, progress)
    write_failures(failures, len(reads), out)  # every case failed: refused, naming the first
    return write_dsfr_table(dsfr_features(model, inputs), out, model)
