"""Stacks inside one DICOM series: the echoes, time points, b-values or localizers that scanners file
under a single SeriesInstanceUID, told apart so that a user can pick one volume.

A dual-echo or multi-echo MR, a dynamic contrast series, a diffusion series with several b-values, a
CT series with two reconstructions (kernels, slice thicknesses) or with its localizer in it holds
several images at the same slice position (or in another orientation). Stacked together they are
no volume; nor is a localizer filed among the images at a position of its own (ImageType
LOCALIZER). When a series has such repeated positions or mixed orientations, its images are grouped
by the first of :data:`DISCRIMINATORS` (in that order, then the first pair of them) that leaves
every group one orientation and one image per position; each group becomes a stack of its own,
labelled for the user ("echo 2", "b 1000"). A series whose repeats no attribute explains is left
whole, and the reader names the duplicate slices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue


def header_values(ds: Dataset, keyword: str) -> tuple[str, ...]:
    """An attribute's values (ImageType, CorrectedImage; one value of any VR, a number too),
    stripped, upper case; none when absent or empty."""
    value = ds.get(keyword)
    if value is None or value == "":
        return ()
    listed = value if isinstance(value, MultiValue | list | tuple) else [value]
    return tuple(str(v).strip().upper() for v in listed)


def _image_type(ds: Dataset) -> tuple[str, ...]:
    return header_values(ds, "ImageType")


def _localizer(ds: Dataset) -> str:
    return "localizer" if "LOCALIZER" in _image_type(ds) else "images"


def _plane(ds: Dataset) -> str | None:
    """'axial', 'coronal', 'sagittal' or 'oblique' from the slice normal's main axis."""
    try:
        cosines = np.asarray([float(v) for v in ds.ImageOrientationPatient], float)
    except (AttributeError, TypeError, ValueError):
        return None
    normal = np.abs(np.cross(cosines[:3], cosines[3:6]))
    if normal.max() < 0.9:
        return "oblique"
    return ("sagittal", "coronal", "axial")[int(normal.argmax())]


def _attribute(keyword: str, label: str) -> Callable[[Dataset], str | None]:
    def value(ds: Dataset) -> str | None:
        raw = ds.get(keyword)
        if raw is None or raw == "":
            return None
        try:
            return f"{label} {float(raw):g}"
        except (TypeError, ValueError):
            return f"{label} {raw}"

    return value


def _image_type_label(ds: Dataset) -> str | None:
    return "/".join(_image_type(ds)) or None


_echo = _attribute("EchoNumbers", "echo")
_b_value = _attribute("DiffusionBValue", "b")
_kernel = _attribute("ConvolutionKernel", "kernel")
_thickness = _attribute("SliceThickness", "thickness mm")

#: What tells the stacks of one series apart, tried in this order.
DISCRIMINATORS: tuple[Callable[[Dataset], str | None], ...] = (
    _localizer,
    _plane,
    _echo,
    _attribute("TemporalPositionIdentifier", "time point"),
    _b_value,
    _attribute("TriggerTime", "trigger ms"),
    _attribute("InversionTime", "inversion ms"),
    _kernel,
    _thickness,
    _attribute("AcquisitionNumber", "acquisition"),
    _image_type_label,
)
#: What makes images of one series at distinct positions two volumes when their slice ranges
#: interleave: two reconstructions (kernels, thicknesses) or echoes filed at offset positions.
#: (Trigger times and acquisition numbers vary slice by slice within one volume.)
RECONSTRUCTIONS = (_echo, _b_value, _kernel, _thickness)


def _placement(ds: Dataset) -> tuple[Any, Any] | None:
    """(orientation, position) rounded to what counts as the same, None when absent or malformed."""
    try:
        orientation = tuple(round(float(v), 3) for v in ds.ImageOrientationPatient)
        position = tuple(round(float(v), 2) for v in ds.ImagePositionPatient)
    except (AttributeError, TypeError, ValueError):
        return None
    return orientation, position


def _one_volume(placements: Sequence[tuple[Any, Any]]) -> bool:
    """One orientation and each position once."""
    return len({o for o, _ in placements}) == 1 and len({p for _, p in placements}) == len(
        placements
    )


def stack_labels(headers: Sequence[Dataset]) -> list[str] | None:
    """A label per header naming its stack when the series holds several (repeated positions,
    or reconstructions at interleaved positions: :func:`_interleaved`), else None (one volume,
    multi-frame files, headers without positions, or repeats that no discriminator explains).
    One discriminator is tried at a time, then pairs, so a finer split never wins over a coarser."""
    if any(int(h.get("NumberOfFrames") or 1) > 1 for h in headers):
        return None
    placements = [_placement(h) for h in headers]
    if any(p is None for p in placements):
        return None
    if _one_volume(placements):
        return _localizers(headers) or _interleaved(headers, placements)
    columns = [[d(h) or "" for h in headers] for d in DISCRIMINATORS]
    varying = [c for c in columns if len(set(c)) > 1]
    for chosen in [*combinations(varying, 1), *combinations(varying, 2)]:
        keys = list(zip(*chosen, strict=True))
        groups: dict[tuple[str, ...], list[tuple[Any, Any]]] = {}
        for key, placement in zip(keys, placements, strict=True):
            groups.setdefault(key, []).append(placement)
        if all(_one_volume(group) for group in groups.values()):
            return [", ".join(v for v in key if v) or "unlabelled" for key in keys]
    return None


def _localizers(headers: Sequence[Dataset]) -> list[str] | None:
    """Labels parting the localizers (ImageType LOCALIZER) filed among a series' images from
    them, else None. A scanner may file an axial localizer at a position of its own, one slice
    beyond the volume: each position once, it was stacked as one more image slice."""
    labels = [_localizer(h) for h in headers]
    return labels if len(set(labels)) > 1 else None


def _interleaved(
    headers: Sequence[Dataset], placements: Sequence[tuple[Any, Any]]
) -> list[str] | None:
    """Labels of the reconstructions of a series with each position once whose slice ranges
    overlap (a STANDARD and a BONE kernel at alternating positions: stacked together, every other
    slice is the other image), else None. Reconstructions one after the other along the axis (a
    chest and an abdomen part) are one volume's parts; a value missing from a slice, or found on
    one slice only, is a damaged header for the reader to name."""
    orientation = np.asarray(placements[0][0], float)
    normal = np.cross(orientation[:3], orientation[3:6])
    along = [float(np.dot(position, normal)) for _, position in placements]
    for discriminator in RECONSTRUCTIONS:
        keys = [discriminator(h) for h in headers]
        spans: dict[str | None, list[float]] = {}
        for key, z in zip(keys, along, strict=True):
            spans.setdefault(key, []).append(z)
        if None in spans or min(map(len, spans.values())) < 2:
            continue  # a value missing or on one slice only: a damaged header, not a volume
        ranges = sorted((min(z), max(z)) for z in spans.values())
        if any(low < before[1] for before, (low, _) in zip(ranges, ranges[1:], strict=False)):
            return [str(key) for key in keys]
    return None
