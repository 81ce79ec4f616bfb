"""Extraction settings: frozen records of exactly how a feature table is made.

Every choice that changes a feature value is a field here: ROIs, voxel grids (scales), gray-level
discretisations, feature classes (and features), image filters and the texture and first-order
options passed to pyradiomics. ``to_json`` is canonical (sorted keys, numbers normalised) so
``hash`` identifies the settings: it keys the feature cache and is stored with every feature table.

Feature names follow one rule, ``{roi}__{token}__{class}__{feature}``, where the token is built
from up to three parts joined by ``_``:

1. the scale (``1mm``, ``native``), only when the settings have several scales;
2. the filtered image (``log2mm``, ``waveletLLH``, ``mean5``), only for filtered images;
3. the discretisation (``lloydmax16``, ``equalprob32``, ``uniform16``, ``binwidth25``) for texture
   classes; ``original`` for shape and unfiltered first-order features, which are not discretised.

The ROI part names what the ROI is on the case: the organ ROIs take the site's name
(``organ_minus_gtv`` of a liver case is ``liver_minus_gtv``, of a lung case ``lung_minus_gtv``; of a
case whose site is unknown it stays ``organ_minus_gtv``), so a liver model's columns are those of
earlier versions and a lung case never fills a liver model's columns.

Examples: ``liver_minus_gtv__lloydmax16__glszm__SizeZoneNonUniformity`` (one scale),
``gtv__1mm_equalprob16__glcm__Contrast`` and ``gtv__native_original__shape__MeshVolume`` (two
scales), ``gtv__log2mm__firstorder__Mean`` and ``gtv__log2mm_binwidth25__glcm__Contrast`` (filtered).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from survival_core.errors import ConfigError
from survival_core.preprocess.filters import BOUNDARIES, TRUNCATE_SIGMAS
from survival_core.preprocess.quantize import MAX_LEVELS, FixedBinWidth, Quantizer, make_quantizer
from survival_core.preprocess.resample import ALIGNMENTS

#: Bump when the extraction code changes feature values for unchanged settings (invalidates caches).
#: 2: the MR and PET body outline (Otsu of the log intensities) and filter margins that cover the
#: LoG kernel's reach. 3: fixed bin widths without a lower bound start at the re-segmentation
#: range's lower bound (IBSI), else at a multiple of the width (pyradiomics' ``binWidth``), not at
#: the ROI minimum; first-order Entropy and Uniformity of the intensities histogram the settings'
#: discretisation where they have one (pyradiomics' one binning for every class); Lloyd-Max
#: makes each value of a ROI of no more distinct values than levels its own level, by rank; the
#: MR and PET body outline measured above a robust background, and N4 fitted on a grid centred on
#: the image (:data:`~survival_core.preprocess.intensity.OUTLINE_VERSION`).
SETTINGS_VERSION = 3

#: How images are read and resampled grids anchored and made, stamped on every cached entry, feature
#: table and model card: entries written before the grid met the box at its low end along mirrored
#: axes (storage-order dependent features), or before only its part around the ROIs was resampled
#: with the mask points nudged (a point exactly on the edge between two mask voxels may fall the
#: other way), are computed again; so are those without the MR weighting, and those read before a
#: NIfTI-1's float32 spacing and origin were read as the decimals they were rounded from, or a
#: DICOM series' pixel padding as no value.
GRID_ANCHOR = "low-edge, around the ROIs, NIfTI-1 geometry as decimals, exact kept, lossy padding"


def reading_stamp(anchor: str = GRID_ANCHOR) -> str:
    """Six hex digits that tell one way of reading images (``anchor``) from another."""
    return hashlib.sha256(anchor.encode()).hexdigest()[:6]


def named_reading(name: str) -> str | None:
    """The reading stamp a cohort feature table's file name carries ('-g<stamp>', as
    :func:`~survival_core.features.cohort.feature_table_path` names it), None for another name:
    tables written before the stamp was kept in their metadata say it there."""
    found = re.search(r"-g([0-9a-f]{6})(?:-on-[^/]*)?\.parquet$", name)
    return found.group(1) if found else None


#: Regions of interest a setting may name, and the case masks (roles) each is made from (the ring
#: is clipped to the organ when the case has one, else to the body; the body comes from the image).
ROI_SOURCES = {
    "gtv": ("gtv",),
    "organ": ("organ",),
    "organ_minus_gtv": ("organ", "gtv"),
    "peritumoral_ring": ("gtv",),
    "body": (),
}
ROIS = tuple(ROI_SOURCES)
#: ROI names of earlier versions (liver-only), read as today's.
LEGACY_ROIS = {"liver": "organ", "liver_minus_gtv": "organ_minus_gtv"}
#: ROIs that take the site's name in feature names.
ORGAN_ROIS = ("organ", "organ_minus_gtv")
SHAPE_CLASS = "shape"
INTENSITY_CLASS = "firstorder"
TEXTURE_CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")
FEATURE_CLASSES = (SHAPE_CLASS, INTENSITY_CLASS, *TEXTURE_CLASSES)

#: Name token of each discretisation method ("fixed_bin_count" is stored as its alias "uniform").
QUANTISER_TOKENS = {
    "lloyd_max": "lloydmax",
    "equal_probability": "equalprob",
    "uniform": "uniform",
    "fixed_bin_width": "binwidth",
}
_INTERPOLATORS = ("linear", "bspline", "nearest")
_MASK_METHODS = ("nearest", "linear")
_FIRSTORDER_INPUTS = ("original", "quantised")
#: Texture neighbourhoods (IBSI "aggregation"): 3D; 2.5D (in-plane neighbours, matrices summed over
#: slices); 2D (in-plane, features per slice averaged over slices).
TEXTURE_DIMENSIONS = ("3D", "2.5D", "2D")


def _number(value: Any, what: str, positive: bool = True) -> float:
    """``value`` as a finite float (``positive``: > 0), or ConfigError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number; got {value!r}.")
    if not math.isfinite(value) or (positive and value <= 0):
        raise ConfigError(
            f"{what} must be a {'positive ' if positive else ''}finite number; got {value!r}."
        )
    return float(value)


