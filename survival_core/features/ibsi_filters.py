"""IBSI chapter 2, phase 1: RadSurv's image filters against the reference response maps.

The phase 1 digital phantoms (64^3 voxels of 2 mm: checkerboard, impulse, sphere...) are filtered by
:func:`survival_core.features.radiomics.filtered_images`, the function feature extraction uses, with
:class:`Filters` set as each test case says, and compared voxel by voxel inside the phantom's mask
with the reference map of the case. A map matches when its largest absolute difference is at most
:data:`RELATIVE_TOLERANCE` times the largest absolute reference response.

RadSurv offers 3D filters: the mean filter (scipy), the Laplacian of Gaussian (pyradiomics' recursive
one by default, or IBSI's sampled kernel) and first-level separable wavelets (pyradiomics, through
PyWavelets). Cases of 2D filters, Laws and Gabor kernels, rotation-invariant pooling, second-level
wavelets and Simoncelli wavelets have no counterpart (:data:`NOT_OFFERED` says which and why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.errors import InputError
from survival_core.features.radiomics import Region, filtered_images
from survival_core.features.settings import Filters
from survival_core.io.volume import read_mask, read_volume

PHANTOM_DIR = Path("ibsi2") / "ibsi_2_digital_phantom"
MAPS_DIR = Path("ibsi2") / "ibsi_2_reference_response_maps"
#: Largest absolute difference allowed, as a share of the largest absolute reference response.
RELATIVE_TOLERANCE = 1e-3

MATCHED, DEVIATES, UNEXPLAINED = "matched", "documented deviation", "unexplained"


@dataclass(frozen=True)
class FilterCase:
    """An IBSI 2 phase 1 test case as RadSurv runs it: ``case`` id (e.g. "2A"), ``phantom``, what
    the filter is, the IBSI boundary condition, our :class:`Filters`, the filtered image to take,
    and for a known deviation its ``reason`` and ``convert`` (our map on the IBSI definition)."""

    case: str
    phantom: str
    filter: str
    boundary: str
    filters: Filters
    image_type: str
    reason: str = ""
    convert: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def name(self) -> str:
        """The case with RadSurv's implementation, e.g. "2A (sampled LoG)"."""
        kernel = self.filters.log_kernel if self.filters.log_sigmas_mm else ""
        return f"{self.case} ({kernel} LoG)" if kernel else self.case


def _recursive_log(
    case: str, phantom: str, sigma_mm: float, boundary: str, residual: str
) -> FilterCase:
    sigma_voxels = sigma_mm / 2.0
    return FilterCase(
        case,
        phantom,
        f"LoG, sigma {sigma_mm:g} mm, 3D",
        boundary,
        Filters(log_sigmas_mm=(sigma_mm,)),
        f"log{sigma_mm:g}mm",
        reason=(
            "pyradiomics' LoG (SimpleITK's recursive Gaussian) is scale-normalised: it is sigma^2 "
            f"(sigma in voxels: {sigma_voxels**2:g}) times IBSI's; divided by it, the recursive "
            f"approximation of the Gaussian and ITK's border handling leave {residual} of the "
            "reference peak (use log_kernel='sampled' for IBSI's kernel)"
        ),
        convert=lambda values: values / sigma_voxels**2,
    )


def _sampled_log(case: str, phantom: str, sigma_mm: float, boundary: str) -> FilterCase:
    return FilterCase(
        case,
        phantom,
        f"LoG, sigma {sigma_mm:g} mm, 3D",
        boundary,
        Filters(log_sigmas_mm=(sigma_mm,), log_kernel="sampled", boundary=boundary),
        f"log{sigma_mm:g}mm",
    )


def _mean(case: str, boundary: str) -> FilterCase:
    return FilterCase(
        case,
        "checkerboard",
        "mean, 15 voxels, 3D",
        boundary,
        Filters(mean_sizes=(15,), boundary=boundary),
        "mean15",
    )


#: The phase 1 cases RadSurv's filters compute, in the order of the IBSI 2 tables.
CASES: tuple[FilterCase, ...] = (
    _mean("1A1", "zero"),
    _mean("1A2", "nearest"),
    _mean("1A3", "periodic"),
    _mean("1A4", "mirror"),
    _sampled_log("2A", "impulse", 3.0, "zero"),
    _recursive_log("2A", "impulse", 3.0, "zero", "1.4 %"),
    _sampled_log("2B", "checkerboard", 5.0, "mirror"),
    _recursive_log("2B", "checkerboard", 5.0, "mirror", "1.8 %"),
    # PyWavelets' stationary transform is periodic; the impulse's response (4-tap db2) stays far
    # from the border, so zero padding and periodic give the same map
    FilterCase(
        "5A1", "impulse", "Daubechies 2, LHL, level 1, 3D", "zero", Filters(wavelet="db2"),
        "waveletLHL",
    ),
    FilterCase(
        "6A1", "sphere", "Coiflet 1, HHL, level 1, 3D", "periodic", Filters(wavelet="coif1"),
        "waveletHHL",
    ),
)  # fmt: skip

