"""Intensity standardisation for modalities without an absolute scale (MR): N4 bias-field
correction, z-scores and the histogram standardisation of Nyul & Udupa (1999, 2000).

CT is already calibrated in HU and normally needs neither; these make MR intensities comparable
between scans and scanners before features are computed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import SimpleITK as sitk

from survival_core.errors import ConfigError, GeometryError, InputError, MaskError
from survival_core.preprocess.resample import check_same_grid

#: Landmark percentiles: the 1st and 99th bound the histogram, the deciles shape it.
DEFAULT_PERCENTILES = (1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 99.0)


def _masked_values(array: np.ndarray, mask: np.ndarray | None, what: str) -> np.ndarray:
    """The finite voxels of ``array`` inside ``mask`` (all voxels without one), float64."""
    values = np.asarray(array, dtype=np.float64)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != values.shape:
            raise GeometryError(
                f"{what}: mask shape {mask.shape} differs from image shape {values.shape}."
            )
        values = values[mask.astype(bool)]
    else:
        values = values.ravel()
    if values.size == 0:
        raise MaskError(
            f"{what}: the mask is empty, so there are no voxels to measure intensities in."
        )
    if not np.all(np.isfinite(values)):
        raise InputError(f"{what}: the image has NaN or infinite voxels inside the mask.")
    return values


def zscore(array: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``(array - mean) / sd`` as float32, mean and sd taken over the voxels inside ``mask``.

    A constant region (sd 0) gives all zeros rather than dividing by zero.
    """
    values = _masked_values(array, mask, "Z-score normalisation")
    sd = values.std()
    x = np.asarray(array, dtype=np.float64)
    if sd == 0:
        return np.zeros(x.shape, dtype=np.float32)
    return ((x - values.mean()) / sd).astype(np.float32)