def _fmt(value: float) -> str:
    """Short text of a number for names: 1.0 -> "1", 0.5 -> "0.5"."""
    return f"{value:g}"


def _set(obj: Any, name: str, value: Any) -> None:
    """Normalise a field of a frozen dataclass in ``__post_init__``."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class Scale:
    """The voxel grid features are computed on: ``spacing_mm`` (x, y, z; one number = isotropic) or
    None for the image's native grid. ``interpolator`` resamples the image ("linear" = trilinear),
    ``mask_method`` the masks ("nearest", or "linear" = keep voxels with interpolated value >= 0.5).
    ``alignment`` places the new grid ("box": first voxel edges together; "centre": grid centres
    together, as IBSI) and ``round_intensities`` rounds resampled values to whole numbers (IBSI, for
    CT: HU are integers); both leave the native grid alone."""

    spacing_mm: tuple[float, float, float] | None = None
    interpolator: str = "linear"
    mask_method: str = "nearest"
    alignment: str = "box"
    round_intensities: bool = False

    def __post_init__(self) -> None:
        spacing = self.spacing_mm
        if spacing is not None:
            values = (spacing,) * 3 if isinstance(spacing, int | float) else tuple(spacing)
            if len(values) != 3:
                raise ConfigError(
                    f"Resampling spacing must be one number or 3 (x, y, z) in mm; got {spacing!r}."
                )
            _set(self, "spacing_mm", tuple(_number(v, "Resampling spacing (mm)") for v in values))
        if self.interpolator not in _INTERPOLATORS:
            raise ConfigError(
                f"Unknown image interpolator {self.interpolator!r}; choose one of {list(_INTERPOLATORS)}."
            )
        if self.mask_method not in _MASK_METHODS:
            raise ConfigError(
                f"Unknown mask resampling method {self.mask_method!r}; choose one of {list(_MASK_METHODS)}."
            )
        if self.alignment not in ALIGNMENTS:
            raise ConfigError(
                f"Unknown grid alignment {self.alignment!r}; choose one of {list(ALIGNMENTS)}."
            )
        if not isinstance(self.round_intensities, bool):
            raise ConfigError(
                f"round_intensities must be true or false; got {self.round_intensities!r}."
            )

    @property
    def token(self) -> str:
        """``native``, ``1mm`` (isotropic) or ``1x1x3mm``."""
        if self.spacing_mm is None:
            return "native"
        if len(set(self.spacing_mm)) == 1:
            return f"{_fmt(self.spacing_mm[0])}mm"
        return "x".join(_fmt(v) for v in self.spacing_mm) + "mm"


@dataclass(frozen=True)
class Discretisation:
    """How ROI intensities become gray levels 1..L before texture features (see
    :mod:`survival_core.preprocess.quantize`): ``method`` "lloyd_max", "equal_probability" or
    "uniform" (alias "fixed_bin_count") with ``levels``; "fixed_bin_width" with ``bin_width``
    (intensity units, HU for CT) counted from ``min_value`` (None: the re-segmentation range's
    lower bound, else a multiple of the width; the ROI minimum in settings before version 3).
    ``optimal`` (lloyd_max only): Lloyd-Max from the least-error cells, every level holding
    voxels (:class:`~survival_core.preprocess.quantize.LloydMax`; the presets' since it was
    added); ``converged``: run to convergence from two starts, the lower MSE kept (the presets'
    before); neither: the first version's fit. Settings stored before keep their fit."""

    method: str
    levels: int | None = None
    bin_width: float | None = None
    min_value: float | None = None
    converged: bool = False
    optimal: bool = False

    def __post_init__(self) -> None:
        if self.method == "fixed_bin_count":
            _set(self, "method", "uniform")
        for fit in ("converged", "optimal"):
            flag = getattr(self, fit)
            if not isinstance(flag, bool) or (flag and self.method != "lloyd_max"):
                raise ConfigError(
                    f"{fit} (true or false) applies to lloyd_max discretisation only; got "
                    f"{flag!r} with {self.method!r}."
                )
        if self.converged and self.optimal:
            raise ConfigError("A Lloyd-Max discretisation takes converged or optimal, not both.")
        if self.method not in QUANTISER_TOKENS:
            raise ConfigError(
                f"Unknown gray-level discretisation {self.method!r}; choose one of "
                f"{[*QUANTISER_TOKENS, 'fixed_bin_count']}."
            )
        if self.method == "fixed_bin_width":
            if self.levels is not None or self.bin_width is None:
                raise ConfigError(
                    f"Discretisation 'fixed_bin_width' takes a bin width and no number of levels; "
                    f"got bin_width={self.bin_width!r}, levels={self.levels!r}."
                )
            _set(self, "bin_width", _number(self.bin_width, "Gray-level bin width"))
            if self.min_value is not None:
                _set(
                    self,
                    "min_value",
                    _number(self.min_value, "Gray-level bin lower bound", positive=False),
                )
            return
        levels = self.levels
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= MAX_LEVELS:
            raise ConfigError(
                f"Discretisation {self.method!r} needs a whole number of gray levels from 2 to "
                f"{MAX_LEVELS}; got {levels!r}."
            )
        if self.bin_width is not None or self.min_value is not None:
            raise ConfigError(f"Discretisation {self.method!r} takes no bin width or lower bound.")
        self.quantizer()  # the quantiser's own checks (the optimal fit's level limit)

    @property
    def token(self) -> str:
        """``lloydmax16``, ``equalprob32``, ``uniform16``, ``binwidth25`` or ``binwidth25from-1000``."""
        prefix = QUANTISER_TOKENS[self.method]
        if self.method != "fixed_bin_width":
            return f"{prefix}{self.levels}"
        start = "" if self.min_value is None else f"from{_fmt(self.min_value)}"
        return f"{prefix}{_fmt(self.bin_width)}{start}"

    def quantizer(
        self, version: int = SETTINGS_VERSION, range_min: float | None = None
    ) -> Quantizer:
        """A fresh (unfitted) quantiser for these settings, as settings of ``version`` define it,
        fixed bins starting at ``range_min`` (the re-segmentation range's lower bound) when they
        give no ``min_value`` (see :data:`SETTINGS_VERSION`)."""
        if self.method == "fixed_bin_width":
            if version < 3:
                return FixedBinWidth(self.bin_width, self.min_value)
            start = range_min if self.min_value is None else self.min_value
            return FixedBinWidth(self.bin_width, start, aligned=True)
        return make_quantizer(
            self.method,
            levels=self.levels,
            converged=self.converged,
            optimal=self.optimal,
            ranked=version >= 3,
        )


