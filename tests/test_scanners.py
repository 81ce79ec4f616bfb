"""Tests of the simulated scanners: T1 contrast, Rician noise, bias field and gain of MR."""

from __future__ import annotations

import numpy as np
import pytest

from survival_core.errors import ConfigError
from survival_core.synthetic.scanners import (
    MR_MAX,
    MR_SCANNERS,
    SCANNERS,
    draw_spacing,
    scanner_named,
    t1_signal,
)
from survival_core.synthetic.shapes import Grid

GRID = Grid((-60.0, -60.0, -30.0), (1.0, 1.0, 3.0), (120, 120, 20))


def _uniform(hu: float) -> np.ndarray:
    return np.full(GRID.size[::-1], hu, np.float32)


def test_t1_contrast_of_tissues() -> None:
    air, lung, fat, fluid, muscle, liver, vessel, cortex = t1_signal(
        np.array([-1000, -850, -100, 5, 50, 63, 180, 700], np.float32)
    )
    assert min(fat, vessel) > liver > muscle > fluid > lung > air == 0
    assert cortex < fluid and lung < 0.05


def test_mr_values_are_arbitrary_units_without_an_absolute_scale() -> None:
    scanner = MR_SCANNERS["SIM-MR2"]
    tissue = _uniform(63.0)
    means = [scanner.acquire(tissue, GRID, (7, k), scanner.noise_sd).mean() for k in range(6)]
    images = [scanner.acquire(tissue, GRID, (7, 0), scanner.noise_sd) for _ in range(2)]
    assert images[0].dtype == np.uint16 and np.array_equal(*images)
    assert max(means) / min(means) > 1.15  # exam-to-exam receiver gain
    assert all(0.2 * scanner.gain < m < 1.5 * scanner.gain for m in means)


def test_mr_background_is_rician_not_gaussian() -> None:
    scanner = MR_SCANNERS["SIM-MR3"]
    air = scanner.acquire(_uniform(-1000.0), GRID, (3, 1), 0.03).astype(float) - scanner.offset
    assert air.min() >= 0
    # the magnitude of zero signal plus complex noise is Rayleigh: mean / sd = 1.91
    assert air.mean() / air.std() == pytest.approx(np.sqrt(np.pi / (4 - np.pi)), rel=0.05)


def test_mr_bias_field_is_smooth_and_multiplicative() -> None:
    scanner = MR_SCANNERS["SIM-MR2"]
    image = scanner.acquire(_uniform(63.0), GRID, (5, 2), 0.0).astype(float)
    assert image.max() <= MR_MAX
    relative = image / image.mean()
    assert relative.std() > 0.03  # visible inhomogeneity
    assert np.abs(np.diff(relative, axis=2)).max() < 0.01  # no edges at 1 mm


def test_registry_and_spacing() -> None:
    assert scanner_named("SIM-CT3") is SCANNERS["SIM-CT3"]
    assert scanner_named("SIM-MR1").modality == "MR" and SCANNERS["SIM-CT1"].modality == "CT"
    with pytest.raises(ConfigError, match="SIM-MR4"):
        scanner_named("SIM-PET1")
    rng = np.random.default_rng(0)
    for _ in range(30):
        sx, sy, sz = draw_spacing(rng)
        assert sx == sy and 0.7 <= sx <= 1.4 and sz in np.arange(2.5, 5.01, 0.25)
