"""Synthetic HCC patients: image latents, clinical variables and survival from a known hazard.

Every patient has two latents that only the images show directly, ``liver_damage`` D (0..1,
fibrosis/cirrhosis) and ``tumor_heterogeneity`` H (0..1), an unobserved frailty, and tumors drawn
as a count and longest axial diameters (mm). Clinical variables follow from them with noise
(D lowers albumin and platelets, raises bilirubin and INR and makes cirrhosis likely; larger and
more heterogeneous tumors raise AFP and the chance of microvascular invasion; ...).
The same patients can be imaged at another site (:mod:`survival_core.synthetic.sites`): in the lung,
D is the organ's damage shown as emphysema, and the clinical table stays the one simulated here.

Survival (days) follows a Weibull proportional-hazards model::

    h(t | x) = (k / lam) * (t / lam) ** (k - 1) * exp(eta + frailty)     k = 1.1, lam = 1100 days
    eta = 0.45 * ecog
        + 0.15 * a**2 + 0.08 * a                      a = (age - 60) / 10: U-shaped in age
        + 0.25 * softplus(2 * (log10(afp) - 1.6))     flat below ~40 ng/mL, then ~0.5 per decade
        + 1.30 * (albi_score + 2.25)
        + 1.30 * sigmoid((d_max - 50) / 7)            largest tumour (mm): threshold near 5 cm
        + 0.25 * (tumor_number - 1)
        + 0.55 * mvi
        + 2.40 * (D - 0.5)                            image latent: liver damage
        + 3.00 * (H - 0.5) + 1.50 * (H - 0.5) ** 2    image latent: tumour heterogeneity
        - 1.40                                        centres eta near 0
    frailty ~ Normal(0, 0.65 ** 2)                    unobserved: what no model can learn

softplus(x) = log(1 + e^x), sigmoid(x) = 1 / (1 + e^-x). ``eta`` is the true log-hazard written to
truth.csv; ``d_max`` is the designed diameter (the clinical table reports the one measured on the
rendered mask, which differs by a few mm). Event times invert the survival function,
``T = lam * (E * exp(-(eta + frailty))) ** (1 / k)`` with ``E ~ Exp(1)``. Censoring: patients
enter uniformly over a 4-year accrual and follow-up ends 2.5 years after the last entry
(administrative censoring); some are lost to follow-up at an exponential rate (mean 20 years).
This gives a median overall survival near 24 months, 35-40 % censoring, an oracle (Harrell)
c-index near 0.79 and a clinical-only oracle near 0.75: the image latents carry a real share of
the risk, and no single clinical variable comes close (the best, ALBI, reaches about 0.68).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from survival_core.errors import ConfigError
from survival_core.io.clinical import SCHEMA, albi_grade, albi_score

#: Weibull baseline: shape k and scale lam (days).
WEIBULL_SHAPE = 1.1
WEIBULL_SCALE_DAYS = 1100.0
FRAILTY_SD = 0.65
ACCRUAL_DAYS = 4 * 365.0
MIN_FOLLOW_UP_DAYS = 2.5 * 365.0
LOSS_MEAN_DAYS = 20 * 365.0

#: Scanner names; each case is assigned one (survival_core.synthetic.scanners holds their physics).
SCANNER_NAMES = ("SIM-CT1", "SIM-CT2", "SIM-CT3", "SIM-CT4")

#: Ordered codes used to rank categorical variables (c-index of a single variable).
ORDINAL = {
    "sex": ("F", "M"),
    "child_pugh": ("A", "B", "C"),
    "bclc": ("0", "A", "B", "C", "D"),
    "mrecist": ("CR", "PR", "SD", "PD"),
}

#: Random streams derived from the cohort seed (so renders and clinical draws never share one).
STREAM_CLINICAL = 0
STREAM_ANATOMY = 1
STREAM_LAYOUT = 2


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def clinical_log_hazard(values: Mapping[str, np.ndarray]) -> np.ndarray:
    """The clinical part of the true log-hazard (see the module docstring); arrays by SCHEMA name.

    ``values['tumor_diameter']`` is the largest tumour's diameter in mm, ``mvi`` 0/1.
    """
    age = (np.asarray(values["age"], float) - 60.0) / 10.0
    log_afp = np.log10(np.maximum(np.asarray(values["afp"], float), 0.1))
    return (
        0.45 * np.asarray(values["ecog"], float)
        + 0.15 * age**2
        + 0.08 * age
        + 0.25 * _softplus(2.0 * (log_afp - 1.6))
        + 1.30 * (np.asarray(values["albi_score"], float) + 2.25)
        + 1.30 * _sigmoid((np.asarray(values["tumor_diameter"], float) - 50.0) / 7.0)
        + 0.25 * (np.asarray(values["tumor_number"], float) - 1.0)
        + 0.55 * np.asarray(values["mvi"], float)
    )


def image_log_hazard(liver_damage: np.ndarray, tumor_heterogeneity: np.ndarray) -> np.ndarray:
    """The image-latent part of the true log-hazard (see the module docstring)."""
    d = np.asarray(liver_damage, float) - 0.5
    h = np.asarray(tumor_heterogeneity, float) - 0.5
    return 2.40 * d + 3.00 * h + 1.50 * h**2


def tumour_log_hazard(
    values: Mapping[str, np.ndarray], tumor_heterogeneity: np.ndarray
) -> np.ndarray:
    """The log-hazard of a tumour-driven cohort (``risk_source="tumour"``): only what the tumours
    show — the largest diameter, the count and the heterogeneity — at 1.5 times their weight in the
    full model, centred near 0. For checking that explanations point at the tumour."""
    h = np.asarray(tumor_heterogeneity, float) - 0.5
    return (
        1.5
        * (
            1.30 * _sigmoid((np.asarray(values["tumor_diameter"], float) - 50.0) / 7.0)
            + 0.25 * (np.asarray(values["tumor_number"], float) - 1.0)
            + 3.00 * h
            + 1.50 * h**2
        )
        - 0.6
    )


#: What drives the simulated hazard: everything (the default), or only the tumours.
RISK_SOURCES = ("all", "tumour")


def true_log_hazard(
    values: Mapping[str, np.ndarray],
    liver_damage: np.ndarray,
    tumor_heterogeneity: np.ndarray,
    risk_source: str = "all",
) -> np.ndarray:
    """The true log-hazard ``eta`` (without the unobserved frailty)."""
    if risk_source == "tumour":
        return tumour_log_hazard(values, tumor_heterogeneity)
    return clinical_log_hazard(values) + image_log_hazard(liver_damage, tumor_heterogeneity) - 1.40


def child_pugh_class(
    bilirubin: np.ndarray,
    albumin: np.ndarray,
    inr: np.ndarray,
    ascites: np.ndarray,
    encephalopathy: np.ndarray,
) -> np.ndarray:
    """Child-Pugh class A/B/C from bilirubin (umol/L), albumin (g/L), INR and grades 0-2 of ascites
    and encephalopathy (5-6 points A, 7-9 B, 10-15 C)."""
    points = (
        1
        + (np.asarray(bilirubin) >= 34)
        + (np.asarray(bilirubin) > 50)
        + 1
        + (np.asarray(albumin) <= 35)
        + (np.asarray(albumin) < 28)
        + 1
        + (np.asarray(inr) >= 1.7)
        + (np.asarray(inr) > 2.3)
        + 1
        + np.asarray(ascites)
        + 1
        + np.asarray(encephalopathy)
    )
    return np.where(points <= 6, "A", np.where(points <= 9, "B", "C"))


def bclc_stage(
    tumor_number: np.ndarray,
    tumor_diameter: np.ndarray,
    ecog: np.ndarray,
    child_pugh: np.ndarray,
    mvi: np.ndarray,
    secondary_max_mm: np.ndarray,
) -> np.ndarray:
    """BCLC stage (simplified 2022 rules) from tumour count and largest diameter (mm), ECOG,
    Child-Pugh class and microvascular invasion (standing in for vascular invasion when the
    tumour is large); ``secondary_max_mm`` is the largest of the other tumours (0 if single).

    D: Child-Pugh C or ECOG > 2. C: ECOG 1-2, or invasion with a tumour >= 50 mm.
    0: single <= 20 mm, Child-Pugh A. A: single, or up to 3 nodules all <= 30 mm. B: the rest.
    """
    number = np.asarray(tumor_number)
    diameter = np.asarray(tumor_diameter, float)
    ecog = np.asarray(ecog)
    cp = np.asarray(child_pugh)
    invasive = np.asarray(mvi, bool) & (diameter >= 50)
    all_small = (diameter <= 30) & (np.asarray(secondary_max_mm, float) <= 30) & (number <= 3)
    stage = np.where((number == 1) | all_small, "A", "B")
    stage = np.where((number == 1) & (diameter <= 20) & (cp == "A"), "0", stage)
    stage = np.where((ecog >= 1) | invasive, "C", stage)
    return np.where((cp == "C") | (ecog > 2), "D", stage)


def ordinal_codes(name: str, values: pd.Series) -> np.ndarray:
    """Numbers for a clinical column, categories ranked by :data:`ORDINAL`, booleans as 0/1."""
    if name in ORDINAL:
        return values.map({c: i for i, c in enumerate(ORDINAL[name])}).to_numpy(float)
    return values.to_numpy(float)


def _ordinal(latent: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    return np.searchsorted(np.asarray(cuts), latent)


def simulate_cohort(
    n: int, seed: int, risk_source: str = "all", scanner_names: Sequence[str] = SCANNER_NAMES
) -> pd.DataFrame:
    """Simulate ``n`` patients (no images): one row each, deterministic by ``seed``.

    ``risk_source``: "all" (the hazard of the module docstring) or "tumour" (only the tumours'
    size, count and heterogeneity: :func:`tumour_log_hazard`); the patients and images are the
    same for a seed, only the outcomes differ. Each patient is assigned one of
    ``scanner_names``; with as many names as :data:`SCANNER_NAMES` (e.g. the MR scanners) every
    other column is the same.

    Columns: case_id, the SCHEMA clinical columns, time (days), event (0/1), true_log_hazard,
    clinical_log_hazard, liver_damage, tumor_heterogeneity, scanner, tumor_diameters (tuple of
    each tumour's designed longest axial diameter in mm, largest first), event_time (uncensored,
    days) and frailty. ``tumor_diameter`` is the designed largest diameter until the generator
    replaces it with the one measured on the rendered mask.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM_CLINICAL]))
    damage = rng.beta(2.0, 2.0, n)
    hetero = rng.beta(2.0, 2.0, n)
    hbv = rng.random(n) < 0.55
    sex = np.where(rng.random(n) < 0.8, "M", "F")
    age = np.round(np.clip(63.0 - 6.0 * hbv + rng.normal(0, 10, n), 25, 88))

    cirrhosis = damage + rng.normal(0, 0.12, n) > 0.4
    albumin = np.round(np.clip(43.0 - 13.0 * damage + rng.normal(0, 3.0, n), 20, 52), 1)
    bilirubin = np.round(
        np.clip(np.exp(np.log(10.0) + 1.4 * damage + rng.normal(0, 0.35, n)), 3, 350), 1
    )
    platelets = np.round(
        np.clip(np.exp(np.log(250.0) - 1.05 * damage + rng.normal(0, 0.28, n)), 25, 600)
    )
    inr = np.round(np.clip(0.98 + 0.45 * damage**2 + rng.normal(0, 0.07, n), 0.8, 3.5), 2)
    ascites = _ordinal(damage + rng.normal(0, 0.15, n), (0.8, 1.0))
    encephalopathy = (damage + rng.normal(0, 0.1, n) > 1.0).astype(int)
    child_pugh = child_pugh_class(bilirubin, albumin, inr, ascites, encephalopathy)
    albi = np.array([round(albi_score(b, a), 4) for b, a in zip(bilirubin, albumin, strict=True)])

    number = rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15])
    d_max = np.round(
        np.clip(np.exp(np.log(38.0) + 0.35 * (hetero - 0.5) + rng.normal(0, 0.42, n)), 12, 95), 1
    )
    satellites = np.round(np.clip(d_max[:, None] * rng.uniform(0.3, 0.7, (n, 2)), 10.0, 50.0), 1)
    diameters = [
        (float(d_max[i]),) + tuple(float(d) for d in satellites[i, : number[i] - 1])
        for i in range(n)
    ]
    secondary = np.array([max(d[1:], default=0.0) for d in diameters])
    log_afp = np.clip(
        1.5 + 0.9 * (hetero - 0.5) + 0.01 * (d_max - 38) + rng.normal(0, 0.95, n), -0.3, 5.7
    )
    afp = np.round(10.0**log_afp, 1)
    mvi = rng.random(n) < _sigmoid(
        -0.9
        + 0.045 * (d_max - 38)
        + 2.0 * (hetero - 0.5)
        + 0.45 * (log_afp - 1.5)
        + 0.3 * (number - 1)
    )
    ecog = _ordinal(
        0.9 * damage + 0.012 * (d_max - 38) + 0.02 * (age - 62) + rng.normal(0, 0.55, n),
        (0.85, 1.45, 1.95, 2.4),
    )
    ecog = np.minimum(ecog, 3)
    mrecist = np.array(ORDINAL["mrecist"])[
        _ordinal(
            1.6 * hetero + 0.4 * mvi + 0.008 * (d_max - 38) + rng.normal(0, 0.6, n),
            (0.35, 1.0, 1.65),
        )
    ]
    bclc = bclc_stage(number, d_max, ecog, child_pugh, mvi, secondary)
    scanner = np.array(scanner_names)[rng.integers(0, len(scanner_names), n)]

    clinical = {
        "age": age,
        "sex": sex,
        "ecog": ecog,
        "albumin": albumin,
        "bilirubin": bilirubin,
        "albi_score": albi,
        "albi_grade": np.array([albi_grade(s) for s in albi]),
        "afp": afp,
        "platelets": platelets,
        "inr": inr,
        "child_pugh": child_pugh,
        "bclc": bclc,
        "cirrhosis": cirrhosis,
        "hbv": hbv,
        "mvi": mvi,
        "tumor_number": number,
        "tumor_diameter": d_max,
        "mrecist": mrecist,
    }
    if risk_source not in RISK_SOURCES:
        raise ConfigError(f"risk_source must be one of {RISK_SOURCES}; got {risk_source!r}.")
    eta = true_log_hazard(clinical, damage, hetero, risk_source)
    frailty = rng.normal(0, FRAILTY_SD, n)
    event_time = WEIBULL_SCALE_DAYS * (rng.exponential(1.0, n) * np.exp(-(eta + frailty))) ** (
        1.0 / WEIBULL_SHAPE
    )
    admin = ACCRUAL_DAYS + MIN_FOLLOW_UP_DAYS - rng.uniform(0, ACCRUAL_DAYS, n)
    lost = rng.exponential(LOSS_MEAN_DAYS, n)
    censor = np.minimum(admin, lost)
    event = event_time <= censor
    time = np.maximum(1, np.ceil(np.minimum(event_time, censor))).astype(int)

    table = pd.DataFrame({"case_id": [f"SYN-{i + 1:04d}" for i in range(n)]})
    for var in SCHEMA:
        table[var.name] = clinical[var.name]
    for name in ("ecog", "albi_grade", "tumor_number"):
        table[name] = table[name].astype(int)
    table["time"] = time
    table["event"] = event.astype(int)
    table["true_log_hazard"] = np.round(eta, 6)
    table["clinical_log_hazard"] = np.round(clinical_log_hazard(clinical), 6)
    table["liver_damage"] = np.round(damage, 6)
    table["tumor_heterogeneity"] = np.round(hetero, 6)
    table["scanner"] = scanner
    table["tumor_diameters"] = diameters
    table["event_time"] = event_time
    table["frailty"] = frailty
    return table
