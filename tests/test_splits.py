"""Resampling protocols: disjoint sets, every patient tested once per repeat, stratification."""

import numpy as np
import pytest

from survival_core.errors import ConfigError
from survival_core.evaluation import splits


def _event(n=100, rate=0.6, seed=0):
    return np.random.default_rng(seed).random(n) < rate


def _disjoint(fold):
    sets = [set(fold.train), set(fold.validation), set(fold.test)]
    return all(not (a & b) for i, a in enumerate(sets) for b in sets[i + 1 :])


def test_nested_cv_tests_every_patient_once_per_repeat_with_25pct_validation():
    event = _event()
    folds = splits.nested_cv(event, n_repeats=3, n_folds=5, validation_fraction=0.25, seed=1)
    assert len(folds) == 15
    for repeat in range(3):
        tested = np.concatenate([f.test for f in folds if f.repeat == repeat])
        assert sorted(tested) == list(range(100))
    for fold in folds:
        assert _disjoint(fold)
        assert len(fold.train) + len(fold.validation) + len(fold.test) == 100
        assert len(fold.validation) == pytest.approx(0.25 * 80, abs=1)
        # stratified: the test fold's event rate is close to the cohort's
        assert abs(event[fold.test].mean() - event.mean()) < 0.06


def test_the_protocols_hold_back_no_validation_rows_unless_asked():
    """A network holds back its own ``validation_fraction`` of a fold's training rows, as when it
    is fitted on every row; the folds held back 25 % whatever the model's fraction."""
    event = _event()
    flag = np.arange(100) >= 70
    for n, folds in (
        (100, splits.nested_cv(event, n_repeats=1, n_folds=5)),
        (20, splits.leave_one_out(event[:20])),
        (100, splits.fixed_split(event)),
        (100, splits.external(event, flag)),
    ):
        for fold in folds:
            assert fold.validation.size == 0 and _disjoint(fold)
            assert sorted(np.concatenate([fold.train, fold.test])) == list(range(n))


def test_repeats_differ_and_seed_reproduces():
    event = _event()
    a = splits.nested_cv(event, n_repeats=2, seed=3)
    b = splits.nested_cv(event, n_repeats=2, seed=3)
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].test, a[5].test)


def test_leave_one_out_and_fixed_split_and_external():
    event = _event(30)
    loo = splits.leave_one_out(event)
    assert [f.test.tolist() for f in loo] == [[i] for i in range(30)]
    assert all(len(f.train) == 29 and _disjoint(f) for f in loo)
    (fixed,) = splits.fixed_split(_event(), test_fraction=0.2, validation_fraction=0.0)
    assert len(fixed.test) == 20 and len(fixed.train) == 80
    flag = np.arange(30) >= 24
    (ext,) = splits.external(event, flag, validation_fraction=0.0)
    assert ext.test.tolist() == list(range(24, 30)) and ext.train.tolist() == list(range(24))


@pytest.mark.parametrize(
    "call",
    [
        lambda: splits.nested_cv(np.array([True, False, True]), n_folds=5),
        lambda: splits.nested_cv(_event(), n_folds=1),
        lambda: splits.fixed_split(_event(), test_fraction=1.5),
        lambda: splits.external(_event(10), np.zeros(10, bool)),
    ],
)
def test_impossible_protocols_are_refused(call):
    with pytest.raises(ConfigError):
        call()


def test_one_fold_protocols_without_an_event_are_refused_like_nested_cv():
    """Leave-one-out on an all-censored table: a clear message, not an IndexError in a fold;
    without censored patients it still runs (nothing is stratified)."""
    censored = np.zeros(30, dtype=bool)
    with pytest.raises(ConfigError, match=r"at least one event \(have 0 events, 30 censored\)"):
        splits.leave_one_out(censored)
    with pytest.raises(ConfigError, match="at least one event"):
        splits.external(censored, np.arange(30) >= 24)
    with pytest.raises(ConfigError, match="at least one event"):
        splits.nested_cv(censored)
    assert len(splits.leave_one_out(~censored)) == 30


def test_a_cohort_followed_to_every_death_cross_validates() -> None:
    """Real veterans' lung-cancer patients who died (128, none censored) were refused: "5 folds
    need at least 5 events and 5 censored patients"; the c-index needs only events. With fewer
    censored patients than folds (9 of 137 in 10 folds) scikit-learn's warning is not shown."""
    import warnings

    from sksurv.datasets import load_veterans_lung_cancer

    _, y = load_veterans_lung_cancer()
    died = y["Status"][y["Status"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = splits.nested_cv(died, n_repeats=2, n_folds=5)
        assert len(splits.nested_cv(y["Status"], n_repeats=1, n_folds=10)) == 10
    assert len(folds) == 10 and all(len(f.test) >= 25 and _disjoint(f) for f in folds)
    with pytest.raises(
        ConfigError, match=r"5 folds need at least 5 events, one in each fold: use 3"
    ):
        splits.nested_cv(np.array([True] * 3 + [False] * 20))


@pytest.mark.parametrize("fraction", [0.05, 0.95, 0.98])
def test_a_fixed_split_too_small_to_train_or_test_is_refused_naming_its_sizes(fraction) -> None:
    """sklearn's ValueError escaped as a traceback (10 patients at 0.05 or 0.95), and 120 at
    0.98 trained on 2 patients (1 event) for a c-index of 0.5."""
    event = _event(120) if fraction == 0.98 else np.array([True] * 4 + [False] * 6)
    with pytest.raises(ConfigError, match=rf"test fraction of {fraction:g} of {event.size} pat"):
        splits.fixed_split(event, test_fraction=fraction)


@pytest.mark.parametrize(("n", "folds"), [(6, 3), (8, 2)])
def test_small_cohorts_split_without_stratifying_what_cannot_be(n, folds):
    """3 events in 6 patients, 3 folds: each training part of 4 holds back a validation row of
    1, which cannot hold both kinds; it is drawn unstratified instead of sklearn's error."""
    event = np.array([1, 0] * (n // 2), dtype=bool)
    made = splits.nested_cv(event, n_repeats=1, n_folds=folds, seed=0)
    assert len(made) == folds
    for fold in made:
        together = np.concatenate([fold.train, fold.validation, fold.test])
        assert sorted(together) == list(range(n))


def test_another_seed_draws_other_repeats_and_seed_0_keeps_its_folds() -> None:
    """Repeat r of seed s was drawn with s + r: `cv --seed 1` shared 9 of its 10 repeats (45 of
    50 test folds) with seed 0, so a check of stability with another seed checked little. Seed
    0's folds are those every earlier run and figure used (their digest, pinned)."""
    import hashlib

    event = np.arange(200) % 3 == 0
    tests = {
        seed: {tuple(f.test) for f in splits.nested_cv(event, 10, 5, seed=seed)}
        for seed in range(3)
    }
    assert not tests[0] & tests[1] and not tests[1] & tests[2] and not tests[0] & tests[2]
    # leave-one-out's validation rows: patient i's of seed 1 were patient i+1's of seed 0
    one, zero = (splits.leave_one_out(event[:60], 0.25, seed=s) for s in (1, 0))
    shifted = [
        set(a.validation) == set(b.validation) for a, b in zip(one[:-1], zero[1:], strict=True)
    ]
    assert not any(shifted)
    rows = [
        np.concatenate([f.train, f.validation, f.test])
        for f in splits.nested_cv(event, 10, 5, validation_fraction=0.25)
    ]
    digest = hashlib.sha256(np.concatenate(rows).tobytes()).hexdigest()
    assert digest.startswith("101af4ea12b87a79")
