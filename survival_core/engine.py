"""Execution engines, the one seam between RadSurv's work and where it runs: this process, a
pool of worker processes on this machine, or Ray on this machine or a cluster.

A :class:`CaseMapper` runs a function over items (cases to extract or import, volumes to cache):
:class:`SerialMapper` in this process, :class:`ProcessMapper` over worker processes,
:class:`RayMapper` as Ray tasks. :func:`make_engine` gives the mapper of an engine kind:
``"local"`` is :func:`make_mapper` (worker processes on this machine, or this process for one
worker), ``"ray"`` a :class:`RayMapper` (one Ray task per case). :func:`fold_map` runs
cross-validation folds as Ray tasks and :func:`process_fold_map` in local processes, in the
folds' order, for ``cross_validate(map_folds=...)``;
:func:`gpus_per_task` says whether a fold should ask for a GPU (a network, on a cluster that has
GPUs); :func:`ray_future` runs one call as a Ray task (the dashboard's case pool).

Ray is started on first use: the cluster at ``address`` (argument, else ``$RAY_ADDRESS``), or a
private local Ray sized to ``num_cpus`` CPUs (default: every CPU) whose session files and spilled
objects stay under the data folder (``<data>/tmp/ray``, ``<data>/tmp/ray-spill``), never the
shared ``/tmp/ray``. Workers import what this process imports: Ray's putting this process's
working folder on their ``sys.path`` is undone when this process does not import from it
(:func:`_worker_setup`). Every task uses one CPU, one ITK thread and one torch/OpenMP thread, so N
tasks at once use N cores. A task whose worker dies (killed, out of memory, its node lost) runs
again, up to :data:`WORKER_TRIES` times in all, as on the local engine; one its worker died in
each time fails with :class:`WorkerKilled`, and the rest of the cohort goes on. A task that
raised is not run again.

Running the same work on a cluster:

1. On one machine: ``ray start --head --port=6379``; on each other machine:
   ``ray start --address=HEAD:6379`` (``HEAD`` the first machine's host name or IP).
2. Run the command with ``--ray-address HEAD:6379`` (or ``export RAY_ADDRESS=HEAD:6379``), e.g.
   ``python -m survival_core train --config wei2021.yaml --ray-address HEAD:6379``.

Ray clusters use token authentication: make a token once (``ray get-auth-token --generate``)
and start every node and this process with ``RAY_AUTH_MODE=token RAY_AUTH_TOKEN=...`` (or the
token in ``~/.ray/auth_token``); Ray sends it to an address given explicitly only when
``RAY_AUTH_MODE=token`` is set. A refused token is reported with that hint.

Every node needs the same Python environment (this package installed at the same path), and the
cohort folder and the data folder (``$RADSURV_DATA_DIR``, exported to the tasks) on storage every
node sees at the same path, e.g. an NFS mount: tasks read case folders by path and write results
there. GPU nodes (``ray start ... --num-gpus=1``) receive the folds of network models.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from functools import partial, update_wrapper
from pathlib import Path
from typing import Any, Protocol, TypeVar

import SimpleITK as sitk

from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.paths import data_dir, data_subdir
from survival_core.workers import die_with_parent, leave_out_of_path, worker_pool

T = TypeVar("T")
R = TypeVar("R")

#: The address a private local Ray listens on: this machine only.
LOOPBACK = "127.0.0.1"


class CaseMapper(Protocol):
    """Runs a function over cases. ``fn`` and the items must be picklable for out-of-process engines."""

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Yield ``(item, fn(item))`` as each finishes, in any order; when the engine itself fails
        for an item (a worker killed), yield ``(item, exception)`` instead."""
        ...


class SerialMapper:
    """Every case in this process, one after the other."""

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        for item in items:
            yield item, fn(item)


def single_threaded_worker() -> None:
    """Worker start-up: one ITK thread and one torch/OpenMP thread per process, so N workers use
    N cores; killed with the parent (:func:`survival_core.workers.die_with_parent`)."""
    die_with_parent()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # read by a later torch import
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


#: Pools an item may be tried in when its worker process is killed.
WORKER_TRIES = 3


class WorkerKilled(RadSurvError):
    """A worker process died (killed) each time it ran an item."""


