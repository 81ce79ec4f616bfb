"""Real ROIs for texture tests: pyradiomics' sample images, cropped to their labels and quantised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.preprocess.quantize import FixedBinCount, quantize_roi


def quantised_sample(shared_data: Path, sample: str, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """pyradiomics' ``sample`` (e.g. lung1, brain1) cropped to its label's bounding box: the gray
    levels 1..``levels`` of the label's voxels (0 outside it) and the label as a bool array."""
    folder = shared_data / "pyradiomics"
    image = sitk.ReadImage(str(folder / f"{sample}_image.nrrd"), sitk.sitkFloat32)
    label = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / f"{sample}_label.nrrd")))
    inside = label > 0
    box = tuple(slice(i.min(), i.max() + 1) for i in np.nonzero(inside))
    values, inside = sitk.GetArrayFromImage(image)[box], inside[box]
    return np.where(inside, quantize_roi(values, inside, FixedBinCount(levels)), 0), inside
