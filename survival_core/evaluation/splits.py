"""Resampling protocols: which patients train, tune and test in each fold.

Every protocol yields :class:`Fold` objects with three disjoint index sets; the model never sees
``test`` while it is fitted. ``validation`` is a part of the training rows the protocol itself holds
back for early stopping (given a ``validation_fraction``, Wei 2021's 25 % of the four training
folds). None is held back by default: a network then holds back its own ``validation_fraction`` of
the training rows, as it does when fitted on every row, so that the folds validate the model that
``fit`` trains (they held back 25 % whatever the model's fraction, early stopping included where a
model had it off). Splits are stratified by the event indicator and deterministic for a seed.

- ``nested_cv``: repeated stratified K-fold (default 10 x 5), Wei 2021.
- ``leave_one_out``: one patient tested per fold, Han 2020.
- ``fixed_split``: one random stratified training/test split (default 8:2), Sun 2023.
- ``external``: develop on one cohort, test on another, Wang 2022.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from survival_core.errors import ConfigError

PROTOCOLS = ("nested_cv", "leave_one_out", "fixed_split", "external")


@dataclass(frozen=True)
class Fold:
    """Index arrays of one fold; ``repeat`` and ``fold`` number it within its protocol."""

    repeat: int
    fold: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _split_validation(
    indices: np.ndarray, event: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hold back ``fraction`` of ``indices`` (stratified by event) for validation."""
    if fraction <= 0:
        return np.sort(indices), np.array([], dtype=int)
    labels = event[indices]
    held = int(np.ceil(fraction * len(indices)))
    # stratified only where each part can hold both kinds (4 training rows: a validation row of 1)
    both = np.bincount(labels.astype(int), minlength=2).min() >= 2
    fits = 2 <= held <= len(indices) - 2
    stratify = labels if both and fits else None
    if len(indices) < 2:
        raise ConfigError("A training fold needs at least two patients to hold some back.")
    train, validation = train_test_split(
        indices, test_size=fraction, random_state=seed, stratify=stratify
    )
    return np.sort(train), np.sort(validation)


def _check(event: np.ndarray, folds: int) -> np.ndarray:
    """The event indicator as booleans; refused unless each of ``folds`` folds can hold an event
    (one fold: the c-index needs one). Censored patients need not be in every fold: a cohort
    followed to every death (none censored) cross-validates."""
    event = np.asarray(event).astype(bool)
    if event.ndim != 1 or event.size < 2:
        raise ConfigError("A resampling protocol needs at least two patients.")
    events, censored = int(event.sum()), int((~event).sum())
    if events == 0:
        need = "A resampling protocol needs at least one event"
    elif folds > events:
        fewer = f": use {events} folds at most" if events >= 2 else ""
        need = f"{folds} folds need at least {folds} events, one in each fold{fewer}"
    else:
        return event
    raise ConfigError(f"{need} (have {events} events, {censored} censored).")


def stratified_folds(
    event: np.ndarray, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) indices of ``n_folds`` folds stratified by event; with fewer censored
    patients than folds (a cohort followed to nearly every death), shuffled folds, which
    scikit-learn's stratification would warn of on every call (its warning is not silenced
    here: filters are process-wide, and folds may run in threads)."""
    event = np.asarray(event).astype(bool)
    kind = StratifiedKFold if min(event.sum(), (~event).sum()) >= n_folds else KFold
    splitter = kind(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(event)), event))


def nested_cv(
    event: np.ndarray,
    n_repeats: int = 10,
    n_folds: int = 5,
    validation_fraction: float = 0.0,
    seed: int = 0,
) -> list[Fold]:
    """Repeated stratified K-fold; in each fold ``validation_fraction`` of the training folds
    validate."""
    if n_repeats < 1 or n_folds < 2:
        raise ConfigError(f"Need at least 1 repeat and 2 folds (got {n_repeats} x {n_folds}).")
    event = _check(event, n_folds)
    result = []
    for repeat in range(n_repeats):
        shuffle = _draw(seed, repeat)
        for fold, (train, test) in enumerate(stratified_folds(event, n_folds, shuffle)):
            train, validation = _split_validation(
                train, event, validation_fraction, _draw(seed, 1000 * (repeat + 1) + fold)
            )
            result.append(Fold(repeat, fold, train, validation, np.sort(test)))
    return result


#: Distance between the draws of two seeds (a prime): repeats of one seed never reuse another's.
SEED_STRIDE = 1_000_003


def _draw(seed: int, offset: int) -> int:
    """The random state of draw ``offset`` of ``seed``. The repeats of seed 1 were seed 0's
    shifted by one (``seed + repeat``): `cv --seed 1` shared 9 of its 10 repeats with seed 0. Seed
    0's draws are as before."""
    return (seed * SEED_STRIDE + offset) % 2**32


def leave_one_out(event: np.ndarray, validation_fraction: float = 0.0, seed: int = 0) -> list[Fold]:
    """One fold per patient: all others train (optionally minus a validation part)."""
    event = _check(event, 1)
    everyone = np.arange(event.size)
    result = []
    for i in everyone:
        train, validation = _split_validation(
            everyone[everyone != i], event, validation_fraction, _draw(seed, i)
        )
        result.append(Fold(0, int(i), train, validation, np.array([i])))
    return result


def fixed_split(
    event: np.ndarray, test_fraction: float = 0.2, validation_fraction: float = 0.0, seed: int = 0
) -> list[Fold]:
    """A single stratified training/test split (Sun 2023 used 8:2)."""
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be between 0 and 1 (got {test_fraction}).")
    event = _check(event, 2)
    events = int(event.sum())
    sizes = f"a test fraction of {test_fraction:g} of {event.size} patients ({events} events)"
    try:
        train, test = train_test_split(
            np.arange(event.size), test_size=test_fraction, random_state=seed, stratify=event
        )
    except ValueError as err:  # a part smaller than the two kinds of patient it must hold
        raise ConfigError(f"Cannot split {sizes}: {err}") from None
    if event[test].sum() < 1 or event[train].sum() < 2:
        raise ConfigError(
            f"Splitting {sizes} leaves {len(train)} patients ({int(event[train].sum())} events) "
            f"to train and {len(test)} ({int(event[test].sum())} events) to test: training "
            "needs at least 2 events and the test part 1; choose a test fraction between."
        )
    train, validation = _split_validation(train, event, validation_fraction, seed + 1)
    return [Fold(0, 0, train, validation, np.sort(test))]


def external(
    event: np.ndarray, is_external: np.ndarray, validation_fraction: float = 0.0, seed: int = 0
) -> list[Fold]:
    """Develop on the rows where ``is_external`` is False, test on the others."""
    event = _check(event, 1)
    is_external = np.asarray(is_external).astype(bool)
    if is_external.shape != event.shape or is_external.all() or not is_external.any():
        raise ConfigError("External validation needs both development and external patients.")
    development = np.flatnonzero(~is_external)
    train, validation = _split_validation(development, event, validation_fraction, seed)
    return [Fold(0, 0, train, validation, np.flatnonzero(is_external))]
