"""The installed versions of the packages that change RadSurv's numbers (fits, metrics, features,
image reading): with the code version, what redoing a run or a fit needs."""

from __future__ import annotations

import contextlib
import functools
from importlib.metadata import PackageNotFoundError, version

#: The packages whose versions change a run's numbers (fits, metrics, features, image reading).
NUMERIC_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "scikit-survival", "lifelines", "torch",
    "monai", "pyradiomics", "SimpleITK", "optuna",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """The installed versions of :data:`NUMERIC_PACKAGES` (without importing them); recorded
    nowhere, a run or a fit could not be redone."""
    return dict(_installed())


@functools.cache
def _installed() -> tuple[tuple[str, str], ...]:
    """:func:`package_versions`, read once a process (about 10 ms of package metadata, on each
    Risk page run): installed versions do not change under a running process."""
    found = []
    for name in NUMERIC_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found.append((name, version(name)))
    return tuple(found)
