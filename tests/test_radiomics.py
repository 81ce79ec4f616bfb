"""Feature extraction of one case: gray levels handed to pyradiomics unchanged, feature sets and
names of the presets, first-order on HU, errors, and pyradiomics' own sample images."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from case_builders import make_case
from radiomics import glcm, glszm

from survival_core.case import Case
from survival_core.errors import ConfigError, MaskError
from survival_core.features.presets import PRESETS, get_preset
from survival_core.features.radiomics import (
    GLCM,
    GLSZM,
    class_features,
    compute_class,
    extract_case,
    extract_image,
    feature_names,
)
from survival_core.features.settings import (
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    Filters,
    IntensityOptions,
    Resegmentation,
    Scale,
    TextureOptions,
)
from survival_core.io.role_masks import assign_roles
from survival_core.preprocess.quantize import FixedBinCount, quantize_roi
from survival_core.preprocess.resample import resample_image, resample_mask


def _image(array: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


@pytest.fixture(scope="module")
def noisy_case() -> Case:
    """The test ellipsoid liver with a spherical tumour, with Gaussian noise so textures vary."""
    case = make_case(size=(40, 36, 14), spacing=(0.8, 0.8, 2.5))
    values = sitk.GetArrayFromImage(case.image)
    values += np.random.default_rng(3).normal(0, 25, values.shape).astype(np.float32)
    noisy = _image(values)
    noisy.CopyInformation(case.image)
    return Case(case.case_id, noisy, case.masks, case.clinical)


@pytest.fixture(scope="module")
def roi_levels() -> tuple[np.ndarray, np.ndarray]:
    """A 3D ROI and random gray levels in it: level 1 absent, levels 2..6 present."""
    rng = np.random.default_rng(0)
    mask = np.zeros((6, 8, 8), dtype=bool)
    mask[1:5, 2:7, 1:7] = True
    levels = np.where(mask, rng.integers(2, 7, mask.shape), 0).astype(np.int32)
    return levels, mask


def test_pyradiomics_sees_exactly_our_levels(roi_levels) -> None:
    levels, mask = roi_levels
    calculator = GLCM(_image(levels), _image(mask.astype(np.uint8)))
    assert np.array_equal(calculator.imageArray[mask], levels[mask])
    assert np.array_equal(calculator.coefficients["grayLevels"], [2, 3, 4, 5, 6])
    assert calculator.coefficients["Ng"] == 6
    calculator.enableFeatureByName("JointAverage")
    calculator.execute()
    assert calculator.P_glcm.shape[1:3] == (5, 5)  # present levels only, values kept in grayLevels
    joint_average = compute_class(
        GLCM, _image(levels), _image(mask.astype(np.uint8)), ("JointAverage",)
    )
    assert joint_average["JointAverage"] > 2.0  # level values, not ranks starting at 1


def test_stock_pyradiomics_binning_would_shift_levels(roi_levels) -> None:
    """Why binning is bypassed: pyradiomics' bin width 1 maps level v to v - min + 1."""
    levels, mask = roi_levels
    stock = glcm.RadiomicsGLCM(_image(levels), _image(mask.astype(np.uint8)), binWidth=1)
    assert np.array_equal(stock.imageArray[mask], levels[mask] - 1)


@pytest.mark.parametrize(
    ("name", "calculator", "stock"),
    [("glcm", GLCM, glcm.RadiomicsGLCM), ("glszm", GLSZM, glszm.RadiomicsGLSZM)],
)
def test_given_levels_equal_stock_pyradiomics_when_levels_start_at_1(
    roi_levels, name, calculator, stock
) -> None:
    levels, mask = roi_levels
    levels = np.where(mask, levels - 1, 0)  # now 1..5
    features = class_features(FeatureClass(name))
    ours = compute_class(calculator, _image(levels), _image(mask.astype(np.uint8)), features)
    theirs = compute_class(
        stock,
        _image(levels.astype(np.float32)),
        _image(mask.astype(np.uint8)),
        features,
        binWidth=1,
    )
    assert ours == pytest.approx(theirs, rel=1e-12, nan_ok=True)


