"""Execution engines: Ray tasks give what the serial path gives, failures are per item, folds keep
their order, and bad engine settings are reported clearly. One local Ray (2 CPUs) per module."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml
from sksurv.datasets import load_gbsg2
from sksurv.util import Surv

from survival_core import engine
from survival_core.cli.main import main
from survival_core.engine import (
    ProcessMapper,
    RayMapper,
    SerialMapper,
    WorkerKilled,
    fold_map,
    gpus_per_task,
    make_engine,
)
from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.evaluation import splits
from survival_core.features.cohort import extract_cohort
from survival_core.features.settings import Discretisation, ExtractionSettings, FeatureClass
from survival_core.models import is_network, make_model
from survival_core.workflows.case_pool import CasePool
from survival_core.workflows.crossval import cross_validate
from tests.test_jobs import clinical_cohort, tiny_config

#: A cheap setting (a few features of three classes, two ROIs): the engine, not radiomics, is tested.
SETTINGS = ExtractionSettings(
    "engine-test",
    rois=("gtv", "liver_minus_gtv"),
    classes=(
        FeatureClass("firstorder", ("Mean", "Variance")),
        FeatureClass("glcm", ("Contrast",)),
        FeatureClass("glszm", ("SmallAreaEmphasis",)),
    ),
    discretisations=(Discretisation("equal_probability", levels=8),),
)


@pytest.fixture(scope="module", autouse=True)
def local_ray(data_folder: Path) -> Iterator[RayMapper]:
    """One local Ray with 2 CPUs for the whole module (starting one takes seconds); this module's
    functions travel by value (Ray's workers cannot import a test module by name)."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    mapper = RayMapper(num_cpus=2)
    yield mapper
    engine.shutdown()


def _visible_gpus(_: object) -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def _node_address(_: object) -> str:
    import ray

    return ray.util.get_node_ip_address()


def test_local_ray_stays_on_loopback(local_ray: RayMapper) -> None:
    """A private local Ray listens on 127.0.0.1 only, never the machine's interface address (Ray's
    default): its node, its control store and the node its tasks run on."""
    import psutil
    import ray

    assert [node["NodeManagerAddress"] for node in ray.nodes()] == [engine.LOOPBACK]
    assert ray.get_runtime_context().gcs_address.startswith(f"{engine.LOOPBACK}:")
    ran_on = {address for _, address in local_ray.map_unordered(_node_address, [0, 1])}
    assert ran_on == {engine.LOOPBACK}
    ray_pids = {p.pid for p in psutil.process_iter(["name"]) if "ray" in (p.info["name"] or "")}
    listening = {
        conn.laddr.ip
        for conn in psutil.net_connections("inet")
        if conn.status == psutil.CONN_LISTEN and conn.pid in ray_pids
    }
    assert listening and listening <= {engine.LOOPBACK, "::ffff:127.0.0.1"}, listening


def _square_or_fail(x: int) -> int:
    if x == 3:
        raise InputError("case 3: the GTV mask is empty")
    if x == 4:
        raise ValueError("not ours")
    if x == 5:
        os._exit(1)  # the worker process dies, as on a segfault or the OOM killer
    return x * x


def _threads(_: object) -> tuple[int, int]:
    import torch

    return sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(), torch.get_num_threads()


def _sleep_then_return(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_workers_use_one_itk_and_one_torch_thread(local_ray: RayMapper) -> None:
    assert {result for _, result in local_ray.map_unordered(_threads, [0, 1])} == {(1, 1)}


def test_results_come_as_they_finish(local_ray: RayMapper) -> None:
    """Both workers are warm (previous test): the quick task overtakes the slow one."""
    order = [item for item, _ in local_ray.map_unordered(_sleep_then_return, [2.0, 0.0])]
    assert order == [0.0, 2.0]


@pytest.mark.timeout(60)  # a dead worker must be reported, not waited for
def test_map_unordered_gives_results_and_per_item_failures(local_ray: RayMapper) -> None:
    out = dict(local_ray.map_unordered(_square_or_fail, list(range(7))))
    assert sorted(out) == list(range(7))
    assert {k: v for k, v in out.items() if k not in (3, 4, 5)} == {0: 0, 1: 1, 2: 4, 6: 36}
    assert type(out[3]) is InputError and str(out[3]) == "case 3: the GTV mask is empty"
    assert type(out[4]) is ValueError and str(out[4]) == "not ours"
    assert type(out[5]) is WorkerKilled  # its worker died each of the 3 times, as locally
    assert str(out[5]).startswith("the worker process was killed each of the 3 times it ran this")


def _killed_once(mark: str) -> str:
    """Its worker is killed (kill -9, the OOM killer) the first time it runs, not again."""
    if not os.path.exists(mark):
        Path(mark).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return Path(mark).name


@pytest.mark.timeout(90)
def test_a_task_whose_worker_is_killed_runs_again(local_ray: RayMapper, tmp_path: Path) -> None:
    """A Ray worker killed during a training run's extraction left its patient out ("SYN-0002
    failed: Ray could not finish this task (WorkerCrashedError)", 15 of 16 patients trained on);
    the local engine runs it again, and so does Ray now: every case comes back."""
    marks = [str(tmp_path / name) for name in ("SYN-0001", "SYN-0002", "SYN-0003")]
    out = dict(local_ray.map_unordered(_killed_once, marks))
    assert out == dict(zip(marks, ["SYN-0001", "SYN-0002", "SYN-0003"], strict=True))


@pytest.mark.timeout(90)
def test_the_ray_case_pool_fails_with_the_message_a_page_shows() -> None:
    """The dashboard's case pool on Ray: a task's own error is itself (Ray's wrapper's text
    was a traceback), a worker killed each time is WorkerKilled's message (the page said
    "Something went wrong (WorkerCrashedError)")."""
    import ray

    pool = CasePool(ray_address=ray.get_runtime_context().gcs_address)
    assert pool.run(_square_or_fail, 2).result() == 4
    raised = pool.run(_square_or_fail, 3).exception()
    assert type(raised) is InputError and str(raised) == "case 3: the GTV mask is empty"
    killed = pool.run(_square_or_fail, 5).exception()
    assert type(killed) is WorkerKilled
    assert str(killed).startswith("the worker process was killed each of the 3 times it ran this")


def test_cohort_extraction_on_ray_equals_serial(small_cohort: Path, local_ray: RayMapper) -> None:
    serial = extract_cohort(small_cohort, SETTINGS, mapper=SerialMapper(), use_cache=False)
    on_ray = extract_cohort(small_cohort, SETTINGS, mapper=local_ray, use_cache=False)
    assert len(serial.features) == 6 and on_ray.n_extracted == 6
    pd.testing.assert_frame_equal(on_ray.features, serial.features, check_exact=True)
    pd.testing.assert_frame_equal(on_ray.failures, serial.failures)


def test_fold_map_keeps_the_order_of_the_items() -> None:
    assert list(fold_map(_sleep_then_return, [1.0, 0.0, 0.5])) == [1.0, 0.0, 0.5]


def test_fold_map_raises_the_first_failed_fold_as_itself() -> None:
    with pytest.raises(InputError, match="case 3"):
        list(fold_map(_square_or_fail, [1, 3, 2]))


def _fail_to_load() -> None:
    raise AttributeError("module 'dl' has no attribute 'RTLD_NOW'")


class _LoadsOnlyHere:
    """An argument a worker cannot load: unpickling it raises there, as importing a task's code
    did where a folder shadowed a module."""

    def __reduce__(self) -> tuple:
        return _fail_to_load, ()


def test_a_task_its_worker_cannot_load_is_a_message_not_rays_traceback(
    local_ray: RayMapper,
) -> None:
    """Ray's ``RaySystemError`` (its text the worker's whole traceback) was raised as it came: the
    command ended in a 100-line traceback and no JSON line."""
    with pytest.raises(RadSurvError, match=r"^Ray could not .* load the task: module 'dl' has no "):
        list(fold_map(_sleep_then_return, [_LoadsOnlyHere()]))
    ((_, error),) = local_ray.map_unordered(_sleep_then_return, [_LoadsOnlyHere()])
    assert isinstance(error, RadSurvError) and "\n" not in str(error)


PROBE = """
import sys
from survival_core import engine
engine.connect(num_cpus=1)
def probe(_):
    import gdcm, pandas
    return pandas.__file__
print(list(engine.fold_map(probe, [0]))[0])
engine.shutdown()
"""


@pytest.mark.timeout(120)
def test_ray_workers_do_not_import_from_the_working_folder(tmp_path: Path) -> None:
    """Ray puts the driver's working folder first on its workers' sys.path: run from a folder
    holding a download folder ``dl`` (which gdcm imports) or one named like a library, every task
    failed (``module 'dl' has no attribute 'RTLD_NOW'``). A driver not importing from its working
    folder (``python -m survival_core`` leaves it out; ``-P`` here) has workers that do not."""
    (tmp_path / "dl" / "SYN-0001").mkdir(parents=True)
    (tmp_path / "pandas").mkdir()
    (tmp_path / "pandas" / "__init__.py").write_text("raise ImportError('the working folder')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(engine.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-P", "-c", PROBE],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=110,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert Path(done.stdout.split()[-1]).parent.parent != tmp_path


def test_starting_ray_keeps_the_commands_sigterm_handler(tmp_path: Path) -> None:
    """ray.init put its own SIGTERM handler in the main thread: a `train` on the Ray engine
    stopped by SIGTERM (Slurm's scancel) aborted with exit status 134 and a native stack dump,
    not the command's 'interrupted (SIGTERM)', failed run and exit 143."""
    probe = (
        "import signal\n"
        "from survival_core import engine\n"
        "from survival_core.cli.main import _interrupt\n"
        "signal.signal(signal.SIGTERM, _interrupt)\n"
        "engine.connect(num_cpus=1)\n"
        "print('KEPT', signal.getsignal(signal.SIGTERM) is _interrupt)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(engine.__file__).parents[1]),
        "RADSURV_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=110
    )
    assert "KEPT True" in done.stdout, done.stderr[-3000:]


#: A command (``train``'s place) waiting on a Ray task when SIGTERM comes.
SIGTERM_PROBE = """
import sys, time
from survival_core import engine
from survival_core.cli import main, train

def waiting_on_ray(args):
    engine.connect(num_cpus=1)
    print("WAITING", flush=True)
    return list(engine.fold_map(time.sleep, [60]))

train.run = waiting_on_ray
sys.exit(main.main(["train", "--json"]))
"""


@pytest.mark.timeout(150)
def test_sigterm_while_waiting_on_ray_is_reported_as_sigterm() -> None:
    """SIGTERM (scancel, a cancelled job) to a command waiting on Ray exited 130 saying
    "KeyboardInterrupt", as a Ctrl-C: Ray raises the handler's Terminated again as a plain
    KeyboardInterrupt. It is 143 and "Terminated", as on the local engine."""
    data = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))  # short: Ray's files need no link
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(engine.__file__).parents[1]),
        "RADSURV_DATA_DIR": str(data),
    }
    command = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_PROBE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert command.stdout.readline() == "WAITING\n", command.stderr.read()[-3000:]
        time.sleep(2)  # in ray.get
        command.send_signal(signal.SIGTERM)
        out, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
        shutil.rmtree(data, ignore_errors=True)
    assert command.returncode == 143, err[-3000:]
    assert json.loads(out.splitlines()[-1]) == {
        "error": "interrupted (SIGTERM); nothing more was done.",
        "kind": "Terminated",
    }