@dataclass(frozen=True)
class Resegmentation:
    """IBSI re-segmentation of each ROI before intensity and texture features (shape features keep
    the contoured ROI): voxels outside ``range_min``..``range_max`` (intensity units, HU for CT;
    None: open) are dropped, then those further than ``outlier_sd`` standard deviations from the mean
    (None: none). See :mod:`survival_core.preprocess.resegment`."""

    range_min: float | None = None
    range_max: float | None = None
    outlier_sd: float | None = None

    def __post_init__(self) -> None:
        for name in ("range_min", "range_max"):
            value = getattr(self, name)
            if value is not None:
                _set(self, name, _number(value, f"Re-segmentation {name}", positive=False))
        if self.outlier_sd is not None:
            _set(self, "outlier_sd", _number(self.outlier_sd, "Re-segmentation outlier SD"))
        if None not in (self.range_min, self.range_max) and self.range_min >= self.range_max:
            raise ConfigError(
                f"Re-segmentation range must have range_min < range_max; got {self.range_min:g} "
                f"to {self.range_max:g}."
            )
        if (self.range_min, self.range_max, self.outlier_sd) == (None, None, None):
            raise ConfigError(
                "Re-segmentation needs a range bound or an outlier SD; leave it out for none."
            )


@dataclass(frozen=True)
class FeatureClass:
    """A pyradiomics feature class (``shape``, ``firstorder``, ``glcm``, ``glrlm``, ``glszm``,
    ``gldm``, ``ngtdm``) and the features to compute (pyradiomics names; None: all not deprecated)."""

    name: str
    features: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.name not in FEATURE_CLASSES:
            raise ConfigError(
                f"Unknown feature class {self.name!r}; choose from {list(FEATURE_CLASSES)}."
            )
        if self.features is not None:
            if isinstance(self.features, str) or not self.features:
                raise ConfigError(
                    f"Features of class {self.name!r} must be a non-empty list of names or None (all); "
                    f"got {self.features!r}."
                )
            _set(self, "features", tuple(sorted(set(self.features))))


