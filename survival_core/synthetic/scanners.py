"""Simulated scanners: what turns a phantom's noiseless tissue model (HU) into the stored image.

The phantoms paint tissue as contrast-enhanced CT attenuation (HU). A CT scanner blurs it in-plane
by its point-spread function, adds correlated Gaussian noise and its HU offset, and stores int16
HU (-1024..3071). An MR scanner (T1-weighted, post-contrast gradient echo, no fat suppression)
maps each tissue to a T1-like signal (:func:`t1_signal`: fat and marrow bright, fluid, necrosis,
cortical bone and air dark, enhancing tissue bright), blurs it, multiplies it by a smooth coil bias
field and by a receiver gain that changes from exam to exam, and takes the magnitude of the signal
plus complex Gaussian noise (Rician statistics), plus the scanner's offset: arbitrary units with no
absolute scale, stored as uint16 0..4095.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import ndimage

from survival_core.errors import ConfigError
from survival_core.synthetic.random_fields import iso, noise_field
from survival_core.synthetic.shapes import Grid, slabs

#: Random streams of the acquisition, derived from the anatomy seed (phantom fields use others).
FIELD_CT_NOISE, FIELD_MR_NOISE, FIELD_MR_BIAS = 4, 5, 6
#: The coil bias field: a fixed lattice in patient mm (so a cropped render sees the same field).
BIAS_BOX_MM = 320.0
BIAS_STEP_MM = 12.0
BIAS_SCALE_MM = 80.0
#: Range of the exam-to-exam receiver gain factor of MR.
MR_GAIN_RANGE = (0.7, 1.4)
MR_MAX = 4095
#: Reconstruction spacing ranges (mm): square pixels, slices in steps of 0.25 mm.
IN_PLANE_SPACING_MM = (0.7, 1.4)
SLICE_SPACING_MM = (2.5, 5.0)

#: Tissue HU -> relative T1-weighted signal (piecewise linear): air, lung, fat, fluid, soft tissue,
#: liver, enhancing tissue and vessels, fatty marrow, cortical bone.
_T1_CURVE = (
    (-1000.0, 0.0),
    (-850.0, 0.03),
    (-100.0, 0.85),
    (0.0, 0.12),
    (35.0, 0.38),
    (63.0, 0.55),
    (110.0, 0.7),
    (200.0, 0.95),
    (380.0, 0.7),
    (700.0, 0.05),
)


def t1_signal(hu: np.ndarray) -> np.ndarray:
    """Relative T1-weighted signal (about 0..1) of tissue given by its CT attenuation (HU)."""
    points, values = zip(*_T1_CURVE, strict=True)
    return np.interp(hu, points, values).astype(np.float32)


@dataclass(frozen=True)
class Scanner:
    """Nuisance physics of one CT scanner: noise sd (HU), in-plane PSF sigma and noise grain (mm),
    HU offset."""

    modality: ClassVar[str] = "CT"

    name: str
    noise_sd_hu: float
    psf_sigma_mm: float
    noise_grain_mm: float
    hu_offset: float

    @property
    def noise_sd(self) -> float:
        """Noise sd in the stored image's units (HU)."""
        return self.noise_sd_hu

    def acquire(
        self, tissue: np.ndarray, grid: Grid, seed: tuple[int, ...], noise_sd: float
    ) -> np.ndarray:
        """CT image (int16 HU, -1024..3071) of the tissue model, slab by slab: in-plane PSF blur,
        correlated Gaussian noise with this scanner's grain and the case's sd, HU offset."""
        sx, sy, _ = grid.spacing
        psf = (0.0, self.psf_sigma_mm / sy, self.psf_sigma_mm / sx)
        grain = (0.0, self.noise_grain_mm / sy, self.noise_grain_mm / sx)
        impulse = np.zeros((1, 25, 25), np.float32)
        impulse[0, 12, 12] = 1.0
        gain = float(np.sqrt((ndimage.gaussian_filter(impulse, grain, truncate=3.0) ** 2).sum()))
        scale = np.float32(noise_sd / gain)
        rng = np.random.default_rng(np.random.SeedSequence(seed + (FIELD_CT_NOISE,)))
        hu = np.empty(tissue.shape, np.int16)
        for first, last, _, _ in slabs(0, tissue.shape[0]):
            slab = ndimage.gaussian_filter(tissue[first:last], psf, truncate=3.0)
            white = rng.standard_normal(slab.shape, dtype=np.float32)
            slab += ndimage.gaussian_filter(white, grain, truncate=3.0) * scale
            slab += np.float32(self.hu_offset)
            hu[first:last] = np.clip(np.rint(slab), -1024, 3071)
        return hu


