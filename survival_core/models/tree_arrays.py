"""Fitted scikit-learn trees as plain numeric arrays, and walking them all at once with numpy.

scikit-learn keeps a tree as a Cython object that can only be saved by pickling; RadSurv stores
each tree as arrays (children, split feature, threshold) concatenated over the ensemble, with
global node numbers, so a model folder holds only ``.npz`` arrays read with
``allow_pickle=False``. :func:`reach_nodes` walks every row down every tree as sklearn does
(features compared as float32 with ``<=``), giving exactly sklearn's leaves.
:func:`checked_settings` applies an ensemble's own rules for its settings before any fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from survival_core.errors import ConfigError, InputError

Estimator = TypeVar("Estimator")

#: The arrays :func:`concatenate_trees` returns.
TREE_ARRAYS = ("left", "right", "feature", "threshold", "roots")


def checked_settings(estimator: Estimator, what: str) -> Estimator:
    """``estimator`` once scikit-learn's rules for its settings accept them (``max_features``
    'sqrt', 'log2', a whole number >= 1 or a fraction in (0, 1]; ``max_depth`` >= 1...), else a
    ConfigError saying ``what`` rejected which: a model built from a config is checked with it,
    where a bad setting was refused only at the started run's first fit."""
    try:
        estimator._validate_params()
    except ValueError as err:
        raise ConfigError(f"{what} settings rejected: {err}") from err
    return estimator


def concatenate_trees(trees: Sequence[Any]) -> dict[str, np.ndarray]:
    """``left``/``right`` (global child node, -1 at a leaf), ``feature`` (0 at a leaf),
    ``threshold`` and ``roots`` (each tree's first node) of sklearn ``tree_`` objects."""
    left, right, feature, threshold, roots = [], [], [], [], []
    n_nodes = 0
    for tree in trees:
        is_leaf = tree.children_left == -1
        roots.append(n_nodes)
        left.append(np.where(is_leaf, -1, tree.children_left + n_nodes))
        right.append(np.where(is_leaf, -1, tree.children_right + n_nodes))
        feature.append(np.where(is_leaf, 0, tree.feature))
        threshold.append(tree.threshold)
        n_nodes += tree.node_count
    return {
        "left": np.concatenate(left),
        "right": np.concatenate(right),
        "feature": np.concatenate(feature),
        "threshold": np.concatenate(threshold),
        "roots": np.asarray(roots),
    }


def reach_nodes(arrays: dict[str, np.ndarray], Z: np.ndarray) -> np.ndarray:
    """Global leaf node reached by each row in each tree, shape (rows, trees)."""
    x = np.asarray(Z, dtype=np.float32)  # sklearn compares float32 features with the thresholds
    node = np.broadcast_to(arrays["roots"], (x.shape[0], len(arrays["roots"]))).copy()
    active = arrays["left"][node] >= 0
    while active.any():
        r, t = np.nonzero(active)
        current = node[r, t]
        go_left = x[r, arrays["feature"][current]] <= arrays["threshold"][current]
        node[r, t] = np.where(go_left, arrays["left"][current], arrays["right"][current])
        active = arrays["left"][node] >= 0
    return node


def save_trees(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """Write a model's arrays to ``path`` (``.npz``); returns the state ``model.json`` keeps."""
    np.savez(path, **arrays)
    return {"n_trees": len(arrays["roots"])}


def load_trees(
    path: Path, names: Sequence[str], state: dict[str, Any], what: str
) -> dict[str, np.ndarray]:
    """The arrays ``names`` of ``path``, read without pickle and checked against the number of
    trees in ``state``; an InputError naming the file when it is missing, corrupt or another
    model's."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in names}
    except FileNotFoundError as err:
        raise InputError(f"{what} arrays {path} are missing.") from err
    except (ValueError, KeyError, OSError) as err:
        raise InputError(
            f"{path} is not a valid {what.lower()} file (refused or corrupt): {err}"
        ) from err
    if len(arrays["roots"]) != int(state["n_trees"]):
        raise InputError(f"{path} does not match {state['n_trees']} trees in model.json.")
    return arrays
