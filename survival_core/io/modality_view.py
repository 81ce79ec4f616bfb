"""A case seen on another of its images: the PET of a PET/CT case with the masks drawn on the CT.

A model on several modalities' radiomics (:attr:`~survival_core.models.card.ModelCard.radiomics_by_modality`)
computes each modality's features on that modality's own image, in its own units and grid, as the
training cohort's features were: the masks move onto the companion image's grid (voxel for
voxel where the grids nest, else each voxel taking the label covering at least half of it), the
image is never resampled.
"""

from __future__ import annotations

from warnings import catch_warnings, simplefilter

import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import InputError, MaskError
from survival_core.io.dataset_layout import SEQUENCE_NAMES
from survival_core.io.structures import VOLUME_MODALITIES
from survival_core.io.volume import MaskResampled, on_image_grid

#: Names of companion images: the modalities, and the MR sequences beside an MR image.
COMPANION_NAMES = (*VOLUME_MODALITIES, *sorted(s.upper() for s in SEQUENCE_NAMES))


def companion_modality(name: str) -> str:
    """The modality of a companion image by its name in :attr:`Case.companions`: a modality
    ('PT') is its own, an MR sequence ('FLAIR') is MR."""
    return name.upper() if name.upper() in VOLUME_MODALITIES else "MR"


def modality_view(case: Case, modality: str) -> Case:
    """``case`` on its ``modality`` image (a modality, or beside an MR image another sequence:
    'FLAIR'): itself when that is its modality, else its companion image of that name with every
    mask moved onto the companion's grid (the move noted in the view's warnings).
    :class:`InputError` when the case has no such image, :class:`GeometryError` when a mask lies
    mostly outside it, :class:`MaskError` when a mask covers no voxel of it by half. Made once
    per case object."""
    modality = modality.upper()
    if case.modality.upper() == modality:
        return case
    views = case.__dict__.setdefault("_modality_views", {})
    if modality not in views:
        views[modality] = _view(case, modality)
    return views[modality]


def _view(case: Case, modality: str) -> Case:
    image = case.companions.get(modality)
    if image is None:
        held = ", ".join(sorted(case.companions)) or "none"
        raise InputError(
            f"Case {case.case_id} has no {modality} image beside its {case.modality} (other "
            f"images: {held}), which its {modality} radiomics need (a PET/CT model reads both). "
            f"Give the {modality} with the case: a volume file named for it "
            f"('{modality}.nii.gz') in the case folder, or its DICOM series in the "
            f"{case.modality}'s frame of reference."
        )
    masks, notes = {}, []
    for role, mask in case.masks.items():
        with catch_warnings(record=True) as caught:
            simplefilter("always", MaskResampled)
            moved = on_image_grid(image, mask, f"the {modality}", f"the {role} mask", resample=True)
        notes += [str(w.message) for w in caught if w.category is MaskResampled]
        binary = sitk.Cast(moved > 0, sitk.sitkUInt8)
        if not sitk.GetArrayViewFromImage(binary).any():
            raise MaskError(
                f"Case {case.case_id}: the {role} mask covers no {modality} voxel by half (it is "
                f"smaller than the {modality}'s voxels of {_spacing(image)} mm)."
            )
        masks[role] = binary
    return Case(
        case_id=case.case_id,
        image=image,
        masks=masks,
        clinical=case.clinical,
        modality=companion_modality(modality),
        source=case.source,
        warnings=notes,
        site=case.site,
    )


def _spacing(image: sitk.Image) -> str:
    return " x ".join(f"{s:g}" for s in image.GetSpacing())
