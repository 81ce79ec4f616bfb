"""Gray-level discretisation: IBSI formulas, equal probability, Lloyd-Max, ROI quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survival_core.errors import ConfigError, GeometryError, InputError, MaskError
from survival_core.preprocess.quantize import (
    EqualProbability,
    FixedBinCount,
    FixedBinWidth,
    LloydMax,
    make_quantizer,
    quantize_roi,
)


def _mse(quantizer, values: np.ndarray) -> float:
    return float(np.mean((values - quantizer.reconstruct(quantizer.transform(values))) ** 2))


def _lognormal(n: int = 20_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(mean=3.0, sigma=0.9, size=n)


def _direct_lloyd(values: np.ndarray, levels: int, max_iter: int = 100, tol: float = 1e-6):
    """Lloyd's algorithm on every voxel (no histogram), as the reference for LloydMax."""
    edges = EqualProbability(levels).fit(values).edges_
    low, high = values.min(), values.max()

    def means(cut):
        label = np.searchsorted(cut, values, side="right")
        n = np.bincount(label, minlength=levels)
        total = np.bincount(label, weights=values, minlength=levels)
        limits = np.concatenate(([low], cut, [high]))
        centre = (limits[:-1] + limits[1:]) / 2
        return np.where(n > 0, total / np.maximum(n, 1), centre)

    for _ in range(max_iter):
        new = (means(edges)[:-1] + means(edges)[1:]) / 2
        done = np.max(np.abs(new - edges)) <= tol * (high - low)
        edges = new
        if done:
            break
    return edges, means(edges)


QUANTIZERS = [
    pytest.param(lambda: FixedBinCount(16), id="fixed_bin_count"),
    pytest.param(lambda: EqualProbability(16), id="equal_probability"),
    pytest.param(lambda: LloydMax(16), id="lloyd_max"),
]


@pytest.mark.parametrize("make", QUANTIZERS)
def test_levels_are_exactly_one_to_L(make):
    values = np.random.default_rng(1).uniform(-100, 300, size=5000)
    quantizer = make()
    labels = quantizer.fit_transform(values)
    assert labels.dtype == np.int32
    assert set(np.unique(labels)) == set(range(1, 17))
    assert len(quantizer.edges_) == 15 and len(quantizer.levels_) == 16
    assert np.all(np.diff(quantizer.edges_) > 0) and np.all(np.diff(quantizer.levels_) > 0)


@pytest.mark.parametrize("make", QUANTIZERS)
def test_values_outside_the_fitted_range_clip_to_1_and_L(make):
    quantizer = make().fit(np.linspace(0, 10, 101))
    assert quantizer.transform(np.array([-1e6, 1e6])).tolist() == [1, 16]


def test_fixed_bin_count_matches_ibsi_formula():
    values = np.array([1.0, 2.0, 2.5, 3.0, 4.0, 5.0])
    # floor(4 * (x - 1) / (5 - 1)) + 1, the maximum going to L = 4.
    assert FixedBinCount(4).fit_transform(values).tolist() == [1, 2, 2, 3, 4, 4]
    np.testing.assert_allclose(FixedBinCount(4).fit(values).levels_, [1.5, 2.5, 3.5, 4.5])


def test_fixed_bin_count_matches_formula_on_integer_hu():
    values = np.random.default_rng(2).integers(-120, 240, size=3000).astype(float)
    low, high = values.min(), values.max()
    expected = np.minimum(np.floor(32 * (values - low) / (high - low)) + 1, 32)
    np.testing.assert_array_equal(FixedBinCount(32).fit_transform(values), expected)


