"""The permission table: every role is allowed exactly what it should be and refused the rest."""

from __future__ import annotations

import itertools

import pytest

from survival_core.errors import ConfigError, RadSurvError
from survival_core.security.roles import (
    ACTIONS,
    ROLES,
    PermissionDenied,
    allowed,
    authorize,
)

# Written out independently of MINIMUM_ROLE: what a hospital expects each role to do.
EXPECTED = {
    "viewer": {"view"},
    "clinician": {"view", "upload_case", "score_case", "export_report"},
    "physicist": {
        "view",
        "upload_case",
        "score_case",
        "export_report",
        "explore_cohort",
        "import_cohort",
        "train",
        "promote_model",
    },
    "admin": {
        "view",
        "upload_case",
        "score_case",
        "export_report",
        "explore_cohort",
        "import_cohort",
        "train",
        "promote_model",
        "manage_users",
    },
}


def test_the_table_covers_the_roles_and_actions_of_the_brief():
    assert ROLES == ("viewer", "clinician", "physicist", "admin")
    assert set(ACTIONS) == set(EXPECTED["admin"])


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ACTIONS)))
def test_each_role_is_allowed_or_refused_each_action(role, action):
    expected = action in EXPECTED[role]
    assert allowed(role, action) is expected
    if expected:
        authorize(role, action)
    else:
        with pytest.raises(PermissionDenied) as refused:
            authorize(role, action)
        message = str(refused.value)
        assert role in message and repr(action) in message
        assert isinstance(refused.value, RadSurvError)


def test_roles_nest():
    granted = [{a for a in ACTIONS if allowed(role, a)} for role in ROLES]
    for lower, higher in itertools.pairwise(granted):
        assert lower < higher


@pytest.mark.parametrize(
    ("role", "action"), [("nurse", "view"), ("Admin", "view"), ("admin", "delete")]
)
def test_unknown_roles_and_actions_are_errors_not_silent_answers(role, action):
    with pytest.raises(ConfigError, match="Unknown"):
        allowed(role, action)