def test_our_uniform_quantiser_matches_pyradiomics_bin_count() -> None:
    """One code path: 'uniform' levels from our quantiser give pyradiomics' own binCount features."""
    rng = np.random.default_rng(1)
    values = rng.normal(50, 20, (8, 12, 12)).astype(np.float32)
    mask = np.zeros(values.shape, dtype=np.uint8)
    mask[1:7, 2:10, 2:11] = 1
    levels = quantize_roi(values, mask, FixedBinCount(16))
    features = class_features(FeatureClass("glcm"))
    ours = compute_class(GLCM, _image(levels), _image(mask), features)
    theirs = compute_class(glcm.RadiomicsGLCM, _image(values), _image(mask), features, binCount=16)
    assert ours == pytest.approx(theirs, rel=1e-10)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_produce_exactly_their_named_features(noisy_case: Case, preset: str) -> None:
    settings = get_preset(preset)
    features = extract_case(noisy_case, settings)
    names = feature_names(settings)
    assert set(features) == set(names)
    assert len(features) == len(names) == len(set(names))
    assert np.isfinite([features[n] for n in names if "__shape__" not in n]).mean() > 0.95


def test_wei2021_has_56_features_named_by_the_rule(noisy_case: Case) -> None:
    names = feature_names(get_preset("wei2021"), site="liver")
    assert len(names) == 56
    # On a liver case the names are the study's (and earlier versions'); other sites name their organ.
    assert "liver_minus_gtv__lloydmax16__glszm__SizeZoneNonUniformity" in names
    lung = feature_names(get_preset("wei2021"), site="lung")
    assert "lung_minus_gtv__lloydmax16__glszm__SizeZoneNonUniformity" in lung
    assert "organ_minus_gtv__lloydmax8__glcm__Correlation" in feature_names(get_preset("wei2021"))
    assert "gtv__lloydmax64__glcm__Correlation" in names
    assert not any("glcm__Contrast" in n for n in names)


def test_first_order_uses_hu_values_on_the_resampled_grid(noisy_case: Case) -> None:
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("firstorder", ("Mean", "Maximum")),),
        scales=(Scale(1.0),),
    )
    features = extract_case(noisy_case, settings)
    image = sitk.GetArrayFromImage(resample_image(noisy_case.image, (1.0, 1.0, 1.0)))
    gtv = sitk.GetArrayFromImage(resample_mask(noisy_case.masks["gtv"], (1.0, 1.0, 1.0))).astype(
        bool
    )
    assert features["gtv__original__firstorder__Mean"] == pytest.approx(
        float(image[gtv].mean()), rel=1e-6
    )
    assert features["gtv__original__firstorder__Maximum"] == pytest.approx(float(image[gtv].max()))


def test_first_order_on_levels_when_asked(noisy_case: Case) -> None:
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("firstorder", ("Maximum", "Minimum")),),
        discretisations=(Discretisation("lloyd_max", levels=8),),
        intensity=IntensityOptions(on="quantised"),
    )
    features = extract_case(noisy_case, settings)
    assert features == {
        "gtv__lloydmax8__firstorder__Maximum": 8.0,
        "gtv__lloydmax8__firstorder__Minimum": 1.0,
    }


def test_filters_add_log_and_wavelet_images(noisy_case: Case) -> None:
    settings = get_preset("full", log_sigmas_mm=(1.0,), wavelet="haar").with_rois(("gtv",))
    settings = ExtractionSettings(
        settings.preset,
        settings.rois,
        (FeatureClass("firstorder", ("Mean",)), FeatureClass("glcm", ("Contrast",))),
        settings.scales,
        settings.discretisations,
        settings.filters,
    )
    features = extract_case(noisy_case, settings)
    assert set(features) == set(feature_names(settings))
    assert len(features) == 2 * (1 + 1 + 8)
    assert features["gtv__log1mm__firstorder__Mean"] != features["gtv__original__firstorder__Mean"]
    assert "gtv__waveletHHL_binwidth25__glcm__Contrast" in features


