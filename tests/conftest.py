"""Session-wide fixtures: a private data folder and a small synthetic cohort built once; a tab of
the headless browser for the real-browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test files marked ``heavy(seconds)`` first, longest first; the rest in collection order.

    `make test` hands whole files to two workers in this order (``--dist loadfile
    --no-loadscope-reorder``): the long files start at once on both workers and the short ones
    fill in around them, instead of one long file running alone at the end."""

    def weight(item: pytest.Item) -> float:
        marker = item.get_closest_marker("heavy")
        return -float(marker.args[0]) if marker else 0.0

    items.sort(key=weight)  # stable: a file's tests keep their order


@pytest.fixture(scope="module", autouse=True)
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test module writes under a temporary RADSURV_DATA_DIR of its own, never ./data: what
    one module registers or activates (models, runs) cannot change what another sees, whatever
    order or worker process runs them in."""
    folder = tmp_path_factory.mktemp("radsurv-data")
    previous = os.environ.get("RADSURV_DATA_DIR")
    os.environ["RADSURV_DATA_DIR"] = str(folder)
    # a developer's own users file must not turn login on in the page tests
    os.environ["RADSURV_AUTH_FILE"] = str(folder / "no-users.yaml")
    # page tests run a case's work in the session's thread (monkeypatches reach it); the case
    # pool's worker processes are tested on their own and by the concurrency test
    os.environ["RADSURV_CASE_WORKERS"] = "0"
    yield folder
    if previous is None:
        os.environ.pop("RADSURV_DATA_DIR", None)
    else:
        os.environ["RADSURV_DATA_DIR"] = previous


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real public files); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def sarcoma_ct(shared_data: Path):
    """The TCIA sarcoma CT STS_001 with its RTSTRUCT (198 x 202 x 59 voxels of 0.98 x 0.98 x
    3.27 mm), loaded once per test module."""
    from survival_core.io.case_loader import load_case

    folder = shared_data / "sts_sarcoma" / "STS_001" / "CT"
    if not folder.is_dir():
        pytest.skip("STS_001 not in ../shared/data")
    return load_case(folder)


@pytest.fixture(scope="module")
def ibsi_data(shared_data: Path) -> Path:
    """../shared/data when it holds the IBSI phantoms and reference values (else the test skips)."""
    from survival_core.features.conformance import missing_data

    why = missing_data(shared_data)
    if why:
        pytest.skip(why)
    return shared_data


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-case synthetic cohort (DICOM and NIfTI cases), generated once per test session."""
    from survival_core.synthetic.generate import generate_cohort

    out = tmp_path_factory.mktemp("cohort") / "cohort"
    generate_cohort(out, n=6, seed=7, workers=1)
    return out


@pytest.fixture()
def demo_in_place(small_cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small cohort installed as the demo cohort of a data folder of the test's own (its size
    and seed stand in for DEMO_N and DEMO_SEED): the demo model or features one test writes are
    not another's."""
    import json
    import shutil

    from survival_core.paths import demo_cohort_dir
    from survival_core.workflows import demo

    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    target = demo_cohort_dir()
    shutil.copytree(small_cohort, target)
    settings = json.loads((target / "cohort.json").read_text())
    monkeypatch.setattr(demo, "DEMO_N", settings["n"])
    monkeypatch.setattr(demo, "DEMO_SEED", settings["seed"])
    return target


@pytest.fixture(autouse=True)
def _main_module_kept() -> Iterator[None]:
    """``sys.modules['__main__']`` as it was before each test: ``AppTest.from_function`` leaves its
    temporary script there, and a later test's spawned process (the DICOM corpus runner, a
    cohort's worker pool, a Ray node) ran that script as its main: NameError '__args', and every
    test of the worker after it failed."""
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Small networks train faster on one thread than on the 2 shared, contended cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture()
def page() -> Iterator:
    """A tab of Debian's headless chromium, 1600 x 1000 px, waiting up to STEP_MS per step."""
    from playwright.sync_api import sync_playwright

    from tests.browser_app import STEP_MS, VIEWPORT, launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(STEP_MS)
            yield tab
        finally:
            browser.close()
