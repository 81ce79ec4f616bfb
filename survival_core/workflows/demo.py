"""The bundled demo: a synthetic cohort, its radiomics table and a default model, made once.

Everything lives under the data folder (``demo/cohort``, ``demo/external``,
``features/demo-wei2021.parquet``, ``models/demo-default``, ``models/demo-cnn3d``) and is reused on later runs. Each piece is written to a staging location
and moved into place only when complete, so an interrupted run never leaves something that looks
ready but is not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml

from survival_core.io.locks import folder_lock
from survival_core.io.outcome_source import OUTCOME_FILE
from survival_core.paths import data_subdir, demo_cohort_dir
from survival_core.synthetic.generate import OUTCOME, generate_cohort

#: The demo's configuration (cohort size and seed, radiomics preset, default model).
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "assets" / "demo.yaml"


_CONFIG = yaml.safe_load(DEMO_CONFIG.read_text())
DEMO_N: int = _CONFIG["cohort"]["n"]
DEMO_SEED: int = _CONFIG["cohort"]["seed"]
#: The external validation cohort of the demo (``cohort: demo-external`` in run configs).
EXTERNAL_N: int = _CONFIG.get("external", {}).get("n", 40)
EXTERNAL_SEED: int = _CONFIG.get("external", {}).get("seed", DEMO_SEED + 1)
DEFAULT_MODEL = {
    "model": _CONFIG["model"]["name"],
    "params": _CONFIG["model"].get("params") or {},
    "preset": _CONFIG["features"]["preset"],
    "cv_repeats": _CONFIG["model"].get("cv_repeats", 0),
}
IMAGE_MODEL = {
    "model": _CONFIG["image_model"]["name"],
    "params": _CONFIG["image_model"].get("params") or {},
}


def default_model_dir() -> Path:
    """Folder of the demo cohort's default model."""
    return data_subdir("models") / "demo-default"


def image_model_dir() -> Path:
    """Folder of the demo's image model (overlays; the ``demo`` deep-feature network)."""
    return data_subdir("models") / "demo-cnn3d"


def demo_features_path() -> Path:
    """The demo cohort's radiomics feature table."""
    return data_subdir("features") / f"demo-{DEFAULT_MODEL['preset']}.parquet"


def demo_external_dir() -> Path:
    """Folder of the demo's external validation cohort (other patients, other seed)."""
    return data_subdir("demo") / "external"


def demo_ready(folder: Path | None = None, n: int | None = None, seed: int | None = None) -> bool:
    """Whether a complete liver CT cohort with the expected size and seed (default: the demo's) is
    in ``folder`` (default: the demo cohort); a lung or MR cohort of that size and seed is not."""
    folder = folder or demo_cohort_dir()
    n = DEMO_N if n is None else n
    seed = DEMO_SEED if seed is None else seed
    meta = folder / "cohort.json"
    if not meta.exists():
        return False
    info = json.loads(meta.read_text())
    # Cohorts written before sites and modalities existed are liver CT.
    liver_ct = info.get("site", "liver") == "liver" and info.get("modality", "CT") == "CT"
    return info.get("n") == n and info.get("seed") == seed and liver_ct


def _generate(folder: Path, n: int, seed: int, progress: Callable[[str], None]) -> bool:
    """Generate a synthetic cohort into ``folder`` via a staging folder, unless already there;
    one process at a time (another waits, then finds it there: two training runs on a fresh
    install each renamed the other's staging folder away, and one failed). One there already
    without the outcome record (generated before RadSurv 0.2.2 wrote it) gets the generator's:
    its models' survival was plain 'survival', their events 'events'."""
    if demo_ready(folder, n, seed):
        if not (folder / OUTCOME_FILE).exists():
            OUTCOME.save(folder)
        return False
    with folder_lock(folder.parent, f".{folder.name}.lock", "generation", wait=True):
        if demo_ready(folder, n, seed):
            return False
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        progress(f"Generating a synthetic cohort of {n} cases in {folder}...")
        generate_cohort(staging, n=n, seed=seed, progress=progress)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    return True


