"""A real two-node Ray cluster on this machine: ``train --ray-address`` and a cohort extraction give
what the local engine gives, and a worker node killed mid-run has its tasks run again on the
head (or, where Ray gives up, fails the run clearly; it resumes).

The head (``ray start --head``) and a second node (``ray start --address``) run as separate
process trees with token authentication (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``), one CPU
each, their files in a private temp folder; the drivers are the product's own command line in
subprocesses. Everything stays on loopback:

* Ray 2.60 replaces a loopback node or cluster address (127.0.0.1, localhost) with the machine's
  interface address (``ray._private.services.resolve_ip_for_localhost``), even with
  ``--node-ip-address 127.0.0.1``. The nodes are therefore started by Ray's own ``ray`` command
  line with that one function keeping the address as given (:data:`LAUNCHER`), and the drivers
  run with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's switch that resolves "this machine" to
  127.0.0.1 (it refuses ``ray start --address``, so only drivers get it).
* ``ray.nodes()`` is checked to list only 127.0.0.1.

Nodes are stopped by killing their own processes (never ``ray stop``, which stops every Ray on
the machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.heavy(140)  # a two-node Ray cluster of its own
pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
RAY_CLI = Path(sys.executable).with_name("ray")
if not RAY_CLI.exists():
    pytest.skip(f"the `ray` command line is not installed ({RAY_CLI})", allow_module_level=True)

#: Runs Ray's own ``ray`` command line, keeping a loopback node address as given (see above).
LAUNCHER = """
import sys
import ray._private.services as services
services.resolve_ip_for_localhost = lambda host: host
from ray.scripts.scripts import main
sys.argv = ["ray", *sys.argv[1:]]
sys.exit(main())
"""

#: A cheap extraction (a few features, two ROIs): the cluster is tested, not radiomics.
SETTINGS_CODE = """
from survival_core.features.settings import Discretisation, ExtractionSettings, FeatureClass
SETTINGS = ExtractionSettings(
    "cluster-test",
    rois=("gtv", "liver_minus_gtv"),
    classes=(
        FeatureClass("firstorder", ("Mean", "Variance")),
        FeatureClass("glcm", ("Contrast",)),
    ),
    discretisations=(Discretisation("equal_probability", levels=8),),
)
"""

#: A driver extracting a cohort on the cluster: argv cohort, address, output pickle.
EXTRACT_DRIVER = (
    SETTINGS_CODE
    + """
import pickle, sys
from survival_core.engine import RayMapper, shutdown
from survival_core.features.cohort import extract_cohort
result = extract_cohort(sys.argv[1], SETTINGS, mapper=RayMapper(address=sys.argv[2]), use_cache=False)
with open(sys.argv[3], "wb") as out:
    pickle.dump((result.features, result.failures, result.n_extracted), out)
shutdown()
"""
)

#: A driver printing the cluster's nodes as JSON: argv address.
NODES_DRIVER = """
import json, sys
import ray
from survival_core.engine import connect, shutdown
connect(sys.argv[1])
print(json.dumps([{"ip": n["NodeManagerAddress"], "alive": n["Alive"]} for n in ray.nodes()]))
shutdown()
"""

#: A driver importing gdcm and pandas in two tasks on the cluster: argv address.
IMPORTS_DRIVER = """
import sys
from survival_core.engine import connect, fold_map, shutdown
connect(sys.argv[1])
def probe(_):
    import gdcm, pandas
    return pandas.__file__
