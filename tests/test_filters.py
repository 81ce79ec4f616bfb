"""IBSI image filters: the mean over a cube with each boundary condition, the sampled LoG."""

from __future__ import annotations

import math

import numpy as np
import pytest

from survival_core.errors import ConfigError
from survival_core.preprocess.filters import BOUNDARIES, laplacian_of_gaussian, mean_filter


@pytest.mark.parametrize(
    ("boundary", "padded"),
    [("zero", "constant"), ("nearest", "edge"), ("periodic", "wrap"), ("mirror", "symmetric")],
)
def test_mean_filter_is_the_cube_mean_of_the_padded_image(boundary: str, padded: str) -> None:
    array = np.random.default_rng(1).normal(size=(6, 7, 8))
    out = mean_filter(array, 3, boundary)
    extended = np.pad(array, 1, mode=padded)
    for z, y, x in [(0, 0, 0), (5, 6, 7), (2, 3, 4)]:
        assert out[z, y, x] == pytest.approx(extended[z : z + 3, y : y + 3, x : x + 3].mean())
    assert set(BOUNDARIES) == {"zero", "nearest", "periodic", "mirror"}


def test_log_of_an_impulse_is_the_sampled_ibsi_kernel() -> None:
    """At the impulse: -D / sigma^2 * (1 / (sqrt(2 pi) sigma))^D in voxel units (D = 3)."""
    impulse = np.zeros((41, 41, 41))
    impulse[20, 20, 20] = 1.0
    sigma_mm, spacing = 3.0, (2.0, 2.0, 2.0)
    out = laplacian_of_gaussian(impulse, sigma_mm, spacing, "zero")
    sigma = sigma_mm / spacing[0]
    expected = -3 / sigma**2 * (1 / (math.sqrt(2 * math.pi) * sigma)) ** 3
    assert out[20, 20, 20] == pytest.approx(expected, rel=1e-3)
    assert out.sum() == pytest.approx(0.0, abs=1e-3)  # a Laplacian: no response to a constant


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: mean_filter(a, 4), "odd"),
        (lambda a: mean_filter(a, 3, "reflect"), "boundary"),
        (lambda a: laplacian_of_gaussian(a, 0.0, (1.0, 1.0, 1.0)), "sigma"),
    ],
)
def test_bad_filter_options_are_config_errors(call, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call(np.zeros((5, 5, 5)))
