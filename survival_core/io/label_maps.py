"""Label-map volumes as structures: one mask per label, named by the file's own segment names.

Public datasets and segmentation tools save several structures in one volume: 1 = liver and 2 =
tumour (LiTS, the Medical Segmentation Decathlon), 1 = primary and 2 = nodal GTV (HECKTOR), or a
3D Slicer ``.seg.nrrd`` whose header names each label (``Segment0_Name``, ``Segment0_LabelValue``).
Slicer stores segments that overlap (a tumour drawn inside its organ) in separate layers, several
values per voxel (``Segment1_Layer``); each layer's labels are structures too. Each label becomes a
structure of the case: named as the header says when it does (so that roles are found by name as
for RTSTRUCT ROIs), else ``file:label`` ("labels/liver_7.nii.gz:2"; ``file:layer.label`` beyond
the first layer), which a user maps to a role. A binary mask (its one label 1, or 255) stays one
structure named after the file, unless its header names the segment (a one-segment Slicer file:
roles may still name the file); a file holding one other label keeps its value in the name
('label.nii.gz:2': a HECKTOR patient's nodes without a primary), so that a role naming label 1
never takes it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from functools import reduce
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.errors import MaskError
from survival_core.io.mask_geometry import drawn_as_one
from survival_core.io.volume import (
    MANY_LABELS,
    MAX_LABELS,
    distinct_values,
    read_layered_masks,
    whole_labels,
)

#: A 3D Slicer segmentation header key naming a segment, its label value or its layer.
SEGMENT_KEY = re.compile(r"Segment(\d+)_(Name|LabelValue|Layer)")
#: A structure: its layer (0 unless the file stores several values per voxel) and label value.
LayerLabel = tuple[int, int]
#: What follows the last colon of a structure naming one label of a volume: 'label' or
#: 'layer.label', ASCII digits only ('2.', '²' or '٣' are no label: int() refused them).
LABEL_REFERENCE = re.compile(r"(?:(\d+)\.)?(\d+)", re.ASCII)


def segment_names(path: Path | str) -> dict[LayerLabel, str]:
    """(layer, label value) -> segment name from a 3D Slicer segmentation header, else {}. A
    header before Slicer 4.11 gives no label value nor layer: each segment is then a layer of its
    own, of label 1."""
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
    names: dict[LayerLabel, str] = {}
    for index, segment in fields.items():
        own_layer = "LabelValue" not in segment  # Slicer 4.10's
        try:
            key = (
                int(segment.get("Layer", index if own_layer else "0")),
                int(segment.get("LabelValue", "1")),
            )
        except ValueError:
            continue
        if segment.get("Name"):
            names[key] = segment["Name"]
    return names


def label_reference(structure: str) -> tuple[str, LayerLabel] | None:
    """(file, (layer, label)) of a structure naming one label of a volume, 'file:label' or
    'file:layer.label' (:func:`label_names`, :data:`LABEL_REFERENCE`); None for another name."""
    file, colon, label = structure.rpartition(":")
    found = LABEL_REFERENCE.fullmatch(label) if colon else None
    return (file, (int(found[1] or 0), int(found[2]))) if found else None


def label_file(structure: str) -> str:
    """The volume file a structure name comes from: 'file' of 'file:label' or
    'file:layer.label' (:func:`label_reference`), else the name itself."""
    reference = label_reference(structure)
    return structure if reference is None else reference[0]


def structure_file(path: Path) -> Path:
    """The file a structure reference reads: ``path`` itself where it is a file, else the label
    map of 'file:label' ('masks/x.nii.gz' of 'masks/x.nii.gz:2'), whose bytes are then what a
    cache keyed by the reference must hash."""
    return path if path.is_file() else path.with_name(label_file(path.name))


def labels_by_shared_file(names: list[str]) -> dict[str, list[str]]:
    """The label maps several of whose labels are among ``names`` ('gtv.nii.gz' of
    'gtv.nii.gz:1' and 'gtv.nii.gz:2') -> those labels."""
    by_file: dict[str, list[str]] = {}
    for name in names:
        if label_file(name) != name:
            by_file.setdefault(label_file(name), []).append(name)
    return {file: labels for file, labels in by_file.items() if len(labels) > 1}


#: The (layer, label) of a binary mask's voxels: 1, or 255 (8-bit image tools' white).
MASK_FOREGROUND: tuple[LayerLabel, ...] = ((0, 1), (0, 255))


def label_names(path: Path | str, shown: str, keys: list[LayerLabel]) -> dict[LayerLabel, str]:
    """The structure name of each (layer, label) of the file ``shown`` (its name in the case):
    the header's segment name, else ``shown`` for a binary mask (:data:`MASK_FOREGROUND`), else
    ``shown:label`` (``shown:layer.label`` beyond the first layer). A file of one other label
    named ``shown`` took a ROI map's 'label.nii.gz:1' for it: a patient's nodes (2) as the GTV."""
    named = segment_names(path)
    if len(keys) == 1 and keys[0] in MASK_FOREGROUND:
        return {keys[0]: named.get(keys[0]) or shown}
    return {
        (layer, label): named.get((layer, label))
        or (f"{shown}:{label}" if layer == 0 else f"{shown}:{layer}.{label}")
        for layer, label in keys
    }


class SegmentsUnited(UserWarning):
    """Segments of one file sharing a name were read as one structure (:func:`label_structures`):
    the case says so."""


def _segment(key: LayerLabel) -> str:
    """A segment of a label map as a message names it: 'label 2', 'label 1 of layer 1'."""
    layer, label = key
    return f"label {label}" + (f" of layer {layer}" if layer else "")


def label_structures(
    path: Path | str,
    shown: str,
    reference: sitk.Image,
    resample: bool = False,
    roles: Iterable[str] = (),
) -> dict[str, sitk.Image]:
    """A mask per label (of each layer) of the volume at ``path`` on ``reference``'s grid (with
    ``resample`` also from another grid), by structure name; of a map of very many labels, per
    label the structure names ``roles`` give name (:func:`named_labels`). Segments the header
    names alike (3D Slicer allows it: two lesions each called 'GTV') are one structure, their
    union, with a :class:`SegmentsUnited` warning: the last one alone was kept, without a word.
    Segments so named that overlap or wrap one another (a tumour drawn twice, or with its rim:
    :func:`~.mask_geometry.drawn_as_one`) are refused: their union is no structure drawn."""
    named = named_labels(roles, shown)
    masks = read_layered_masks(
        path, reference, name=f"mask {shown}", resample=resample, named=named
    )
    by_name: dict[str, list[LayerLabel]] = {}
    for key, name in label_names(path, shown, list(masks)).items():
        by_name.setdefault(name, []).append(key)
    for name, keys in by_name.items():
        if len(keys) == 1:
            continue
        described = {_segment(key): masks[key] for key in keys}
        segments = ", ".join(described)
        if why := drawn_as_one(list(described), described):
            raise MaskError(
                f"{shown} names {len(keys)} segments {name!r} ({segments}): {why}. Rename or "
                "delete one of them in 3D Slicer (each lesion its own name, the GTV one drawing)."
            )
        warnings.warn(
            f"{shown} names {len(keys)} segments {name!r} ({segments}): read as one structure, "
            "their union. Rename them in 3D Slicer to tell them apart.",
            SegmentsUnited,
            stacklevel=2,
        )
    return {name: reduce(sitk.Or, [masks[k] for k in keys]) for name, keys in by_name.items()}


def named_labels(names: Iterable[str], shown: str) -> list[LayerLabel]:
    """The (layer, label) pairs that structure ``names`` give of the file ``shown``
    ('segmentations.nii.gz:10' -> (0, 10); 'seg.nrrd:1.2' -> (1, 2))."""
    references = [label_reference(n) for n in names if n != shown]
    return [key for file, key in filter(None, references) if file == shown]


def structure_names(path: Path | str, shown: str) -> list[str]:
    """The structures the volume at ``path`` (``shown`` in the case) offers: a name per label of a
    label map or mask (:func:`label_names`; segments named alike once), none for a mask marking
    no voxel (a case leaves it out: the Case page offered it for a role, to be refused), else
    ``shown`` (an image, or an unreadable file)."""
    layers = label_layers(path)
    labels = present_labels(layers)
    if not layers or labels is None:
        return [shown]
    return list(dict.fromkeys(label_names(path, shown, labels).values()))


def labels_present(path: Path | str) -> list[LayerLabel] | None:
    """The (layer, non-zero label) pairs of a label-map volume (reads its voxels; [] when it
    cannot be read); None when it is no label map (:func:`present_labels`)."""
    return present_labels(label_layers(path))


def present_labels(layers: list[np.ndarray | None]) -> list[LayerLabel] | None:
    """The (layer, label) pairs of a volume's :func:`label_layers`; None when it is no label map
    (non-integer or negative values, or more than :data:`~.volume.MAX_LABELS` of them: an
    image)."""
    found: list[LayerLabel] = []
    for layer, labels in enumerate(layers):
        if labels is None or len(labels) > MAX_LABELS:
            return None
        found += [(layer, int(v)) for v in labels]
    return found


def labels_beyond_limit(layers: list[np.ndarray | None]) -> int | None:
    """How many labels a layer of a volume's :func:`label_layers` holds when its values are those
    of a label map, more than :data:`~.volume.MAX_LABELS` of them but at most
    :data:`~.volume.MANY_LABELS`, numbered up to it; None otherwise."""
    labelled = [labels for labels in layers if labels is not None]
    if not labelled or len(labelled) < len(layers):
        return None
    most = max(len(labels) for labels in labelled)
    top = max((float(labels.max()) for labels in labelled if len(labels)), default=0)
    return most if MAX_LABELS < most <= MANY_LABELS and top <= MANY_LABELS else None


def label_layers(path: Path | str) -> list[np.ndarray | None]:
    """Each layer's non-zero labels of the volume at ``path`` (reads its voxels), None for a
    layer whose values are not whole non-negative numbers; [] when it cannot be read."""
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError:
        return []
    array = sitk.GetArrayViewFromImage(image)  # a view: ``image`` lives
    layers = [array] if image.GetNumberOfComponentsPerPixel() == 1 else np.moveaxis(array, -1, 0)
    found: list[np.ndarray | None] = []
    for values in (distinct_values(np.ascontiguousarray(a)) for a in layers):
        whole = whole_labels(values)
        found.append(None if whole is None or whole.min() < 0 else whole[whole != 0])
    return found