print(list(fold_map(probe, [0, 1])))
shutdown()
"""

START_TIMEOUT_S = 90
RUN_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _node_pids(folder: Path) -> set[int]:
    """Processes of the node whose temp folder is ``folder`` (it is in each one's command line)."""
    import psutil

    mark = str(folder)
    pids = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        args = proc.info["cmdline"] or []
        if any(arg == mark or f"{mark}/" in arg for arg in args):
            pids.add(proc.info["pid"])
    return pids - {os.getpid()}


@dataclass
class Node:
    folder: Path
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the node's process group and every process naming its folder."""
        import psutil

        for _ in range(3):  # a dying raylet may still be starting workers
            procs = []
            for pid in _node_pids(self.folder):
                with contextlib.suppress(psutil.Error):
                    procs.append(psutil.Process(pid))
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(procs, timeout=5)
            if not _node_pids(self.folder):
                break
        self.process.wait(timeout=10)


def _start_node(root: Path, name: str, args: list[str], env: dict[str, str]) -> Node:
    folder = root / name
    folder.mkdir()
    log = root / f"{name}.log"
    command = [sys.executable, str(root / "launch_ray.py"), "start", "--block"]
    command += [*args, "--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--num-gpus", "0"]
    command += ["--temp-dir", str(folder), "--object-store-memory", str(100 * 1024 * 1024)]
    command += ["--dashboard-agent-listen-port", str(_free_port())]
    command += ["--metrics-export-port", str(_free_port()), "--disable-usage-stats"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    node = Node(folder, process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            node.kill()
            pytest.fail(f"ray start ({name}) did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return node


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # a driver's environment (token, loopback, data folder)
    head: Node
    worker: Node

    def run(
        self, args: list[str], timeout: float = RUN_TIMEOUT_S, cwd: Path = ROOT
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], cwd=cwd, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def nodes(self) -> list[dict]:
        done = self.run(["-c", NODES_DRIVER, self.address], timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cluster(data_folder: Path) -> Iterator[Cluster]:
    """A head and a second node, loopback only, token auth; both stopped at the end."""
    root = Path(tempfile.mkdtemp(prefix="rsc-", dir="/tmp"))  # Ray's socket paths must be short
    (root / "launch_ray.py").write_text(LAUNCHER)
    token = secrets.token_hex(32)
    node_env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    node_env.update(
        RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0",
        RADSURV_DATA_DIR=str(data_folder), OMP_NUM_THREADS="1",
    )  # fmt: skip
    port = _free_port()
    address = f"127.0.0.1:{port}"
    nodes: list[Node] = []
    try:
        head_args = ["--head", "--port", str(port), "--include-dashboard", "false"]
        head_args += ["--dashboard-port", str(_free_port())]
        nodes.append(_start_node(root, "head", head_args, node_env))
        nodes.append(_start_node(root, "node2", ["--address", address], node_env))
        driver_env = {**node_env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
        yield Cluster(address, driver_env, *nodes)
    finally:
        for node in reversed(nodes):
            node.kill()
        leftover = _node_pids(root)
        shutil.rmtree(root, ignore_errors=True)
        assert not leftover, f"Ray processes left running: {sorted(leftover)}"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from survival_core.synthetic.generate import generate_cohort

    out = tmp_path_factory.mktemp("cluster-cohort") / "cohort"
    generate_cohort(out, n=30, seed=11, workers=1)
    return out


def _config(folder: Path, cohort: Path, name: str, model: dict) -> Path:
    config = {
        "name": name,
        "cohort": str(cohort),
        "model": model,
        "protocol": {"name": "nested_cv", "repeats": 1, "folds": 3},
        "horizons": [365, 730],
        "bootstrap": 50,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _result(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _workers_started(node: Node) -> set[Path]:
    return set(node.folder.glob("session_*/logs/worker-*.out"))


def _local_run(config: Path):
    from survival_core.runs.config import load_config
    from survival_core.runs.runner import run_training

    return run_training(load_config(config))


def _assert_same_metrics(got: dict[str, float], expected: dict[str, float]) -> None:
    """The same metrics, to the last digits (timings aside)."""
    timing = {k for k in {*got, *expected} if "seconds" in k}
    assert got.keys() - timing == expected.keys() - timing
    for key in expected.keys() - timing:
        assert got[key] == pytest.approx(expected[key], rel=0, abs=1e-12), key


def _folds_table(data_folder: Path, run_id: str) -> pd.DataFrame:
    return pd.read_csv(data_folder / "runs" / run_id / "reports" / "folds.csv")


def test_cluster_has_two_nodes_on_loopback_only(cluster: Cluster) -> None:
    nodes = cluster.nodes()
    assert [n["alive"] for n in nodes] == [True, True]
    assert {n["ip"] for n in nodes} == {"127.0.0.1"}


def test_a_wrong_token_is_refused_with_the_hint(cluster: Cluster) -> None:
    env = {**cluster.env, "RAY_AUTH_TOKEN": "not-the-token"}
    done = subprocess.run(
        [sys.executable, "-c", NODES_DRIVER, cluster.address], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Cannot connect to the Ray cluster at" in done.stderr
    assert "RAY_AUTH_TOKEN" in done.stderr.splitlines()[-1]  # the product's hint


def test_train_on_the_cluster_equals_the_local_engine(
    cluster: Cluster, cohort: Path, tmp_path: Path, data_folder: Path
) -> None:
    config = _config(
        tmp_path, cohort, "cluster-quick", {"name": "coxph", "params": {"penalizer": 0.1}}
    )
    before = _workers_started(cluster.worker)
    args = ["-m", "survival_core", "train", "--config", str(config), "--json"]
    on_cluster = _result(cluster.run([*args, "--ray-address", cluster.address]))
    assert _workers_started(cluster.worker) - before, "the second node ran none of the folds"
    local = _local_run(config)
    assert on_cluster["status"] == local.status == "FINISHED"
    _assert_same_metrics(on_cluster["metrics"], local.metrics)
    pd.testing.assert_frame_equal(
        _folds_table(data_folder, on_cluster["run_id"]), _folds_table(data_folder, local.run_id)
    )


def test_cohort_extraction_on_the_cluster_equals_local(
    cluster: Cluster, small_cohort: Path, tmp_path: Path
) -> None:
    from survival_core.engine import SerialMapper
    from survival_core.features.cohort import extract_cohort

    out = tmp_path / "on_cluster.pkl"
    done = cluster.run(["-c", EXTRACT_DRIVER, str(small_cohort), cluster.address, str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out, "rb") as stream:
        features, failures, n_extracted = pickle.load(stream)  # noqa: S301 - our own file
    scope: dict = {}
    exec(SETTINGS_CODE, scope)  # noqa: S102 - the driver's settings, same text
    local = extract_cohort(small_cohort, scope["SETTINGS"], mapper=SerialMapper(), use_cache=False)
    assert n_extracted == local.n_extracted == 6
    pd.testing.assert_frame_equal(features, local.features, check_exact=True)
    pd.testing.assert_frame_equal(failures, local.failures)


def test_cluster_workers_do_not_import_from_the_drivers_working_folder(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Ray puts the driver's working folder on every worker's sys.path, on each node: a download
    folder ``dl`` there (which gdcm imports) failed every task; ``-P`` keeps it off the driver's,
    as ``python -m survival_core`` does."""
    (tmp_path / "dl" / "SYN-0001").mkdir(parents=True)
    (tmp_path / "pandas").mkdir()
    (tmp_path / "pandas" / "__init__.py").write_text("raise ImportError('the working folder')\n")
    done = cluster.run(["-P", "-c", IMPORTS_DRIVER, cluster.address], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert str(tmp_path) not in done.stdout.splitlines()[-1]


# Last: it kills the second node.
def test_worker_node_killed_mid_run_fails_clearly_and_resumes(
    cluster: Cluster, cohort: Path, tmp_path: Path, data_folder: Path
) -> None:
    from survival_core.runs.store import RunStore

    model = {"name": "deepsurv", "params": {"epochs": 150, "patience": 150}}
    config = _config(tmp_path, cohort, "cluster-killed", model)  # folds of a few seconds
    before = _workers_started(cluster.worker)
    run = subprocess.Popen(
        [sys.executable, "-m", "survival_core", "train", "--config", str(config),
         "--ray-address", cluster.address, "--json"],
        cwd=ROOT, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _workers_started(cluster.worker) - before:  # a fold started on the second node
            assert run.poll() is None, f"the run ended first:\n{run.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "no fold reached the second node"
            time.sleep(0.1)
        time.sleep(2)  # mid-fold
        cluster.worker.kill()
        out, err = run.communicate(timeout=180)  # not a hang
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    store = RunStore()
    if run.returncode == 0:  # the killed node's folds ran again on the head (engine._task)
        result = json.loads(out.strip().splitlines()[-1])
    else:
        assert "Ray could not finish this task (NodeDiedError)" in err, err[-3000:]
        run_id = next(
            line.split()[1] for line in err.splitlines() if line.startswith("run ")
        )  # "run <id> (<name>)", the first progress line
        assert store.get_run(run_id).status == "FAILED"
        resume = ["-m", "survival_core", "train", "--resume", run_id, "--json"]
        result = _result(cluster.run([*resume, "--ray-address", cluster.address]))  # head only
        assert result["run_id"] == run_id
    assert result["status"] == "FINISHED"
    assert store.get_run(result["run_id"]).status == "FINISHED"
    print(f"killed node: the run {'finished' if run.returncode == 0 else 'failed and resumed'}")
    uninterrupted = _local_run(config)
    _assert_same_metrics(result["metrics"], uninterrupted.metrics)
    assert np.isfinite(result["metrics"]["c_index"])
    # the cluster saw the node die (its health checks take a few seconds), all still loopback
    deadline = time.monotonic() + 60
    while (nodes := cluster.nodes()) and sum(n["alive"] for n in nodes) > 1:
        assert time.monotonic() < deadline, f"the killed node is still listed alive: {nodes}"
        time.sleep(2)
    assert [n["alive"] for n in nodes].count(True) == 1
    assert {n["ip"] for n in nodes} == {"127.0.0.1"}
