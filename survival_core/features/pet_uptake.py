"""The PET uptake figures clinicians read first, for a PT case (voxels in SUVbw): SUVmax, SUVpeak,
SUVmean, metabolic tumour volume (MTV) and total lesion glycolysis (TLG) of a mask.

SUVpeak follows PERCIST 1.0 (Wahl et al., J Nucl Med 2009): the highest mean SUV in a sphere of
1 cm^3 (radius 6.2 mm) centred on a voxel of the lesion; the sphere is the voxels whose centres lie
within the radius, on the image's own spacing, and lies wholly inside the image (a sphere cut by
the field of view's edge would average its few hottest voxels). The MTV is the mask's volume (the contour is the
metabolic volume here: no threshold is applied), and TLG = SUVmean x MTV.
"""

from __future__ import annotations

import math

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from survival_core.case import Case
from survival_core.errors import GeometryError, InputError, MaskError
from survival_core.io.modality_view import modality_view, share_outside

#: Radius (mm) of the 1 cm^3 sphere of SUVpeak.
PEAK_RADIUS_MM = (3.0 / (4.0 * math.pi) * 1000.0) ** (1.0 / 3.0)


def peak_kernel(spacing: tuple[float, float, float]) -> np.ndarray:
    """(z, y, x) weights of the SUVpeak sphere on a grid of ``spacing`` (x, y, z mm), summing to 1."""
    reach = [math.ceil(PEAK_RADIUS_MM / s) for s in spacing[::-1]]
    grids = np.meshgrid(
        *(np.arange(-r, r + 1) * s for r, s in zip(reach, spacing[::-1], strict=True)),
        indexing="ij",
    )
    inside = sum(g**2 for g in grids) <= PEAK_RADIUS_MM**2
    return inside / inside.sum()


def gtv_uptake(case: Case) -> dict[str, float] | None:
    """:func:`pet_uptake` of the GTV of a PET case, or of a PET/CT case's PET (the GTV moved
    onto its grid, :func:`~survival_core.io.modality_view.modality_view`); None for any other
    case, or a GTV the PET does not show (mostly outside its field, or below its voxels), said
    in the case's warnings. Of a GTV partly outside the PET's field of view the figures are of
    the part inside, labelled with ``gtv_share_outside_fov`` (0..1; the warnings say it too)."""
    if "gtv" not in case.masks:
        return None
    if case.modality.upper() == "PT":
        return pet_uptake(case)
    if "PT" not in case.companions:
        return None
    try:
        view = modality_view(case, "PT")
        figures = pet_uptake(view)
    except (GeometryError, MaskError) as error:  # mostly outside the field, or below its voxels
        _note(case, f"No PET uptake figures of the GTV: {error}")
        return None
    for note in view.warnings:  # the view's notes of its figures (SUVpeak at the field's edge)
        _note(case, note)
    outside = share_outside(view, "gtv")
    return {**figures, "gtv_share_outside_fov": outside} if outside else figures


def _note(case: Case, note: str) -> None:
    """Add ``note`` to the case's warnings once."""
    if note not in case.warnings:
        case.warnings.append(note)


def _suv_peak(
    suv: np.ndarray, inside: np.ndarray, spacing: tuple[float, float, float]
) -> tuple[float, float]:
    """The highest mean of the SUVpeak spheres centred in ``inside`` (z, y, x) on a grid of
    ``spacing`` (x, y, z mm) that lie wholly inside the image (NaN when none does), and the
    highest of all, those cut by the image's edge averaging only the voxels inside it."""
    kernel = peak_kernel(spacing)
    margin = np.array(kernel.shape) // 2
    where = np.argwhere(inside)
    low = np.maximum(where.min(axis=0) - margin, 0)
    high = np.minimum(where.max(axis=0) + margin + 1, inside.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
    # the box holds each lesion voxel's whole sphere unless the image's edge cuts it
    covered = ndimage.convolve(np.ones(suv[box].shape), kernel, mode="constant")
    mean = ndimage.convolve(suv[box].astype(np.float64), kernel, mode="constant") / covered
    centres = inside[box]
    whole = centres & (covered > 1.0 - 1e-6)
    return float(mean[whole].max()) if whole.any() else math.nan, float(mean[centres].max())


def _peak_note(case: Case, role: str, peak: float, highest: float) -> str:
    """What the case's warnings say of a SUVpeak (:func:`_suv_peak`) where the image's edge cuts
    spheres that would give more, or all of them; "" otherwise."""
    edge = f"the {case.modality}'s field-of-view edge"
    if math.isnan(peak):
        return (
            f"SUVpeak of the {role} {highest:.2f}: every 1 cm^3 sphere centred in it is cut by "
            f"{edge}, so it averages only the voxels inside the image and may overstate the "
            "peak (PERCIST takes whole spheres)."
        )
    if highest <= peak:
        return ""
    return (
        f"SUVpeak of the {role} {peak:.2f}: of whole 1 cm^3 spheres (PERCIST); spheres cut by "
        f"{edge}, averaging only the voxels inside the image, reach {highest:.2f} and were not "
        "taken."
    )


def pet_uptake(case: Case, role: str = "gtv") -> dict[str, float]:
    """SUVmax, SUVpeak, SUVmean, MTV (mL) and TLG (SUV x mL) of the ``role`` mask of a PT case;
    a SUVpeak whose spheres the image's edge cuts is said in the case's warnings."""
    if case.modality.upper() != "PT":
        raise InputError(
            f"Case {case.case_id} is {case.modality}; SUV figures need a PET (PT) case."
        )
    if role not in case.masks:
        raise InputError(f"Case {case.case_id} has no {role} mask for its SUV figures.")
    suv, inside = sitk.GetArrayViewFromImage(case.image), case.mask_array(role)
    peak, highest = _suv_peak(suv, inside, case.spacing)
    note = _peak_note(case, role, peak, highest)
    if note:
        _note(case, note)
    lesion = suv[inside]
    mtv = case.mask_volume_ml(role)
    return {
        "suv_max": float(lesion.max()),
        "suv_peak": highest if math.isnan(peak) else peak,
        "suv_mean": float(lesion.mean()),
        "mtv_ml": float(mtv),
        "tlg": float(lesion.mean() * mtv),
    }
