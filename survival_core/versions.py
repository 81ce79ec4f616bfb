"""The installed versions of the packages that change RadSurv's numbers (fits, metrics, features,
image reading): with the code version, what redoing a run or a fit needs."""

from __future__ import annotations

import contextlib
from importlib.metadata import PackageNotFoundError, version

#: The packages whose versions change a run's numbers (fits, metrics, features, image reading).
NUMERIC_PACKAGES = (
    "numpy", "scipy", "pandas", "scikit-learn", "scikit-survival", "lifelines", "torch",
    "monai", "pyradiomics", "SimpleITK", "optuna",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """The installed versions of :data:`NUMERIC_PACKAGES` (without importing them); recorded
    nowhere, a run or a fit could not be redone."""
    found = {}
    for name in NUMERIC_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found
