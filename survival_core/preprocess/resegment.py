"""Re-segmentation of a ROI by intensity, as the IBSI reference manual (chapter 1) defines it.

The contoured ROI (the *morphological* mask) is kept for shape features; intensity and texture
features use the *intensity* mask, which drops the ROI voxels whose intensity lies outside a range
(e.g. -500 to 400 HU: air and bone out of a lung tumour), or further than ``outlier_sd`` standard
deviations from the ROI mean (outlier filtering). With both, the range goes first and the mean and
standard deviation (population, N) are those of the voxels it keeps.
"""

from __future__ import annotations

import numpy as np

from survival_core.errors import MaskError


def resegment(
    values: np.ndarray,
    mask: np.ndarray,
    low: float | None = None,
    high: float | None = None,
    outlier_sd: float | None = None,
) -> np.ndarray:
    """The intensity mask (bool, ``mask``'s shape): ROI voxels with ``low <= value <= high``
    (intensity units, e.g. HU; a None bound is open), then within ``outlier_sd`` standard deviations
    of their mean (None: no outlier filtering). MaskError when no voxel is left."""
    inside = np.asarray(mask, dtype=bool).copy()
    if low is not None:
        inside &= values >= low
    if high is not None:
        inside &= values <= high
    if outlier_sd is not None and inside.any():
        kept = values[inside].astype(np.float64)
        mean, sd = kept.mean(), kept.std()
        inside &= (values >= mean - outlier_sd * sd) & (values <= mean + outlier_sd * sd)
    if not inside.any():
        raise MaskError(
            f"No ROI voxel is left after re-segmentation (range {low} to {high}, outliers beyond "
            f"{outlier_sd} SD): check the intensity range against the image's units."
        )
    return inside
