"""How two masks on one grid lie to one another: whether they show one tumour.

One tumour drawn twice (an edited copy, another reader's) overlaps itself, and a ring around a
tumour (its rim, a peritumoral halo) wraps it; separate lesions do neither. The test is shared by
the roles' GTV-like structures (:mod:`~survival_core.io.role_masks`) and by the segments of one
label map that share a name (:mod:`~survival_core.io.label_maps`): their union is no tumour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk

from survival_core.io.volume import nonzero_box

#: The one-voxel shell around a mask: its face neighbours (how much of it a structure drawn around
#: the mask covers), or every neighbour (whether a structure touches it: thick slices meet
#: diagonally), as :func:`scipy.ndimage.generate_binary_structure` connectivities.
FACES, TOUCHING = 1, 3
#: Share of the smaller of two GTV-like structures lying inside the other, or of one's one-voxel
#: shell the other covers, from which they are one tumour drawn twice (an edited copy, another
#: reader's) or a tumour and a ring around it (its rim, a peritumoral halo): separate lesions
#: neither overlap so nor wrap one another.
ONE_TUMOUR_SHARE = 0.5


def voxels(mask: sitk.Image) -> np.ndarray:
    """A view of a mask's voxels (nonzero inside), not a copy: a case's masks span the scan."""
    return sitk.GetArrayViewFromImage(mask)


def shell_share(inside: np.ndarray, other: np.ndarray, connectivity: int) -> float:
    """The share of the one-voxel shell of ``connectivity`` around ``inside`` (a box holding it
    with a voxel to spare) that ``other`` covers."""
    from scipy import ndimage

    neighbours = ndimage.generate_binary_structure(3, connectivity)
    shell = ndimage.binary_dilation(inside, structure=neighbours) & ~inside
    return float(other[shell].mean()) if shell.any() else 0.0


def one_tumour(first: str, second: str, masks: Mapping[str, sitk.Image]) -> str | None:
    """How two of ``masks`` (by name, on one grid) show one tumour, else None: they overlap (most
    of the smaller one's voxels are the other's), or one is drawn around the other (covering
    most of its one-voxel shell)."""
    one, other = voxels(masks[first]), voxels(masks[second])
    if not one.any() or not other.any():
        return None
    boxes = zip(nonzero_box(one, margin=1), nonzero_box(other, margin=1), strict=True)
    box = tuple(slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in boxes)
    a, b = one[box].astype(bool), other[box].astype(bool)
    if (a & b).sum() >= ONE_TUMOUR_SHARE * min(a.sum(), b.sum()):
        return f"{first!r} and {second!r} overlap (most of the smaller lies inside the other)"
    for outer, inner, (x, y) in ((second, first, (a, b)), (first, second, (b, a))):
        if shell_share(x, y, FACES) >= ONE_TUMOUR_SHARE:
            return f"{outer!r} is drawn around {inner!r} (a ring: its rim or halo)"
    return None


#: Agreement (Jaccard index) of a structure with the union of two or more others drawn apart
#: from which it is their total ('GTV_Total' beside 'GTV_P' and 'GTV_N'), not a second drawing:
#: their union is the total's tumour.
TOTAL_AGREEMENT = 0.9


def is_total(name: str, parts: Sequence[str], masks: Mapping[str, sitk.Image]) -> bool:
    """Whether mask ``name`` is the union of ``parts`` (two or more masks drawn apart, each
    overlapping it), to :data:`TOTAL_AGREEMENT`; counted on the boxes of the masks alone."""
    inside = [p for p in parts if one_tumour(p, name, masks)]
    if len(inside) < 2 or any(one_tumour(a, b, masks) for a, b in _pairs(inside)):
        return False
    arrays = [voxels(masks[n]) for n in (name, *inside)]
    boxes = [nonzero_box(a) for a in arrays]
    box = tuple(
        slice(min(b[d].start for b in boxes), max(b[d].stop for b in boxes)) for d in range(3)
    )
    total, *others = (a[box].astype(bool) for a in arrays)
    union = np.logical_or.reduce(others)
    return (total & union).sum() >= TOTAL_AGREEMENT * (total | union).sum()


def _pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def drawn_as_one(names: Sequence[str], masks: Mapping[str, sitk.Image]) -> str | None:
    """Why two of ``masks`` named ``names`` are no separate lesions (:func:`one_tumour`) and must
    not be united, else None. A total beside its parts (:func:`is_total`) is no second drawing:
    a primary, its nodes and their total were refused as one tumour drawn twice."""
    totals = {n for n in names if is_total(n, [p for p in names if p != n], masks)}
    for first, second in _pairs([n for n in names if n not in totals]):
        if how := one_tumour(first, second, masks):
            return (
                f"{how}: they look like one tumour drawn twice, or a tumour and its rim, not "
                "separate lesions, and their union is no tumour"
            )
    return None
