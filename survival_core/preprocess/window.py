"""CT display windows given as level/width (HU), and their application to volumes.

A window maps HU in ``[level - width/2, level + width/2]`` linearly onto an output range and clips
everything outside. The presets are the radiology standards plus the two contrast-phase windows the
seed papers use for liver CT.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from survival_core.errors import ConfigError


@dataclass(frozen=True)
class Window:
    """A CT window: ``level`` (centre) and ``width`` in HU; ``width`` must be positive."""

    level: float
    width: float

    def __post_init__(self) -> None:
        numbers = all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in (self.level, self.width)
        )
        if (
            not (numbers and math.isfinite(self.level) and math.isfinite(self.width))
            or self.width <= 0
        ):
            raise ConfigError(
                f"A CT window needs a finite level and a positive width in HU; "
                f"got level={self.level!r}, width={self.width!r}."
            )

    @property
    def low(self) -> float:
        """Lowest HU shown (maps to the bottom of the output range)."""
        return self.level - self.width / 2.0

    @property
    def high(self) -> float:
        """Highest HU shown (maps to the top of the output range)."""
        return self.level + self.width / 2.0


#: Named windows (HU level/width).
WINDOW_PRESETS: dict[str, Window] = {
    "arterial": Window(70, 150),
    "portal": Window(100, 200),
    "lung": Window(-600, 1500),
    "mediastinum": Window(50, 350),
    "abdomen": Window(50, 400),
    "liver": Window(30, 150),
    "bone": Window(400, 1800),
    "brain": Window(40, 80),
}


def get_window(window: str | Window) -> Window:
    """The :class:`Window` for a preset name or a window itself."""
    if isinstance(window, Window):
        return window
    if window in WINDOW_PRESETS:
        return WINDOW_PRESETS[window]
    raise ConfigError(
        f"Unknown CT window {window!r}; choose one of {sorted(WINDOW_PRESETS)} "
        "or give Window(level, width) in HU."
    )


def _on_voxels(
    data: np.ndarray | sitk.Image, fn: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray | sitk.Image:
    """``fn`` applied to the voxels; an image comes back as an image on the same grid."""
    if isinstance(data, sitk.Image):
        out = sitk.GetImageFromArray(fn(sitk.GetArrayViewFromImage(data)))
        out.CopyInformation(data)
        return out
    return fn(np.asarray(data))


def apply_window(
    data: np.ndarray | sitk.Image,
    window: str | Window,
    out_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray | sitk.Image:
    """HU clipped to the window and rescaled linearly onto ``out_range``, float32.

    Returns an array for an array and an image on the same grid for an image.
    """
    win = get_window(window)
    bottom, top = (float(v) for v in out_range)
    if not (math.isfinite(bottom) and math.isfinite(top)) or bottom >= top:
        raise ConfigError(
            f"Window output range must be (low, high) with low < high; got {out_range!r}."
        )
    scale = (top - bottom) / win.width

    def rescale(hu: np.ndarray) -> np.ndarray:
        clipped = np.clip(hu.astype(np.float64), win.low, win.high)
        return ((clipped - win.low) * scale + bottom).astype(np.float32)

    return _on_voxels(data, rescale)


def to_display_uint8(
    data: np.ndarray | sitk.Image, window: str | Window
) -> np.ndarray | sitk.Image:
    """HU windowed onto 0-255 grey levels (uint8) for display."""
    windowed = apply_window(data, window, (0.0, 255.0))
    return _on_voxels(windowed, lambda v: np.rint(v).astype(np.uint8))
