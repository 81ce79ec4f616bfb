"""Whether an image's values are on the scale its modality promises (CT in HU, PET in SUV).

Volume files carry no unit, and a converter that drops DICOM's RescaleIntercept (or a DICOM
export without one) stores CT with air at 0 and water at 1024 instead of -1000 and 0; a PET
volume may hold activity concentration (Bq/ml) or counts instead of SUVbw; an image may have
been normalised to 0-1 by a previous pipeline. Every model, HU window and quantiser downstream
assumes the promised scale and would give a confident, wrong answer, so the case says what it
sees. Thresholds are wide: any real HU CT has fat or air below -50 HU (the real scans in
../shared/data, even one cropped 5 cm around a thigh sarcoma, reach -1000), and a whole
volume's 99th percentile SUV stays below 100 where Bq/ml tissue is in the thousands. A CT with
no negative value at all is an MR or PET given as CT (volume files carry no modality); one with
much below -1100 HU had its intercept applied twice, unless its DICOM header declares pixel
padding there that images compressed with loss keep as values: then they are likely that padding.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from survival_core.errors import MaskError
from survival_core.io.rtstruct import OUTSIDE_TOLERANCE

#: At most this many voxels are looked at (an even sample of the volume).
_SAMPLE = 1_000_000
#: A CT's 99th percentile above this is not Hounsfield units (cortical bone is ~2000 HU).
_HIGHEST_HU = 4000
#: Nothing in a scan lies below this in HU (air is -1000; the real and synthetic scans here have
#: none below it but their padding) ...
_LOWEST_HU = -1100
#: ... so more than this share of a CT's values there (its padding, the lowest value, aside)
#: means another scale: the intercept applied twice (air at -2024, soft tissue near -1000).
_BELOW_AIR_SHARE = 0.02
#: Stored values of soft tissue and water without the intercept (1024 +- 100): a share of the
#: scan this large there, and nothing below -50, is a CT without its intercept even where lungs
#: keep the median low (a chest CT's stored median is about 150).
_STORED_WATER = (924, 1124)
_STORED_WATER_SHARE = 0.1


def scale_warnings(
    image: sitk.Image, modality: str, kept_padding: tuple[float, float] | None = None
) -> list[str]:
    """What looks wrong with ``image``'s values for ``modality`` (CT: HU, PT: SUVbw); [] when
    they look right or the modality has no absolute scale (MR). ``kept_padding``: the values
    (lowest, highest) of the pixel padding a DICOM series declares and keeps as image values
    (:attr:`~survival_core.io.dicom_series.SeriesInfo.kept_padding`), whose values beyond
    tissue's are named as that padding, not as a wrong scale."""
    values = sitk.GetArrayViewFromImage(image).ravel()
    values = values[:: max(1, values.size // _SAMPLE)]
    low, median, high = np.percentile(values, (1, 50, 99)).tolist()
    modality = modality.upper()
    if modality == "CT" and high - low < 50:
        return [
            f"This CT's values span only {low:.3g} to {high:.3g}: not Hounsfield units (a "
            "normalised or masked image?); HU windows and the models' features assume HU."
        ]
    if modality == "CT" and high > _HIGHEST_HU:
        if kept_padding is not None and kept_padding[1] > _HIGHEST_HU:
            return [_padding_kept(kept_padding, f"its 99th percentile is {high:.0f}")]
        return [
            f"This CT's 99th percentile is {high:.0f}: no tissue is that dense in Hounsfield "
            "units (bone reaches about 2000, and metal covers far less than 1 % of a scan). "
            "Signed values read as unsigned (a wrong PixelRepresentation) or a wrong rescale? "
            "Check the export before using it."
        ]
    stored = modality == "CT" and low >= -50  # no air or fat: stored values, or not a CT
    lowest, highest = _STORED_WATER
    water = float(np.mean((values >= lowest) & (values <= highest))) if stored else 0.0
    if stored and (median >= 800 or water >= _STORED_WATER_SHARE):
        return [
            f"This CT has no value below {low:.0f}, a median of {median:.0f} and {water:.0%} of "
            "its values near 1024: it looks like stored values without the rescale intercept "
            "(air near 0, water near 1000-1024), not Hounsfield units; convert from DICOM again "
            "with its RescaleIntercept (-1024 on most scanners) before using it (or, if it is an "
            "MR or PET volume, say which it is)."
        ]
    if modality == "CT" and low >= 0:
        return [
            f"This CT has no value below {low:.0f}: a CT of a body holds air and fat (below "
            "-50 HU), and even water's noise falls below 0 HU, so these are not Hounsfield "
            "units. An MR or PET volume read as CT (volume files carry no modality: say which "
            "it is)?"
        ]
    below = _below_air(values) if modality == "CT" else 0.0
    if below > _BELOW_AIR_SHARE:
        if kept_padding is not None and kept_padding[0] < _LOWEST_HU:
            seen = f"{below:.0%} of its values lie below {_LOWEST_HU} HU (1st percentile {low:.0f})"
            return [_padding_kept(kept_padding, seen)]
        return [
            f"{below:.0%} of this CT's values (its padding aside) lie below {_LOWEST_HU} HU, "
            f"where neither tissue nor air lies (air is -1000; 1st percentile here {low:.0f}): "
            "the rescale intercept looks applied twice (air near -2024, soft tissue near -1000), "
            "as a conversion that stored Hounsfield units but kept the header's intercept leaves "
            "it. Every HU window and feature would be 1024 HU off: convert from DICOM again."
        ]
    if modality == "PT" and high > 100:
        return [
            f"This PET's 99th percentile is {high:.0f}: it looks like activity concentration "
            "(Bq/ml) or counts, not SUVbw (body tissue near 1). A volume file must hold SUVbw "
            "(or upload the DICOM series, whose SUV RadSurv computes); of a DICOM series, check "
            "its PatientWeight, injected dose and injection time, from which the SUV is computed."
        ]
    return []


def _padding_kept(padding: tuple[float, float], seen: str) -> str:
    """The warning of a CT whose values beyond tissue's (``seen``) are likely the pixel padding
    its header declares at ``padding`` (HU), kept as values by images compressed with loss."""
    low, high = padding
    at = f"{low:g} HU" if low == high else f"{low:g} to {high:g} HU"
    return (
        f"This CT's header declares pixel padding (outside the scanner's reconstruction circle) "
        f"at {at}, which its images, compressed with loss, no longer hold exactly, so it is kept "
        f"as values: {seen}, likely that padding rather than a wrong rescale. A structure "
        "reaching it reads it as tissue: check none does, or export the series uncompressed (or "
        "losslessly compressed), where its padding holds no value."
    )


def in_suv(image: sitk.Image, modality: str | None) -> bool:
    """Whether ``image`` reads as SUVbw: a PT image (the loader converts a DICOM PET to SUVbw and
    refuses one it cannot convert; a PT volume file must hold SUVbw) whose values pass the check
    of :func:`scale_warnings`, so SUV windows apply; a PET in Bq/ml or counts does not."""
    return (modality or "").strip().upper() == "PT" and not scale_warnings(image, "PT")


def _below_air(values: np.ndarray) -> float:
    """The share of ``values``, the lowest one (padding) aside, below :data:`_LOWEST_HU`."""
    scanned = values[values > values.min()]
    return float(np.mean(scanned < _LOWEST_HU)) if scanned.size else 0.0


def fill_missing_values(
    image: sitk.Image, masks: Mapping[str, sitk.Image], what: str = "image"
) -> tuple[sitk.Image, dict[str, sitk.Image], list[str]]:
    """``image`` with its voxels that hold no value (NaN or infinite: a registered or resampled
    image's 'no data', a DICOM series' pixel padding outside the scanner's field of view) set to
    its lowest value, as background, ``masks`` (on the image's grid) without them, and notes.
    A structure they cover beyond a sliver is refused (:func:`_check_covered`), as one reaching
    outside a cropped image is: its features would describe the part with values only, and left
    as NaN they spread through resampling into a tumour near them, or read as a value (padding
    at -3024 HU) changed its features without a word."""
    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind in "iub" or np.isfinite(np.sum(values, dtype=np.float64)):
        return image, dict(masks), []  # told in one pass, without a mask of the whole volume
    missing = ~np.isfinite(values)
    total = int(np.count_nonzero(missing))
    if not total:  # finite values whose sum overflowed
        return image, dict(masks), []
    notes: list[str] = []
    kept = {role: _check_covered(what, role, mask, missing, notes) for role, mask in masks.items()}
    lowest = float(values[~missing].min()) if total < values.size else 0.0
    filled = sitk.GetImageFromArray(np.where(missing, lowest, values).astype(np.float32))
    filled.CopyInformation(image)
    where = "some inside a structure, as said next" if notes else "none inside a structure"
    said = (
        f"{total} voxels of the {what} hold no value (NaN or infinite, or a DICOM series' pixel "
        f"padding; {where if masks else 'check the structures lie where it has some'}): set to "
        f"its lowest value ({lowest:g}), as background."
    )
    return filled, kept, [said, *notes]


def _check_covered(
    what: str, role: str, mask: sitk.Image, missing: np.ndarray, notes: list[str]
) -> sitk.Image:
    """``mask`` without the voxels where the image holds no value (``missing``), a note in
    ``notes`` saying so; :class:`MaskError` naming the share when more than
    :data:`~survival_core.io.rtstruct.OUTSIDE_TOLERANCE` of the structure lies there."""
    inside = sitk.GetArrayViewFromImage(mask).astype(bool)
    count, size = int(np.count_nonzero(missing & inside)), int(np.count_nonzero(inside))
    if not count:
        return mask
    said = (
        f"the {what} holds no value (NaN or infinite, or a DICOM series' pixel padding) at "
        f"{count:,} of the {role}'s {size:,} voxels ({count / size:.2%})"
    )
    if count > OUTSIDE_TOLERANCE * size:
        raise MaskError(
            f"The {role}: {said}, more than the {OUTSIDE_TOLERANCE:.0%} that may be left out: "
            f"the {what} does not hold the whole structure and its features "
            "cannot be computed. Give an image with values over every structure (a scan "
            "reconstructed on a larger field of view, or a registration's 'no data' region "
            "moved off it)."
        )
    notes.append(f"The {role}: {said}; those voxels are left out of it.")
    clipped = sitk.GetImageFromArray((inside & ~missing).astype(np.uint8))
    clipped.CopyInformation(mask)
    return clipped