def test_missing_liver_mask_names_the_case_and_mask(noisy_case: Case) -> None:
    case = Case("P-7", noisy_case.image, {"gtv": noisy_case.masks["gtv"]})
    with pytest.raises(MaskError, match=r"P-7.*organ_minus_gtv need the organ mask"):
        extract_case(case, get_preset("wei2021"))


def test_roi_vanishing_on_the_new_grid_is_a_mask_error(noisy_case: Case) -> None:
    tiny = np.zeros(sitk.GetArrayViewFromImage(noisy_case.image).shape, dtype=np.uint8)
    tiny[5, 10, 10:12] = 1  # two 0.8 mm voxels: none left on a 5 mm grid
    mask = _image(tiny)
    mask.CopyInformation(noisy_case.image)
    settings = ExtractionSettings(
        "t", rois=("gtv",), classes=(FeatureClass("shape"),), scales=(Scale(5.0),)
    )
    with pytest.raises(MaskError, match=r"TEST-1.*gtv ROI has no voxels on the 5mm grid \(2 as"):
        extract_image(noisy_case.image, {"gtv": mask}, settings, name="TEST-1")


@pytest.mark.parametrize("scales", [(Scale(None),), (Scale(1.0),)])
def test_a_single_voxel_roi_is_a_mask_error_naming_it(noisy_case: Case, scales) -> None:
    """One voxel (a marker): pyradiomics' texture classes raised 'Error getting angle count',
    naming neither the case nor the ROI. On a 1 mm grid a 2.5 mm voxel became 2-3 voxels, whose
    shape and texture were returned (the `full` preset on a 5 mm slice: 107 features)."""
    one = np.zeros(sitk.GetArrayViewFromImage(noisy_case.image).shape, dtype=np.uint8)
    one[5, 10, 10] = 1
    mask = _image(one)
    mask.CopyInformation(noisy_case.image)
    settings = ExtractionSettings(
        "t", rois=("gtv",), classes=(FeatureClass("shape"),), scales=scales
    )
    with pytest.raises(MaskError, match=r"TEST-1.*gtv ROI is a single voxel as contoured"):
        extract_image(noisy_case.image, {"gtv": mask}, settings, name="TEST-1")


def test_unknown_or_deprecated_feature_is_a_config_error(noisy_case: Case) -> None:
    for features, message in (
        (("Contrastt",), "Unknown glcm features"),
        (("SumVariance",), "deprecated"),
    ):
        settings = ExtractionSettings(
            "t",
            rois=("gtv",),
            classes=(FeatureClass("glcm", features),),
            discretisations=(Discretisation("uniform", levels=8),),
        )
        with pytest.raises(ConfigError, match=message):
            extract_case(noisy_case, settings)


def _texture_settings(dimension: str, **options) -> ExtractionSettings:
    return ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("glcm", ("Contrast", "Idn")), FeatureClass("ngtdm", ("Busyness",))),
        discretisations=(Discretisation("uniform", levels=8),),
        texture=TextureOptions(dimension=dimension),
        **options,
    )


def test_2d_texture_of_one_slice_is_its_2_5d_texture(noisy_case: Case) -> None:
    """A ROI on one slice: the per-slice mean (2D) is that slice's value, which is also the matrix
    summed over slices (2.5D); in 3D the out-of-plane directions find no neighbours."""
    one = sitk.GetArrayFromImage(noisy_case.masks["gtv"])
    z = int(np.flatnonzero(one.any(axis=(1, 2))).mean())
    one[np.arange(one.shape[0]) != z] = 0
    mask = _image(one)
    mask.CopyInformation(noisy_case.image)
    values = {
        dimension: extract_image(noisy_case.image, {"gtv": mask}, _texture_settings(dimension))
        for dimension in ("2D", "2.5D")
    }
    assert values["2D"] == pytest.approx(values["2.5D"], rel=1e-9)


def test_2d_texture_averages_the_slices_with_the_rois_gray_levels(noisy_case: Case) -> None:
    features = {
        dimension: extract_case(noisy_case, _texture_settings(dimension))
        for dimension in ("3D", "2.5D", "2D")
    }
    contrast = "gtv__uniform8__glcm__Contrast"
    assert len({features[d][contrast] for d in features}) == 3
    assert all(np.isfinite(list(f.values())).all() for f in features.values())


