"""The body sites a synthetic cohort can image, and what the generator writes for each.

A site names the phantom that draws and renders a case (:mod:`survival_core.synthetic.phantom` for
the liver, :mod:`survival_core.synthetic.chest` for the lung), the organ hosting the tumour (its mask
file is ``<organ>.nii.gz``) and the RTSTRUCT ROIs, named as clinical exports name them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from survival_core.synthetic import chest, phantom
from survival_core.synthetic.scanners import BY_MODALITY
from survival_core.synthetic.shapes import Grid

#: Modalities a cohort can be imaged with (their scanners: :mod:`survival_core.synthetic.scanners`).
MODALITIES = tuple(BY_MODALITY)
#: RTSTRUCT display colours of the chest's ROIs (tumours are red).
_CHEST_COLORS = {
    "Lung-Left": (0, 160, 255),
    "Lung-Right": (0, 200, 160),
    "Spinal-Cord": (255, 255, 0),
    "Heart": (255, 128, 192),
}


@dataclass
class RenderedCase:
    """One rendered case as the generator writes it: the scanner's image, the organ mask (tumours
    included), the GTV (all tumours), the RTSTRUCT ROIs by name in export order with their display
    colours, and each tumour's designed longest axial diameter (mm), all (z, y, x) on ``grid``."""

    grid: Grid
    image: np.ndarray
    organ: np.ndarray
    gtv: np.ndarray
    rois: dict[str, np.ndarray]
    tumor_diameters: tuple[float, ...]
    colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)


#: What renders a case: (anatomy seed, organ damage, tumour heterogeneity, tumour diameters in mm,
#: scanner name) -> RenderedCase.
Renderer = Callable[[Sequence[int], float, float, Sequence[float], str], RenderedCase]


def _liver(
    seed: Sequence[int], damage: float, hetero: float, diameters: Sequence[float], scanner: str
) -> RenderedCase:
    """Abdomen: the liver is the organ; ROIs Liver and GTV."""
    anatomy = phantom.make_anatomy(seed, damage, hetero, diameters, scanner)
    rendered = phantom.render(anatomy)
    return RenderedCase(
        rendered.grid,
        rendered.image,
        rendered.liver,
        rendered.gtv,
        {"Liver": rendered.liver, "GTV": rendered.gtv},
        tuple(t.diameter_mm for t in anatomy.tumors),
    )


def _lung(
    seed: Sequence[int], damage: float, hetero: float, diameters: Sequence[float], scanner: str
) -> RenderedCase:
    """Chest: both lungs are the organ; ROIs GTV-1 (GTV-2... for further lesions), Lung-Left,
    Lung-Right and the organs at risk Spinal-Cord and Heart. No liver."""
    anatomy = chest.make_chest_anatomy(seed, damage, hetero, diameters, scanner)
    rendered = chest.render_chest(anatomy)
    lesions = {
        f"GTV-{i}": (rendered.lesions == i).view(np.uint8)
        for i in range(1, len(anatomy.tumors) + 1)
    }
    rois = {name: mask for name, mask in lesions.items() if mask.any()}
    rois |= {
        "Lung-Left": rendered.lung_left,
        "Lung-Right": rendered.lung_right,
        "Spinal-Cord": rendered.cord,
        "Heart": rendered.heart,
    }
    return RenderedCase(
        rendered.grid,
        rendered.image,
        rendered.lungs,
        rendered.gtv,
        rois,
        tuple(t.diameter_mm for t in anatomy.tumors),
        {**{name: (255, 0, 0) for name in lesions}, **_CHEST_COLORS},
    )


@dataclass(frozen=True)
class Site:
    """A body site: its name, its organ's mask file stem and its renderer."""

    name: str
    organ: str
    render: Renderer


SITES: dict[str, Site] = {
    s.name: s for s in (Site("liver", "liver", _liver), Site("lung", "lung", _lung))
}
