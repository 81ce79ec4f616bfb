"""Runs per gray level and direction: the part of the gray level run length matrix (GLRLM) that
five of its features need, counted without run lengths.

Gray Level Non-Uniformity (and its normalised form), Gray Level Variance, Low and High Gray Level
Run Emphasis sum the GLRLM over run lengths before anything else, so they need only the number of
runs of each gray level in each direction, and the run total per direction. A run starts at every
ROI voxel whose predecessor along the direction is outside the ROI or of another level, so these
counts take one gather and one histogram per direction, several times faster than pyradiomics'
C loop that follows every run to its end (0.07 s against 0.5 s on a liver at 1 mm). The counts
are pyradiomics' exactly, including its rule that a direction in which no line crosses the ROI
twice (e.g. the through-plane directions of a one-slice ROI) is empty.
"""

from __future__ import annotations

import numpy as np

#: GLRLM features that depend on the matrix only through its sum over run lengths.
GRAY_LEVEL_FEATURES = frozenset(
    {
        "GrayLevelNonUniformity",
        "GrayLevelNonUniformityNormalized",
        "GrayLevelVariance",
        "LowGrayLevelRunEmphasis",
        "HighGrayLevelRunEmphasis",
    }
)


def _crosses_twice(inside: np.ndarray, angle: np.ndarray) -> bool:
    """Whether some line along ``angle`` holds two ROI voxels (not necessarily neighbours)."""
    coords = np.argwhere(inside)
    if len(coords) < 2:
        return False
    size = np.asarray(inside.shape)
    moving = np.flatnonzero(angle)
    # steps back to the array's edge along the direction: the line's first voxel is coords - t * angle
    back = np.where(angle[moving] > 0, coords[:, moving], size[moving] - 1 - coords[:, moving])
    first = coords - back.min(axis=1, keepdims=True) * angle
    return len(np.unique(np.ravel_multi_index(first.T, inside.shape))) < len(coords)


def runs_per_gray_level(
    levels: np.ndarray, inside: np.ndarray, angles: np.ndarray, gray_levels: int
) -> np.ndarray:
    """(gray_levels, angles) float counts of runs of each level 1..``gray_levels`` along each of
    ``angles`` (one (z, y, x) offset per row, pyradiomics' order) in the ROI ``inside`` (bool, the
    shape of ``levels``, whose ROI values are integers 1..``gray_levels``). A direction in which no
    line holds two ROI voxels gets no runs, as in pyradiomics."""
    dtype = np.uint8 if gray_levels < 256 else np.int32
    padded = np.pad(np.where(inside, levels, 0).astype(dtype), 1)  # 0: outside the ROI or array
    flat = padded.ravel()
    where = np.flatnonzero(np.pad(inside, 1))
    values = flat[where]
    strides = np.array(padded.strides) // padded.itemsize
    counts = np.zeros((gray_levels, len(angles)))
    for index, angle in enumerate(np.asarray(angles, dtype=np.int64)):
        before = flat[where - int(angle @ strides)]
        if not before.any() and not _crosses_twice(inside, angle):
            continue
        starts = np.bincount(values, weights=before != values, minlength=gray_levels + 1)
        counts[:, index] = starts[1:]
    return counts
