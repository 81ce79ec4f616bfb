"""Fill a case's roles (``gtv``, ``organ``) from its rasterised structures.

Names say what may fill a role (:mod:`survival_core.io.structures`); the masks settle what names
cannot: several GTV structures are united, Lung-Left and Lung-Right make one lung, and an organ
contour is taken only when it surrounds the tumour (the GTV's centre lies in the organ's box), so
the brain contoured as an organ at risk of a head-and-neck plan, or the kidneys of a liver plan, are
never taken for the organ that hosts the tumour.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from survival_core.errors import RTStructError
from survival_core.io.label_maps import label_reference, labels_by_shared_file
from survival_core.io.mask_geometry import FACES, TOUCHING, drawn_as_one, shell_share, voxels
from survival_core.io.structures import (
    SITE_ORGANS,
    WHERE_TO_SAY,
    alternative_gtvs,
    chosen_gtv_caution,
    gtvs_left_out,
    nodes_alone_note,
    not_united,
    role_candidates,
    say_which,
    structure_key,
    why_not_the_gtv,
)
from survival_core.io.volume import is_volume_file, nonzero_box


@dataclass
class RoleAssignment:
    """The role masks of a case, the site they imply and what a reader should know."""

    masks: dict[str, sitk.Image]
    site: str | None
    names: dict[str, list[str]]
    warnings: list[str] = field(default_factory=list)


def unite(masks: list[sitk.Image]) -> sitk.Image:
    """The voxel-wise union of masks on one grid, uint8 0/1: one 0/1 mask is itself (a copy
    kept each structure of a 512 x 512 x 900 CT twice, in the case's structures and masks)."""
    if len(masks) == 1 and masks[0].GetPixelID() == sitk.sitkUInt8 and voxels(masks[0]).max() <= 1:
        return masks[0]
    union = np.zeros(voxels(masks[0]).shape, dtype=bool)
    for mask in masks:
        union |= voxels(mask).astype(bool)
    out = sitk.GetImageFromArray(union.astype(np.uint8))
    out.CopyInformation(masks[0])
    return out


def surrounds(organ: sitk.Image, gtv: sitk.Image) -> bool:
    """Whether the organ may host the GTV: the GTV's centre of mass lies inside the organ's
    bounding box, and the GTV overlaps or touches the organ. A GTV a voxel or more away all
    round, inside the box of a curved organ (a kidney's or an adrenal tumour beside the liver),
    was taken as the liver's: the liver minus the tumour was then the whole liver."""
    organ_voxels, gtv_voxels = voxels(organ), voxels(gtv)
    if not organ_voxels.any() or not gtv_voxels.any():
        return False
    centre = np.argwhere(gtv_voxels).mean(axis=0)
    box = nonzero_box(organ_voxels)
    inside = all(b.start - 0.5 <= c <= b.stop - 0.5 for b, c in zip(box, centre, strict=True))
    if not inside:
        return False
    shared, share = _around(organ, gtv, TOUCHING)
    return shared or share > 0


def _unheld_label(name: str, names: list[str]) -> bool:
    """Whether ``name`` is a label ('seg.nii.gz:1') of a label map the case holds other labels
    of ('seg.nii.gz:2', or 'seg.nii.gz' itself: a binary mask, label 1): a label some patients'
    maps lack (HECKTOR's nodes, 'label.nii.gz:2', of a patient with none), not a wrong name."""
    reference = label_reference(name)
    if reference is None:
        return False
    file = reference[0]
    return any(n.startswith(file + ":") or (n == file and is_volume_file(n)) for n in names)


def _one_label(name: str, structures: Mapping[str, sitk.Image]) -> str:
    """``name`` as the case holds it: 'label.nii.gz:1' of a binary mask file is the structure
    named after the file ('label.nii.gz'; only a binary mask is named so, a file of label 2
    alone is 'label.nii.gz:2'), the form a ROI map gives for every patient of a dataset whose
    label maps hold one label or several."""
    file, colon, label = name.rpartition(":")
    if name not in structures and colon and label == "1" and file in structures:
        return file
    return name


def outside_share(organ: sitk.Image, gtv: sitk.Image) -> float:
    """The share (0-1) of the GTV's voxels outside the organ mask (same grid), on the GTV's box."""
    box = nonzero_box(voxels(gtv))
    inside = voxels(gtv)[box].astype(bool)
    return float(np.mean(~voxels(organ)[box].astype(bool)[inside])) if inside.any() else 0.0


#: Shares of the GTV's voxels outside its organ above which organ-minus-GTV features are refused
#: (most of the tumour is not in that organ: another organ, or a GTV shifted or drawn on another
#: scan, whose real tumour then lies in the "parenchyma") or warned of (more than contours drawn
#: apart at the edge leave out, e.g. a tumour growing out of its organ).
OUTSIDE_REFUSED, OUTSIDE_WARNED = 0.5, 0.1


def gtv_outside_organ(organ: sitk.Image, gtv: sitk.Image, site: str | None) -> str | None:
    """What a reader should know of a GTV lying partly outside its organ contour (more than
    :data:`OUTSIDE_WARNED`), else None: the organ-minus-GTV tissue then misses that part."""
    share = outside_share(organ, gtv)
    if share <= OUTSIDE_WARNED:
        return None
    return (
        f"{share:.0%} of the GTV lies outside the {site or 'organ'} contour: the tumour grows out "
        f"of the {site or 'organ'}, or a contour is shifted or drawn on another scan. Features of "
        f"the {site or 'organ'} minus the GTV (wei2021's organ_minus_gtv ROI), where a model "
        "reads them, "
        + (
            "leave that part out (refused beyond half)."
            if share <= OUTSIDE_REFUSED
            else "are refused."
        )
    )


#: Why an organ named for the site is set aside (said in warnings and in a refusal).
NOT_HOSTING = "does not surround the GTV (the GTV lies outside its extent, or they do not touch)"


def organs_set_aside(warnings: Sequence[str]) -> list[str]:
    """The ``warnings`` saying a structure named for the organ was set aside (:data:`NOT_HOSTING`),
    which a refusal for want of an organ repeats."""
    return [w for w in warnings if NOT_HOSTING in w]


def _missing(
    role: str, names: list[str], site: str | None, why: Sequence[str] = ()
) -> RTStructError:
    """The refusal of a required ``role`` no structure fills, with ``why`` (the warnings that
    set a structure named for it aside: an organ not surrounding the GTV)."""
    listed = ", ".join(map(repr, names)) or "none"
    reasons = "".join(f" {w}" for w in why)
    if role == "gtv":
        aside = [f"{n!r} ({why})" for n in names if (why := why_not_the_gtv(structure_key(n)))]
        return RTStructError(
            f"No structure is recognised as the GTV (tumour) (structures found: {listed}). "
            + (f"Set aside: {'; '.join(aside)}. " if aside else "")
            + say_which(names)
        )
    return RTStructError(
        f"No structure is recognised as the organ hosting the tumour ({_organ_names(site)}; "
        f"structures found: {listed}). Features of the organ (the extraction's organ or "
        "organ_minus_gtv ROI: wei2021's, or --roi) need its contour: say which structure is the "
        f"organ, or extract features of the GTV alone (han2020, full without --roi).{reasons}"
    )


def _organ_names(site: str | None) -> str:
    """What would name the organ of ``site``: its organ names, or that it has none (a
    sarcoma's or a head-and-neck tumour's host is no organ contoured by convention)."""
    if site in SITE_ORGANS:
        return f"the {site}: {', '.join(sorted(SITE_ORGANS[site]))}"
    if site:
        return f"none is contoured by convention for a {site.replace('_', ' ')} case"
    return f"the organ of a site: {', '.join(SITE_ORGANS)}"


def _refuse_labels_of_one_file(names: list[str]) -> None:
    """Refuse a GTV found by name among several labels of one label map ('gtv.nii.gz:1',
    'gtv.nii.gz:2'): the file's name says a tumour is in it, not which label is the tumour
    (LiTS's 1 is the liver, HECKTOR's 2 the nodes), and their union would be taken silently."""
    shared = next(iter(labels_by_shared_file(names).items()), None)
    if shared is not None:
        file, labels = shared
        raise RTStructError(
            f"{file} holds {len(labels)} labels ({', '.join(map(repr, labels))}): its name "
            "does not say which is the GTV (a tumour and its organ, or a primary and its "
            f"nodes). Say which label is the GTV (e.g. {labels[-1]!r}; several for their "
            f"union) {WHERE_TO_SAY}: {json.dumps({'gtv': [labels[-1]]})}."
        )


def _other_sites_organs(
    structures: Mapping[str, sitk.Image], by_key: Mapping[str, str], gtv: sitk.Image, site: str
) -> list[str]:
    """A warning for each organ of another site than the given ``site`` that surrounds the GTV:
    a liver case read as a lung one dropped its liver contour without a word."""
    warnings = []
    for other, keys in sorted(role_candidates(list(by_key)).organs.items()):
        if other != site and surrounds(unite([structures[by_key[k]] for k in keys]), gtv):
            listed = ", ".join(repr(by_key[k]) for k in keys)
            warnings.append(
                f"{listed} looks like the {other} and surrounds the GTV, but the case's site was "
                f"given as {site.replace('_', ' ')}: it is not taken as the organ hosting the "
                f"tumour. If this is a {other} case, say so (the Case page's cancer site, "
                f"--site {other})."
            )
    return warnings


def assign_roles(
    structures: Mapping[str, sitk.Image],
    explicit: Mapping[str, list[str]],
    require: tuple[str, ...],
    site: str | None = None,
) -> RoleAssignment:
    """Role masks from ``structures`` (name -> mask on the image grid).

    ``explicit`` (role -> names) is taken as given (no names: the case has none; a GTV the
    rules never take for one, a 'PTV', with a warning); the other roles
    are matched by name. An organ
    found by name but not surrounding the GTV is left out with a warning; organs of several sites
    that all surround it are ambiguous. A ``require``d role left empty raises :class:`RTStructError`.
    """
    names = list(structures)
    chosen: dict[str, list[str]] = {
        role: [_one_label(n, structures) for n in v] for role, v in explicit.items()
    }
    warnings: list[str] = []
    for role, listed in chosen.items():
        absent = [n for n in listed if n not in structures]
        unheld = [n for n in absent if _unheld_label(n, names)]
        if len(absent) > len(unheld) or (listed and len(unheld) == len(listed)):
            raise RTStructError(
                f"No structure named {', '.join(map(repr, absent))} for the {role}; the case has "
                f"{', '.join(map(repr, names)) or 'none'}."
            )
        if unheld:  # BraTS cases without necrosis: the labels the map holds make the role
            chosen[role] = [n for n in listed if n in structures]
            warnings.append(
                f"The label map holds no {', '.join(map(repr, unheld))}, listed for the {role}: "
                f"it is {', '.join(map(repr, chosen[role]))}."
            )
    warnings += filter(None, map(chosen_gtv_caution, chosen.get("gtv", [])))
    taken = {n for listed in chosen.values() for n in listed}
    free = [n for n in names if n not in taken]
    by_key = {structure_key(n): n for n in free}
    found = role_candidates(list(by_key), site)
    if "gtv" not in chosen and found.gtv:
        chosen["gtv"] = [by_key[k] for k in found.gtv]
        _refuse_labels_of_one_file(chosen["gtv"])
        warnings += gtvs_left_out(free, chosen["gtv"])
        warnings += filter(None, [nodes_alone_note(chosen["gtv"])])
        if alternative := alternative_gtvs(found.gtv, list(by_key)):
            shown = [by_key[k] for k in alternative]
            raise RTStructError(
                f"{not_united(shown)}. Say which structure is the GTV ({WHERE_TO_SAY})."
            )
        if len(found.gtv) > 1:
            _refuse_one_tumour_twice(chosen["gtv"], structures)
            warnings.append(f"The GTV is the union of {', '.join(map(repr, chosen['gtv']))}.")
    masks = {
        role: unite([structures[n] for n in listed]) for role, listed in chosen.items() if listed
    }
    case_site = site
    if "organ" not in chosen and found.organs:
        organs = {
            s: unite([structures[by_key[k]] for k in keys]) for s, keys in found.organs.items()
        }
        if "gtv" in masks:
            hosting = [s for s, mask in organs.items() if surrounds(mask, masks["gtv"])]
            for other in sorted(set(organs) - set(hosting)):
                listed = ", ".join(repr(by_key[k]) for k in found.organs[other])
                warnings.append(
                    f"{listed} looks like the {other} but {NOT_HOSTING}; it is not taken as "
                    "the organ hosting the tumour."
                )
        else:
            hosting = list(organs)
        if len(hosting) > 1:
            listed = "; ".join(
                f"{s}: {', '.join(repr(by_key[k]) for k in found.organs[s])}" for s in hosting
            )
            raise RTStructError(
                f"Several organs could host the tumour ({listed}). Say which structure is the "
                f"organ ({WHERE_TO_SAY})."
            )
        if hosting:
            case_site = case_site or hosting[0]
            chosen["organ"] = [by_key[k] for k in found.organs[hosting[0]]]
            masks["organ"] = organs[hosting[0]]
    elif chosen.get("organ") and case_site is None:
        keys = [structure_key(n) for n in chosen["organ"]]
        sites = {s for s in role_candidates(keys).organs}
        case_site = next(iter(sites)) if len(sites) == 1 else None
    if site and "organ" not in chosen and "gtv" in masks:  # the given site's organ or none
        warnings += _other_sites_organs(structures, by_key, masks["gtv"], site)
    for role in require:
        if role not in masks:
            raise _missing(role, names, case_site, organs_set_aside(warnings))
    if "organ" in masks and "gtv" in masks and _drawn_around(masks["organ"], masks["gtv"]):
        masks["organ"] = unite([masks["organ"], masks["gtv"]])
        warnings.append(
            f"The {case_site or 'organ'} contour ({', '.join(map(repr, chosen['organ']))}) "
            "leaves out the tumour (segments stored without overlap, or a label of the organ "
            "without the tumour); the GTV was added to it, as the organ includes its tumour."
        )
    if "organ" in masks and "gtv" in masks:
        warnings += filter(None, [gtv_outside_organ(masks["organ"], masks["gtv"], case_site)])
    return RoleAssignment(masks, case_site, chosen, warnings)


#: Share of the voxels just outside the GTV that must be organ for an organ sharing no voxel
#: with it to count as drawn around it.
AROUND_SHARE = 0.5


def _drawn_around(organ: sitk.Image, gtv: sitk.Image) -> bool:
    """Whether the organ shares no voxel with the GTV yet encloses it (at least
    :data:`AROUND_SHARE` of the GTV's one-voxel shell is organ): drawn around the tumour (a
    segmentation whose segments may not overlap), not a neighbouring organ (the lungs beside a
    mediastinal node)."""
    if not voxels(gtv).any():
        return False
    shared, share = _around(organ, gtv, FACES)
    return not shared and share >= AROUND_SHARE


def _around(organ: sitk.Image, gtv: sitk.Image, connectivity: int) -> tuple[bool, float]:
    """(whether the organ shares a voxel with the GTV; else the share of the GTV's one-voxel
    shell of ``connectivity`` that is organ), on the GTV's box alone (no copy of the scan)."""
    box = nonzero_box(voxels(gtv), margin=1)  # the GTV and its shell
    organ_voxels, gtv_voxels = voxels(organ)[box].astype(bool), voxels(gtv)[box].astype(bool)
    if (organ_voxels & gtv_voxels).any():
        return True, 1.0  # the common case: no dilation
    return False, shell_share(gtv_voxels, organ_voxels, connectivity)


def _refuse_one_tumour_twice(names: Sequence[str], structures: Mapping[str, sitk.Image]) -> None:
    """Refuse GTV-like structures found by name that overlap or wrap one another: another drawing
    of the tumour ('GTV_edit', 'GTV_reader2') or its rim ('GTV_Rim' around 'GTV') whatever the
    name, which their union turned into a tumour larger than any drawn. Lesions apart, or
    touching, are united."""
    if why := drawn_as_one(names, structures):
        raise RTStructError(
            f"{why}. Say which structure is the GTV ({WHERE_TO_SAY}): structures named there are "
            "taken as given, so name the one drawing of the tumour to use."
        )