#: LoG implementations: pyradiomics' (ITK recursive Gaussian, scale-normalised: times sigma^2) or
#: IBSI's (sampled kernel truncated at 4 sigma, in voxel units; :mod:`survival_core.preprocess.filters`).
LOG_KERNELS = ("recursive", "sampled")


#: How far (in sigmas) each LoG kernel reaches: the sampled one is cut at 4 sigmas; pyradiomics'
#: recursive (IIR) one has no end: on a synthetic liver tumour its sigma-5 mm 90th percentile
#: moved 5 % with a 20 mm margin, 6e-4 with 30 mm and under 1e-4 from 40 mm.
LOG_REACH_SIGMAS = {"recursive": 8.0, "sampled": TRUNCATE_SIGMAS}


@dataclass(frozen=True)
class Filters:
    """Filtered images computed besides the original: Laplacian of Gaussian at ``log_sigmas_mm``
    (mm; ``log_kernel`` "recursive": pyradiomics', or "sampled": IBSI's), the 8 first-level
    ``wavelet`` decompositions (a PyWavelets family, e.g. "coif1"; None: off; periodic at the
    border, as PyWavelets' stationary transform) and mean filters over cubes of ``mean_sizes``
    voxels (odd). Filters see the image cropped around the ROIs with ``margin_mm`` (mm), widened
    to what the filters reach (:meth:`margin_for`), to spare edge effects; beyond the crop the mean
    and the sampled LoG extend it as ``boundary`` says ("zero", "nearest", "periodic",
    "mirror")."""

    log_sigmas_mm: tuple[float, ...] = ()
    wavelet: str | None = None
    margin_mm: float = 10.0
    mean_sizes: tuple[int, ...] = ()
    log_kernel: str = "recursive"
    boundary: str = "mirror"

    def __post_init__(self) -> None:
        sigmas = tuple(sorted({_number(s, "LoG sigma (mm)") for s in self.log_sigmas_mm}))
        _set(self, "log_sigmas_mm", sigmas)
        if any(
            isinstance(n, bool) or not isinstance(n, int) or n < 1 or n % 2 == 0
            for n in self.mean_sizes
        ):
            raise ConfigError(
                f"Mean filter sizes must be odd whole numbers of voxels; got {self.mean_sizes!r}."
            )
        _set(self, "mean_sizes", tuple(sorted(set(self.mean_sizes))))
        if self.log_kernel not in LOG_KERNELS:
            raise ConfigError(
                f"Unknown LoG kernel {self.log_kernel!r}; choose one of {list(LOG_KERNELS)}."
            )
        if self.boundary not in BOUNDARIES:
            raise ConfigError(
                f"Unknown filter boundary condition {self.boundary!r}; choose one of "
                f"{list(BOUNDARIES)}."
            )
        _set(self, "margin_mm", _number(self.margin_mm, "Filter crop margin (mm)", positive=False))
        if self.margin_mm < 0:
            raise ConfigError(f"Filter crop margin must be >= 0 mm; got {self.margin_mm!r}.")
        if self.wavelet is not None and self._wavelet_length() is None:
            raise ConfigError(
                f"Wavelet must be a PyWavelets family name such as 'coif1'; got {self.wavelet!r}."
            )

    def _wavelet_length(self) -> int | None:
        """The length of the wavelet's decomposition filter (None: no such wavelet)."""
        import pywt

        try:
            return int(pywt.Wavelet(self.wavelet).dec_len)
        except (ValueError, TypeError, AttributeError):  # an unknown name, or not a name
            return None

    @property
    def enabled(self) -> bool:
        """Whether any filtered image is computed."""
        return bool(self.log_sigmas_mm) or self.wavelet is not None or bool(self.mean_sizes)

    def margin_for(self, spacing_mm: float, fixed: bool = False) -> float:
        """The crop margin (mm) on a grid of voxels up to ``spacing_mm``: ``margin_mm``, or how far
        the filters reach when further (LoG: :data:`LOG_REACH_SIGMAS`; mean: half its cube;
        wavelet: its filter's length), so that a ROI's filtered values do not depend on the crop:
        a 10 mm margin under a 5 mm LoG let the box around the other ROIs change the GTV's
        features (up to 9x), and the model's features of a case scored with fewer ROIs than its
        table's differ from its training row. ``fixed``: ``margin_mm`` alone, as settings of
        version 1 had it."""
        if not self.enabled:
            return 0.0
        if fixed:
            return self.margin_mm
        sigmas = LOG_REACH_SIGMAS[self.log_kernel]
        reach = [self.margin_mm, sigmas * max(self.log_sigmas_mm, default=0.0)]
        reach.append(max(self.mean_sizes, default=1) // 2 * spacing_mm)
        if self.wavelet is not None:
            reach.append((self._wavelet_length() - 1) * spacing_mm)
        return max(reach)


@dataclass(frozen=True)
class TextureOptions:
    """Texture matrix options: neighbour ``distances`` (voxels) for GLCM/NGTDM/GLDM, a symmetric
    GLCM, and the GLDM dependence tolerance ``gldm_alpha`` (gray levels). GLCM and GLRLM features are
    computed per 3D direction and averaged (pyradiomics' default, IBSI "3D averaged"), or with
    ``merge_directions`` from one matrix summed over the 13 directions (IBSI "3D merged").
    ``dimension`` "2.5D" uses the 4 in-plane directions and sums matrices over slices, "2D" computes
    the features slice by slice and averages them (IBSI 2.5D and 2D; slices are the z axis)."""

    distances: tuple[int, ...] = (1,)
    symmetrical_glcm: bool = True
    gldm_alpha: int = 0
    merge_directions: bool = False
    dimension: str = "3D"

    def __post_init__(self) -> None:
        distances = tuple(sorted(set(self.distances)))
        if not distances or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in distances
        ):
            raise ConfigError(
                f"Texture distances must be whole numbers >= 1 (voxels); got {self.distances!r}."
            )
        _set(self, "distances", distances)
        if (
            isinstance(self.gldm_alpha, bool)
            or not isinstance(self.gldm_alpha, int)
            or self.gldm_alpha < 0
        ):
            raise ConfigError(f"GLDM alpha must be a whole number >= 0; got {self.gldm_alpha!r}.")
        if self.dimension not in TEXTURE_DIMENSIONS:
            raise ConfigError(
                f"Texture dimension must be one of {list(TEXTURE_DIMENSIONS)}; got {self.dimension!r}."
            )

    def pyradiomics_kwargs(self) -> dict[str, Any]:
        """The same options as pyradiomics settings (2D: those of each slice)."""
        in_plane = {"force2D": True, "force2Ddimension": 0} if self.dimension != "3D" else {}
        return {
            "distances": list(self.distances),
            "symmetricalGLCM": self.symmetrical_glcm,
            "gldm_a": self.gldm_alpha,
            "weightingNorm": "no_weighting" if self.merge_directions else None,
            **in_plane,
        }


