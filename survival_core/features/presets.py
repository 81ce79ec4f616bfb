"""Named extraction settings reproducing the studies RadSurv follows.

Each preset declares the ROIs it needs (``ExtractionSettings.rois``; the case roles they come from:
:func:`~survival_core.features.settings.required_masks`):

- ``wei2021``: 7 texture features x Lloyd-Max gray levels {8, 16, 32, 64} x ROIs {gtv,
  organ_minus_gtv} = 56 features, on a 1 mm isotropic grid (trilinear image, nearest-neighbour
  masks). Needs the organ: on a liver case the names are ``liver_minus_gtv__...`` as in the study.
- ``han2020``: shape, first-order, GLCM, GLRLM, GLSZM and NGTDM features of the GTV; equal-probability
  and uniform (fixed bin count) discretisation x {16, 32} levels x scales {1 mm, native}.
- ``full``: every pyradiomics class on the GTV (``rois`` may add organ_minus_gtv, peritumoral_ring,
  body), 1 mm grid, fixed bin width 25 HU; Laplacian-of-Gaussian and wavelet images optional (off
  by default).

``han2020`` and ``full`` need only the GTV. Both take ``modality``: for MR (no absolute scale) the
image is first bias-corrected (N4) and Nyul-standardised inside the body outline onto 0-100 (Han
2020's "nonlinear standardisation"), and the HU bin widths become widths on that scale
(:data:`MR_BIN_WIDTH`: 32 bins over it); PET (PT) is already on an absolute scale, SUVbw (the
reader converts it), so it is not standardised and ``full`` bins it by :data:`PET_BIN_WIDTH_SUV`;
CT settings are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from survival_core.errors import ConfigError
from survival_core.features.settings import (
    FEATURE_CLASSES,
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    Filters,
    IntensityOptions,
    Scale,
    Standardisation,
)

#: The texture features of Wei et al. (2021), by pyradiomics class (pyradiomics names:
#: SmallAreaEmphasis is the IBSI small zone emphasis).
WEI2021_FEATURES = {
    "glcm": ("Correlation",),
    "glrlm": ("GrayLevelNonUniformity", "HighGrayLevelRunEmphasis"),
    "glszm": (
        "SmallAreaEmphasis",
        "GrayLevelNonUniformity",
        "SizeZoneNonUniformity",
        "SmallAreaHighGrayLevelEmphasis",
    ),
}
WEI2021_LEVELS = (8, 16, 32, 64)
HAN2020_LEVELS = (16, 32)
#: Fixed bin width (HU) of the ``full`` preset: pyradiomics' default, usual for CT (its bins'
#: edges at multiples of the width, as pyradiomics', since settings version 3).
FULL_BIN_WIDTH_HU = 25.0
#: Bin width on the 0-100 standardised MR scale: 32 bins over it.
MR_BIN_WIDTH = 100.0 / 32
#: Fixed bin width (SUVbw) of the ``full`` preset on PET (Leijenaar et al., Sci Rep 2015: 0.5 SUV).
PET_BIN_WIDTH_SUV = 0.5
#: How images without an absolute scale (MR and any modality but CT and PET) are standardised.
MR_STANDARDISATION = Standardisation(method="nyul", region="body", bias_correction=True)


def _is_ct(modality: str) -> bool:
    return str(modality).upper() == "CT"


def _is_relative(modality: str) -> bool:
    """Whether the modality's intensities have no absolute scale (not HU, not SUV)."""
    return str(modality).upper() not in ("CT", "PT")


def _bin_width(modality: str) -> float:
    """``full``'s fixed bin width: HU on CT, SUV on PET, the standardised scale otherwise."""
    if _is_ct(modality):
        return FULL_BIN_WIDTH_HU
    return MR_BIN_WIDTH if _is_relative(modality) else PET_BIN_WIDTH_SUV


ONE_MM = Scale(spacing_mm=1.0, interpolator="linear", mask_method="nearest")


def wei2021() -> ExtractionSettings:
    """Settings of Wei et al. (2021): 56 texture features (see module doc)."""
    return ExtractionSettings(
        preset="wei2021",
        rois=("gtv", "organ_minus_gtv"),
        classes=tuple(FeatureClass(name, features) for name, features in WEI2021_FEATURES.items()),
        scales=(ONE_MM,),
        discretisations=tuple(
            Discretisation("lloyd_max", levels=n, optimal=True) for n in WEI2021_LEVELS
        ),
    )


def han2020(modality: str = "CT") -> ExtractionSettings:
    """Settings of Han et al. (2020): GTV features at two scales and four discretisations; on MR
    after the study's nonlinear intensity standardisation."""
    mr = _is_relative(modality)
    return ExtractionSettings(
        preset="han2020",
        rois=("gtv",),
        classes=tuple(
            FeatureClass(name)
            for name in ("shape", "firstorder", "glcm", "glrlm", "glszm", "ngtdm")
        ),
        scales=(ONE_MM, Scale(spacing_mm=None)),
        discretisations=tuple(
            Discretisation(method, levels=n)
            for method in ("equal_probability", "uniform")
            for n in HAN2020_LEVELS
        ),
        **(
            {
                "standardisation": MR_STANDARDISATION,
                "intensity": IntensityOptions(bin_width=MR_BIN_WIDTH),
            }
            if mr
            else {}
        ),
    )


def full(
    log_sigmas_mm: Sequence[float] = (),
    wavelet: str | None = None,
    rois: Sequence[str] = ("gtv",),
    modality: str = "CT",
) -> ExtractionSettings:
    """Every pyradiomics feature class on ``rois`` (the GTV by default); LoG images at
    ``log_sigmas_mm`` (mm) and the ``wavelet`` decompositions (e.g. "coif1") when given; on MR
    standardised first, with bins on the standard scale; on PET bins of SUV."""
    width = _bin_width(modality)
    return ExtractionSettings(
        preset="full",
        rois=tuple(rois),
        classes=tuple(FeatureClass(name) for name in FEATURE_CLASSES),
        scales=(ONE_MM,),
        discretisations=(Discretisation("fixed_bin_width", bin_width=width),),
        filters=Filters(log_sigmas_mm=tuple(log_sigmas_mm), wavelet=wavelet),
        **({} if _is_ct(modality) else {"intensity": IntensityOptions(bin_width=width)}),
        **({"standardisation": MR_STANDARDISATION} if _is_relative(modality) else {}),
    )


PRESETS: dict[str, Callable[..., ExtractionSettings]] = {
    "wei2021": wei2021,
    "han2020": han2020,
    "full": full,
}


#: Presets with a CT and an MR variant (the others use no absolute intensity).
MODALITY_VARIANTS = ("han2020", "full")


def get_preset(name: str, modality: str | None = None, **options: object) -> ExtractionSettings:
    """The settings of preset ``name`` for images of ``modality`` (CT when None); ``options`` go to
    the preset (``full``: ``log_sigmas_mm``, ``wavelet``, ``rois``)."""
    if name not in PRESETS:
        raise ConfigError(f"Unknown feature preset {name!r}; choose one of {sorted(PRESETS)}.")
    if modality is not None and name in MODALITY_VARIANTS:
        options = {**options, "modality": modality}
    try:
        return PRESETS[name](**options)
    except TypeError as err:
        raise ConfigError(f"Preset {name!r} does not take the options {sorted(options)}.") from err
