"""Tests of the synthetic patients: clinical plausibility, hazard, censoring and difficulty."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from survival_core.errors import ConfigError
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.io.clinical import SCHEMA, albi_grade, albi_score
from survival_core.io.clinical_schema import validate_clinical
from survival_core.synthetic import simulate


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate.simulate_cohort(300, seed=11)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return simulate.simulate_cohort(3000, seed=5)


def _brute_force_c(time, event, risk) -> float:
    concordant = comparable = 0.0
    for i, j in itertools.permutations(range(len(time)), 2):
        if event[i] and (time[i] < time[j] or (time[i] == time[j] and not event[j])):
            comparable += 1
            concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable


def c_index(table: pd.DataFrame, risk) -> float:
    """Harrell's c-index of ``risk`` against a simulated table's outcomes."""
    outcome = (table["event"].to_numpy(bool), table["time"].to_numpy(float))
    return harrell_c_index(outcome, np.asarray(risk, float))


def test_harrell_c_index_matches_definition() -> None:
    rng = np.random.default_rng(0)
    time = rng.integers(1, 30, 60)
    event = rng.random(60) < 0.6
    risk = rng.integers(0, 8, 60).astype(float)
    assert harrell_c_index((event, time), risk) == pytest.approx(_brute_force_c(time, event, risk))


@pytest.mark.parametrize(("sign", "expected"), [(1.0, 1.0), (-1.0, 0.0), (0.0, 0.5)])
def test_harrell_c_index_extremes(sign: float, expected: float) -> None:
    time = np.arange(1, 21, dtype=float)
    event = np.ones(20, bool)
    assert harrell_c_index((event, time), -sign * time) == pytest.approx(expected)


def test_same_seed_same_cohort_and_other_seed_differs() -> None:
    a = simulate.simulate_cohort(50, seed=3)
    b = simulate.simulate_cohort(50, seed=3)
    c = simulate.simulate_cohort(50, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["true_log_hazard"], c["true_log_hazard"])


def test_every_row_passes_validation_and_keeps_its_values(cohort: pd.DataFrame) -> None:
    for row in cohort.to_dict("records"):
        values = validate_clinical(row).values
        assert all(values[v.name] is not None for v in SCHEMA)
        assert values["albi_score"] == pytest.approx(row["albi_score"], abs=1e-9)
        assert values["tumor_number"] == len(row["tumor_diameters"])
        assert values["tumor_diameter"] == max(row["tumor_diameters"])


def test_albi_is_the_published_formula(cohort: pd.DataFrame) -> None:
    expected = 0.66 * np.log10(cohort["bilirubin"]) - 0.085 * cohort["albumin"]
    np.testing.assert_allclose(cohort["albi_score"], expected, atol=5e-5)
    assert [albi_grade(s) for s in cohort["albi_score"]] == cohort["albi_grade"].tolist()
    assert albi_score(17.0, 40.0) == pytest.approx(0.66 * np.log10(17.0) - 3.4)


@pytest.mark.parametrize(
    ("column", "direction"),
    [("albumin", -1), ("platelets", -1), ("bilirubin", 1), ("inr", 1)],
)
def test_cirrhosis_shifts_liver_function(large: pd.DataFrame, column: str, direction: int) -> None:
    cirrhotic = large.loc[large["cirrhosis"], column].median()
    healthy = large.loc[~large["cirrhosis"], column].median()
    assert direction * (cirrhotic - healthy) > 0
    assert direction * np.corrcoef(large["liver_damage"], large[column])[0, 1] > 0.4


def test_plausible_marginals(large: pd.DataFrame) -> None:
    assert 0.5 < large["cirrhosis"].mean() < 0.8
    assert 0.7 < (large["sex"] == "M").mean() < 0.9
    assert (large["child_pugh"] == "A").mean() > 0.6
    assert large["afp"].max() > 50 * large["afp"].median()  # heavy tail
    assert set(large["bclc"]) == {"0", "A", "B", "C", "D"}
    assert set(large["mrecist"]) == {"CR", "PR", "SD", "PD"}
    # Larger, more heterogeneous tumours invade more often; heterogeneous ones respond worse.
    assert (
        large.groupby("mvi")["tumor_diameter"].median()[True]
        > large.groupby("mvi")["tumor_diameter"].median()[False]
    )
    progressive = large["mrecist"] == "PD"
    assert (
        large.loc[progressive, "tumor_heterogeneity"].mean()
        > large.loc[large["mrecist"] == "CR", "tumor_heterogeneity"].mean() + 0.2
    )


def test_median_survival_about_two_years(large: pd.DataFrame) -> None:
    months = np.median(large["event_time"]) / 30.44
    assert 20 <= months <= 30


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_censoring_and_oracle_in_range(seed: int) -> None:
    table = simulate.simulate_cohort(300, seed)
    assert 0.30 <= 1 - table["event"].mean() <= 0.45
    oracle = c_index(table, table["true_log_hazard"])
    assert 0.72 <= oracle <= 0.88
    assert (
        table.loc[table["event"] == 0, "time"] < table.loc[table["event"] == 0, "event_time"]
    ).all()


def test_no_single_clinical_variable_reaches_the_oracle(cohort: pd.DataFrame) -> None:
    oracle = c_index(cohort, cohort["true_log_hazard"])
    for var in SCHEMA:
        c = c_index(cohort, simulate.ordinal_codes(var.name, cohort[var.name]))
        assert abs(c - 0.5) + 0.5 < oracle - 0.05, var.name


def test_image_latents_carry_a_real_share_of_risk(large: pd.DataFrame) -> None:
    full = c_index(large, large["true_log_hazard"])
    clinical = c_index(large, large["clinical_log_hazard"])
    assert full - clinical > 0.025


def test_hazard_is_smooth_and_increasing_where_documented() -> None:
    base = {
        "age": 60.0,
        "ecog": 0,
        "afp": 10.0,
        "albi_score": -2.6,
        "tumor_diameter": 30.0,
        "tumor_number": 1,
        "mvi": 0,
    }

    def eta(**change) -> float:
        return float(simulate.true_log_hazard({**base, **change}, 0.5, 0.5))

    assert eta(afp=20.0) - eta(afp=10.0) < 0.05  # below the AFP threshold: almost flat
    assert eta(afp=10_000.0) - eta(afp=1_000.0) > 0.4
    assert eta(tumor_diameter=80.0) - eta(tumor_diameter=60.0) < eta(tumor_diameter=55.0) - eta(
        tumor_diameter=45.0
    )  # saturating size effect
    assert eta(age=40.0) > eta(age=55.0) < eta(age=80.0)  # U-shaped age effect
    assert float(simulate.image_log_hazard(0.9, 0.9)) > float(simulate.image_log_hazard(0.1, 0.1))


@pytest.mark.parametrize(
    ("number", "diameter", "ecog", "cp", "mvi", "secondary", "stage"),
    [
        (1, 18.0, 0, "A", False, 0.0, "0"),
        (1, 18.0, 0, "B", False, 0.0, "A"),
        (1, 70.0, 0, "A", False, 0.0, "A"),
        (3, 28.0, 0, "A", False, 25.0, "A"),
        (2, 45.0, 0, "A", False, 20.0, "B"),
        (1, 60.0, 0, "A", True, 0.0, "C"),
        (1, 30.0, 1, "A", False, 0.0, "C"),
        (1, 30.0, 0, "C", False, 0.0, "D"),
        (1, 30.0, 3, "A", False, 0.0, "D"),
    ],
)
def test_bclc_rules(number, diameter, ecog, cp, mvi, secondary, stage) -> None:
    result = simulate.bclc_stage(
        np.array([number]),
        np.array([diameter]),
        np.array([ecog]),
        np.array([cp]),
        np.array([mvi]),
        np.array([secondary]),
    )
    assert result.tolist() == [stage]


@pytest.mark.parametrize(
    ("bilirubin", "albumin", "inr", "ascites", "enceph", "cls"),
    [(15, 40, 1.0, 0, 0, "A"), (40, 33, 1.0, 0, 0, "B"), (60, 25, 2.5, 2, 1, "C")],
)
def test_child_pugh_points(bilirubin, albumin, inr, ascites, enceph, cls) -> None:
    assert simulate.child_pugh_class(
        np.array([bilirubin]),
        np.array([albumin]),
        np.array([inr]),
        np.array([ascites]),
        np.array([enceph]),
    ).tolist() == [cls]


def test_tumour_driven_cohort_has_the_same_patients_and_a_tumour_only_hazard() -> None:
    everything = simulate.simulate_cohort(400, seed=5)
    tumour = simulate.simulate_cohort(400, seed=5, risk_source="tumour")
    same = ["age", "albi_score", "tumor_diameter", "tumor_heterogeneity", "liver_damage"]
    pd.testing.assert_frame_equal(everything[same], tumour[same])
    eta = tumour["true_log_hazard"].to_numpy()
    h = tumour["tumor_heterogeneity"].to_numpy() - 0.5
    tumour_terms = (
        1.5
        * (
            1.30 / (1 + np.exp(-(tumour["tumor_diameter"].to_numpy() - 50.0) / 7.0))
            + 0.25 * (tumour["tumor_number"].to_numpy() - 1.0)
            + 3.00 * h
            + 1.50 * h**2
        )
        - 0.6
    )
    np.testing.assert_allclose(eta, tumour_terms, atol=1e-5)
    # liver damage no longer informs the risk; tumour heterogeneity does, strongly
    rho = pd.Series(eta).corr(tumour["liver_damage"], method="spearman")
    assert abs(rho) < 0.15
    assert pd.Series(eta).corr(tumour["tumor_heterogeneity"], method="spearman") > 0.6
    with pytest.raises(ConfigError, match="risk_source"):
        simulate.simulate_cohort(10, seed=5, risk_source="liver")


def test_other_scanner_names_keep_the_patients() -> None:
    ct = simulate.simulate_cohort(40, seed=8)
    mr = simulate.simulate_cohort(40, seed=8, scanner_names=("MR-A", "MR-B", "MR-C", "MR-D"))
    names = dict(zip(simulate.SCANNER_NAMES, ("MR-A", "MR-B", "MR-C", "MR-D"), strict=True))
    assert mr["scanner"].tolist() == [names[s] for s in ct["scanner"]]
    pd.testing.assert_frame_equal(ct.drop(columns="scanner"), mr.drop(columns="scanner"))
