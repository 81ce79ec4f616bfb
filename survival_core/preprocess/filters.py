"""Convolutional image filters as the IBSI reference manual (chapter 2) defines them, on numpy arrays
(z, y, x) with scipy.ndimage.

- :func:`mean_filter`: the average over a cube of ``size`` voxels;
- :func:`laplacian_of_gaussian`: the Laplacian of a Gaussian of width ``sigma_mm``, sampled on the
  voxel grid and truncated at 4 sigma, without scale normalisation (pyradiomics' LoG, which RadSurv
  uses by default, runs ITK's recursive Gaussian and multiplies by sigma squared).

Beyond the image the values are extended as :data:`BOUNDARIES` says: ``zero`` (zero padding),
``nearest`` (the edge value repeated), ``periodic`` (the image wrapped) or ``mirror`` (the image
reflected about its edge, the edge voxel repeated: d c b a | a b c d).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from survival_core.errors import ConfigError

#: IBSI boundary condition -> scipy.ndimage mode.
BOUNDARIES = {"zero": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
#: Where the sampled Gaussian kernels end (in sigmas), as IBSI.
TRUNCATE_SIGMAS = 4.0


def _mode(boundary: str) -> str:
    if boundary not in BOUNDARIES:
        raise ConfigError(
            f"Unknown filter boundary condition {boundary!r}; choose one of {list(BOUNDARIES)}."
        )
    return BOUNDARIES[boundary]


def mean_filter(array: np.ndarray, size: int, boundary: str = "mirror") -> np.ndarray:
    """The mean of each voxel's ``size`` x ``size`` x ``size`` neighbourhood (``size`` odd, voxels),
    float64."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ConfigError(f"Mean filter size must be an odd whole number of voxels; got {size!r}.")
    return ndimage.uniform_filter(np.asarray(array, dtype=np.float64), size, mode=_mode(boundary))


def laplacian_of_gaussian(
    array: np.ndarray,
    sigma_mm: float,
    spacing: Sequence[float],
    boundary: str = "mirror",
) -> np.ndarray:
    """The Laplacian of a Gaussian of width ``sigma_mm`` (mm) on voxels of ``spacing`` (x, y, z, mm),
    computed with sampled kernels truncated at :data:`TRUNCATE_SIGMAS` and in voxel units (the IBSI
    definition: not scale-normalised), float64."""
    if not sigma_mm > 0:
        raise ConfigError(f"LoG sigma must be a positive number of mm; got {sigma_mm!r}.")
    sigma_voxels = [sigma_mm / float(s) for s in reversed(spacing)]  # (z, y, x)
    return ndimage.gaussian_laplace(
        np.asarray(array, dtype=np.float64),
        sigma_voxels,
        mode=_mode(boundary),
        truncate=TRUNCATE_SIGMAS,
    )