def worker_killed(tries: int) -> WorkerKilled:
    """The failure of an item whose worker was killed each of the ``tries`` times it ran it."""
    return WorkerKilled(
        f"the worker process was killed each of the {tries} times it ran this (out of memory, "
        "or stopped from outside): too large for this machine's memory with this many workers? "
        "Run it again with fewer workers."
    )


class ProcessMapper:
    """Cases in ``workers`` spawned processes (:func:`~survival_core.workers.worker_pool`);
    ``marks_in``: the folder of its running-item marks (:meth:`map_indexed`), the data folder's
    ``tmp/`` unless given (``cv`` reads tables only: it needs no data folder, and made one)."""

    def __init__(self, workers: int, marks_in: Path | None = None) -> None:
        self.workers = workers
        self.marks_in = marks_in

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """See :meth:`map_indexed`."""
        with closing(self.map_indexed(fn, items)) as results:
            for i, result in results:
                yield items[i], result

    def map_indexed(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[int, R | BaseException]]:
        """Yield ``(i, fn(items[i]))`` as each finishes, ``(i, exception)`` for an item that
        raised or whose worker was killed each time.

        A worker killed (out of memory, ``kill -9``) breaks the pool, which fails every item
        not yet done (one killed worker left 13 of 30 cases out of a training run): the items
        that had not started run again in a new pool; those that were running, one of which
        killed it, each run again alone, up to :data:`WORKER_TRIES` times in all."""
        tries = [0] * len(items)
        waiting, suspects = list(range(len(items))), []
        where = self.marks_in if self.marks_in is not None else data_subdir("tmp")
        with tempfile.TemporaryDirectory(prefix="radsurv-pool-", dir=where) as held:
            marks = Path(held)
            while waiting or suspects:
                if suspects:
                    batch, workers = [suspects.pop(0)], 1
                else:
                    batch, waiting, workers = waiting, [], self.workers
                broken = yield from self._pool(fn, items, batch, workers, marks)
                for i in broken:
                    mark = marks / str(i)
                    if not mark.exists():  # never started
                        waiting.append(i)
                        continue
                    mark.unlink()
                    tries[i] += 1
                    if tries[i] < WORKER_TRIES:
                        suspects.append(i)
                        continue
                    yield i, worker_killed(tries[i])

    def _pool(
        self, fn: Callable[[T], R], items: Sequence[T], batch: list[int], workers: int, marks: Path
    ) -> Generator[tuple[int, R | BaseException], None, list[int]]:
        """Run ``batch`` (indices of ``items``) in a pool of ``workers``, yielding each index and
        result; returns the indices a broken pool failed."""
        broken: list[int] = []
        with worker_pool(workers, single_threaded_worker) as pool:
            pending: dict[Future, int] = {
                pool.submit(_marked, fn, str(marks / str(i)), items[i]): i for i in batch
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        broken.append(i)
                        continue
                    yield i, (error if error is not None else future.result())
        return broken


def _marked(fn: Callable[[T], R], mark: str, item: T) -> R:
    """``fn(item)`` in a worker, a file at ``mark`` while it runs: a pool broken meanwhile tells
    the items that were running (one killed it) from those that waited."""
    Path(mark).touch()
    result = fn(item)
    Path(mark).unlink()
    return result


def process_fold_map(workers: int) -> Callable[[Callable[[T], R], Iterable[T]], Iterator[R]]:
    """A ``map_folds`` for ``cross_validate``: folds in ``workers`` local processes (one thread
    each, :meth:`ProcessMapper.map_indexed`: a fold whose worker is killed runs again), results
    in the folds' order; the first failed fold raises (its own exception, or
    :class:`WorkerKilled`). Built-in ``map`` for one worker."""
    if workers <= 1:
        return map

    def mapper(fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        finished: dict[int, R | BaseException] = {}
        following = 0  # the index of the next result to give
        pool = ProcessMapper(workers, Path(tempfile.gettempdir()))
        with closing(pool.map_indexed(fn, list(items))) as results:
            for i, result in results:
                finished[i] = result
                while following in finished:
                    result = finished.pop(following)
                    if isinstance(result, BaseException):
                        raise result
                    yield result
                    following += 1

    return mapper


def make_mapper(workers: int | None = None, n_items: int | None = None) -> CaseMapper:
    """Worker processes (``workers``, default: every CPU), or this process when one worker is
    asked for or there is at most one case to run."""
    workers = workers or os.cpu_count() or 1
    if n_items is not None:
        workers = min(workers, n_items)
    return SerialMapper() if workers <= 1 else ProcessMapper(workers)


#: Engine kinds accepted by :func:`make_engine`.
ENGINES = ("local", "ray")

#: Seconds to wait for a cluster address to answer before giving up.
CONNECT_TIMEOUT_S = 5.0

#: What to do when a cluster refuses this process's token (Ray 2.60 clusters use token auth).
AUTH_HINT = (
    " The cluster uses token authentication: export RAY_AUTH_MODE=token and the head's token "
    "(`ray get-auth-token` on the head machine) as RAY_AUTH_TOKEN."
)

#: Ray's default port for ``ray start --head`` (GCS) and for Ray Client (``ray://``) addresses.
DEFAULT_PORTS = {"": 6379, "ray": 10001}

# Ray binds Unix sockets at <temp dir>/session_<date>_<time>_<usec>_<pid>/sockets/plasma_store;
# Linux caps such a path at 107 bytes.
_SOCKET_TAIL = len("/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store")
_MAX_SOCKET_PATH = 107

#: Short links made by :func:`_ray_temp_dir` in this process, removed by :func:`shutdown`.
_links: list[Path] = []


def _ray_temp_dir() -> Path:
    """``<data>/tmp/ray``, or a short link to it in the system temp folder when the data folder's
    path is too long for Ray's Unix sockets or not ASCII (Ray 2.60 encodes its session paths as
    ASCII: a data folder named ``dätä`` failed ``ray.init`` with a UnicodeEncodeError); the files
    stay in the data folder either way."""
    folder = data_subdir("tmp") / "ray"
    folder.mkdir(exist_ok=True)
    if str(folder).isascii() and len(str(folder)) + _SOCKET_TAIL <= _MAX_SOCKET_PATH:
        return folder
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    link = Path(tempfile.gettempdir()) / f"radsurv-ray-{digest}"
    if not (link.is_symlink() and link.resolve() == folder.resolve()):
        partial = link.with_name(f"{link.name}.{os.getpid()}-{secrets.token_hex(4)}")  # threads
        partial.symlink_to(folder, target_is_directory=True)
        partial.replace(link)
        _links.append(link)
    return link


def check_reachable(address: str) -> None:
    """Fail fast, naming ``address``, when nothing answers there (Ray itself would keep retrying)
    or it is no address (a port out of range was reported as "Connection refused"). ``auto``,
    the cluster `ray start` made on this machine, is Ray's to find (it was refused as a host)."""
    if address == "auto":
        return
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.partition(":")
    try:
        port_number = int(port) if port else DEFAULT_PORTS.get(scheme, 6379)
    except ValueError as err:
        raise InputError(
            f"Ray address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379 or ray://head:10001)."
        ) from err
    if not 0 < port_number < 65536:
        raise InputError(
            f"Ray address {address!r}: port {port_number} is out of range (1 to 65535); the "
            "head's port is the one `ray start --head --port` was given (default 6379)."
        )
    try:
        socket.create_connection((host, port_number), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise InputError(
            f"Cannot reach the Ray cluster at {address!r} ({err}). Start it with `ray start "
            f"--head` on that machine, or check the host name, the port and the firewall."
        ) from err


#: The dashboard server's setting naming the Ray cluster its case pool runs on (unset or blank:
#: worker processes on the server).
CASE_POOL_RAY_SETTING = "RADSURV_RAY_ADDRESS"


def case_pool_ray_address() -> str | None:
    """The Ray cluster of the server's case pool (:data:`CASE_POOL_RAY_SETTING`), or None."""
    return os.environ.get(CASE_POOL_RAY_SETTING, "").strip() or None


#: The dashboard server's setting of its case pool's worker processes (unset or blank: one per
#: CPU; 0: in the session's own thread).
CASE_POOL_WORKERS_SETTING = "RADSURV_CASE_WORKERS"


def case_pool_workers() -> int | None:
    """The server's case pool's worker processes (:data:`CASE_POOL_WORKERS_SETTING`), or None;
    a :class:`ConfigError` naming the setting when it is not a whole number of 0 or more (an int()
    traceback on every page)."""
    text = os.environ.get(CASE_POOL_WORKERS_SETTING, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ConfigError(
            f"{CASE_POOL_WORKERS_SETTING} in the server's environment is {text!r}, not a whole "
            "number of 0 or more (worker processes; 0: none; unset: one per CPU). Correct it "
            "or unset it, then restart the server."
        )
    return int(text)


@contextmanager
def refused_as_setting(name: str) -> Iterator[None]:
    """A Ray address refused in the block (nothing answers there, not HOST:PORT, a token refused)
    said as the fault of the server's setting ``name``, with what to do: a wrong
    ``RADSURV_RAY_ADDRESS`` was a traceback on every page of the dashboard."""
    try:
        yield
    except RadSurvError as error:
        raise InputError(
            f"{name} in the server's environment: {error} Correct it or unset it, then restart "
            "the server."
        ) from error


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect this process to Ray, unless it already is (the first connection wins; a given
    cluster address is still checked to answer).

    ``address`` (else ``$RAY_ADDRESS``; blank: none): an existing cluster, ``HOST:PORT``,
    ``ray://HOST:PORT`` or ``auto`` (the cluster started on this machine by ``ray start``).
    Without one, a private local Ray with ``num_cpus`` CPUs (default: every CPU) is started."""
    import ray

    address = (address or os.environ.get("RAY_ADDRESS") or "").strip() or None
    if address is not None:
        check_reachable(address)
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "ignore_reinit_error": True,
        "logging_level": logging.ERROR,
        "runtime_env": _worker_setup(address),
    }
    if address is None:
        _start_local(num_cpus, quiet)
        return
    try:
        with _own_signal_handlers():
            ray.init(address=address, **quiet)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as err:
        hint = AUTH_HINT if _mentions_auth(err) else ""
        raise InputError(f"Cannot connect to the Ray cluster at {address!r}: {err}{hint}") from err


def _start_local(num_cpus: int | None, options: dict[str, Any]) -> None:
    """Start a private local Ray (see :func:`connect`); a start that fails (its session folder
    refused, a full disk) is a message naming the folder, not Ray's traceback."""
    import ray

    temp_dir = _ray_temp_dir()
    try:
        with _loopback_node(), _own_signal_handlers():
            ray.init(
                address="local",
                num_cpus=num_cpus or os.cpu_count() or 1,
                _node_ip_address=LOOPBACK,
                _temp_dir=str(temp_dir),
                object_spilling_directory=str(data_subdir("tmp") / "ray-spill"),
                **options,
            )
    except (OSError, RuntimeError, ValueError) as err:  # UnicodeEncodeError is a ValueError
        shutdown()  # the processes it started before failing, the link to the folder
        raise RadSurvError(
            f"Cannot start a local Ray with its session files in {temp_dir} (the data folder's "
            f"tmp/ray): {err}. Give the data folder (RADSURV_DATA_DIR) and the temp folder "
            "(TMPDIR) short ASCII paths with free space, or use engine kind local."
        ) from err


def _worker_setup(address: str | None) -> dict[str, Any]:
    """The job's runtime environment: when this process does not import from its working folder
    (``python -m survival_core`` leaves it out, see ``__main__``), neither do its workers. Ray
    2.60 puts that folder first on every worker's ``sys.path``, locally and on a cluster (not
    through Ray Client, ``ray://``), where a download folder named ``dl`` shadowed the module
    gdcm imports and every task failed."""
    working = os.path.realpath(os.getcwd())
    if (address or "").startswith("ray://") or any(
        os.path.realpath(path or ".") == working for path in sys.path
    ):
        return {}
    hook = update_wrapper(partial(leave_out_of_path, working), leave_out_of_path)  # Ray names it
    return {"worker_process_setup_hook": hook}


@contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """While Ray starts: this process keeps its SIGTERM and SIGINT handlers. ray.init puts its
    own in the main thread, which aborted a command stopped by SIGTERM (exit status 134 and a
    native stack dump) where the command says it was interrupted, marks its run failed and
    exits 143."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            if handler is not None:  # None: set outside Python, not ours to put back
                signal.signal(sig, handler)


@contextmanager
def _loopback_node() -> Iterator[None]:
    """While a private local Ray starts: its node keeps the loopback address it is given.

    Ray 2.60 replaces a loopback node address with the machine's interface address
    (``services.resolve_ip_for_localhost``) unless its ``ENABLE_RAY_CLUSTER`` switch is off, so a
    local Ray would otherwise listen on the network for no reason. The switch is only read while
    a node's address is resolved; it is restored afterwards for a later cluster connection."""
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def _mentions_auth(err: BaseException) -> bool:
    """Whether ``err`` or an error it was raised from is a refused token (Ray 2.60 wraps the
    ``AuthenticationError`` in a plain "Failed to connect to Ray cluster" ``ConnectionError``)."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if "authentication" in str(cause).lower():
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def shutdown() -> None:
    """Disconnect from Ray (and stop the local Ray this process started, if any, or the
    processes of one that failed to start)."""
    import ray

    ray.shutdown()
    while _links:
        _links.pop().unlink(missing_ok=True)


def cluster_gpus() -> float:
    """GPUs of the connected Ray cluster (0 when it has none)."""
    import ray

    connect()
    return float(ray.cluster_resources().get("GPU", 0))


def gpus_per_task(network: bool) -> int:
    """1 when a fold should ask for a GPU (``network``: a torch model, on a cluster that has GPUs),
    else 0."""
    return int(network and cluster_gpus() > 0)


def _call(fn: Callable[..., R], *args: Any) -> R:
    """A task's body: one ITK and one torch thread in this worker, then ``fn(*args)``."""
    single_threaded_worker()
    return fn(*args)


def _task(num_gpus: float) -> Any:
    """The Ray task that runs :func:`_call`: one CPU, ``num_gpus`` GPUs (none on a cluster without
    them, where the request would wait forever), the data folder exported. Ray runs it again
    when its worker or node dies, up to :data:`WORKER_TRIES` times in all (``max_retries``
    counts those deaths only: a task that raised is not retried).

    A task given no GPU sees none: Ray 2.60 leaves a zero-GPU task every GPU of its node (seen on
    an H200), where a network would silently share a GPU another task reserved."""
    import ray

    if num_gpus and cluster_gpus() == 0:
        num_gpus = 0
    env = {"OMP_NUM_THREADS": "1", "RADSURV_DATA_DIR": str(data_dir())}
    if not num_gpus:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return ray.remote(_call).options(
        num_cpus=1, num_gpus=num_gpus, max_retries=WORKER_TRIES - 1, runtime_env={"env_vars": env}
    )


def _submit(fn: Callable[[T], R], items: Iterable[T], num_gpus: float) -> list:
    """One Ray task per item (see :func:`_task`); ``fn`` is shipped once."""
    import ray

    task = _task(num_gpus)
    fn_ref = ray.put(fn)
    return [task.remote(fn_ref, item) for item in items]


def ray_future(fn: Callable[..., R], *args: Any) -> Future:
    """``fn(*args)`` as one Ray task (see :func:`_task`), as a :class:`concurrent.futures.Future`
    (connects first, see :func:`connect`) whose failure is what :func:`_get` raises: a killed
    worker reached the dashboard as Ray's bare ``WorkerCrashedError``, not a message."""
    from ray.exceptions import RayError

    connect()
    future: Future = Future()

    def settle(done: Future) -> None:
        error = done.exception()
        if error is None:
            future.set_result(done.result())
        else:
            future.set_exception(_unwrapped(error) if isinstance(error, RayError) else error)

    _task(0).remote(fn, *args).future().add_done_callback(settle)
    return future


def _get(ref: Any) -> Any:
    """A task's result; raises the exception ``fn`` raised (not Ray's wrapper), or a
    :class:`RadSurvError` when Ray could not run it (its worker died, an argument was lost)."""
    import ray
    from ray.exceptions import RayError

    try:
        return ray.get(ref)
    except RayError as err:
        raise _unwrapped(err) from err


def _unwrapped(err: BaseException) -> BaseException:
    """What a task's Ray error stands for: the exception ``fn`` raised, or Ray's own failure as
    a :class:`RadSurvError` (:func:`_not_finished`)."""
    from ray.exceptions import RayError, RayTaskError

    if not isinstance(err, RayTaskError):
        return _not_finished(err)
    if isinstance(err.cause, BaseException) and not isinstance(err.cause, RayError):
        return err.cause
    return _not_finished(err.cause if isinstance(err.cause, RayError) else err)


def _not_finished(err: BaseException) -> RadSurvError:
    """Ray's own failure to run a task (a worker or node died, the task's code or arguments
    could not be loaded in its worker) as a message: without it, the last is a Ray traceback.
    A task whose worker died each time Ray ran it (:func:`_task`) is :class:`WorkerKilled`, as
    on the local engine."""
    from ray.exceptions import RaySystemError, WorkerCrashedError

    if isinstance(err, WorkerCrashedError):
        return worker_killed(WORKER_TRIES)
    if isinstance(err, RaySystemError):  # its text is the worker's whole traceback
        return RadSurvError(
            f"Ray could not finish this task (RaySystemError): a worker could not load the "
            f"task: {err.client_exc}"
        )
    return RadSurvError(f"Ray could not finish this task ({type(err).__name__}): {err}")


def _cancel(refs: Iterable[Any]) -> None:
    """Cancel tasks not yet collected (the caller stopped early or failed), except those already
    finished: cancelling a task as its result comes back can abort this process inside Ray
    ("Tried to complete task that was not pending", a race in Ray's task manager seen with Ray
    2.60 when a failed fold cancelled one that was just finishing)."""
    import ray

    refs = list(refs)
    if not refs:
        return
    _, running = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
    for ref in running:
        ray.cancel(ref)


class RayMapper:
    """Cases as Ray tasks: a local Ray by default, a cluster when ``address`` or ``$RAY_ADDRESS``
    is set (see the module docstring). ``num_cpus`` sizes a local Ray only (a cluster's size is its
    own); ``num_gpus_per_task`` GPUs are asked per task when the cluster has GPUs."""

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, num_gpus_per_task: float = 0
    ) -> None:
        self.num_gpus_per_task = num_gpus_per_task
        connect(address, num_cpus)

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Yield ``(item, fn(item))`` as tasks finish; ``(item, exception)`` for a task that raised
        (the exception itself) or whose worker died each time it ran (:func:`_task`)."""
        import ray

        pending = dict(zip(_submit(fn, items, self.num_gpus_per_task), items, strict=True))
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                item = pending.pop(done[0])
                try:
                    result = _get(done[0])
                except Exception as error:  # noqa: BLE001 - a failed case is reported, not raised
                    result = error
                yield item, result
        finally:
            _cancel(pending)


def fold_map(fn: Callable[[T], R], items: Iterable[T], num_gpus: float = 0) -> Iterator[R]:
    """``map(fn, items)`` with every item run at once as a Ray task, results in the items' order;
    for ``cross_validate(map_folds=partial(fold_map, num_gpus=gpus_per_task(name)))``. The first
    failed fold raises (``fn``'s exception as raised), and the folds still running are cancelled."""
    connect()
    refs = _submit(fn, items, num_gpus)
    collected = 0
    try:
        for ref in refs:
            yield _get(ref)
            collected += 1
    finally:
        _cancel(refs[collected:])


def make_engine(
    kind: str = "local", address: str | None = None, workers: int | None = None
) -> CaseMapper:
    """The case mapper of an engine: ``"local"`` worker processes on this machine (``workers``,
    default every CPU; see :func:`make_mapper`), or ``"ray"``
    (:class:`RayMapper` at ``address``, or a local Ray with ``workers`` CPUs)."""
    if kind == "local":
        if address:
            raise ConfigError(
                f"engine.address: a Ray address ({address!r}) needs engine kind 'ray', not 'local'."
            )
        return make_mapper(workers)
    if kind == "ray":
        return RayMapper(address=address, num_cpus=workers)
    raise ConfigError(f"engine.kind: unknown engine {kind!r}; choose one of: {', '.join(ENGINES)}.")
