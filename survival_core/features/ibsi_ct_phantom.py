"""The IBSI chapter 1 CT radiomics phantom through RadSurv's extraction, configurations A to E.

The phantom (a lung-cancer CT, 204 x 201 x 60 voxels of 0.977 x 0.977 x 3 mm, ROI ``GTV-1``) is read
as DICOM + RTSTRUCT or as NIfTI by :func:`survival_core.io.case_loader.load_case`. Each configuration
of the IBSI reference manual becomes :class:`ExtractionSettings`:

====  ====================================  ========================  =============  ========
conf  grid                                  re-segmentation           gray levels    texture
====  ====================================  ========================  =============  ========
A     native                                -500 to 400 HU            bins of 25 HU  2D, 2.5D
B     2 x 2 mm in-plane (3 mm slices kept)  -500 to 400 HU            32 bins        2D, 2.5D
C     2 mm isotropic, trilinear             -1000 to 400 HU           bins of 25 HU  3D
D     2 mm isotropic, trilinear             mean +- 3 SD              32 bins        3D
E     2 mm isotropic, tricubic spline       -1000 to 400 HU, +- 3 SD  32 bins        3D
====  ====================================  ========================  =============  ========

Resampled grids follow IBSI: centres aligned, masks interpolated linearly and kept at >= 0.5,
intensities rounded to whole HU. Fixed bins count from the lower bound of the re-segmentation range.
Every reference value whose tag has a pyradiomics counterpart
(:func:`survival_core.features.ibsi_reference.counterpart`) is compared; the image and mask
diagnostics of the reference files (sizes, voxel counts, intensities at each step) check our
reading, resampling and re-segmentation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.errors import InputError
from survival_core.features.ibsi_reference import (
    AGGREGATIONS,
    KURTOSIS,
    LEVELS,
    ORIGINAL,
    TEXTURE,
    Deviation,
    counterpart,
    family,
    read_reference,
    within_tolerance,
)
from survival_core.features.radiomics import extract_image, resample_region
from survival_core.features.settings import (
    FEATURE_CLASSES,
    TEXTURE_CLASSES,
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    IntensityOptions,
    Resegmentation,
    Scale,
    TextureOptions,
)
from survival_core.io.case_loader import load_case

#: Where the phantom and the reference values lie under the shared data folder.
PHANTOM_DIR = Path("ibsi1") / "ct_radiomics_phantom"
REFERENCE_DIR = Path("ibsi1") / "reference_values"
CONFIGS = ("A", "B", "C", "D", "E")
SOURCES = ("dicom", "nifti")


def _ibsi_scale(spacing_mm: tuple[float, float, float], interpolator: str) -> Scale:
    return Scale(
        spacing_mm=spacing_mm,
        interpolator=interpolator,
        mask_method="linear",
        alignment="centre",
        round_intensities=True,
    )


@dataclass(frozen=True)
class Configuration:
    """One IBSI CT-phantom configuration: the grid, re-segmentation, discretisation and texture
    dimensions (2D configurations report 2D and 2.5D texture, 3D ones 3D)."""

    name: str
    scale: Scale
    resegmentation: Resegmentation
    discretisation: Discretisation
    dimensions: tuple[str, ...]

    def settings(self) -> ExtractionSettings:
        """The configuration as one settings record for a GTV: every feature class, texture in the
        configuration's first dimension with directions averaged."""
        return ExtractionSettings(
            preset=f"ibsi_ct_{self.name}",
            rois=("gtv",),
            classes=tuple(FeatureClass(name) for name in FEATURE_CLASSES),
            scales=(self.scale,),
            discretisations=(self.discretisation,),
            texture=TextureOptions(dimension=self.dimensions[0]),
            resegmentation=self.resegmentation,
        )

    def runs(self) -> Iterator[tuple[str, ExtractionSettings]]:
        """(run, settings) of the extractions that hold every mapped value: shape and first order
        of the original intensities; first order of the gray levels; texture per dimension with
        directions averaged and merged (run ``texture_<dimension>_<avg|comb>``)."""
        base = self.settings()
        textures = tuple(FeatureClass(name) for name in TEXTURE_CLASSES)
        yield ORIGINAL, replace(base, classes=(FeatureClass("shape"), FeatureClass("firstorder")))
        yield (
            LEVELS,
            replace(
                base,
                classes=(FeatureClass("firstorder"),),
                intensity=IntensityOptions(on="quantised"),
            ),
        )
        for dimension in self.dimensions:
            for merge in (False, True):
                texture = TextureOptions(dimension=dimension, merge_directions=merge)
                yield (
                    _texture_run(dimension, merge),
                    replace(base, classes=textures, texture=texture),
                )


