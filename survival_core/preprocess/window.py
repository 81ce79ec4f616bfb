"""Display windows given as level/width, and their application to volumes.

A window maps intensities in ``[level - width/2, level + width/2]`` linearly onto an output range
and clips everything outside. For CT they are HU, and the presets are the radiology standards plus
the two contrast-phase windows the seed papers use for liver CT. MR (and any modality but CT) has no
absolute intensity scale, so HU presets mean nothing there: its windows are percentiles of the
volume or of a mask (:data:`PERCENTILE_WINDOWS`, :func:`percentile_window`), and asking for an HU
preset on it is refused (``get_window(name, modality=...)``). A PET read as body-weight SUV has an
absolute scale of its own: its windows start at SUV 0 (:data:`SUV_WINDOWS`).
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
    """A display window: ``level`` (centre) and ``width`` in the image's units (HU for CT);
    ``width`` must be positive."""

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
                f"A display window needs a finite level and a positive width (HU for CT); "
                f"got level={self.level!r}, width={self.width!r}."
            )

    @property
    def low(self) -> float:
        """Lowest intensity (HU for CT) shown (maps to the bottom of the output range)."""
        return self.level - self.width / 2.0

    @property
    def high(self) -> float:
        """Highest intensity (HU for CT) shown (maps to the top of the output range)."""
        return self.level + self.width / 2.0


#: Named windows (HU level/width).
WINDOW_PRESETS: dict[str, Window] = {
    "arterial": Window(70, 150),
    "portal": Window(100, 200),
    "lung": Window(-600, 1500),
    "mediastinum": Window(50, 350),
    "abdomen": Window(50, 400),
    "soft tissue": Window(40, 400),
    "liver": Window(30, 150),
    "bone": Window(400, 1800),
    "brain": Window(40, 80),
}


#: CT window a case of a site opens in (soft tissue for the others: a thigh sarcoma, a neck).
SITE_WINDOWS = {"liver": "liver", "lung": "lung", "brain": "brain"}
DEFAULT_WINDOW = "soft tissue"


def site_window(site: str | None) -> str:
    """The CT preset a case of ``site`` is shown in (viewer, report)."""
    return SITE_WINDOWS.get(site or "", DEFAULT_WINDOW)


#: Percentile windows (low %, high %) for images without an absolute scale (MR and others).
PERCENTILE_WINDOWS: dict[str, tuple[float, float]] = {
    "1-99 %": (1.0, 99.0),
    "0.5-99.5 %": (0.5, 99.5),
    "5-95 %": (5.0, 95.0),
    "0-100 % (full range)": (0.0, 100.0),
}
#: The percentile window an image without an absolute scale opens in (viewer, report).
DEFAULT_PERCENTILE_WINDOW = "1-99 %"

#: SUVbw windows of a PET, all from SUV 0: background uptake (SUV 1-3) stays grey, where a
#: percentile window starting at the volume's 1st percentile shows it black.
SUV_WINDOWS: dict[str, Window] = {
    "SUV 0-5": Window(2.5, 5.0),
    "SUV 0-10": Window(5.0, 10.0),
    "SUV 0-20": Window(10.0, 20.0),
}
#: The SUV window a PET opens in (viewer, report).
DEFAULT_SUV_WINDOW = "SUV 0-5"

#: Most voxels a percentile window reads; larger volumes or regions are sampled regularly.
PERCENTILE_SAMPLE = 2_000_000


def has_hu(modality: str | None) -> bool:
    """Whether a modality's voxels are HU (CT; a volume file without modality counts as CT)."""
    return (modality or "CT").strip().upper() == "CT"


def get_window(window: str | Window, *, modality: str | None = "CT") -> Window:
    """The :class:`Window` for a preset name or a window itself.

    Presets are HU windows: for an image of another ``modality`` (MR...) a preset name raises
    ConfigError pointing to percentile windows; an explicit Window is taken as given.
    """
    if isinstance(window, Window):
        return window
    if window in WINDOW_PRESETS and not has_hu(modality):
        raise ConfigError(
            f"The {window!r} window is a CT preset in HU, and {modality} intensities are not HU: "
            f"use a percentile window instead ({', '.join(PERCENTILE_WINDOWS)} of the volume or "
            "of a structure)."
        )
    if window in WINDOW_PRESETS:
        return WINDOW_PRESETS[window]
    raise ConfigError(
        f"Unknown CT window {window!r}; choose one of {sorted(WINDOW_PRESETS)} "
        "or give Window(level, width) in HU."
    )


def percentile_window(
    data: np.ndarray | sitk.Image,
    percentiles: str | tuple[float, float] = (1.0, 99.0),
    mask: np.ndarray | sitk.Image | None = None,
) -> Window:
    """The window from the ``low``-th to the ``high``-th percentile of the voxels (in the image's
    own units), over the whole volume or the non-zero voxels of ``mask`` (same shape or grid).

    ``percentiles`` is a (low %, high %) pair or a :data:`PERCENTILE_WINDOWS` name. Beyond
    :data:`PERCENTILE_SAMPLE` voxels, a regular sample of about that many is used (the 0th and
    100th percentiles read every voxel: a sample can miss the few brightest). NaN voxels are
    ignored; a flat region gives a window of width 1 around its value. ConfigError for percentiles
    out of order or a mask that covers no voxel.
    """
    if isinstance(percentiles, str):
        if percentiles not in PERCENTILE_WINDOWS:
            raise ConfigError(
                f"Unknown percentile window {percentiles!r}; choose one of "
                f"{', '.join(PERCENTILE_WINDOWS)}."
            )
        percentiles = PERCENTILE_WINDOWS[percentiles]
    low_pct, high_pct = (float(p) for p in percentiles)
    if not 0.0 <= low_pct < high_pct <= 100.0:
        raise ConfigError(
            f"A percentile window needs 0 <= low < high <= 100; got {low_pct:g}-{high_pct:g} %."
        )
    values = sitk.GetArrayViewFromImage(data) if isinstance(data, sitk.Image) else np.asarray(data)
    if mask is not None:
        inside = (
            sitk.GetArrayViewFromImage(mask) if isinstance(mask, sitk.Image) else np.asarray(mask)
        )
        if inside.shape != values.shape:
            raise ConfigError(
                f"The window's mask has shape {inside.shape}, the image {values.shape} (z, y, x)."
            )
        values = values[inside != 0]
    values = np.asarray(values).reshape(-1)
    sample = values  # a regular sample: display precision, not 400 MB copies
    if values.size > PERCENTILE_SAMPLE:
        sample = values[:: -(-values.size // PERCENTILE_SAMPLE)]
    sample = sample.astype(np.float64)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        raise ConfigError("No voxel to compute a percentile window from (empty mask or image).")
    low, high = np.percentile(sample, [low_pct, high_pct])
    if sample.size < values.size and (low_pct == 0.0 or high_pct == 100.0):
        finite = values[np.isfinite(values)]
        low = float(finite.min()) if low_pct == 0.0 else low
        high = float(finite.max()) if high_pct == 100.0 else high
    width = float(high - low)
    return Window(float(low + high) / 2.0, width if width > 0 else 1.0)


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
    *,
    modality: str | None = "CT",
) -> np.ndarray | sitk.Image:
    """Intensities (HU for CT) clipped to the window and rescaled linearly onto ``out_range``,
    float32. HU presets are refused for a non-CT ``modality`` (:func:`get_window`).

    Returns an array for an array and an image on the same grid for an image.
    """
    win = get_window(window, modality=modality)
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