def _prepare_cohort(progress: Callable[[str], None]) -> bool:
    return _generate(demo_cohort_dir(), DEMO_N, DEMO_SEED, progress)


def prepare_external(progress: Callable[[str], None] | None = None) -> Path:
    """The demo's external validation cohort, generated on first use."""
    folder = demo_external_dir()
    _generate(folder, EXTERNAL_N, EXTERNAL_SEED, progress or (lambda _: None))
    return folder


def _prepare_features(progress: Callable[[str], None], refresh: bool) -> bool:
    from survival_core.features.cohort import extract_cohort, line_progress, write_cohort_features
    from survival_core.features.presets import get_preset
    from survival_core.features.settings import reading_stamp
    from survival_core.features.table import read_reading

    path = demo_features_path()
    if path.exists() and not refresh and read_reading(path) == reading_stamp():
        return False
    progress(f"Extracting {DEFAULT_MODEL['preset']} radiomics for the demo cohort...")
    settings = get_preset(DEFAULT_MODEL["preset"])
    result = extract_cohort(demo_cohort_dir(), settings, progress=line_progress(progress))
    write_cohort_features(result, path, settings, "CT")
    return True


def _train_into(
    folder: Path, tables: list[Path], spec: dict, progress: Callable[[str], None], **options
) -> None:
    """Train ``spec``'s model into ``folder`` (written whole, replacing an earlier one)."""
    from survival_core.workflows.training import train_model

    progress(f"Training {folder.name} ({spec['model']})...")
    train_model(tables, spec["model"], dict(spec["params"]), folder, progress=progress, **options)


def _read_as_now(folder: Path) -> bool:
    """Whether ``folder`` holds a model whose features came from images read as this version
    reads them: one of an earlier reading (a data folder kept across an upgrade) cautioned
    every demo case, and is trained again."""
    from survival_core.errors import InputError
    from survival_core.features.settings import reading_stamp
    from survival_core.models.card import ModelCard
    from survival_core.workflows.scoring import card_reading

    try:
        return card_reading(ModelCard.load(folder)) == reading_stamp()
    except InputError:  # none, or unreadable: made again
        return False


def _names_outcome(folder: Path) -> bool:
    """Whether the model in ``folder`` names its outcome (its card's ``outcome``): one trained
    before the demo cohort recorded it says plain 'survival', and is trained again."""
    from survival_core.models.card import ModelCard

    return ModelCard.load(folder).outcome is not None


def _prepare_model(progress: Callable[[str], None], refresh: bool) -> bool:
    folder = default_model_dir()
    if _read_as_now(folder) and _names_outcome(folder) and not refresh:
        return False
    tables = [demo_cohort_dir() / "clinical.csv", demo_features_path()]
    _train_into(folder, tables, DEFAULT_MODEL, progress, cv_repeats=DEFAULT_MODEL["cv_repeats"])
    return True


def prepare_image_model(progress: Callable[[str], None] | None = None) -> Path:
    """The demo's image model, trained on the external cohort on first use."""
    folder = image_model_dir()
    if not _read_as_now(folder):
        external = prepare_external(progress)
        say = progress or (lambda _: None)
        _train_into(folder, [external / "clinical.csv"], IMAGE_MODEL, say, cohort=external)
    return folder


def prepare_demo(progress: Callable[[str], None] | None = None) -> dict:
    """Make the demo cohort, its features and the default model ready; returns what was done."""
    say = progress or (lambda _: None)
    cohort = _prepare_cohort(say)
    features = _prepare_features(say, refresh=cohort)
    model = _prepare_model(say, refresh=features)
    trained_image_model = not _read_as_now(image_model_dir())
    prepare_image_model(say)
    return {
        "cohort": str(demo_cohort_dir()),
        "model": str(default_model_dir()),
        "image_model": str(image_model_dir()),
        "generated": cohort,
        "extracted": features,
        "trained": model,
        "trained_image_model": trained_image_model,
    }
