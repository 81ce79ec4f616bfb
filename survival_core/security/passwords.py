"""The minimum password policy of local accounts: long enough, not the username, not common.

A password must be :data:`PASSWORD_BYTES` long in UTF-8 (bcrypt reads at most 72 bytes; a longer
one would be silently cut, so it is refused), may not contain the username, may not use fewer than :data:`MIN_DISTINCT` different
characters, and may not be, or be once its trailing digits and symbols are removed, one of the
shipped common passwords (``assets/security/common-passwords.txt``: "Password2024!" is
"password"). The checks name the rule broken, never the password.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from survival_core.errors import ConfigError

#: Shortest and longest password accepted, in UTF-8 bytes.
PASSWORD_BYTES = (10, 72)
COMMON_FILE = Path(__file__).resolve().parents[2] / "assets" / "security" / "common-passwords.txt"
#: Fewest different characters a password must use ("aaaaaaaaaa" is refused).
MIN_DISTINCT = 5
#: Trailing digits and symbols people add to a common word.
_DECORATION = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, lower case (comment lines skipped)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def check_length(password: str) -> None:
    """Refuse a password outside :data:`PASSWORD_BYTES` (what bcrypt can hash whole)."""
    low, high = PASSWORD_BYTES
    if not low <= len(password.encode("utf-8")) <= high:
        raise ConfigError(
            f"A password must be {low} to {high} bytes long (bcrypt reads at most {high})."
        )


def check_policy(password: str, username: str) -> None:
    """Refuse (ConfigError naming the rule) a password the policy does not accept."""
    check_length(password)
    lowered = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and (name in lowered or name.split("@")[0] in lowered):
        raise ConfigError("The password may not contain the username.")
    if len(set(password)) < MIN_DISTINCT:
        raise ConfigError(f"The password must use at least {MIN_DISTINCT} different characters.")
    stem = _DECORATION.sub("", lowered.strip())
    if lowered.strip() in common_passwords() or stem in common_passwords():
        raise ConfigError(
            "The password is too common (it is, or is built on, a password on the shipped list of "
            "common passwords); choose a passphrase of several unrelated words."
        )