def test_fixed_bin_width_matches_ibsi_formula_by_hand():
    values = np.array([-100.0, -75.0, -26.0, 0.0, 24.0, 25.0, 49.9, 80.0])
    quantizer = FixedBinWidth(25.0)
    # floor((x + 100) / 25) + 1: 0/25, 25/25, 74/25, 100/25, 124/25, 125/25, 149.9/25, 180/25
    assert quantizer.fit_transform(values).tolist() == [1, 2, 3, 5, 5, 6, 6, 8]
    assert len(quantizer.levels_) == 8
    np.testing.assert_allclose(quantizer.edges_, -100 + 25 * np.arange(1, 8))
    with_bound = FixedBinWidth(25.0, min_value=-150.0).fit(values)
    assert with_bound.transform(values).tolist() == [3, 4, 5, 7, 7, 8, 8, 10]
    assert with_bound.transform(np.array([-1000.0])).tolist() == [1]


def test_fixed_bin_width_constant_roi_is_one_level():
    quantizer = FixedBinWidth(10.0).fit(np.full(20, 42.0))
    assert quantizer.transform(np.array([42.0, 100.0])).tolist() == [1, 1]


def test_equal_probability_gives_equal_counts():
    values = np.random.default_rng(3).normal(size=8000)
    counts = np.bincount(EqualProbability(8).fit_transform(values))[1:]
    assert counts.tolist() == [1000] * 8


def test_equal_probability_with_ties_uses_every_level():
    # Integer HU with a spike: 40 % of voxels at 60 HU.
    rng = np.random.default_rng(4)
    values = np.concatenate([np.full(4000, 60.0), np.round(rng.normal(60, 20, 6000))])
    labels = EqualProbability(16).fit_transform(values)
    counts = np.bincount(labels)[1:]
    assert len(counts) == 16 and np.all(counts > 0)
    few = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], [50, 1, 1, 1, 50])  # 5 distinct values, 5 levels
    assert sorted(set(EqualProbability(5).fit_transform(few))) == [1, 2, 3, 4, 5]


def test_equal_probability_with_fewer_values_than_levels():
    labels = EqualProbability(8).fit_transform(np.repeat([0.0, 1.0, 2.0], 10))
    assert labels.min() == 1 and labels.max() == 8
    assert len(set(labels.tolist())) == 3


def test_lloyd_max_beats_uniform_bins_on_skewed_data_and_its_initialisation():
    values = _lognormal()
    lloyd = LloydMax(16).fit(values)
    assert _mse(lloyd, values) < 0.8 * _mse(FixedBinCount(16).fit(values), values)
    assert _mse(lloyd, values) <= _mse(EqualProbability(16).fit(values), values)
    assert _mse(lloyd, values) < _mse(LloydMax(16, max_iter=1).fit(values), values)


def test_lloyd_max_fixed_point_conditions():
    values = _lognormal(seed=5)
    lloyd = LloydMax(8, max_iter=1000).fit(values)
    assert lloyd.n_iter_ < 1000  # converged: no threshold moved by more than 1e-6 of the range
    labels = lloyd.transform(values)
    means = np.bincount(labels, weights=values)[1:] / np.bincount(labels)[1:]
    np.testing.assert_allclose(lloyd.levels_, means, rtol=1e-10)
    np.testing.assert_allclose(
        lloyd.edges_, (lloyd.levels_[:-1] + lloyd.levels_[1:]) / 2, atol=1e-5 * np.ptp(values)
    )


@pytest.mark.parametrize(("levels", "decimals"), [(16, 1), (7, 0), (32, 3)])
def test_lloyd_max_matches_the_direct_algorithm(levels, decimals):
    values = np.round(_lognormal(n=5000, seed=levels), decimals)
    lloyd = LloydMax(levels).fit(values)
    edges, means = _direct_lloyd(values, levels)
    np.testing.assert_allclose(lloyd.edges_, edges, rtol=1e-9)
    np.testing.assert_allclose(lloyd.levels_, means, rtol=1e-9)