#: Phase 1 cases without a RadSurv counterpart -> why.
NOT_OFFERED: dict[str, str] = {
    "1B1": "2D (per-slice) mean filter: RadSurv's filters are 3D",
    "2C": "2D (per-slice) LoG: RadSurv's filters are 3D",
    **{
        case: "Laws kernels: no kept library provides them (scipy only convolves)"
        for case in ("3A1", "3A2", "3A3", "3B1", "3B2", "3B3", "3C1", "3C2", "3C3")
    },
    **{
        case: "Gabor filter: not offered (IBSI's is an in-plane filter with an unnormalised "
        "kernel; scikit-image's 2D kernel is divided by 2 pi sigma_x sigma_y; 4A2 and 4B2 also "
        "pool over rotations)"
        for case in ("4A1", "4A2", "4B1", "4B2")
    },
    "5A2": "rotation-invariant (24 rotations averaged) wavelet: not offered",
    "6A2": "rotation-invariant (24 rotations averaged) wavelet: not offered",
    "7A1": "level-2 rotation-invariant Haar wavelet: RadSurv offers first-level wavelets",
    "7A2": "level-2 rotation-invariant Haar wavelet: RadSurv offers first-level wavelets",
    "8A1": "Simoncelli (non-separable) wavelet: not offered",
    "8A2": "Simoncelli (non-separable) wavelet: not offered",
    "8A3": "Simoncelli (non-separable) wavelet: not offered",
}


def reference_map(shared_data: Path, case: str) -> np.ndarray:
    """The reference response map (z, y, x) of ``case`` (e.g. "1A1"); InputError when absent."""
    found = sorted((shared_data / MAPS_DIR).glob(f"id_*_CT_{case}_*.nii.gz"))
    if len(found) != 1:
        raise InputError(
            f"Expected one IBSI 2 reference map of case {case} under {shared_data / MAPS_DIR}; "
            f"found {len(found)}."
        )
    return sitk.GetArrayFromImage(read_volume(found[0])).astype(np.float64)


def phantom(shared_data: Path, name: str) -> tuple[sitk.Image, np.ndarray]:
    """(image, mask as bool (z, y, x)) of an IBSI 2 phase 1 phantom; InputError when absent."""
    folder = shared_data / PHANTOM_DIR / name
    images = sorted((folder / "image").glob("*.nii.gz"))
    if len(images) != 1:
        raise InputError(f"Expected one image of the IBSI 2 {name} phantom under {folder}.")
    image = read_volume(images[0])
    mask = read_mask(folder / "mask" / "mask.nii.gz", image, name=f"{name} phantom mask")
    return image, sitk.GetArrayFromImage(mask).astype(bool)


def response(image: sitk.Image, mask: np.ndarray, case: FilterCase) -> np.ndarray:
    """RadSurv's response map (z, y, x) of ``case`` on ``image``: the whole phantom as the region."""
    values = sitk.GetArrayFromImage(image)
    region = Region(values, {"phantom": mask}, tuple(image.GetSpacing()), {"phantom": mask})
    return dict(filtered_images(region, case.filters))[case.image_type].astype(np.float64)


@dataclass(frozen=True)
class FilterComparison:
    """One case's map against the reference inside the mask: the largest absolute difference, as
    a share of the largest absolute reference response (``relative``), and after the conversion of
    a documented deviation (``converted``)."""

    case: FilterCase
    max_difference: float
    relative: float
    status: str
    converted: float | None = None


def compare_case(shared_data: Path, case: FilterCase) -> FilterComparison:
    """``case`` computed by RadSurv and compared with its reference map."""
    image, mask = phantom(shared_data, case.phantom)
    ours, reference = response(image, mask, case), reference_map(shared_data, case.case)
    peak = float(np.abs(reference[mask]).max())
    difference = float(np.abs(ours - reference)[mask].max())
    relative = difference / peak
    status, converted = MATCHED, None
    if relative > RELATIVE_TOLERANCE:
        status = DEVIATES if case.reason else UNEXPLAINED
        if case.convert is not None:
            converted = float(np.abs(case.convert(ours) - reference)[mask].max()) / peak
    return FilterComparison(case, difference, relative, status, converted)
