"""Roles and what each may do: the one permission table both the app and the CLI consult.

Roles nest, as a hospital expects: each role may do everything the one below it may, so
admin ⊇ physicist ⊇ clinician ⊇ viewer.

- viewer: see cases, images, nomograms and model cards (results);
- clinician: also upload and score cases and export reports;
- physicist: also explore and import cohorts, launch training runs and promote a run's model;
- admin: also manage users.

Every action has the least role allowed to perform it (``MINIMUM_ROLE``); a role is allowed an
action when it ranks at or above that role.
"""

from __future__ import annotations

from survival_core.errors import ConfigError, RadSurvError

#: From least to most privileged; a role may do everything the roles before it may.
ROLES = ("viewer", "clinician", "physicist", "admin")

#: The least role allowed each action, with the wording used in refusals.
MINIMUM_ROLE = {
    "view": "viewer",
    "upload_case": "clinician",
    "score_case": "clinician",
    "export_report": "clinician",
    "explore_cohort": "physicist",
    "import_cohort": "physicist",
    "train": "physicist",
    "promote_model": "physicist",
    "manage_users": "admin",
}
ACTIONS = tuple(MINIMUM_ROLE)

DESCRIPTIONS = {
    "view": "view cases and results",
    "upload_case": "upload a case",
    "score_case": "score a case",
    "export_report": "export a report",
    "explore_cohort": "explore a cohort",
    "import_cohort": "import a cohort",
    "train": "start or cancel training runs",
    "promote_model": "promote a model",
    "manage_users": "manage users",
}


class PermissionDenied(RadSurvError):
    """The signed-in user's role does not allow the requested action."""


def check_role(role: str) -> str:
    """``role`` itself when it is one of ``ROLES``; a ConfigError naming the valid ones otherwise."""
    if role not in ROLES:
        raise ConfigError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    return role


def _check_action(action: str) -> str:
    if action not in MINIMUM_ROLE:
        raise ConfigError(f"Unknown action {action!r}; expected one of {', '.join(ACTIONS)}.")
    return action


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (both must be known: a typo is an error, not a
    silent refusal or grant)."""
    need = MINIMUM_ROLE[_check_action(action)]
    return ROLES.index(check_role(role)) >= ROLES.index(need)


def authorize(role: str, action: str) -> None:
    """Raise PermissionDenied, naming the role, the action and the role it needs, unless allowed."""
    if not allowed(role, action):
        need = MINIMUM_ROLE[action]
        raise PermissionDenied(
            f"The {role} role may not {DESCRIPTIONS[action]} (action {action!r}); it needs the "
            f"{need} role or above. Ask an administrator to change your role."
        )