def test_resegmentation_narrows_intensity_features_not_shape(noisy_case: Case) -> None:
    classes = (FeatureClass("shape", ("MeshVolume",)), FeatureClass("firstorder", ("Minimum",)))
    plain = ExtractionSettings("t", rois=("gtv",), classes=classes)
    low = extract_case(noisy_case, plain)["gtv__original__firstorder__Minimum"]
    reseg = ExtractionSettings(
        "t", rois=("gtv",), classes=classes, resegmentation=Resegmentation(low + 30.0, None)
    )
    before, after = extract_case(noisy_case, plain), extract_case(noisy_case, reseg)
    assert after["gtv__original__shape__MeshVolume"] == before["gtv__original__shape__MeshVolume"]
    assert after["gtv__original__firstorder__Minimum"] >= low + 30.0
    nothing_left = ExtractionSettings(
        "t", rois=("gtv",), classes=classes, resegmentation=Resegmentation(5000.0, 6000.0)
    )
    with pytest.raises(MaskError, match=r"gtv ROI: No ROI voxel is left"):
        extract_case(noisy_case, nothing_left)


def test_mean_filter_and_sampled_log_images(noisy_case: Case) -> None:
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("firstorder", ("Mean", "Variance")),),
        filters=Filters(mean_sizes=(3,), log_sigmas_mm=(1.0,), log_kernel="sampled"),
    )
    features = extract_case(noisy_case, settings)
    assert set(features) == set(feature_names(settings))
    original, mean = (features[f"gtv__{t}__firstorder__Variance"] for t in ("original", "mean3"))
    assert mean < original  # averaging removes noise variance
    assert "gtv__log1mm__firstorder__Mean" in features


# pyradiomics' sample images: (image, label file, label value). The GTV part of every preset runs
# on each (liver ROIs do not exist there; the prostate phantom's GTV is its label 1).
SAMPLES = {
    "brain1": ("brain1_image.nrrd", "brain1_label.nrrd", 1),
    "brain2": ("brain2_image.nrrd", "brain2_label.nrrd", 1),
    "breast1": ("breast1_image.nrrd", "breast1_label.nrrd", 1),
    "prostate": ("prostate_phantom_subvolume.nrrd", "prostate_phantom_subvolume-label.nrrd", 1),
}


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_pyradiomics_sample_images_extract(shared_data: Path, sample: str, preset: str) -> None:
    folder = shared_data / "pyradiomics"
    image_file, label_file, label = SAMPLES[sample]
    image = sitk.ReadImage(str(folder / image_file), sitk.sitkFloat32)
    gtv = sitk.Cast(sitk.ReadImage(str(folder / label_file)) == label, sitk.sitkUInt8)
    gtv.CopyInformation(image)
    settings = get_preset(preset).with_rois(("gtv",))
    features = extract_image(image, {"gtv": gtv}, settings, name=sample)
    assert set(features) == set(feature_names(settings))
    values = np.array([v for n, v in features.items() if "Correlation" not in n and "Imc" not in n])
    assert np.isfinite(values).all()


def test_a_rois_log_features_do_not_depend_on_the_other_rois_extracted(small_cohort) -> None:
    """A 10 mm crop margin under a 5 mm LoG: the GTV's LoG features changed with the box around
    the other ROIs requested beside it (on the demo's liver tumour a 90th percentile by 5 %, a
    GLSZM feature 9x), so a model whose table had the organ too scored each case with features
    other than its training row's. The margin now covers the kernel's reach."""
    import dataclasses

    from survival_core.features.settings import FeatureClass
    from survival_core.io.case_loader import load_case
    from survival_core.io.manifest import cases_read_as

    read = cases_read_as(small_cohort)[0]
    case = load_case(read.folder, companions=False, **read.load_options())
    both = dataclasses.replace(
        get_preset("full", "CT", rois=("gtv", "organ_minus_gtv"), log_sigmas_mm=(5.0,)),
        classes=(FeatureClass("firstorder"),),
    )
    alone = extract_case(case, both.with_rois(("gtv",)))
    beside = extract_case(case, both)
    log = [name for name in alone if name.startswith("gtv__log5mm")]
    assert len(log) == 18
    np.testing.assert_allclose([alone[n] for n in log], [beside[n] for n in log], rtol=2e-4)


