"""argparse types shared by the commands' options: paths (``~`` expanded) and ports."""

from __future__ import annotations

import argparse
from pathlib import Path


def user_path(text: str) -> Path:
    """A path option with ``~`` and ``~user`` expanded, as a shell expands them unquoted: a
    literal ``~`` reaches the command from a Makefile, a quoted argument or ``--out=~/x``, and
    ``fit --out '~/m'`` wrote to a folder named ``~`` in the working folder while the check before
    the work looked at the home folder. An empty path (the working folder, unsaid) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one")
    try:
        return Path(text).expanduser()
    except RuntimeError as err:  # '~someone' of no such user
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None


def port(text: str) -> int:
    """A TCP port, 1 to 65535 (``serve --check --port 99999`` passed its check)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value