@dataclass(frozen=True)
class IntensityOptions:
    """First-order features: on the ``original`` intensities (HU) or on the ``quantised`` levels
    (then once per discretisation). On original intensities Entropy and Uniformity histogram them in
    the settings' discretisation where they have one (from version 3,
    :attr:`ExtractionSettings.histogram_discretisation`), else in pyradiomics' bins of
    ``bin_width`` (HU, edges at multiples of the width); on levels the histogram is the levels. ``voxel_array_shift`` (HU) is added before Energy, TotalEnergy and RMS."""

    on: str = "original"
    bin_width: float = 25.0
    voxel_array_shift: float = 0.0

    def __post_init__(self) -> None:
        if self.on not in _FIRSTORDER_INPUTS:
            raise ConfigError(
                f"First-order features are computed on one of {list(_FIRSTORDER_INPUTS)}; got {self.on!r}."
            )
        _set(self, "bin_width", _number(self.bin_width, "First-order histogram bin width"))
        _set(
            self,
            "voxel_array_shift",
            _number(self.voxel_array_shift, "First-order voxel shift", positive=False),
        )


#: How several lesions of one patient make features: united into one GTV, the largest alone, or
#: each apart and aggregated per patient (by the largest lesion's values, the volume-weighted mean
#: or the maximum).
LESION_MODES = ("union", "largest", "each")
LESION_AGGREGATES = ("largest", "weighted_mean", "max")

