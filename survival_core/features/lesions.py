"""Features of patients with several lesions (liver metastases, multifocal HCC, GTVp + GTVn).

By default every GTV structure is united into one tumour. ``lesions="largest"`` takes the largest
lesion alone; ``lesions="each"`` computes the tumour features of every lesion apart and aggregates
them per patient: the largest lesion's values, the volume-weighted mean, or the maximum. A lesion is
a 3-D connected part of the GTV (26-connectivity), so GTV-1 and GTV-2 are two lesions, and so are
two islands of one structure. ROIs that are not the tumour's own (organ minus GTV, body) are
computed once on the united GTV: the organ without *all* tumour; a lesion's peritumoral ring
leaves its neighbours out too. A lesion other than the largest whose features cannot be computed
(a contouring speck with no voxel on the extraction grid) is left out, with a warning in the log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from survival_core.case import Case
from survival_core.errors import MaskError
from survival_core.features.settings import ExtractionSettings
from survival_core.preprocess.roi import ALL_LESIONS

logger = logging.getLogger(__name__)

#: ROIs made from one lesion; the others come from the united GTV.
LESION_ROIS = ("gtv", "peritumoral_ring")


def lesion_masks(gtv: sitk.Image) -> list[sitk.Image]:
    """The GTV's connected parts (26-connectivity), largest first, each a uint8 0/1 mask."""
    labels, count = ndimage.label(
        sitk.GetArrayViewFromImage(gtv).astype(bool), structure=np.ones((3, 3, 3))
    )
    if count == 0:
        raise MaskError("The GTV mask is empty: no lesion to compute features of.")
    sizes = np.bincount(labels.ravel())[1:]
    masks = []
    for label in np.argsort(-sizes, kind="stable") + 1:
        mask = sitk.GetImageFromArray((labels == label).astype(np.uint8))
        mask.CopyInformation(gtv)
        masks.append(mask)
    return masks


def _with_gtv(case: Case, gtv: sitk.Image) -> Case:
    """``case`` with one lesion as its GTV, every lesion kept beside it (for the ring)."""
    return dataclasses.replace(
        case, masks={**case.masks, "gtv": gtv, ALL_LESIONS: case.masks["gtv"]}
    )


def _each_lesion(
    case: Case,
    lesions: list[sitk.Image],
    settings: ExtractionSettings,
    extract: Callable[[Case, ExtractionSettings], dict[str, float]],
) -> tuple[list[dict[str, float]], np.ndarray]:
    """The features and voxel counts of the lesions that have features: the largest always (its
    error is the case's), the others left out with a warning when theirs cannot be computed."""
    rows, volumes = [], []
    for number, lesion in enumerate(lesions):
        try:
            rows.append(extract(_with_gtv(case, lesion), settings))
        except MaskError as err:
            if number == 0:
                raise
            size = sitk.GetArrayViewFromImage(lesion).sum()
            logger.warning(
                "%s: lesion %d of %d (%d voxels) left out of the per-lesion features: %s",
                case.case_id, number + 1, len(lesions), size, err,
            )  # fmt: skip
            continue
        volumes.append(float(sitk.GetArrayViewFromImage(lesion).sum()))
    return rows, np.array(volumes)


def _aggregate(rows: list[dict[str, float]], volumes: np.ndarray, how: str) -> dict[str, float]:
    names = list(rows[0])
    values = np.array([[row[n] for n in names] for row in rows], dtype=float)
    if how == "largest":
        out = values[int(np.argmax(volumes))]
    elif how == "max":
        out = np.nanmax(values, axis=0)
    else:
        weights = np.where(np.isfinite(values), volumes[:, None], 0.0)
        total = weights.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(total > 0, np.nansum(values * weights, axis=0) / total, np.nan)
    return dict(zip(names, out.tolist(), strict=True))


def extract_lesions(
    case: Case,
    settings: ExtractionSettings,
    extract: Callable[[Case, ExtractionSettings], dict[str, float]],
) -> dict[str, float]:
    """Features of ``case`` under ``settings.lesions`` (see the module doc); ``extract`` computes the
    features of one case with united lesions. Names are those of the united extraction."""
    if "gtv" not in case.masks:
        raise MaskError(f"{case.case_id}: lesion features need the GTV mask.")
    lesions = lesion_masks(case.masks["gtv"])
    own = tuple(r for r in settings.rois if r in LESION_ROIS)
    shared = tuple(r for r in settings.rois if r not in LESION_ROIS)
    plain = dataclasses.replace(settings, lesions="union")
    out = extract(case, plain.with_rois(shared)) if shared else {}
    if not own:
        return out
    per_lesion = plain.with_rois(own)
    if settings.lesions == "largest":
        out.update(extract(_with_gtv(case, lesions[0]), per_lesion))
        return out
    rows, volumes = _each_lesion(case, lesions, per_lesion, extract)
    out.update(_aggregate(rows, volumes, settings.lesion_aggregate))
    return out