def test_settings_of_version_1_keep_their_fixed_filter_margin() -> None:
    from survival_core.features.settings import Filters

    log = Filters(log_sigmas_mm=(5.0,))
    assert (log.margin_for(1.0), log.margin_for(1.0, fixed=True)) == (40.0, 10.0)
    assert Filters().margin_for(1.0) == 0.0  # nothing filtered: no margin


def test_a_masks_voxels_do_not_depend_on_the_margin_around_it() -> None:
    """Resampled over the part of the grid around the ROIs, a point exactly on the edge between
    two mask voxels (a 1 mm grid over 3 mm slices) fell either way with the last bit of the
    part's placement: this GTV had 2592 voxels on the whole grid and 2496 with a margin of 0 mm,
    and 2 of the 80 demo cases changed. Mask points are nudged by a millionth of a voxel: every
    margin, and the whole grid, give one mask."""
    from survival_core.features import radiomics

    gtv = np.zeros((40, 120, 120), np.uint8)
    gtv[12:16, 43:51, 64:91] = 1
    mask = sitk.GetImageFromArray(gtv)
    mask.SetSpacing((0.9765625, 0.9765625, 3.0))
    mask.SetOrigin((80.1855, -242.3362, 79.4598))
    image = sitk.GetImageFromArray(
        np.random.default_rng(5).normal(40, 20, gtv.shape).astype(np.float32)
    )
    image.CopyInformation(mask)
    scale = Scale((1.0, 1.0, 1.0))
    found = {
        int(radiomics.resample_region(image, {"gtv": mask}, scale, margin).masks["gtv"].sum())
        for margin in np.arange(0.0, 16.0, 1.0)
    }
    whole = radiomics.grid_around
    try:
        radiomics.grid_around = lambda grid, *_: grid
        found.add(int(radiomics.resample_region(image, {"gtv": mask}, scale).masks["gtv"].sum()))
    finally:
        radiomics.grid_around = whole
    assert len(found) == 1, found


def _pyradiomics_reference(folder: Path, sample: str, **params: object) -> dict[str, float]:
    """pyradiomics' own extractor on its sample ``sample`` (label 1), native grid, every original
    feature: 'class__Feature' -> value."""
    from radiomics import featureextractor

    extractor = featureextractor.RadiomicsFeatureExtractor(label=1, **params)
    extractor.enableAllFeatures()
    found = extractor.execute(*(str(folder / f"{sample}_{k}.nrrd") for k in ("image", "label")))
    return {
        "__".join(key.split("_", 2)[1:]): float(value)
        for key, value in found.items()
        if key.startswith("original_")
    }


def _ours(folder: Path, sample: str, settings: ExtractionSettings) -> dict[str, float]:
    """Our features of a pyradiomics sample's GTV, on its native grid: 'class__Feature' -> value."""
    image = sitk.ReadImage(str(folder / f"{sample}_image.nrrd"))
    gtv = sitk.Cast(sitk.ReadImage(str(folder / f"{sample}_label.nrrd")) == 1, sitk.sitkUInt8)
    native = dataclasses.replace(settings, scales=(Scale(None),))
    found = extract_image(image, {"gtv": gtv}, native, name=sample)
    return {name.split("__", 2)[2]: value for name, value in found.items()}


@pytest.mark.parametrize("sample", ["lung2", "breast1"])
def test_the_full_presets_bins_are_pyradiomics_bin_width_25(shared_data: Path, sample) -> None:
    """``full`` counted its 25 HU bins from the ROI's darkest voxel, pyradiomics (whose default
    the preset names) from a multiple of 25: 75 of 107 features differed on lung2 (GLRLM
    RunVariance 3.43 vs 4.81), 74 on breast1 (up to 212 %). Every one now equals pyradiomics'."""
    folder = shared_data / "pyradiomics"
    reference = _pyradiomics_reference(folder, sample, binWidth=25)
    ours = _ours(folder, sample, get_preset("full", "CT"))
    assert set(ours) == set(reference) and len(ours) == 107
    differ = {k: (ours[k], v) for k, v in reference.items() if ours[k] != pytest.approx(v, 1e-6)}
    assert differ == {}