def test_cross_validation_on_ray_equals_builtin_map() -> None:
    X, y = load_gbsg2()
    X, y = pd.DataFrame(X).iloc[:150], Surv.from_arrays(y["cens"][:150], y["time"][:150])
    folds = splits.nested_cv(y["event"], n_repeats=1, n_folds=3, seed=3)
    run = partial(cross_validate, X, y, partial(make_model, "coxph"), folds, n_bootstrap=20)
    reference, on_ray = run(map_folds=map), run(map_folds=fold_map)
    pd.testing.assert_frame_equal(on_ray.folds, reference.folds)
    pd.testing.assert_frame_equal(on_ray.oof, reference.oof)
    assert on_ray.summary["c_index"] == reference.summary["c_index"]
    assert on_ray.folds["fold"].tolist() == [0, 1, 2] and np.isfinite(on_ray.summary["c_index"])


@pytest.mark.timeout(30)  # a GPU request that this Ray cannot serve would wait forever
def test_only_networks_ask_for_a_gpu_and_only_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def gpus(name: str) -> int:
        return gpus_per_task(is_network(name))

    assert gpus("deepsurv") == gpus("coxph") == 0  # this Ray has no GPU
    # a task given no GPU sees none (Ray 2.60 would show it its node's GPUs)
    assert list(fold_map(_visible_gpus, [0])) == [""]
    assert list(RayMapper(num_gpus_per_task=1).map_unordered(abs, [-2])) == [(-2, 2)]
    monkeypatch.setattr(engine, "cluster_gpus", lambda: 2.0)
    assert [gpus(name) for name in ("coxph", "rsf", "deepsurv", "cnn3d")] == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match="'xgb'.*coxph"):
        is_network("xgb")


