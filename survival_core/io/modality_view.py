"""A case seen on another of its images: the PET of a PET/CT case with the masks drawn on the CT.

A model on several modalities' radiomics (:attr:`~survival_core.models.card.ModelCard.radiomics_by_modality`)
computes each modality's features on that modality's own image, in its own units and grid, as the
training cohort's features were: the masks move onto the companion image's grid (voxel for
voxel where the grids nest, else each voxel taking the label covering at least half of it), the
image is never resampled. A mask partly beyond the companion's field of view (a PET whose last
bed ends inside the GTV) keeps the part inside, said in the warnings with the share left out;
one mostly outside is refused.
"""

from __future__ import annotations

from warnings import catch_warnings, simplefilter

import numpy as np
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import GeometryError, InputError, MaskError
from survival_core.io.dataset_layout import SEQUENCE_NAMES
from survival_core.io.mr_sequence import file_sequence
from survival_core.io.structures import VOLUME_MODALITIES
from survival_core.io.volume import MaskResampled, on_image_grid

#: Names of companion images: the modalities, and the MR sequences beside an MR image.
COMPANION_NAMES = (*VOLUME_MODALITIES, *sorted(s.upper() for s in SEQUENCE_NAMES))
#: Largest share of a mask that may lie outside the companion's field of view; more, and the
#: companion's figures would describe another part than the mask's.
MAX_OUTSIDE_SHARE = 0.5
#: Where a view keeps each mask's share outside its image (set by :func:`_view`).
_OUTSIDE = "_outside_shares"


def companion_modality(name: str) -> str:
    """The modality of a companion image by its name in :attr:`Case.companions`: a modality
    ('PT') is its own, an MR sequence ('FLAIR') is MR."""
    return name.upper() if name.upper() in VOLUME_MODALITIES else "MR"


def read_as_note(case: Case, modality: str) -> str:
    """Advice where a case of volume files, which record no modality, was read as another than
    the ``modality`` a model reads: as its image's name gave ('t1ce': MR, a model of a cohort
    of such files read as CT), how to read it as ``modality``; as CT, no name giving another (a
    PET model's case holding one 'image.nii.gz' of SUV), that its image may be that one; ''
    for a DICOM case (it states its own), a case said to be another modality, or ``modality``
    an MR sequence."""
    if case.series or modality not in VOLUME_MODALITIES:
        return ""
    if case.modality_word:
        return (
            f" A case of NIfTI or NRRD files records no modality: case {case.case_id} was read "
            f"as {case.modality} from its file name '{case.modality_word}'; `--modality "
            f"{modality}` on the command line, or the Case page's modality, reads it as "
            f"{modality}, as a cohort of such files imported as {modality} was read."
        )
    if case.modality != "CT":
        return ""
    return (
        f" If the case's image is itself the {modality}, say so, `--modality {modality}` on the "
        f"command line or the Case page's modality, or name its file for it "
        f"('{modality}.nii.gz'): a case of NIfTI or NRRD files records no modality, and its "
        "image, its name giving no other, was read as CT."
    )


def modality_view(case: Case, modality: str) -> Case:
    """``case`` on its ``modality`` image (a modality, or beside an MR image another sequence:
    'FLAIR'): itself when that is its modality, else its companion image of that name with every
    mask moved onto the companion's grid (the move, and the share of a mask outside its field of
    view, noted in the view's warnings and the case's, which a score or report carries).
    :class:`InputError` when the case has no such image, :class:`GeometryError` when a mask lies
    mostly outside it, :class:`MaskError` when a mask covers no voxel of it by half. Made once
    per case object."""
    modality = modality.upper()
    if case.modality.upper() == modality:
        return case
    views = case.__dict__.setdefault("_modality_views", {})
    if modality not in views:
        views[modality] = _view(case, modality)
        case.warnings.extend(n for n in views[modality].warnings if n not in case.warnings)
    return views[modality]


def _outside_field(image: sitk.Image, mask: sitk.Image) -> tuple[sitk.Image, float]:
    """``mask`` without its voxels whose centres lie outside ``image``'s field of view (in the
    same frame of reference, on any grid), and the share of its non-zero voxels those were."""
    array = sitk.GetArrayViewFromImage(mask)  # copied only when voxels lie outside
    where = np.argwhere(array)  # z, y, x
    if not len(where):
        return mask, 0.0

    def to_world(volume: sitk.Image) -> np.ndarray:  # voxel index (x, y, z) to mm
        return np.asarray(volume.GetDirection()).reshape(3, 3) * np.asarray(volume.GetSpacing())

    points = where[:, ::-1] @ to_world(mask).T + mask.GetOrigin()
    index = np.linalg.solve(to_world(image), (points - image.GetOrigin()).T).T
    beyond = ((index < -0.5) | (index > np.asarray(image.GetSize()) - 0.5)).any(axis=1)
    if not beyond.any():
        return mask, 0.0
    array = array.copy()
    array[tuple(where[beyond].T)] = 0
    inside = sitk.GetImageFromArray(array)
    inside.CopyInformation(mask)
    return inside, float(beyond.mean())


def _view(case: Case, modality: str) -> Case:
    image = case.companions.get(modality)
    if image is None:
        held = ", ".join(sorted(case.companions)) or "none"
        raise InputError(
            f"Case {case.case_id} has no {modality} image beside its {case.modality} (other "
            f"images: {held}), which its {modality} radiomics need (a PET/CT model reads both). "
            f"Give the {modality} with the case: a volume file named for it "
            f"('{modality}.nii.gz') beside its image in the case folder, or its DICOM series in "
            f"the {case.modality}'s frame of reference.{read_as_note(case, modality)}"
        )
    masks, notes, shares = {}, [], {}
    for role, whole in case.masks.items():
        mask, outside = _outside_field(image, whole)
        shares[role] = outside
        if outside > MAX_OUTSIDE_SHARE:
            raise GeometryError(
                f"Case {case.case_id}: the {role} mask lies mostly outside the {modality}'s field "
                f"of view ({outside:.1%} of it beyond the {modality}'s {extent_text(image)}). Give "
                f"the whole {modality} series (all its bed positions)."
            )
        if outside:
            notes.append(
                f"Case {case.case_id}: {outside:.1%} of the {role} mask lies outside the "
                f"{modality}'s field of view ({extent_text(image)}): its {modality} figures "
                f"(uptake, radiomics) are partial, of the {1 - outside:.1%} inside. Check that "
                f"the {modality} series is whole (all its bed positions)."
            )
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
    view = Case(
        case_id=case.case_id,
        image=image,
        masks=masks,
        clinical=case.clinical,
        modality=companion_modality(modality),
        source=case.source,
        warnings=notes,
        site=case.site,
        sequence=file_sequence(modality),
    )
    view.__dict__[_OUTSIDE] = shares
    return view


def share_outside(view: Case, role: str) -> float:
    """The share of ``role``'s mask that lay outside the image of ``view`` (a
    :func:`modality_view`), left out of the view's mask; 0 for a case's own image."""
    return view.__dict__.get(_OUTSIDE, {}).get(role, 0.0)


def _spacing(image: sitk.Image) -> str:
    return " x ".join(f"{s:g}" for s in image.GetSpacing())


def extent_text(image: sitk.Image) -> str:
    """The image's size in voxels and mm, for messages."""
    size = image.GetSize()
    mm = " x ".join(f"{n * s:.0f}" for n, s in zip(size, image.GetSpacing(), strict=True))
    return f"{' x '.join(map(str, size))} voxels, {mm} mm"