def test_one_bin_count_bins_first_order_entropy_as_the_textures(shared_data: Path) -> None:
    """Settings of one ``uniform`` 32-level discretisation (pyradiomics' ``binCount`` 32) gave
    pyradiomics' texture values, but first-order Entropy and Uniformity still counted 25 HU bins;
    they now count the same 32 bins, as pyradiomics does."""
    folder = shared_data / "pyradiomics"
    reference = _pyradiomics_reference(folder, "brain1", binCount=32)
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("firstorder"), FeatureClass("glcm", ("JointEntropy",))),
        discretisations=(Discretisation("uniform", levels=32),),
    )
    ours = _ours(folder, "brain1", settings)
    for name in ("firstorder__Entropy", "firstorder__Uniformity", "glcm__JointEntropy"):
        assert ours[name] == pytest.approx(reference[name], rel=1e-9), name
    earlier = _ours(folder, "brain1", dataclasses.replace(settings, version=2))
    assert earlier["firstorder__Entropy"] != pytest.approx(reference["firstorder__Entropy"], 1e-6)


def test_fixed_bins_start_at_the_resegmentation_bound_else_a_multiple_of_the_width() -> None:
    """IBSI's fixed bin size counts from the re-segmentation range's lower bound; without one,
    bins start at the multiple of the width below the ROI (pyradiomics); settings stored before
    version 3 keep counting from the ROI minimum, as their cached features were."""
    values = np.array([-37.0, -12.0, 0.0, 14.0, 60.0])
    width = Discretisation("fixed_bin_width", bin_width=25.0)
    settings = ExtractionSettings("t", ("gtv",), (FeatureClass("glcm"),), discretisations=(width,))
    reseg = dataclasses.replace(settings, resegmentation=Resegmentation(-100.0, 200.0))
    old = dataclasses.replace(settings, version=2)
    starts = [s.quantizer(width).fit(values).min_ for s in (settings, reseg, old)]
    assert starts == [-50.0, -100.0, -37.0]
    # a filtered image's values are no HU: its bins start at a multiple of the width (from the
    # range's HU bound, a LoG image's negative values were all one bin)
    assert reseg.quantizer(width, filtered=True).fit(values).min_ == -50.0
    assert len({s.hash() for s in (settings, old)}) == 2


def test_a_small_rois_lloyd_max_features_do_not_hang_on_the_level_count(shared_data: Path) -> None:
    """A 15-voxel ROI of a real CT (lung2's tumour) has fewer distinct values than 16, 32 or 64
    levels: every count gave the same partition, yet GLRLM high gray level run emphasis was
    95.5, 359.7 and 1413.1 from the levels' numbering alone. The features now agree."""
    image = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung2_image.nrrd"))
    label = sitk.GetArrayFromImage(
        sitk.ReadImage(str(shared_data / "pyradiomics/lung2_label.nrrd"))
    )
    z, y, x = (int(np.median(axis)) for axis in np.nonzero(label == 1))
    block = np.zeros(label.shape, np.uint8)
    block[z, y - 1 : y + 2, x - 2 : x + 3] = 1  # 15 voxels inside the tumour
    gtv = sitk.GetImageFromArray(block)
    gtv.CopyInformation(image)
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("glrlm", ("HighGrayLevelRunEmphasis",)),),
        scales=(Scale(None),),
        discretisations=tuple(
            Discretisation("lloyd_max", levels=n, optimal=True) for n in (16, 32, 64)
        ),
    )
    values = set(extract_image(image, {"gtv": gtv}, settings, name="lung2").values())
    assert len(values) == 1