@pytest.mark.parametrize(("workers", "kind"), [(1, SerialMapper), (2, ProcessMapper)])
def test_local_engine_is_the_process_pool(workers: int, kind: type) -> None:
    assert isinstance(make_engine("local", workers=workers), kind)


def test_ray_engine_is_a_ray_mapper() -> None:
    assert isinstance(make_engine("ray", workers=2), RayMapper)


@pytest.mark.parametrize(
    ("kind", "address", "error", "message"),
    [
        ("spark", None, ConfigError, r"engine.kind: unknown engine 'spark'; choose one of: local"),
        ("local", "10.0.0.5:6379", ConfigError, r"engine.address: .*'10.0.0.5:6379'.*'ray'"),
        ("ray", "127.0.0.1:1", InputError, r"Cannot reach the Ray cluster at '127.0.0.1:1'"),
        ("ray", "head:port", InputError, r"'head:port' is not HOST:PORT"),
        ("ray", "127.0.0.1:70000", InputError, r"port 70000 is out of range \(1 to 65535\)"),
    ],
)
def test_bad_engine_settings_are_reported(
    kind: str, address: str | None, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        make_engine(kind, address=address)


def test_ray_address_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(InputError, match="127.0.0.1:1"):
        RayMapper()


def _train(*args: str, capsys: pytest.CaptureFixture) -> tuple[int, dict]:
    """``train ARGS --json``: its exit status and last JSON line."""
    status = main(["train", *args, "--json"])
    return status, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_blank_ray_address_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """RAY_ADDRESS=" " (a shell template's blank) or --ray-address " " ended in a pydantic
    ValidationError traceback: blank is no address, the config's engine runs (a local Ray, or
    the local engine)."""
    cohort = clinical_cohort(tmp_path / "cohort")
    on_ray, here = tmp_path / "on_ray.yaml", tmp_path / "here.yaml"
    on_ray.write_text(yaml.safe_dump(tiny_config(cohort, "blank", engine={"kind": "ray"})))
    here.write_text(yaml.safe_dump(tiny_config(cohort, "blank")))
    monkeypatch.setenv("RAY_ADDRESS", " ")
    status, result = _train("--config", str(on_ray), capsys=capsys)
    assert (status, result["status"]) == (0, "FINISHED")
    status, result = _train("--config", str(here), "--ray-address", " ", capsys=capsys)
    assert (status, result["status"]) == (0, "FINISHED")


def _ctrl_c(*args: object) -> None:
    raise KeyboardInterrupt


def test_a_run_started_on_a_cluster_that_is_gone_resumes_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`train --resume ID`, even with `--config` (same config, engine local), always used the
    cluster address the run started with: once that cluster was gone, the run could never be
    finished. `--config`'s engine is used, and `--ray-address local` means this machine."""
    from survival_core.runs import runner
    from survival_core.runs.store import RunStore

    cohort = clinical_cohort(tmp_path / "cohort")
    on_ray, here = tmp_path / "on_ray.yaml", tmp_path / "here.yaml"
    on_ray.write_text(yaml.safe_dump(tiny_config(cohort, "gone", engine={"kind": "ray"})))
    here.write_text(yaml.safe_dump(tiny_config(cohort, "gone", engine={"kind": "local"})))
    head = socket.create_server(("127.0.0.1", 0))  # the "cluster": it answers (this Ray runs)
    address = f"127.0.0.1:{head.getsockname()[1]}"
    run_ids = []
    for _ in range(2):  # two runs started there, each interrupted (Ctrl-C) before its folds
        with monkeypatch.context() as patch:
            patch.setattr(runner, "prepare_data", _ctrl_c)
            status, _ = _train("--config", str(on_ray), "--ray-address", address, capsys=capsys)
        assert status == 130
        run_ids.append(RunStore().list_runs("gone")["run_id"][0])
    head.close()  # the cluster is gone
    status, result = _train("--resume", run_ids[0], capsys=capsys)
    assert status == 2
    assert result["error"].startswith(f"Cannot reach the Ray cluster at {address!r}")
    status, result = _train("--resume", run_ids[0], "--ray-address", "local", capsys=capsys)
    assert (status, result["run_id"], result["status"]) == (0, run_ids[0], "FINISHED")
    status, result = _train("--resume", run_ids[1], "--config", str(here), capsys=capsys)
    assert (status, result["run_id"], result["status"]) == (0, run_ids[1], "FINISHED")


def test_local_ray_keeps_its_files_in_the_data_folder(data_folder: Path) -> None:
    assert any((data_folder / "tmp" / "ray").glob("session_*/sockets"))


@pytest.mark.parametrize("long_path", [False, True])
def test_ray_session_folder_is_in_the_data_folder_by_a_short_path(
    long_path: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's Unix sockets need a path <= 107 bytes: a long data folder is reached by a short link."""
    root = tmp_path / ("x" * 80) if long_path else Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))
    monkeypatch.setenv("RADSURV_DATA_DIR", str(root))
    folder = engine._ray_temp_dir()
    assert folder.resolve() == (root / "tmp" / "ray").resolve()
    assert (folder != root / "tmp" / "ray") is long_path
    assert len(str(folder)) + engine._SOCKET_TAIL <= 107
    if not long_path:
        shutil.rmtree(root)


