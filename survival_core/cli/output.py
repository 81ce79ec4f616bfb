"""How commands report: readable lines for people, one JSON object on the last line with ``--json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from survival_core.errors import InputError
from survival_core.io.atomic import json_ready
from survival_core.text import one_line


def report(result: dict[str, Any], as_json: bool) -> None:
    """Print ``result``: ``key: value`` lines, or (``as_json``) one JSON object as the last line."""
    if as_json:
        sys.stdout.write(json.dumps(json_ready(result)) + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {one_line(str(value))}\n")  # a case id's newline
    sys.stdout.flush()


def progress(message: str) -> None:
    """A progress line on stderr, so stdout's last line stays the JSON result."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def check_out(path: Path, folder: bool) -> None:
    """Refuse, before any work, an ``--out`` that cannot be written: a file where a folder goes
    (``folder``) or a folder where a file goes, a path under a file, or under a folder not
    writable (a fit or an extraction failed there only after all its work). ``path`` comes
    expanded (:func:`~survival_core.cli.arg_types.user_path`)."""
    if folder and path.is_file():
        raise InputError(f"--out {path} is a file; give a folder.")
    if not folder and path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file name.")
    parent = next(p for p in path.absolute().parents if p.exists())
    if not parent.is_dir():
        raise InputError(f"--out {path} cannot be written: {parent} is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {path} cannot be written: {parent} is not writable.")