def test_lloyd_max_is_deterministic_on_a_million_values():
    """Its speed is part of benchmarks/bench_extract.py and bench_case.py, not asserted here."""
    values = np.random.default_rng(6).lognormal(3.0, 0.8, size=1_000_000)
    first = LloydMax(64).fit(values)
    labels = first.transform(values)
    second = LloydMax(64).fit(values)
    np.testing.assert_array_equal(first.edges_, second.edges_)
    assert labels.min() == 1 and labels.max() == 64


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-2000, max_value=4000, allow_nan=False, allow_infinity=False),
        min_size=2,
        max_size=200,
    ),
    probes=st.lists(
        st.floats(min_value=-1e5, max_value=1e5, allow_nan=False), min_size=1, max_size=50
    ),
    method=st.sampled_from(
        ["fixed_bin_count", "equal_probability", "lloyd_max", "fixed_bin_width"]
    ),
    levels=st.integers(min_value=2, max_value=40),
)
def test_outputs_in_range_and_monotone(values, probes, method, levels):
    values = np.asarray(values)
    if values.min() == values.max():
        values = np.append(values, values[0] + 1.0)
    quantizer = (
        make_quantizer(method, bin_width=25.0)
        if method == "fixed_bin_width"
        else make_quantizer(method, levels)
    )
    quantizer.fit(values)
    n_levels = len(quantizer.levels_)
    probe = np.sort(np.concatenate([values, probes]))
    labels = quantizer.transform(probe)
    assert labels.min() >= 1 and labels.max() <= n_levels
    assert np.all(np.diff(labels) >= 0)
    if method != "fixed_bin_width":
        distinct = np.unique(values).size  # Lloyd-Max: each of fewer values its own level
        expected = distinct if method == "lloyd_max" and distinct <= levels else levels
        assert n_levels == expected
        assert (
            quantizer.transform(values).max() == expected and quantizer.transform(values).min() == 1
        )


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("fixed_bin_count", FixedBinCount),
        ("uniform", FixedBinCount),
        ("equal_probability", EqualProbability),
        ("lloyd_max", LloydMax),
    ],
)
def test_make_quantizer_by_levels(method, kind):
    quantizer = make_quantizer(method, levels=12)
    assert type(quantizer) is kind and quantizer.levels == 12


def test_make_quantizer_bin_width():
    quantizer = make_quantizer("fixed_bin_width", bin_width=25)
    assert type(quantizer) is FixedBinWidth and quantizer.width == 25.0


@pytest.mark.parametrize(
    ("method", "levels", "bin_width"),
    [
        ("kmeans", 8, None),
        ("lloyd_max", None, None),
        ("lloyd_max", 1, None),
        ("lloyd_max", 8.5, None),
        ("equal_probability", True, None),
        ("fixed_bin_count", 8, 25.0),
        ("fixed_bin_width", None, None),
        ("fixed_bin_width", 8, 25.0),
        ("fixed_bin_width", None, -5.0),
        ("fixed_bin_width", None, float("nan")),
        ("fixed_bin_width", None, "25"),
        ("lloyd_max", 5000, None),
    ],
)
def test_make_quantizer_rejects_bad_settings(method, levels, bin_width):
    with pytest.raises(ConfigError):
        make_quantizer(method, levels=levels, bin_width=bin_width)


@pytest.mark.parametrize(
    "make",
    [
        lambda: FixedBinWidth(25.0, min_value="low"),
        lambda: LloydMax(8, tol="small"),
        lambda: LloydMax(8, max_iter=0),
    ],
)
def test_bad_estimator_settings_are_config_errors(make):
    with pytest.raises(ConfigError):
        make()


def test_fixed_bin_width_too_many_levels_is_a_config_error():
    with pytest.raises(ConfigError, match="wider bin"):
        FixedBinWidth(0.001).fit(np.array([0.0, 1000.0]))


def test_quantize_roi_fits_inside_the_mask_only():
    array = np.arange(24, dtype=float).reshape(2, 3, 4)
    array[0, 0, 0] = 1e6  # outside the mask: must not stretch the bins
    mask = np.zeros(array.shape, bool)
    mask[1] = True  # values 12..23
    out = quantize_roi(array, mask, FixedBinCount(4))
    assert out.dtype == np.int32
    assert np.all(out[~mask] == 0)
    assert out[1].ravel().tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]