def _texture_run(dimension: str, merge: bool) -> str:
    return f"texture_{dimension}_{'comb' if merge else 'avg'}"


_FBS = Discretisation("fixed_bin_width", bin_width=25.0, min_value=-500.0)
_FBN = Discretisation("uniform", levels=32)
CONFIGURATIONS: dict[str, Configuration] = {
    "A": Configuration("A", Scale(), Resegmentation(-500.0, 400.0), _FBS, ("2D", "2.5D")),
    "B": Configuration(
        "B",
        _ibsi_scale((2.0, 2.0, 3.0), "linear"),
        Resegmentation(-500.0, 400.0),
        _FBN,
        ("2D", "2.5D"),
    ),
    "C": Configuration(
        "C",
        _ibsi_scale((2.0, 2.0, 2.0), "linear"),
        Resegmentation(-1000.0, 400.0),
        replace(_FBS, min_value=-1000.0),
        ("3D",),
    ),
    "D": Configuration(
        "D", _ibsi_scale((2.0, 2.0, 2.0), "linear"), Resegmentation(outlier_sd=3.0), _FBN, ("3D",)
    ),
    "E": Configuration(
        "E",
        _ibsi_scale((2.0, 2.0, 2.0), "bspline"),
        Resegmentation(-1000.0, 400.0, outlier_sd=3.0),
        _FBN,
        ("3D",),
    ),
}

#: Per configuration, IBSI tag -> why our value is outside the reference tolerance.
KNOWN_DEVIATIONS: dict[str, dict[str, Deviation]] = {
    name: {"stat_kurt": KURTOSIS, "ih_kurt": KURTOSIS} for name in CONFIGS
}


def phantom_paths(shared_data: Path) -> dict[str, Path]:
    """The phantom's DICOM and NIfTI folders under ``shared_data``; InputError when absent."""
    folder = shared_data / PHANTOM_DIR
    paths = {source: folder / source for source in SOURCES}
    missing = [str(p) for p in paths.values() if not p.is_dir()]
    if missing:
        raise InputError(f"The IBSI CT phantom is not under {shared_data}: missing {missing}.")
    return paths


def load_phantom(shared_data: Path, source: str = "dicom") -> tuple[sitk.Image, sitk.Image]:
    """(image, GTV mask) of the phantom read from its ``source`` ("dicom": the CT series and the
    RTSTRUCT's GTV-1, or "nifti"), through RadSurv's case reader."""
    folder = phantom_paths(shared_data)[source]
    roles = {"gtv": "mask/mask.nii.gz"} if source == "nifti" else None
    case = load_case(folder, roles=roles)
    return case.image, case.masks["gtv"]


def reference_values(shared_data: Path, config: str) -> dict[str, tuple[float, float]]:
    """IBSI tag -> (reference value, tolerance) of ``config``."""
    path = shared_data / REFERENCE_DIR / f"ibsi_1_chest_config_{config.lower()}.csv"
    return read_reference(path)


def extract(
    image: sitk.Image, mask: sitk.Image, config: Configuration
) -> dict[str, dict[tuple[str, str], float]]:
    """Our values of ``config``'s runs: run -> (pyradiomics class, feature) -> value."""
    out = {}
    for run, settings in config.runs():
        case = f"IBSI configuration {config.name}"
        features = extract_image(image, {"gtv": mask}, settings, name=case)
        out[run] = {tuple(name.split("__")[2:]): value for name, value in features.items()}
    return out


def value_of(values: dict[str, dict[tuple[str, str], float]], tag: str) -> float | None:
    """Our value of IBSI ``tag`` in ``values`` (from :func:`extract`); None without a counterpart."""
    mapped = counterpart(tag)
    if mapped is None:
        return None
    feature_class, feature, source, suffix = mapped
    if source == TEXTURE:
        source = _texture_run(*AGGREGATIONS[suffix])
    run = values.get(source)
    return None if run is None else run.get((feature_class, feature))


# --- image and mask diagnostics ----------------------------------------------------------------


