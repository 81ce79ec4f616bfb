"""How commands report: readable lines for people, one JSON object on the last line with ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

from survival_core.io.atomic import json_ready


def report(result: dict[str, Any], as_json: bool) -> None:
    """Print ``result``: ``key: value`` lines, or (``as_json``) one JSON object as the last line."""
    if as_json:
        sys.stdout.write(json.dumps(json_ready(result)) + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    """A progress line on stderr, so stdout's last line stays the JSON result."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
