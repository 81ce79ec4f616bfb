"""The minimum password policy of local accounts: long enough, not the username, not common.

A password must be :data:`PASSWORD_BYTES` long in UTF-8 (bcrypt reads at most 72 bytes; a longer
one would be silently cut, so it is refused), may not contain the username, may not use fewer than :data:`MIN_DISTINCT` different
characters, and may not be one of the shipped common passwords
(``assets/security/common-passwords.txt``), nor be one once the digits and symbols around it are
removed and look-alikes and accents read as plain letters ("Password2024!", "2024Pa55word!" and
"Pässword2024" are "password"). The checks name the rule broken, never the password.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from survival_core.errors import ConfigError

#: Shortest and longest password accepted, in UTF-8 bytes.
PASSWORD_BYTES = (10, 72)
COMMON_FILE = Path(__file__).resolve().parents[2] / "assets" / "security" / "common-passwords.txt"
#: Fewest different characters a password must use ("aaaaaaaaaa" is refused).
MIN_DISTINCT = 5
#: Digits and symbols people add before or after a common word.
_LEADING = re.compile(r"^[\d\W_]+")
_TRAILING = re.compile(r"[\d\W_]+$")
#: Look-alike characters people put in a common word ('Pa55w0rd', 'P@ssword').
_LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"}
)


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


def _readings(password: str) -> set[str]:
    """What a lower-case password may be built on: itself and every core left once some of the
    digits and symbols around it are removed, each also with look-alikes and accents read as
    plain letters ('2024Password!', 'Pa55word2024!', 'Hell0123!', 'Pässword2024' are built on
    common words)."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", password) if not unicodedata.combining(c)
    )
    forms = set()
    for form in {password, plain}:
        lead = len(form) - len(_LEADING.sub("", form))
        trail = len(form) - len(_TRAILING.sub("", form))
        for i in range(lead + 1):
            for j in range(trail + 1):
                core = form[i : len(form) - j]
                forms |= {core, core.translate(_LOOK_ALIKES)} if core else set()
    return forms


def check_policy(password: str, username: str) -> None:
    """Refuse (ConfigError naming the rule) a password the policy does not accept."""
    check_length(password)
    lowered = password.lower()
    name = username.strip().lower()
    if len(name) >= 3 and (name in lowered or name.split("@")[0] in lowered):
        raise ConfigError("The password may not contain the username.")
    if len(set(password)) < MIN_DISTINCT:
        raise ConfigError(f"The password must use at least {MIN_DISTINCT} different characters.")
    if not common_passwords().isdisjoint(_readings(lowered.strip())):
        raise ConfigError(
            "The password is too common (it is, or is built on, a password on the shipped list of "
            "common passwords); choose a passphrase of several unrelated words."
        )
