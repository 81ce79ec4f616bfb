"""Label-map volumes as structures: one mask per label, named by the file's own segment names.

Public datasets and segmentation tools save several structures in one volume: 1 = liver and 2 =
tumour (LiTS, the Medical Segmentation Decathlon), 1 = primary and 2 = nodal GTV (HECKTOR), or a
3D Slicer ``.seg.nrrd`` whose header names each label (``Segment0_Name``, ``Segment0_LabelValue``).
Each label becomes a structure of the case: named as the header says when it does (so that roles
are found by name as for RTSTRUCT ROIs), else ``file:label`` ("labels/liver_7.nii.gz:2"), which a
user maps to a role. A single-label file stays one structure named after the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.io.volume import MAX_LABELS, distinct_values, read_label_masks

#: A 3D Slicer segmentation header key naming a segment, its label value or its layer.
SEGMENT_KEY = re.compile(r"Segment(\d+)_(Name|LabelValue|Layer)")


def segment_names(path: Path | str) -> dict[int, str]:
    """Label value -> segment name from a 3D Slicer segmentation header (one layer), else {}."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return {}
    fields: dict[str, dict[str, str]] = {}
    for key in reader.GetMetaDataKeys():
        found = SEGMENT_KEY.fullmatch(key)
        if found:
            fields.setdefault(found[1], {})[found[2]] = reader.GetMetaData(key).strip()
    names: dict[int, str] = {}
    for segment in fields.values():
        try:
            label = int(segment["LabelValue"])
        except (KeyError, ValueError):
            continue
        if segment.get("Name") and segment.get("Layer", "0") == "0":
            names[label] = segment["Name"]
    return names


def label_names(path: Path | str, shown: str, labels: list[int]) -> dict[int, str]:
    """The structure name of each of ``labels`` of the file ``shown`` (its name in the case)."""
    if len(labels) == 1:
        return {labels[0]: shown}
    named = segment_names(path)
    return {label: named.get(label) or f"{shown}:{label}" for label in labels}


def label_structures(path: Path | str, shown: str, reference: sitk.Image) -> dict[str, sitk.Image]:
    """A mask per label of the volume at ``path`` on ``reference``'s grid, by structure name."""
    masks = read_label_masks(path, reference, name=f"mask {shown}")
    names = label_names(path, shown, list(masks))
    return {names[label]: mask for label, mask in masks.items()}


def structure_names(path: Path | str, shown: str) -> list[str]:
    """The structures the volume at ``path`` (``shown`` in the case) offers: a name per label of a
    label map, else ``shown`` (a mask of one label, or an image)."""
    return list(label_names(path, shown, labels_present(path) or [0]).values())


def labels_present(path: Path | str) -> list[int]:
    """The non-zero labels of a label-map volume (reads its voxels); [] when it is no label map
    (non-integer or negative values, or more than :data:`~.volume.MAX_LABELS` of them)."""
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError:
        return []
    values = distinct_values(sitk.GetArrayViewFromImage(image))  # a view: ``image`` lives
    if values.min() < 0 or np.any(np.mod(values, 1)) or np.count_nonzero(values) > MAX_LABELS:
        return []
    return [int(v) for v in values if v != 0]
