"""Helpers of the real-browser test: a prepared data folder, the app served on a free port, and
the Chromium that `make browser` installs (Debian's package, never a downloaded one)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Debian's chromium (`make browser` installs it); playwright drives it, never its own download.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
#: Default model of the served app: Cox on three clinical columns (trains in well under 1 s).
CLINICAL_FEATURES = "^(albumin|bilirubin|ecog)$"
#: Image model of the Viewer's overlays: the smallest cnn3d that trains in seconds on one thread.
TINY_CNN = {
    "volume_shape": [32, 32, 8],
    "patch_size": [24, 24, 8],
    "channels": [4, 8, 8, 8],
    "fc": 8,
    "epochs": 1,
}


def prepare_data_folder(folder: Path, cohort: Path) -> None:
    """Install ``cohort`` as the demo cohort of the data folder ``folder`` and train its default
    model (coxph) and image model (tiny cnn3d) where the app looks for them.

    The server is another process and reads the demo's size and seed from assets/demo.yaml, so
    the copy's cohort.json is rewritten to match them: ``demo_ready()`` is then true there.
    """
    from survival_core.cohort import demo
    from survival_core.models.training import train_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSURV_DATA_DIR", str(folder))
        target = demo.demo_cohort_dir()
        shutil.copytree(cohort, target)
        meta = target / "cohort.json"
        info = json.loads(meta.read_text())
        meta.write_text(json.dumps({**info, "n": demo.DEMO_N, "seed": demo.DEMO_SEED}, indent=1))
        clinical = target / "clinical.csv"
        train_model(
            [clinical], "coxph", {"penalizer": 1.0}, demo.default_model_dir(),
            features=CLINICAL_FEATURES,
        )  # fmt: skip
        train_model([clinical], "cnn3d", dict(TINY_CNN), demo.image_model_dir(), cohort=target)


def dicom_zip(case_folder: Path, out: Path) -> Path:
    """A zip of a DICOM case (its ct/*.dcm, rtstruct.dcm and clinical.json), named after it."""
    archive = out / f"{case_folder.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted((case_folder / "ct").glob("*.dcm")):
            zipped.write(path, f"ct/{path.name}")
        for name in ("rtstruct.dcm", "clinical.json"):
            zipped.write(case_folder / name, name)
    return archive


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (empty when there is none yet)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(server: subprocess.Popen) -> None:
    """Terminate the server's process group; kill it if it is still there after 15 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(15)


@contextmanager
def serve_app(data_folder: Path, log: Path, timeout: float = 120.0) -> Iterator[str]:
    """``streamlit run app.py`` on a free port over ``data_folder``, its output in ``log``;
    yields the app's URL once /_stcore/health answers, and stops the server afterwards."""
    port = free_port()
    env = {**os.environ, "RADSURV_DATA_DIR": str(data_folder), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # no file watcher: it only costs CPU here, and inotify floods the log on a busy machine
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with {server.returncode}:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{log_tail(log)}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(server)