#: Intensity standardisations for images without an absolute scale (MR), and their mask regions.
STANDARDISATIONS = ("zscore", "nyul")
STANDARDISATION_REGIONS = ("body", "organ", "gtv")


@dataclass(frozen=True)
class Standardisation:
    """MR intensities made comparable before features: optional N4 bias-field correction, then a
    z-score or Nyul's piecewise-linear histogram standardisation (landmarks at ``percentiles`` mapped
    onto ``landmarks``, by default equally spaced over 0-100, the "nonlinear standardisation" of
    Han 2020), statistics taken inside ``region`` (the body outline by default)."""

    method: str = "nyul"
    region: str = "body"
    bias_correction: bool = True
    percentiles: tuple[float, ...] = (
        1.0,
        10.0,
        20.0,
        30.0,
        40.0,
        50.0,
        60.0,
        70.0,
        80.0,
        90.0,
        99.0,
    )
    landmarks: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.method not in STANDARDISATIONS:
            raise ConfigError(
                f"Standardisation method must be one of {list(STANDARDISATIONS)}; got {self.method!r}."
            )
        if self.region not in STANDARDISATION_REGIONS:
            raise ConfigError(
                f"Standardisation region must be one of {list(STANDARDISATION_REGIONS)}; got {self.region!r}."
            )
        _set(self, "percentiles", tuple(float(p) for p in self.percentiles))
        if self.landmarks is not None:
            _set(self, "landmarks", tuple(float(v) for v in self.landmarks))
            if len(self.landmarks) != len(self.percentiles):
                raise ConfigError(
                    f"Nyul landmarks ({len(self.landmarks)}) must match the percentiles "
                    f"({len(self.percentiles)})."
                )

    @property
    def standard_landmarks(self) -> tuple[float, ...]:
        """Where the percentiles go: the given landmarks, else equally spaced over 0-100."""
        if self.landmarks is not None:
            return self.landmarks
        n = len(self.percentiles)
        return tuple(100.0 * i / (n - 1) for i in range(n))


def _pyradiomics_version() -> str:
    try:
        return version("pyradiomics")
    except PackageNotFoundError:  # pragma: no cover - pyradiomics is a pinned requirement
        return "unknown"