def test_quantize_roi_errors():
    with pytest.raises(MaskError, match="empty"):
        quantize_roi(np.ones((2, 2)), np.zeros((2, 2)), FixedBinCount(4))
    with pytest.raises(GeometryError, match="shape"):
        quantize_roi(np.ones((2, 2)), np.ones((2, 3)), FixedBinCount(4))
    with pytest.raises(InputError, match="same intensity"):
        quantize_roi(np.full((2, 2), 7.0), np.ones((2, 2)), LloydMax(4))


def test_unfitted_non_finite_and_bad_labels():
    with pytest.raises(ConfigError, match="fitted"):
        LloydMax(4).transform(np.zeros(3))
    with pytest.raises(ConfigError, match="fitted"):
        FixedBinCount(4).reconstruct(np.array([1]))
    with pytest.raises(InputError, match="NaN"):
        FixedBinCount(4).fit(np.array([1.0, np.nan, 3.0]))
    quantizer = FixedBinCount(4).fit(np.arange(10.0))
    with pytest.raises(InputError, match="1..4"):
        quantizer.reconstruct(np.array([0, 1]))
    np.testing.assert_allclose(quantizer.reconstruct(np.array([1, 4])), [1.125, 7.875])


def _lung_tumour(shared_data) -> np.ndarray:
    import SimpleITK as sitk

    image = sitk.GetArrayFromImage(
        sitk.ReadImage(str(shared_data / "pyradiomics/lung2_image.nrrd"))
    )
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(shared_data / "pyradiomics/lung2_label.nrrd")))
    return image[mask > 0].astype(float)


@pytest.mark.parametrize("levels", [16, 32, 64])
def test_converged_lloyd_max_on_a_real_tumour(shared_data, levels):
    """pyradiomics' lung2 tumour (real CT, integer HU): the first fit stopped at 100 rounds
    unconverged (16 and 32 levels) or, converged from equal-probability bins, at a poor local
    optimum (64 levels: MSE 38.2, equal-width bins alone 26.4). ``converged`` satisfies Lloyd's
    fixed-point conditions and is never worse than either start's converged fit, nor than
    equal-width bins."""
    values = _lung_tumour(shared_data)
    fitted = LloydMax(levels, converged=True).fit(values)
    labels = fitted.transform(values)
    used = np.unique(labels)
    means = np.bincount(labels, weights=values)[used] / np.bincount(labels)[used]
    np.testing.assert_allclose(fitted.levels_[used - 1], means, rtol=1e-10)
    np.testing.assert_allclose(
        fitted.edges_, (fitted.levels_[:-1] + fitted.levels_[1:]) / 2, atol=1e-5 * np.ptp(values)
    )
    best = _mse(fitted, values)
    assert best <= _mse(LloydMax(levels, max_iter=100_000).fit(values), values) + 1e-9
    assert best <= _mse(FixedBinCount(levels).fit(values), values)
    legacy = LloydMax(levels).fit(values)
    assert best <= _mse(legacy, values)
    if levels == 64:
        assert best < 0.5 * _mse(legacy, values)


def _least_squared_error(values: np.ndarray, levels: int) -> float:
    """The global optimum of 1-D quantisation (Bellman's recursion over every distinct value,
    written out here independently of LloydMax): the least mean squared error of ``levels``
    cells."""
    unique, counts = np.unique(values, return_counts=True)
    weight = np.concatenate(([0], np.cumsum(counts)))
    first = np.concatenate(([0.0], np.cumsum(counts * unique)))
    second = np.concatenate(([0.0], np.cumsum(counts * unique**2)))

    def cost(j, i):  # cells of the distinct values j..i-1
        return (
            second[i]
            - second[j]
            - (first[i] - first[j]) ** 2 / np.maximum(weight[i] - weight[j], 1)
        )

    best = cost(0, np.arange(unique.size + 1))
    for k in range(2, levels + 1):
        step = np.full(unique.size + 1, np.inf)
        for i in range(k, unique.size + 1):
            j = np.arange(k - 1, i)
            step[i] = np.min(best[j] + cost(j, i))
        best = step
    return best[-1] / values.size