@dataclass(frozen=True)
class MRScanner:
    """Nuisance physics of one MR scanner: field strength (T), nominal receiver gain and offset
    (a.u.), noise sd (fraction of the gain), in-plane PSF sigma (mm) and sd of the log bias
    field."""

    modality: ClassVar[str] = "MR"

    name: str
    field_strength_t: float
    gain: float
    offset: float
    noise_sd: float
    psf_sigma_mm: float
    bias_sd: float

    def acquire(
        self, tissue: np.ndarray, grid: Grid, seed: tuple[int, ...], noise_sd: float
    ) -> np.ndarray:
        """MR magnitude image (uint16 a.u., 0..4095) of the tissue model (HU), slab by slab: T1
        signal, in-plane PSF blur, bias field, exam gain, Rician noise of sd ``noise_sd`` x gain,
        offset."""
        rng = np.random.default_rng(np.random.SeedSequence(seed + (FIELD_MR_NOISE,)))
        gain = self.gain * float(rng.uniform(*MR_GAIN_RANGE))
        half = BIAS_BOX_MM / 2.0
        bias = noise_field(
            seed,
            FIELD_MR_BIAS,
            (-half,) * 3,
            (half,) * 3,
            BIAS_STEP_MM,
            (("low", iso(BIAS_SCALE_MM)),),
        )
        sx, sy, _ = grid.spacing
        psf = (0.0, self.psf_sigma_mm / sy, self.psf_sigma_mm / sx)
        sd = np.float32(noise_sd * gain)
        xs, ys, zs = grid.axes()
        out = np.empty(tissue.shape, np.uint16)
        for first, last, _, _ in slabs(0, tissue.shape[0]):
            signal = ndimage.gaussian_filter(t1_signal(tissue[first:last]), psf, truncate=3.0)
            signal *= np.exp(self.bias_sd * bias.sample(xs, ys, zs[first:last])) * np.float32(gain)
            real = signal + sd * rng.standard_normal(signal.shape, dtype=np.float32)
            imaginary = sd * rng.standard_normal(signal.shape, dtype=np.float32)
            magnitude = np.hypot(real, imaginary) + np.float32(self.offset)
            out[first:last] = np.clip(np.rint(magnitude), 0, MR_MAX)
        return out


SCANNERS: dict[str, Scanner] = {
    s.name: s
    for s in (
        Scanner("SIM-CT1", 9.0, 0.55, 0.6, 2.0),
        Scanner("SIM-CT2", 13.0, 0.8, 0.8, -3.0),
        Scanner("SIM-CT3", 18.0, 1.15, 0.7, 0.0),
        Scanner("SIM-CT4", 11.0, 0.7, 0.9, 4.0),
    )
}
MR_SCANNERS: dict[str, MRScanner] = {
    s.name: s
    for s in (
        MRScanner("SIM-MR1", 1.5, 1100.0, 0.0, 0.022, 0.7, 0.12),
        MRScanner("SIM-MR2", 3.0, 1600.0, 12.0, 0.016, 0.6, 0.22),
        MRScanner("SIM-MR3", 1.5, 800.0, 30.0, 0.03, 0.9, 0.1),
        MRScanner("SIM-MR4", 3.0, 1400.0, 5.0, 0.02, 0.75, 0.18),
    )
}
#: Scanners by modality.
BY_MODALITY: dict[str, dict[str, Scanner] | dict[str, MRScanner]] = {
    "CT": SCANNERS,
    "MR": MR_SCANNERS,
}


def draw_spacing(rng: np.random.Generator) -> tuple[float, float, float]:
    """A case's reconstruction spacing (mm, x y z) within the protocol's ranges."""
    in_plane = round(float(rng.uniform(*IN_PLANE_SPACING_MM)), 3)
    slices = np.arange(SLICE_SPACING_MM[0], SLICE_SPACING_MM[1] + 0.01, 0.25)
    return (in_plane, in_plane, float(rng.choice(slices)))


def scanner_named(name: str) -> Scanner | MRScanner:
    """The CT or MR scanner called ``name``."""
    for scanners in BY_MODALITY.values():
        if name in scanners:
            return scanners[name]
    known = ", ".join(n for scanners in BY_MODALITY.values() for n in scanners)
    raise ConfigError(f"Unknown scanner {name!r}; known scanners: {known}.")
