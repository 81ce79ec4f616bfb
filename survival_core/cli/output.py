"""How commands report: readable lines for people, one JSON object on the last line with ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """Make numpy scalars and paths JSON-serialisable."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def report(result: dict[str, Any], as_json: bool) -> None:
    """Print ``result``: ``key: value`` lines, or (``as_json``) one JSON object as the last line."""
    if as_json:
        sys.stdout.write(json.dumps(_plain(result)) + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    """A progress line on stderr, so stdout's last line stays the JSON result."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
