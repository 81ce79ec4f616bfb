"""The bundled demo: a synthetic cohort, its radiomics table and a default model, made once.

Everything lives under the data folder (``demo/cohort``, ``features/demo-wei2021.parquet``,
``models/demo-default``) and is reused on later runs. Each piece is written to a staging location
and moved into place only when complete, so an interrupted run never leaves something that looks
ready but is not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from survival_core.cohort.generate import generate_cohort
from survival_core.paths import data_subdir, demo_cohort_dir

#: The demo's configuration (cohort size and seed, radiomics preset, default model).
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "assets" / "demo.yaml"


_CONFIG = yaml.safe_load(DEMO_CONFIG.read_text())
DEMO_N: int = _CONFIG["cohort"]["n"]
DEMO_SEED: int = _CONFIG["cohort"]["seed"]
DEFAULT_MODEL = {
    "model": _CONFIG["model"]["name"],
    "params": _CONFIG["model"].get("params") or {},
    "preset": _CONFIG["features"]["preset"],
    "cv_repeats": _CONFIG["model"].get("cv_repeats", 0),
}


def default_model_dir() -> Path:
    """Folder of the demo cohort's default model."""
    return data_subdir("models") / "demo-default"


def demo_features_path() -> Path:
    """The demo cohort's radiomics feature table."""
    return data_subdir("features") / f"demo-{DEFAULT_MODEL['preset']}.parquet"


def demo_ready(folder: Path | None = None) -> bool:
    """Whether a complete demo cohort with the expected size and seed is in place."""
    folder = folder or demo_cohort_dir()
    meta = folder / "cohort.json"
    if not meta.exists():
        return False
    info = json.loads(meta.read_text())
    return info.get("n") == DEMO_N and info.get("seed") == DEMO_SEED


def _prepare_cohort(progress: Callable[[str], None]) -> bool:
    folder = demo_cohort_dir()
    if demo_ready(folder):
        return False
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"Generating the demo cohort ({DEMO_N} synthetic cases)...")
    generate_cohort(staging, n=DEMO_N, seed=DEMO_SEED, progress=progress)
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return True


def _prepare_features(progress: Callable[[str], None], refresh: bool) -> bool:
    from survival_core.features.cohort import extract_cohort, line_progress, write_cohort_features
    from survival_core.features.presets import get_preset

    path = demo_features_path()
    if path.exists() and not refresh:
        return False
    progress(f"Extracting {DEFAULT_MODEL['preset']} radiomics for the demo cohort...")
    settings = get_preset(DEFAULT_MODEL["preset"])
    result = extract_cohort(demo_cohort_dir(), settings, progress=line_progress(progress))
    write_cohort_features(result, path, settings)
    return True


def _prepare_model(progress: Callable[[str], None], refresh: bool) -> bool:
    from survival_core.models.training import train_model

    folder = default_model_dir()
    if (folder / "card.json").exists() and not refresh:
        return False
    progress(f"Training the default model ({DEFAULT_MODEL['model']})...")
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    train_model(
        [demo_cohort_dir() / "clinical.csv", demo_features_path()],
        DEFAULT_MODEL["model"],
        dict(DEFAULT_MODEL["params"]),
        staging,
        cv_repeats=DEFAULT_MODEL["cv_repeats"],
        progress=progress,
    )
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return True


def prepare_demo(progress: Callable[[str], None] | None = None) -> dict:
    """Make the demo cohort, its features and the default model ready; returns what was done."""
    say = progress or (lambda _: None)
    cohort = _prepare_cohort(say)
    features = _prepare_features(say, refresh=cohort)
    model = _prepare_model(say, refresh=features)
    return {
        "cohort": str(demo_cohort_dir()),
        "model": str(default_model_dir()),
        "generated": cohort,
        "extracted": features,
        "trained": model,
    }
