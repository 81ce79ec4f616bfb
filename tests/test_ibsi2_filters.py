"""IBSI chapter 2 phase 1: RadSurv's filters against the reference response maps, voxel by voxel
inside each phantom's mask, with the boundary condition each case states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from survival_core.features import ibsi_filters as filters
from survival_core.preprocess.filters import BOUNDARIES

#: The recursive LoG, divided by sigma^2, stays within this share of the reference peak.
RECURSIVE_LOG_RESIDUAL = 0.02


@pytest.mark.parametrize("case", filters.CASES, ids=lambda case: case.name)
def test_filter_matches_its_reference_map_or_the_deviation_is_explained(
    case: filters.FilterCase, ibsi_data: Path
) -> None:
    result = filters.compare_case(ibsi_data, case)
    assert case.boundary in BOUNDARIES
    if not case.reason:
        assert result.status == filters.MATCHED
        assert result.relative <= filters.RELATIVE_TOLERANCE
        return
    assert result.status == filters.DEVIATES, f"{case.name} now matches: drop its reason"
    assert "scale-normalised" in case.reason
    assert result.converted is not None and result.converted <= RECURSIVE_LOG_RESIDUAL


def test_every_reference_map_is_computed_or_not_offered_with_a_reason(ibsi_data: Path) -> None:
    maps = sorted((ibsi_data / filters.MAPS_DIR).glob("*.nii.gz"))
    cases = {re.search(r"_CT_([0-9][A-C][0-9]?)_", path.name).group(1) for path in maps}
    computed = {case.case for case in filters.CASES}
    assert computed.isdisjoint(filters.NOT_OFFERED)
    assert cases == computed | set(filters.NOT_OFFERED)
    assert all(filters.NOT_OFFERED.values())


def test_the_two_log_kernels_differ_by_the_scale_normalisation(ibsi_data: Path) -> None:
    """Sampled (IBSI) and recursive (pyradiomics) LoG of the same case: the recursive map is
    sigma^2 times larger, up to the recursive approximation."""
    sampled, recursive = (case for case in filters.CASES if case.case == "2A")
    image, mask = filters.phantom(ibsi_data, "impulse")
    ours = filters.response(image, mask, sampled)
    theirs = recursive.convert(filters.response(image, mask, recursive))
    peak = abs(ours).max()
    assert abs(theirs - ours).max() <= RECURSIVE_LOG_RESIDUAL * peak