@pytest.mark.parametrize("levels", [16, 32])
def test_optimal_lloyd_max_reaches_the_least_error_with_every_level_used(shared_data, levels):
    """pyradiomics' lung2 tumour (real CT): the converged fit (the presets' before) left 3 of 32
    levels empty (12 of 64: 'Lloyd-Max 64' was 52 gray levels) at 2.4x the least error; the
    optimal fit uses every level, meets Lloyd's conditions and is within 1 % of the optimum."""
    values = _lung_tumour(shared_data)
    fitted = LloydMax(levels, optimal=True).fit(values)
    labels = fitted.transform(values)
    assert np.unique(labels).size == levels
    means = np.bincount(labels, weights=values)[1:] / np.bincount(labels)[1:]
    np.testing.assert_allclose(fitted.levels_, means, rtol=1e-10)
    np.testing.assert_allclose(
        fitted.edges_, (fitted.levels_[:-1] + fitted.levels_[1:]) / 2, atol=1e-5 * np.ptp(values)
    )
    least = _least_squared_error(values, levels)
    assert least <= _mse(fitted, values) <= 1.01 * least
    assert _mse(fitted, values) < _mse(LloydMax(levels, converged=True).fit(values), values)


def test_optimal_lloyd_max_of_many_distinct_values_matches_k_means():
    """Resampled CT holds as many distinct values as voxels: the thresholds are placed between
    groups of them, then refined on every value; scikit-learn's k-means (10 starts) is the
    reference for the error."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(60.0, 20.0, 40_000), rng.normal(-400.0, 150.0, 800)])
    for levels in (8, 32):
        fitted = LloydMax(levels, optimal=True).fit(values)
        assert np.unique(fitted.transform(values)).size == levels
        k_means = KMeans(levels, n_init=10, random_state=0).fit(values[:, None])
        assert _mse(fitted, values) <= 1.001 * k_means.inertia_ / values.size


def test_optimal_lloyd_max_settings():
    with pytest.raises(ConfigError, match="one of converged and optimal"):
        LloydMax(8, converged=True, optimal=True)
    with pytest.raises(ConfigError, match="at most 256 levels"):
        LloydMax(300, optimal=True)
    few = np.repeat([1.0, 2.0, 3.0], 5)  # fewer distinct values than levels: the converged fit
    np.testing.assert_array_equal(
        LloydMax(4, optimal=True).fit(few).edges_, LloydMax(4, converged=True).fit(few).edges_
    )


@pytest.mark.parametrize("fit", [{}, {"converged": True}, {"optimal": True}])
@pytest.mark.parametrize("levels", [4, 8, 16, 64])
def test_lloyd_max_of_few_distinct_values_ranks_them(fit, levels):
    """The IBSI digital phantom's four values (1, 3, 4, 6): 8 optimal levels numbered them
    1, 6, 7, 8 and 16 levels 1, 11, 13, 16, so the level count alone changed every gray-level
    feature of one partition. Each value is now its own level, by rank, whatever the count;
    settings before version 3 (``ranked=False``) keep their numbering."""
    values = np.array([1.0, 4.0, 4.0, 1.0, 1.0, 3.0, 6.0, 6.0, 4.0, 1.0, 1.0, 4.0])
    lloyd = LloydMax(levels, **fit).fit(values)
    np.testing.assert_array_equal(
        lloyd.transform(values), np.searchsorted([1, 3, 4, 6], values) + 1
    )
    np.testing.assert_array_equal(lloyd.levels_, [1.0, 3.0, 4.0, 6.0])
    if levels == 16 and fit:
        kept = LloydMax(levels, ranked=False, **fit).fit_transform(values)
        assert sorted(set(kept.tolist())) != [1, 2, 3, 4]