def _roi_diagnostics(values: np.ndarray, mask: np.ndarray, stage: str, kind: str) -> dict:
    """IBSI diagnostics of one mask at one stage (``init``, ``interp``, ``reseg``)."""
    present = [
        np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in (2, 1, 0)
    ]
    out = {f"{kind}_mask_vox_count_{stage}_roi": float(mask.sum())}
    for axis, found in zip("xyz", present, strict=True):
        out[f"{kind}_mask_bb_dim_{axis}_{stage}_roi"] = float(found[-1] - found[0] + 1)
    if kind == "int":
        for axis, n in zip("xyz", mask.shape[::-1], strict=True):
            out[f"int_mask_dim_{axis}_{stage}_roi"] = float(n)
        inside = values[mask]
        out[f"int_mask_mean_int_{stage}_roi"] = float(inside.mean())
        out[f"int_mask_min_int_{stage}_roi"] = float(inside.min())
        out[f"int_mask_max_int_{stage}_roi"] = float(inside.max())
    return out


def _image_diagnostics(values: np.ndarray, spacing: tuple[float, ...], stage: str) -> dict:
    out = {}
    for axis, n, s in zip("xyz", values.shape[::-1], spacing, strict=True):
        out[f"img_dim_{axis}_{stage}_img"] = float(n)
        out[f"vox_dim_{axis}_{stage}_img"] = float(s)
    out[f"mean_int_{stage}_img"] = float(values.mean())
    out[f"min_int_{stage}_img"] = float(values.min())
    out[f"max_int_{stage}_img"] = float(values.max())
    return out


def diagnostics(image: sitk.Image, mask: sitk.Image, config: Configuration) -> dict[str, float]:
    """IBSI diagnostic tag -> our value: the image and ROI as read (``init``), on the
    configuration's grid (``interp``) and after re-segmentation (``reseg``), through the same
    resampling and re-segmentation as the extraction (:func:`resample_region`)."""
    values = sitk.GetArrayFromImage(image)
    voxels = sitk.GetArrayFromImage(mask).astype(bool)
    out = _image_diagnostics(values, image.GetSpacing(), "init")
    for kind in ("int", "morph"):
        out |= _roi_diagnostics(values, voxels, "init", kind)
    # a margin wider than the image keeps the whole grid
    whole = 10.0 * float(np.max(np.asarray(image.GetSize()) * np.asarray(image.GetSpacing())))
    region = resample_region(image, {"gtv": mask}, config.scale, whole, config.resegmentation)
    out |= _image_diagnostics(region.image, region.spacing, "interp")
    stages = (("interp", region.masks["gtv"]), ("reseg", region.intensity_masks["gtv"]))
    for stage, roi in stages:
        out |= _roi_diagnostics(region.image, roi, stage, "int")
        out |= _roi_diagnostics(region.image, region.masks["gtv"], stage, "morph")
    return out


# --- comparison --------------------------------------------------------------------------------

MATCHED, DEVIATES, UNEXPLAINED, NO_COUNTERPART = (
    "matched",
    "documented deviation",
    "unexplained",
    "no counterpart",
)


@dataclass(frozen=True)
class Comparison:
    """One reference value against ours: ``status`` is :data:`MATCHED`, :data:`DEVIATES` (with
    ``reason``, and ``converted``: our value on the IBSI definition when one exists),
    :data:`UNEXPLAINED` or :data:`NO_COUNTERPART` (``ours`` None)."""

    config: str
    tag: str
    family: str
    reference: float
    tolerance: float
    ours: float | None
    status: str
    reason: str = ""
    converted: float | None = None


def compare(
    config: str, values: dict[str, dict[tuple[str, str], float]], reference: dict
) -> list[Comparison]:
    """Every feature reference value of ``config`` (diagnostics left out) against our ``values``."""
    deviations = KNOWN_DEVIATIONS[config]
    out = []
    for tag, (ref, tol) in reference.items():
        if family(tag) in ("diagnostics", "other"):
            continue
        ours = value_of(values, tag)
        status, reason, converted = NO_COUNTERPART, "", None
        if ours is not None:
            status = MATCHED if within_tolerance(ours, ref, tol) else UNEXPLAINED
            if status == UNEXPLAINED and tag in deviations:
                status, reason = DEVIATES, deviations[tag].reason
                if deviations[tag].convert is not None:
                    converted = deviations[tag].convert(ours)
        out.append(Comparison(config, tag, family(tag), ref, tol, ours, status, reason, converted))
    return out


def compare_diagnostics(config: str, ours: dict[str, float], reference: dict) -> list[Comparison]:
    """The image and mask diagnostics of ``config`` that the reference file states, against ours."""
    out = []
    for tag, (ref, tol) in reference.items():
        if tag in ours:
            status = MATCHED if within_tolerance(ours[tag], ref, tol) else UNEXPLAINED
            out.append(Comparison(config, tag, "diagnostics", ref, tol, ours[tag], status))
    return out
