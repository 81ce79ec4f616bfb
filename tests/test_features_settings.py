"""Extraction settings and presets: validation, canonical JSON, hashing and the naming rule."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from survival_core.errors import ConfigError
from survival_core.features.presets import PRESETS, WEI2021_FEATURES, get_preset
from survival_core.features.settings import (
    Discretisation,
    ExtractionSettings,
    FeatureClass,
    Filters,
    Resegmentation,
    Scale,
    TextureOptions,
    feature_name,
    split_feature_name,
)

#: The study presets' settings hashes (they key feature caches and stored tables): options added
#: later, at their defaults, must leave them as they are. wei2021's changed once, on purpose:
#: its Lloyd-Max levels are fitted to convergence from two starts (``converged``; before:
#: 4afb86f256bb499b, which settings stored before keep, and their fit with it).
#: The presets' hashes since SETTINGS_VERSION 3 (fixed bins from a multiple of the width, as
#: pyradiomics'; first-order entropy on the settings' one discretisation; before, at version 2:
#: 96b3e94e5f853466, 7570e4f666112584, 032da7c951a2dd6f): a change here is a change of every
#: cache key.
PRESET_HASHES = {
    "wei2021": "2cdf8d3df29da0d3",
    "han2020": "d991106e15ae44b6",
    "full": "878d39e19f1a5750",
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_json_round_trip_keeps_settings_and_hash(name: str) -> None:
    settings = get_preset(name)
    again = ExtractionSettings.from_json(settings.to_json())
    assert again == settings
    assert again.hash() == settings.hash()
    assert len(settings.hash()) == 16
    assert settings.to_json() == json.dumps(
        json.loads(settings.to_json()), sort_keys=True, separators=(",", ":")
    )


@pytest.mark.parametrize("name", sorted(PRESET_HASHES))
def test_presets_keep_their_hash_and_json_without_the_ibsi_options(name: str) -> None:
    settings = get_preset(name)
    assert settings.hash() == PRESET_HASHES[name]
    text = settings.to_json()
    for key in ("resegmentation", "alignment", "round_intensities", "dimension", "mean_sizes"):
        assert f'"{key}"' not in text


def test_ibsi_options_round_trip_and_change_the_hash() -> None:
    base = get_preset("full")
    ibsi = ExtractionSettings(
        "ibsi",
        rois=("gtv",),
        classes=(FeatureClass("firstorder"), FeatureClass("glcm")),
        scales=(Scale(2.0, "bspline", "linear", alignment="centre", round_intensities=True),),
        discretisations=(Discretisation("uniform", levels=32),),
        filters=Filters(mean_sizes=(5, 3), log_sigmas_mm=(2.0,), log_kernel="sampled"),
        texture=TextureOptions(dimension="2.5D", merge_directions=True),
        resegmentation=Resegmentation(-1000, 400, outlier_sd=3),
    )
    again = ExtractionSettings.from_json(ibsi.to_json())
    assert again == ibsi and again.hash() == ibsi.hash()
    assert ibsi.filters.mean_sizes == (3, 5)
    assert ibsi.uses_absolute_intensity  # a HU range
    outliers_only = ExtractionSettings(
        "x",
        rois=("gtv",),
        classes=(FeatureClass("glcm"),),
        discretisations=(Discretisation("uniform", levels=32),),
        resegmentation=Resegmentation(outlier_sd=3),
    )
    assert not outliers_only.uses_absolute_intensity
    for changed in (
        Scale(1.0, alignment="centre"),
        Scale(1.0, round_intensities=True),
    ):
        assert replace(base, scales=(changed,)).hash() != base.hash()
    assert replace(base, texture=TextureOptions(dimension="2D")).hash() != base.hash()


def test_hash_differs_between_presets_and_with_any_change() -> None:
    hashes = {get_preset(name).hash() for name in PRESETS}
    assert len(hashes) == len(PRESETS)
    wei = get_preset("wei2021")
    assert wei.with_rois(("gtv",)).hash() != wei.hash()
    assert get_preset("full", log_sigmas_mm=(2.0,)).hash() != get_preset("full").hash()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Scale(spacing_mm=1), Scale(spacing_mm=(1.0, 1.0, 1.0))),
        (Discretisation("fixed_bin_count", levels=16), Discretisation("uniform", levels=16)),
        (
            FeatureClass("glcm", ("Contrast", "Correlation")),
            FeatureClass("glcm", ["Correlation", "Contrast"]),
        ),
        (Filters(log_sigmas_mm=(3, 1)), Filters(log_sigmas_mm=(1.0, 3.0))),
    ],
)
def test_equivalent_spellings_normalise_to_one_setting(a: object, b: object) -> None:
    assert a == b


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scale(spacing_mm=0), "positive"),
        (lambda: Scale(spacing_mm=(1, 1)), "3"),
        (lambda: Scale(interpolator="cubic"), "interpolator"),
        (lambda: Discretisation("kmeans", levels=8), "Unknown gray-level"),
        (lambda: Discretisation("lloyd_max"), "levels"),
        (lambda: Discretisation("lloyd_max", levels=1), "levels"),
        (lambda: Discretisation("fixed_bin_width", levels=8), "bin width"),
        (lambda: Discretisation("uniform", levels=8, bin_width=2.0), "no bin width"),
        (lambda: FeatureClass("glcmm"), "Unknown feature class"),
        (lambda: Scale(1.0, alignment="corner"), "alignment"),
        (lambda: Scale(1.0, round_intensities=1), "true or false"),
        (lambda: TextureOptions(dimension="4D"), "dimension"),
        (lambda: Resegmentation(), "range bound or an outlier"),
        (lambda: Resegmentation(400, -500), "range_min < range_max"),
        (lambda: Resegmentation(outlier_sd=0), "positive"),
        (lambda: Filters(mean_sizes=(4,)), "odd"),
        (lambda: Filters(log_kernel="fft"), "LoG kernel"),
        (lambda: Filters(boundary="reflect"), "boundary"),
        (lambda: FeatureClass("glcm", "Contrast"), "list"),
        (lambda: ExtractionSettings("x", rois=("lung",), classes=(FeatureClass("shape"),)), "ROIs"),
        (
            lambda: ExtractionSettings("x", rois=("gtv",), classes=(FeatureClass("glcm"),)),
            "discretisation",
        ),
        (
            lambda: ExtractionSettings(
                "x",
                rois=("gtv",),
                classes=(FeatureClass("shape"),),
                scales=(Scale(1.0), Scale((1, 1, 1))),
            ),
            "distinct",
        ),
    ],
)
def test_invalid_settings_raise_config_error(make, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json", "not valid JSON"), ("[1]", "JSON object"), ('{"preset": "x"}', "incomplete")],
)
def test_from_json_rejects_malformed_text(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ExtractionSettings.from_json(text)


def test_unknown_preset_and_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="Unknown feature preset"):
        get_preset("wei2022")
    with pytest.raises(ConfigError, match="does not take"):
        get_preset("wei2021", wavelet="coif1")


def test_wei2021_is_the_published_design() -> None:
    settings = get_preset("wei2021")
    assert settings.rois == ("gtv", "organ_minus_gtv")
    assert [d.token for d in settings.discretisations] == [
        "lloydmax8",
        "lloydmax16",
        "lloydmax32",
        "lloydmax64",
    ]
    assert settings.scales == (Scale(spacing_mm=1.0, interpolator="linear"),)
    assert sum(len(f) for f in WEI2021_FEATURES.values()) == 7


def test_han2020_has_two_scales_and_four_discretisations() -> None:
    settings = get_preset("han2020")
    assert [s.token for s in settings.scales] == ["1mm", "native"]
    assert sorted(d.token for d in settings.discretisations) == [
        "equalprob16", "equalprob32", "uniform16", "uniform32",
    ]  # fmt: skip
    assert {c.name for c in settings.classes} == {
        "shape",
        "firstorder",
        "glcm",
        "glrlm",
        "glszm",
        "ngtdm",
    }


@pytest.mark.parametrize(
    ("preset", "scale", "image_type", "discretisation", "token"),
    [
        ("wei2021", 0, "original", Discretisation("lloyd_max", levels=16), "lloydmax16"),
        ("wei2021", 0, "original", None, "original"),
        (
            "han2020",
            0,
            "original",
            Discretisation("equal_probability", levels=16),
            "1mm_equalprob16",
        ),
        ("han2020", 1, "original", None, "native_original"),
        ("full", 0, "log2mm", None, "log2mm"),
        (
            "full",
            0,
            "waveletLLH",
            Discretisation("fixed_bin_width", bin_width=25),
            "waveletLLH_binwidth25",
        ),
        (
            "full",
            0,
            "original",
            Discretisation("fixed_bin_width", bin_width=1, min_value=-0.5),
            "binwidth1from-0.5",
        ),
    ],
)
def test_name_tokens_follow_the_documented_rule(
    preset, scale, image_type, discretisation, token
) -> None:
    settings = get_preset(preset)
    assert settings.token(settings.scales[scale], image_type, discretisation) == token


def test_feature_name_round_trips() -> None:
    name = feature_name("liver_minus_gtv", "lloydmax16", "glszm", "SizeZoneNonUniformity")
    assert name == "liver_minus_gtv__lloydmax16__glszm__SizeZoneNonUniformity"
    assert split_feature_name(name) == (
        "liver_minus_gtv",
        "lloydmax16",
        "glszm",
        "SizeZoneNonUniformity",
    )
    with pytest.raises(ConfigError, match="not of the form"):
        split_feature_name("gtv_glcm_Contrast")


def test_discretisation_builds_the_named_quantizer() -> None:
    assert type(Discretisation("lloyd_max", levels=8).quantizer()).__name__ == "LloydMax"
    assert type(Discretisation("uniform", levels=8).quantizer()).__name__ == "FixedBinCount"
    width = Discretisation("fixed_bin_width", bin_width=25, min_value=-1000).quantizer()
    assert (width.width, width.min_value) == (25.0, -1000.0)


def test_wei2021_settings_stored_before_keep_their_hash_and_lloyd_max_fit() -> None:
    """Settings JSON written before ``converged`` existed, and with it before ``optimal`` did,
    read back with their Lloyd-Max fit and their old hash, so models and tables made with them
    stay consistent."""
    stored = {**json.loads(get_preset("wei2021").to_json()), "version": 1}
    for discretisation in stored["discretisations"]:
        del discretisation["optimal"]
    first = ExtractionSettings.from_json(json.dumps(stored))
    assert first.hash() == "4afb86f256bb499b"
    assert not any(d.converged or d.optimal for d in first.discretisations)
    assert first.discretisations[0].quantizer().converged is False
    for discretisation in stored["discretisations"]:
        discretisation["converged"] = True
    converged = ExtractionSettings.from_json(json.dumps(stored))
    assert converged.hash() == "703f7e3d115c50b4"
    fit = converged.discretisations[0].quantizer()
    assert (fit.converged, fit.optimal) == (True, False)
    assert get_preset("wei2021").discretisations[0].quantizer().optimal is True
    with pytest.raises(ConfigError, match="lloyd_max discretisation only"):
        Discretisation("uniform", levels=16, converged=True)
