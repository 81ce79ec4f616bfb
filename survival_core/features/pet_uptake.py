"""The PET uptake figures clinicians read first, for a PT case (voxels in SUVbw): SUVmax, SUVpeak,
SUVmean, metabolic tumour volume (MTV) and total lesion glycolysis (TLG) of a mask.

SUVpeak follows PERCIST 1.0 (Wahl et al., J Nucl Med 2009): the highest mean SUV in a sphere of
1 cm^3 (radius 6.2 mm) centred on a voxel of the lesion; the sphere is the voxels whose centres lie
within the radius, on the image's own spacing. The MTV is the mask's volume (the contour is the
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
        note = f"No PET uptake figures of the GTV: {error}"
        if note not in case.warnings:
            case.warnings.append(note)
        return None
    outside = share_outside(view, "gtv")
    return {**figures, "gtv_share_outside_fov": outside} if outside else figures


def pet_uptake(case: Case, role: str = "gtv") -> dict[str, float]:
    """SUVmax, SUVpeak, SUVmean, MTV (mL) and TLG (SUV x mL) of the ``role`` mask of a PT case."""
    if case.modality.upper() != "PT":
        raise InputError(
            f"Case {case.case_id} is {case.modality}; SUV figures need a PET (PT) case."
        )
    if role not in case.masks:
        raise InputError(f"Case {case.case_id} has no {role} mask for its SUV figures.")
    suv = sitk.GetArrayViewFromImage(case.image)
    inside = case.mask_array(role)
    kernel = peak_kernel(case.spacing)
    margin = np.array(kernel.shape) // 2
    where = np.argwhere(inside)
    low = np.maximum(where.min(axis=0) - margin, 0)
    high = np.minimum(where.max(axis=0) + margin + 1, inside.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high, strict=True))
    # the sphere's mean over the image's voxels only: at the border it averages what exists
    values, present = suv[box].astype(np.float64), np.ones(suv[box].shape)
    mean = ndimage.convolve(values, kernel, mode="constant") / ndimage.convolve(
        present, kernel, mode="constant"
    )
    lesion = suv[inside]
    mtv = case.mask_volume_ml(role)
    return {
        "suv_max": float(lesion.max()),
        "suv_peak": float(mean[inside[box]].max()),
        "suv_mean": float(lesion.mean()),
        "mtv_ml": float(mtv),
        "tlg": float(lesion.mean() * mtv),
    }