NON_ASCII_PROBE = """
from survival_core import engine
from survival_core.errors import RadSurvError
try:
    engine.connect(num_cpus=1)
    print(list(engine.fold_map(abs, [-3])))
except RadSurvError as error:
    print("REFUSED", error)
engine.shutdown()
"""


@pytest.mark.timeout(240)
def test_a_data_folder_with_a_non_ascii_letter_runs_on_ray(tmp_path: Path) -> None:
    """A data folder named 'dätä' failed ray.init with a UnicodeEncodeError traceback (Ray 2.60
    encodes its session folder's path as ASCII): Ray's files are reached by an ASCII link in the
    temp folder. Where that cannot help (a temp folder named with an 'é' too), the failure is a
    message naming the folder."""
    data = tmp_path / "sp ace" / "dätä"
    accented_temp = Path(tempfile.mkdtemp(prefix="é", dir="/tmp"))

    def probe(temp: str) -> str:
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(engine.__file__).parents[1]),
            "RADSURV_DATA_DIR": str(data),
            "TMPDIR": temp,
        }
        done = subprocess.run(
            [sys.executable, "-c", NON_ASCII_PROBE],
            capture_output=True, text=True, env=env, timeout=110,
        )  # fmt: skip
        assert done.returncode == 0 and done.stdout, done.stderr[-3000:]
        return done.stdout.splitlines()[-1]

    try:
        assert probe("/tmp") == "[3]"
        refused = probe(str(accented_temp))
    finally:
        shutil.rmtree(accented_temp)
    assert refused.startswith(
        f"REFUSED Cannot start a local Ray with its session files in {accented_temp}/radsurv-ray-"
    ), refused
    assert refused.endswith("or use engine kind local."), refused