def _merge_ties(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strictly increasing ``source`` landmarks, equal ones merged (their targets averaged)."""
    unique, inverse = np.unique(source, return_inverse=True)
    counts = np.bincount(inverse)
    return unique, np.bincount(inverse, weights=target) / counts


class NyulStandardizer:
    """Piecewise-linear histogram standardisation (Nyul & Udupa).

    ``fit`` maps each training image's landmarks (intensity percentiles inside its mask) linearly so
    that the first and last fall on ``standard_range``, and averages them into the standard
    landmarks ``landmarks_``. ``transform`` maps an image's own landmarks onto ``landmarks_``
    piecewise linearly, extending the first and last segments beyond the ends.
    """

    def __init__(
        self,
        percentiles: Sequence[float] = DEFAULT_PERCENTILES,
        standard_range: tuple[float, float] = (0.0, 100.0),
    ) -> None:
        pcts = np.asarray(percentiles, dtype=float)
        if (
            pcts.ndim != 1
            or pcts.size < 2
            or np.any(np.diff(pcts) <= 0)
            or pcts[0] < 0
            or pcts[-1] > 100
        ):
            raise ConfigError(
                f"Nyul percentiles must be at least two increasing values in 0-100; got {percentiles!r}."
            )
        low, high = (float(v) for v in standard_range)
        if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
            raise ConfigError(
                f"Nyul standard range must be (low, high) with low < high; got {standard_range!r}."
            )
        self.percentiles = tuple(float(p) for p in pcts)
        self.standard_range = (low, high)

    def _landmarks(self, array: np.ndarray, mask: np.ndarray | None, what: str) -> np.ndarray:
        landmarks = np.percentile(_masked_values(array, mask, what), self.percentiles)
        if landmarks[-1] <= landmarks[0]:
            raise InputError(
                f"{what}: intensities inside the mask are constant between the "
                f"{self.percentiles[0]:g}th and {self.percentiles[-1]:g}th percentile, "
                "so the histogram cannot be standardised."
            )
        return landmarks

    def fit(self, images: Iterable[tuple[np.ndarray, np.ndarray | None]]) -> NyulStandardizer:
        """Learn the standard landmarks from (image array, mask or None) pairs."""
        low, high = self.standard_range
        scaled = []
        for i, (array, mask) in enumerate(images):
            marks = self._landmarks(array, mask, f"Nyul training image {i}")
            scaled.append(low + (marks - marks[0]) * (high - low) / (marks[-1] - marks[0]))
        if not scaled:
            raise InputError("Nyul standardisation needs at least one training image.")
        self.landmarks_ = np.mean(scaled, axis=0)
        return self

    def transform(self, array: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``array`` mapped onto the standard scale, float32; landmarks measured inside ``mask``."""
        if not hasattr(self, "landmarks_"):
            raise ConfigError(
                "NyulStandardizer must be fitted (or loaded with from_dict) before transform."
            )
        source, target = _merge_ties(
            self._landmarks(array, mask, "Nyul standardisation"), self.landmarks_
        )
        x = np.asarray(array, dtype=np.float64)
        out = np.interp(x, source, target)
        below, above = x < source[0], x > source[-1]
        first = (target[1] - target[0]) / (source[1] - source[0])
        last = (target[-1] - target[-2]) / (source[-1] - source[-2])
        out[below] = target[0] + (x[below] - source[0]) * first
        out[above] = target[-1] + (x[above] - source[-1]) * last
        return out.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings and learned landmarks."""
        return {
            "percentiles": list(self.percentiles),
            "standard_range": list(self.standard_range),
            "landmarks": self.landmarks_.tolist() if hasattr(self, "landmarks_") else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NyulStandardizer:
        """The standardiser saved by :meth:`to_dict`."""
        try:
            model = cls(data["percentiles"], tuple(data["standard_range"]))
            landmarks = data["landmarks"]
            marks = None if landmarks is None else np.asarray(landmarks, dtype=float)
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                "Saved Nyul standardiser must have 'percentiles', 'standard_range' and 'landmarks'; "
                f"got {sorted(data) if isinstance(data, Mapping) else type(data).__name__}."
            ) from err
        if marks is not None:
            if (
                marks.shape != (len(model.percentiles),)
                or not np.all(np.isfinite(marks))
                or np.any(np.diff(marks) < 0)
            ):
                raise ConfigError(
                    f"Saved Nyul landmarks must be {len(model.percentiles)} non-decreasing numbers; "
                    f"got {landmarks!r}."
                )
            model.landmarks_ = marks
        return model


#: Held while ITK's global thread count is 1 for N4 (see :func:`_one_itk_thread`).
_N4_LOCK = threading.Lock()


@contextmanager
def _one_itk_thread() -> Iterator[None]:
    """ITK's global default thread count at 1 for the filters created inside, restored after.

    N4 builds its B-spline fitters with the global default, not its own thread count, and their
    sums depend on the split between threads: with 2 threads a T1 MR's features differed by up to
    4.5e-4 (relative) from those computed with 1 (the case pool's workers). The lock keeps two
    corrections from restoring the setting under each other; other filters running meanwhile only
    run on one thread.
    """
    with _N4_LOCK:
        before = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
        try:
            yield
        finally:
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(before)


#: MR/PET air is darker than this share of the 99th percentile; fewer than AIR_SHARE of the voxels
#: that dark: a scan cropped inside the body, with no air to separate from.
AIR_LEVEL, AIR_SHARE = 0.05, 0.01

#: The image's floor is this percentile, not its minimum: a few stray voxels below the padding (one
#: negative pixel, ringing at an edge) are no background level.
FLOOR_PERCENTILE = 0.01

#: Voxels within this share of the 99th percentile above the floor are background (padding), left
#: out of the tissue/air split: padding is rarely one exact value (per-slice rescale rounds it to
#: within 0.4 of zero on a 0-1779 T1), and padding let in made the split padding against the rest.
BACKGROUND_LEVEL = 0.002

#: Histogram bins of the Otsu split: ITK's default 128 over the log range put the threshold in
#: steps of about 5 %, which a voxel changing the range moved by one step.
OTSU_BINS = 1024


#: The MR/PET outline and bias field of each extraction-settings version, kept so that models
#: score as they trained: 1 Otsu of the raw values (:func:`~survival_core.preprocess.roi.body_mask`);
#: 2 Otsu of the log intensities above the image's minimum, N4 fitted on ITK's Shrink grid; 3 (now)
#: above a robust background (:func:`tissue_threshold`), N4 on a grid centred on the image.
OUTLINE_VERSION = 3


def tissue_threshold(image: sitk.Image, robust: bool = True) -> float:
    """The intensity above which an MR or PET voxel is tissue rather than air: Otsu's threshold of
    the logarithm of the intensities above the background (shifted to start at 1); below the
    minimum when the scan holds no air (cropped inside the body: all of it is tissue).

    These intensities are skewed: on a T1 scan bright fat against everything else is the strongest
    two-class split of the raw values, so Otsu on them outlined the fat alone (17 % of the real
    sarcoma T1's volume, none of its tumour; 4 % of pyradiomics' breast MR). On the logarithm, air
    and noise against tissue is the strongest split. Background (zero padding) is left out of it:
    padded wide, it made it zero against everything, the noise taken for tissue (brain1's
    standardised tumour moved with the padding); and with no air in the field the split fell
    between tissues (a cropped T1's outline held none of its tumour). The background is measured
    from a robust floor (:data:`FLOOR_PERCENTILE`) with a tolerance (:data:`BACKGROUND_LEVEL`):
    with only the voxels equal to the minimum left out, one padding pixel set to -1 on the real
    T1 let the padding in and moved the threshold 162.6 -> 22.2 (the outline 74 -> 91 % of the
    volume, the GTV's standardised minimum 4.3 -> 21.6). ``robust`` False: settings of version 2
    (:data:`OUTLINE_VERSION`), the voxels at the minimum left out, ITK's 128 bins."""
    values = sitk.GetArrayViewFromImage(image).astype(np.float64).ravel()
    low, top = (float(v) for v in np.percentile(values, (FLOOR_PERCENTILE, 99)))  # one pass
    floor = low if robust else float(values.min())
    if np.mean(values <= floor + AIR_LEVEL * (top - floor)) < AIR_SHARE:
        return float(values.min()) - 1.0
    above = values[values > floor + (BACKGROUND_LEVEL * (top - floor) if robust else 0.0)]
    if above.size == 0:
        return floor
    logs = sitk.GetImageFromArray(np.log(above - floor + 1.0).astype(np.float32)[:, None])
    otsu = sitk.OtsuThresholdImageFilter()
    if robust:
        otsu.SetNumberOfHistogramBins(OTSU_BINS)
    otsu.Execute(logs)
    return float(np.exp(otsu.GetThreshold())) - 1.0 + floor


def n4_bias_correct(
    image: sitk.Image,
    mask: sitk.Image | None = None,
    shrink: int = 4,
    iterations: int = 25,
    centred: bool = True,
) -> sitk.Image:
    """``image`` divided by the smooth multiplicative bias field N4 estimates (Tustison 2010) inside
    ``mask`` (any nonzero voxel; the tissue above :func:`tissue_threshold` without one), float32
    on the same grid.

    The field is fitted on a ``shrink``-times coarser image (seconds, not minutes) and evaluated at
    full resolution; a one-slice image is corrected as the 2-D slice it is (ITK cannot fit a 3-D
    field across one slice). MR coil shading otherwise makes the same tissue brighter near the
    coil. It runs on one ITK thread, so its result does not depend on the machine or process it
    runs in; and on a coarse grid centred on the image (:func:`_centred_shrink`), so the same
    anatomy stored mirrored or rotated gets the same field. ``centred`` False: settings of version
    2 (:data:`OUTLINE_VERSION`), the intensities shifted from their minimum, ITK's Shrink grid.
    """
    source = sitk.Cast(image, sitk.sitkFloat32)
    values = sitk.GetArrayViewFromImage(source)
    if not np.all(np.isfinite(values)):
        raise InputError("Bias-field correction: the image has NaN or infinite voxels.")
    if mask is None:
        region = sitk.Cast(source > tissue_threshold(source, centred), sitk.sitkUInt8)
    else:
        check_same_grid(image, mask, "The bias-field correction mask")
        region = sitk.Cast(mask != 0, sitk.sitkUInt8)
    if not sitk.GetArrayViewFromImage(region).any():
        raise MaskError("Bias-field correction: the mask is empty.")
    # N4 works on the log of strictly positive intensities: shifted to start at 1 from the floor
    # (not the minimum, which one stray voxel sets), the few voxels below it held at 1.
    offset = float(np.percentile(values, FLOOR_PERCENTILE) if centred else values.min())
    positive = sitk.Maximum(source, offset) - offset + 1.0
    plane = _one_slice_plane(positive)
    if plane is not None:
        positive, region = plane(positive), plane(region)
    with _one_itk_thread():
        factor = [max(1, min(shrink, s // 8)) for s in positive.GetSize()]
        if centred:
            small = _centred_shrink(positive, factor)
            small_mask = sitk.Cast(_centred_shrink(region, factor) > 0.999, sitk.sitkUInt8)
        else:
            small, small_mask = sitk.Shrink(positive, factor), sitk.Shrink(region, factor)
        corrector = sitk.N4BiasFieldCorrectionImageFilter()
        corrector.SetMaximumNumberOfIterations([iterations] * 3)
        corrector.Execute(small, small_mask)
        log_field = corrector.GetLogBiasFieldAsImage(positive)
    field = np.exp(sitk.GetArrayViewFromImage(log_field)).reshape(values.shape)
    corrected = sitk.GetImageFromArray(
        ((values - offset + 1.0) / field + offset - 1.0).astype(np.float32)
    )
    corrected.CopyInformation(source)
    return corrected


def _one_slice_plane(image: sitk.Image) -> Callable[[sitk.Image], sitk.Image] | None:
    """For a 3-D image one voxel thick along an axis, a function cutting an image on its grid to
    that 2-D plane; None otherwise."""
    size = list(image.GetSize())
    if image.GetDimension() != 3 or 1 not in size:
        return None
    flat = size.index(1)
    plane_size = [0 if axis == flat else s for axis, s in enumerate(size)]
    return lambda volume: sitk.Extract(volume, plane_size, [0, 0, 0])


def _centred_shrink(image: sitk.Image, factor: Sequence[int]) -> sitk.Image:
    """``image`` (float) linearly interpolated on a grid ``factor`` times coarser along each axis,
    centred on the image's centre; a mask's voxels come out 1 where all of their neighbours are in
    it, less near its edge.

    ITK's Shrink takes every ``factor``-th voxel from index 0: the real T1 rotated 180 degrees (the
    same voxels, the array flipped in x and y) was fitted on other voxels and another extent, and
    N4 gave its GTV a field up to 4 units of the 0-100 scale apart. This grid is symmetric about the
    centre, so a mirrored or rotated scan is sampled at the mirrored points.
    """
    dim = image.GetDimension()
    size = [max(1, n // f) for n, f in zip(image.GetSize(), factor, strict=True)]
    spacing = [s * f for s, f in zip(image.GetSpacing(), factor, strict=True)]
    centre = image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()])
    direction = np.reshape(image.GetDirection(), (dim, dim))
    half = (np.asarray(size) - 1) / 2 * np.asarray(spacing)
    origin = np.asarray(centre) - direction @ half
    return sitk.Resample(
        sitk.Cast(image, sitk.sitkFloat32),
        size,
        sitk.Transform(),
        sitk.sitkLinear,
        origin.tolist(),
        spacing,
        image.GetDirection(),
        0.0,
        sitk.sitkFloat32,
    )