@pytest.mark.parametrize(("shift", "share"), [(0, None), (14, "34%"), (18, "77%")])
def test_organ_minus_gtv_of_a_gtv_outside_its_organ(noisy_case: Case, shift, share) -> None:
    """A GTV shifted off its organ (74 % of it outside the liver, or a lung 3 voxels away) gave
    organ-minus-GTV features without a word, though the tumour's tissue then lies in the
    'parenchyma'. Beyond half the GTV outside they are refused; beyond a tenth the case's
    warnings say it (they were logged on stderr by the extraction only, never shown, and not at
    all when the features came from the cache)."""
    gtv = sitk.GetArrayFromImage(noisy_case.masks["gtv"])
    moved = _image(np.roll(gtv, shift, axis=2))
    moved.CopyInformation(noisy_case.masks["gtv"])
    masks = {**noisy_case.masks, "gtv": moved}
    case = Case("P7", noisy_case.image, masks, noisy_case.clinical, site="liver")
    settings = ExtractionSettings(
        "t", rois=("gtv", "organ_minus_gtv"), classes=(FeatureClass("firstorder", ("Mean",)),)
    )
    refused = share is not None and int(share[:-1]) > 50
    if refused:
        with pytest.raises(MaskError, match=f"P7: {share} of the GTV lies outside the liver"):
            extract_case(case, settings)
    else:
        assert len(extract_case(case, settings)) == 2
    roles = assign_roles({"Liver": noisy_case.masks["organ"], "GTV": moved}, {}, ("gtv",))
    said = [w for w in roles.warnings if "of the GTV lies outside the liver contour" in w]
    assert [w.split(" ")[0] for w in said] == ([share] if share else [])
    assert not said or ("where a model reads them, are refused" in said[0]) == refused


@pytest.mark.parametrize("features", [("Mean",), ("Mean", "Entropy", "Uniformity")])
def test_first_order_of_a_roi_of_one_intensity_needs_no_gray_levels(noisy_case: Case, features):
    """First-order features count the settings' one discretisation's bins (Entropy, Uniformity);
    a ROI of one intensity, which quantisers refuse (texture needs a range), was refused then
    for its first-order Mean too. Its histogram is one bin, whatever the binning."""
    pixels = sitk.GetArrayFromImage(noisy_case.image)
    pixels[sitk.GetArrayFromImage(noisy_case.masks["gtv"]) > 0] = 120.0
    image = _image(pixels)
    image.CopyInformation(noisy_case.image)
    settings = ExtractionSettings(
        "t",
        rois=("gtv",),
        classes=(FeatureClass("firstorder", features),),
        scales=(Scale(None),),
        discretisations=(Discretisation("uniform", levels=8),),
    )
    found = extract_case(Case("P1", image, noisy_case.masks, noisy_case.clinical), settings)
    expected = {"Mean": 120.0, "Entropy": 0.0, "Uniformity": 1.0}
    assert found == {
        f"gtv__original__firstorder__{f}": pytest.approx(expected[f]) for f in features
    }


def test_a_scan_whose_whole_grid_is_too_large_extracts_on_the_grid_around_its_roi(
    noisy_case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole-body CT with a wide field of view (780 x 780 x 1798 mm) was refused at 1 mm for its
    whole grid's size, though only the part around the ROI is built: the limit applies to that
    part, and refuses it naming the ROI when the ROI itself is absurdly large."""
    from survival_core.preprocess import resample

    pad = (100, 100, 20)  # the same patient seen with a field of view six times as wide
    image = sitk.ConstantPad(noisy_case.image, pad, pad, -1000.0)
    masks = {r: sitk.ConstantPad(m, pad, pad, 0) for r, m in noisy_case.masks.items()}
    wide = Case("WB-1", image, masks, noisy_case.clinical)
    settings = get_preset("full").with_rois(("gtv",))
    whole = resample.grid_for_spacing(image, (1.0, 1.0, 1.0))
    expected = extract_case(wide, settings)
    monkeypatch.setattr(resample, "MAX_VOXELS", int(np.prod(whole.size)) // 4)
    assert extract_case(wide, settings) == expected
    monkeypatch.setattr(resample, "MAX_VOXELS", 1000)
    with pytest.raises(ConfigError, match=r"WB-1 \(1mm grid\): The box around the gtv ROI .*--roi"):
        extract_case(wide, settings)