@dataclass(frozen=True)
class ExtractionSettings:
    """Everything that determines a feature table (see the module doc for the naming rule)."""

    preset: str
    rois: tuple[str, ...]
    classes: tuple[FeatureClass, ...]
    scales: tuple[Scale, ...] = (Scale(),)
    discretisations: tuple[Discretisation, ...] = ()
    filters: Filters = Filters()
    texture: TextureOptions = TextureOptions()
    intensity: IntensityOptions = IntensityOptions()
    pyradiomics: str = field(default_factory=_pyradiomics_version)
    version: int = SETTINGS_VERSION
    standardisation: Standardisation | None = None
    lesions: str = "union"
    lesion_aggregate: str = "weighted_mean"
    resegmentation: Resegmentation | None = None

    def __post_init__(self) -> None:
        for name in ("rois", "classes", "scales", "discretisations"):
            _set(self, name, tuple(getattr(self, name)))
        _set(self, "rois", tuple(LEGACY_ROIS.get(r, r) for r in self.rois))
        if self.lesions not in LESION_MODES:
            raise ConfigError(f"lesions must be one of {list(LESION_MODES)}; got {self.lesions!r}.")
        if self.lesion_aggregate not in LESION_AGGREGATES:
            raise ConfigError(
                f"lesion_aggregate must be one of {list(LESION_AGGREGATES)}; got {self.lesion_aggregate!r}."
            )
        if (
            not self.rois
            or len(set(self.rois)) != len(self.rois)
            or not set(self.rois) <= set(ROIS)
        ):
            raise ConfigError(
                f"ROIs must be distinct names from {list(ROIS)}; got {list(self.rois)}."
            )
        names = [c.name for c in self.classes]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"Feature classes must be distinct and at least one; got {names}.")
        for what, tokens in (
            ("scales", [s.token for s in self.scales]),
            ("discretisations", [d.token for d in self.discretisations]),
        ):
            if len(set(tokens)) != len(tokens):
                raise ConfigError(f"The {what} must be distinct; got {tokens}.")
        if not self.scales:
            raise ConfigError("At least one scale (voxel grid) is needed.")
        if self.needs_discretisation and not self.discretisations:
            raise ConfigError(
                f"Feature classes {[n for n in names if n in TEXTURE_CLASSES]} need at least one "
                "gray-level discretisation."
            )

    @property
    def needs_discretisation(self) -> bool:
        """Whether any class is computed on gray levels."""
        return any(
            c.name in TEXTURE_CLASSES
            or (c.name == INTENSITY_CLASS and self.intensity.on == "quantised")
            for c in self.classes
        )

    def quantizer(self, discretisation: Discretisation, filtered: bool = False) -> Quantizer:
        """A fresh quantiser for one of the settings' discretisations, as their version defines
        it: fixed bins from the re-segmentation range's lower bound, when there is one, on the
        original image; a filtered image's (LoG, wavelet: other units than the range's HU) from
        a multiple of the width, as pyradiomics starts them."""
        reseg = self.resegmentation
        bound = reseg.range_min if reseg and not filtered else None
        return discretisation.quantizer(self.version, bound)

    @property
    def histogram_discretisation(self) -> Discretisation | None:
        """The discretisation whose bins first-order Entropy and Uniformity of the intensities
        count: the settings' only one from version 3 (as pyradiomics bins every class alike: a
        ``binCount`` of 32 applied to the texture alone left the entropy on 25 HU bins, up to 4x
        apart on a wavelet image); None: bins of ``intensity.bin_width``."""
        if self.version < 3 or len(self.discretisations) != 1:
            return None
        return self.discretisations[0]

    def feature_class(self, name: str) -> FeatureClass | None:
        """The settings of class ``name``, or None when it is not computed."""
        return next((c for c in self.classes if c.name == name), None)

    def token(
        self,
        scale: Scale,
        image_type: str = "original",
        discretisation: Discretisation | None = None,
    ) -> str:
        """The name token of features on ``scale``, ``image_type`` and ``discretisation`` (module doc)."""
        parts = [scale.token] if len(self.scales) > 1 else []
        if image_type != "original":
            parts.append(image_type)
        if discretisation is not None:
            parts.append(discretisation.token)
        elif image_type == "original":
            parts.append("original")
        return "_".join(parts)

    def with_rois(self, rois: tuple[str, ...]) -> ExtractionSettings:
        """The same settings restricted to ``rois`` (e.g. the GTV only, for images without a liver)."""
        return replace(self, rois=tuple(rois))

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists for tuples)."""
        return json.loads(self.to_json())

    @property
    def uses_absolute_intensity(self) -> bool:
        """Whether values depend on the image's absolute scale (HU bins of a fixed width, or
        first-order features of the raw intensities) rather than on the standardised image."""
        if self.standardisation is not None:
            return False
        fixed_bins = any(d.method == "fixed_bin_width" for d in self.discretisations)
        raw_firstorder = (
            self.feature_class(INTENSITY_CLASS) is not None and self.intensity.on == "original"
        )
        reseg = self.resegmentation
        intensity_range = reseg is not None and (reseg.range_min, reseg.range_max) != (None, None)
        return fixed_bins or raw_firstorder or intensity_range

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace. Options added after the first version are
        left out while they hold their defaults (no standardisation or re-segmentation, lesions
        united, box-aligned unrounded grids, 3D texture, no mean filter, pyradiomics' LoG,
        Lloyd-Max's first fit), so settings of earlier versions keep their hash."""
        data = asdict(self)
        for key in ("standardisation", "resegmentation"):
            if data[key] is None:
                del data[key]
        if data["lesions"] == "union":  # the aggregate only applies to "each"
            del data["lesions"], data["lesion_aggregate"]
        for scale in data["scales"]:
            _drop_defaults(scale, Scale)
        for discretisation in data["discretisations"]:
            _drop_defaults(discretisation, Discretisation)
        _drop_defaults(data["texture"], TextureOptions)
        _drop_defaults(data["filters"], Filters)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def hash(self) -> str:
        """First 16 hex digits of the SHA-256 of :meth:`to_json`."""
        return json_hash(self.to_json())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionSettings:
        """Settings from :meth:`to_dict` output."""
        try:
            return cls(
                preset=data["preset"],
                rois=tuple(data["rois"]),
                classes=tuple(FeatureClass(**c) for c in data["classes"]),
                scales=tuple(Scale(**s) for s in data["scales"]),
                discretisations=tuple(Discretisation(**d) for d in data["discretisations"]),
                filters=Filters(**data["filters"]),
                texture=TextureOptions(**data["texture"]),
                intensity=IntensityOptions(**data["intensity"]),
                pyradiomics=data["pyradiomics"],
                version=data["version"],
                standardisation=(
                    Standardisation(**data["standardisation"])
                    if data.get("standardisation")
                    else None
                ),
                lesions=data.get("lesions", "union"),
                lesion_aggregate=data.get("lesion_aggregate", "weighted_mean"),
                resegmentation=(
                    Resegmentation(**data["resegmentation"]) if data.get("resegmentation") else None
                ),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ConfigError(
                f"Extraction settings are incomplete or malformed ({err}): {data!r:.300}"
            ) from err

    @classmethod
    def from_json(cls, text: str) -> ExtractionSettings:
        """Settings from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"Extraction settings are not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError(f"Extraction settings must be a JSON object; got {text[:100]!r}.")
        return cls.from_dict(data)


#: Fields added to a settings record after its first version, dropped from the JSON at their
#: default so that the hash of earlier settings does not change.
_ADDED_FIELDS: dict[type, tuple[str, ...]] = {
    Scale: ("alignment", "round_intensities"),
    TextureOptions: ("dimension",),
    Filters: ("mean_sizes", "log_kernel", "boundary"),
    Discretisation: ("converged", "optimal"),
}


def _drop_defaults(data: dict[str, Any], record: type) -> None:
    """Remove from ``data`` (a ``record`` as a dict) the added fields that hold their default."""
    defaults = record.__dataclass_fields__
    for name in _ADDED_FIELDS[record]:
        if data.get(name) == defaults[name].default:
            del data[name]


def json_hash(text: str) -> str:
    """The settings hash of settings JSON as written (earlier versions' too: their ROI names are
    read as today's, which changes the re-serialised text but not what was written)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def required_masks(rois: tuple[str, ...]) -> tuple[str, ...]:
    """The case mask roles ``rois`` are made from, sorted."""
    return tuple(sorted({role for roi in rois for role in ROI_SOURCES[roi]}))


def roi_label(roi: str, site: str | None) -> str:
    """What ``roi`` is called in feature names on a case of ``site`` (organ ROIs take its name)."""
    if site and roi in ORGAN_ROIS:
        return roi.replace("organ", site, 1)
    return roi


def feature_name(roi: str, token: str, feature_class: str, feature: str) -> str:
    """``{roi}__{token}__{class}__{feature}``."""
    return f"{roi}__{token}__{feature_class}__{feature}"


def split_feature_name(name: str) -> tuple[str, str, str, str]:
    """(roi, token, class, feature) of a name made by :func:`feature_name`."""
    parts = name.split("__")
    if len(parts) != 4:
        raise ConfigError(f"Feature name {name!r} is not of the form roi__token__class__feature.")
    return parts[0], parts[1], parts[2], parts[3]
