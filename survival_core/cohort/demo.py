"""The bundled demo cohort: generated once into the data folder, reused afterwards."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from survival_core.cohort.generate import generate_cohort
from survival_core.paths import demo_cohort_dir

DEMO_N = 100
DEMO_SEED = 2026


def demo_ready(folder: Path | None = None) -> bool:
    """Whether a complete demo cohort with the expected size and seed is in place."""
    folder = folder or demo_cohort_dir()
    meta = folder / "cohort.json"
    if not meta.exists():
        return False
    info = json.loads(meta.read_text())
    return info.get("n") == DEMO_N and info.get("seed") == DEMO_SEED


def prepare_demo(progress: Callable[[str], None] | None = None) -> dict:
    """Generate the demo cohort if it is missing or stale; returns a summary.

    The cohort is written to a sibling staging folder and moved into place only when complete,
    so an interrupted run never leaves a half-written cohort that looks ready.
    """
    folder = demo_cohort_dir()
    if demo_ready(folder):
        return {"cohort": str(folder), "generated": False, "n": DEMO_N}
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    summary = generate_cohort(staging, n=DEMO_N, seed=DEMO_SEED, progress=progress)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return {"cohort": str(folder), "generated": True, **summary, "out": str(folder)}
