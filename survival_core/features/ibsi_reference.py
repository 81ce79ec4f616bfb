"""IBSI chapter 1 feature tags, their pyradiomics counterparts and the consensus tolerance rule.

The IBSI reference values (``ibsi_1_*.csv``: ``reference value;tolerance;tag``) name each feature by
a tag: a family prefix and feature (``cm_joint_max``) and, for texture families, the aggregation
(``_3D_avg``: 3D, features per direction averaged; ``_3D_comb``: one matrix merged over the
directions; ``_2_5D_*``: in-plane directions with the slices merged; ``_2D_*``: per slice, averaged
over slices; GLSZM, NGTDM and NGLDM have one matrix per slice or volume: ``_3D``, ``_2_5D``, ``_2D``).

:data:`FEATURES` maps every IBSI feature with a pyradiomics counterpart to (pyradiomics class,
feature, input): first order of the original intensities (IBSI ``stat_``) or of the gray levels
(``ih_``), shape of the contoured ROI (``morph_``), texture of the gray levels. IBSI NGLDM (coarseness
0, Chebyshev distance 1) is pyradiomics' GLDM with alpha 0. :data:`NO_COUNTERPART` lists the tag
prefixes pyradiomics 3.0.1 has no feature for.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from survival_core.errors import InputError

#: Inputs of a mapped feature: the ROI as contoured and its original intensities (shape, ``stat_``),
#: its gray levels (``ih_``) or its gray-level texture matrices.
ORIGINAL, LEVELS, TEXTURE = "original", "levels", "texture"

_STATISTICS = {
    "mean": "Mean",
    "var": "Variance",
    "skew": "Skewness",
    "kurt": "Kurtosis",
    "median": "Median",
    "min": "Minimum",
    "p10": "10Percentile",
    "p90": "90Percentile",
    "max": "Maximum",
    "iqr": "InterquartileRange",
    "range": "Range",
    "mad": "MeanAbsoluteDeviation",
    "rmad": "RobustMeanAbsoluteDeviation",
}
_GLCM = {
    "joint_max": "MaximumProbability",
    "joint_avg": "JointAverage",
    "joint_var": "SumSquares",
    "joint_entr": "JointEntropy",
    "diff_avg": "DifferenceAverage",
    "diff_var": "DifferenceVariance",
    "diff_entr": "DifferenceEntropy",
    "sum_avg": "SumAverage",
    "sum_var": "ClusterTendency",  # pyradiomics deprecates SumVariance as equal to it
    "sum_entr": "SumEntropy",
    "energy": "JointEnergy",
    "contrast": "Contrast",
    "dissimilarity": "DifferenceAverage",  # pyradiomics deprecates Dissimilarity as equal to it
    "inv_diff": "Id",
    "inv_diff_norm": "Idn",
    "inv_diff_mom": "Idm",
    "inv_diff_mom_norm": "Idmn",
    "inv_var": "InverseVariance",
    "corr": "Correlation",
    "auto_corr": "Autocorrelation",
    "clust_tend": "ClusterTendency",
    "clust_shade": "ClusterShade",
    "clust_prom": "ClusterProminence",
    "info_corr1": "Imc1",
    "info_corr2": "Imc2",
}
_GLRLM = {
    "sre": "ShortRunEmphasis",
    "lre": "LongRunEmphasis",
    "lgre": "LowGrayLevelRunEmphasis",
    "hgre": "HighGrayLevelRunEmphasis",
    "srlge": "ShortRunLowGrayLevelEmphasis",
    "srhge": "ShortRunHighGrayLevelEmphasis",
    "lrlge": "LongRunLowGrayLevelEmphasis",
    "lrhge": "LongRunHighGrayLevelEmphasis",
    "glnu": "GrayLevelNonUniformity",
    "glnu_norm": "GrayLevelNonUniformityNormalized",
    "rlnu": "RunLengthNonUniformity",
    "rlnu_norm": "RunLengthNonUniformityNormalized",
    "r_perc": "RunPercentage",
    "gl_var": "GrayLevelVariance",
    "rl_var": "RunVariance",
    "rl_entr": "RunEntropy",
}
_GLSZM = {
    "sze": "SmallAreaEmphasis",
    "lze": "LargeAreaEmphasis",
    "lgze": "LowGrayLevelZoneEmphasis",
    "hgze": "HighGrayLevelZoneEmphasis",
    "szlge": "SmallAreaLowGrayLevelEmphasis",
    "szhge": "SmallAreaHighGrayLevelEmphasis",
    "lzlge": "LargeAreaLowGrayLevelEmphasis",
    "lzhge": "LargeAreaHighGrayLevelEmphasis",
    "glnu": "GrayLevelNonUniformity",
    "glnu_norm": "GrayLevelNonUniformityNormalized",
    "zsnu": "SizeZoneNonUniformity",
    "zsnu_norm": "SizeZoneNonUniformityNormalized",
    "z_perc": "ZonePercentage",
    "gl_var": "GrayLevelVariance",
    "zs_var": "ZoneVariance",
    "zs_entr": "ZoneEntropy",
}
_NGTDM = {
    "coarseness": "Coarseness",
    "contrast": "Contrast",
    "busyness": "Busyness",
    "complexity": "Complexity",
    "strength": "Strength",
}
_NGLDM = {
    "lde": "SmallDependenceEmphasis",
    "hde": "LargeDependenceEmphasis",
    "lgce": "LowGrayLevelEmphasis",
    "hgce": "HighGrayLevelEmphasis",
    "ldlge": "SmallDependenceLowGrayLevelEmphasis",
    "ldhge": "SmallDependenceHighGrayLevelEmphasis",
    "hdlge": "LargeDependenceLowGrayLevelEmphasis",
    "hdhge": "LargeDependenceHighGrayLevelEmphasis",
    "glnu": "GrayLevelNonUniformity",
    "dcnu": "DependenceNonUniformity",
    "dcnu_norm": "DependenceNonUniformityNormalized",
    "gl_var": "GrayLevelVariance",
    "dc_var": "DependenceVariance",
    "dc_entr": "DependenceEntropy",
}

#: IBSI feature (tag without aggregation) -> (pyradiomics class, pyradiomics feature, input).
FEATURES: dict[str, tuple[str, str, str]] = {
    # morphology (mesh-based volume and area, as IBSI)
    "morph_volume": ("shape", "MeshVolume", ORIGINAL),
    "morph_vol_approx": ("shape", "VoxelVolume", ORIGINAL),
    "morph_area_mesh": ("shape", "SurfaceArea", ORIGINAL),
    "morph_av": ("shape", "SurfaceVolumeRatio", ORIGINAL),
    "morph_sphericity": ("shape", "Sphericity", ORIGINAL),
    "morph_diam": ("shape", "Maximum3DDiameter", ORIGINAL),
    "morph_pca_maj_axis": ("shape", "MajorAxisLength", ORIGINAL),
    "morph_pca_min_axis": ("shape", "MinorAxisLength", ORIGINAL),
    "morph_pca_least_axis": ("shape", "LeastAxisLength", ORIGINAL),
    "morph_pca_elongation": ("shape", "Elongation", ORIGINAL),
    "morph_pca_flatness": ("shape", "Flatness", ORIGINAL),
    **{f"stat_{k}": ("firstorder", v, ORIGINAL) for k, v in _STATISTICS.items()},
    "stat_energy": ("firstorder", "Energy", ORIGINAL),
    "stat_rms": ("firstorder", "RootMeanSquared", ORIGINAL),
    **{f"ih_{k}": ("firstorder", v, LEVELS) for k, v in _STATISTICS.items()},
    "ih_entropy": ("firstorder", "Entropy", LEVELS),
    "ih_uniformity": ("firstorder", "Uniformity", LEVELS),
    **{f"cm_{k}": ("glcm", v, TEXTURE) for k, v in _GLCM.items()},
    **{f"rlm_{k}": ("glrlm", v, TEXTURE) for k, v in _GLRLM.items()},
    **{f"szm_{k}": ("glszm", v, TEXTURE) for k, v in _GLSZM.items()},
    **{f"ngt_{k}": ("ngtdm", v, TEXTURE) for k, v in _NGTDM.items()},
    **{f"ngl_{k}": ("gldm", v, TEXTURE) for k, v in _NGLDM.items()},
    # pyradiomics deprecates GLDM GrayLevelNonUniformityNormalized as equal to the first-order
    # uniformity of the levels: true of one matrix over the ROI (3D, 2.5D), not of per-slice means
    "ngl_glnu_norm": ("firstorder", "Uniformity", LEVELS),
}

#: IBSI aggregation suffix -> (texture dimension, directions merged into one matrix).
AGGREGATIONS: dict[str, tuple[str, bool]] = {
    "_3D_avg": ("3D", False),
    "_3D_comb": ("3D", True),
    "_2_5D_avg": ("2.5D", False),
    "_2_5D_comb": ("2.5D", True),
    "_2D_avg": ("2D", False),
    "_2D_comb": ("2D", True),
    "_3D": ("3D", False),
    "_2_5D": ("2.5D", False),
    "_2D": ("2D", False),
}

#: Tag prefixes pyradiomics 3.0.1 has no feature for (or only a deprecated one derived from another).
NO_COUNTERPART = (
    "morph_comp_1", "morph_comp_2", "morph_sph_dispr", "morph_asphericity",  # deprecated or absent
    "morph_com", "morph_vol_dens", "morph_area_dens", "morph_integ_int", "morph_moran_i", "morph_geary_c",
    "loc_peak", "stat_medad", "stat_cov", "stat_qcod", "ih_mode", "ih_medad", "ih_cov", "ih_qcod",
    "ih_max_grad", "ih_min_grad", "ivh_", "dzm_", "ngl_dc_perc", "ngl_dc_energy",
    # per-slice means of the GLDM gray-level uniformity (pyradiomics only has the ROI's, above)
    "ngl_glnu_norm_2D",
)  # fmt: skip

#: Families of feature tags (prefix -> name), in the order of the IBSI tables.
FAMILIES = {
    "morph_": "morphology",
    "loc_": "local intensity",
    "stat_": "intensity statistics",
    "ih_": "intensity histogram",
    "ivh_": "intensity-volume histogram",
    "cm_": "GLCM",
    "rlm_": "GLRLM",
    "szm_": "GLSZM",
    "dzm_": "GLDZM",
    "ngt_": "NGTDM",
    "ngl_": "NGLDM",
}


#: Endings of the image and mask diagnostic tags of the CT phantom's reference files (sizes,
#: voxel counts and intensities of the image and ROI as read, interpolated and re-segmented).
DIAGNOSTIC_ENDINGS = ("_img", "_roi")


def family(tag: str) -> str:
    """The IBSI feature family of ``tag`` (e.g. "GLCM"), "diagnostics" for the image and mask
    diagnostics, "other" for anything else."""
    if tag.endswith(DIAGNOSTIC_ENDINGS):
        return "diagnostics"
    return next((name for prefix, name in FAMILIES.items() if tag.startswith(prefix)), "other")


def split_tag(tag: str) -> tuple[str, str | None]:
    """(feature, aggregation suffix or None) of an IBSI tag: ``cm_joint_max_3D_avg`` ->
    (``cm_joint_max``, ``_3D_avg``)."""
    for suffix in AGGREGATIONS:  # longest suffixes first: "_3D_avg" before "_3D"
        if tag.endswith(suffix):
            return tag.removesuffix(suffix), suffix
    return tag, None


def counterpart(tag: str) -> tuple[str, str, str, str | None] | None:
    """(pyradiomics class, feature, input, aggregation suffix) of an IBSI tag; None without one."""
    if tag.startswith(NO_COUNTERPART):
        return None
    feature, suffix = split_tag(tag)
    if feature not in FEATURES:
        return None
    return (*FEATURES[feature], suffix)


def read_reference(path: Path | str) -> dict[str, tuple[float, float]]:
    """IBSI tag -> (reference value, tolerance) of a reference file (``;``-separated, columns
    ``reference value;tolerance;tag``), tags with a value only."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
    except OSError as err:
        raise InputError(f"Cannot read the IBSI reference values {path}: {err}") from err
    try:
        return {
            row["tag"]: (float(row["reference value"]), float(row["tolerance"] or 0))
            for row in rows
            if row.get("reference value")
        }
    except (KeyError, ValueError) as err:
        raise InputError(f"{path} is not an IBSI reference file ({err}).") from err


def round_significant(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits (the precision of IBSI reference values)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def within_tolerance(value: float, reference: float, tolerance: float) -> bool:
    """The IBSI rule: ``value`` rounded to 3 significant digits (the precision of most reference
    values) lies within ``tolerance`` of the reference value; a reference stated to more digits
    (voxel counts, image sizes) is met by the value itself."""
    if not math.isfinite(value):
        return False
    # 1e-9 relative: a value one float step beyond the bound still matches
    within = tolerance + 1e-9 * max(abs(reference), 1.0)
    return abs(round_significant(value) - reference) <= within or abs(value - reference) <= within


@dataclass(frozen=True)
class Deviation:
    """Why pyradiomics' value of a feature differs from IBSI's, and, where the difference is a
    definition, ``convert``: our value on the IBSI definition."""

    reason: str
    convert: Callable[[float], float] | None = None


#: pyradiomics reports kurtosis, IBSI excess kurtosis.
KURTOSIS = Deviation(
    "pyradiomics reports kurtosis, IBSI excess kurtosis (kurtosis - 3)", lambda v: v - 3.0
)
