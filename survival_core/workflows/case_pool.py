"""The dashboard's per-case work (storing and reading an upload, score, survival band,
attributions, report) outside the web server.

Streamlit runs every session's script in a thread of one server process; a case's radiomics,
scoring and attributions computed there hold that process (and its interpreter lock) for seconds,
so the other sessions' page switches wait. A :class:`CasePool` runs them in a bounded pool of
worker processes instead (or as Ray tasks when a Ray address is configured), each worker loading
a model once. Results are kept per task key: the case as its results show it (content, id,
series, warnings), the model folder and its version, the clinical values and the method, so two
sessions opening the same case compute it once, and a session re-running its page gets the
finished result at once. A session waiting for its result can say how many tasks are ahead of it
(:meth:`CasePool.ahead`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import shutil
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import SimpleITK as sitk

from survival_core.case import Case
from survival_core.engine import connect, ray_future
from survival_core.errors import InputError
from survival_core.models.scoring import LoadedModel, load_scoring_model
from survival_core.workers import WorkerContext, exit_with_parent

if TYPE_CHECKING:
    from survival_core.features.settings import ExtractionSettings
    from survival_core.io.clinical_schema import SchemaVariable
    from survival_core.io.upload_case import UploadContents

#: Finished or running tasks remembered (most results are small: scores, curves, reports).
MEMORY = 256
#: Of those, tasks whose results hold a case's volumes (a read case; an explanation's map on
#: its grid), remembered fewer: a clinical CT read is hundreds of MB, and 256 of them held the
#: server's memory without bound (+9 MB per small demo case measured).
HEAVY_MEMORY = 8
_HEAVY = frozenset({"read_upload_task", "explain_task"})


@functools.lru_cache(maxsize=8)
def _model(folder: str, modified: float) -> LoadedModel:
    """A model loaded once per worker process and model version."""
    return load_scoring_model(folder)


def _with_values(case: Case, clinical_json: str) -> Case:
    return dataclasses.replace(case, clinical=json.loads(clinical_json))


def score_task(case: Case, clinical_json: str, folder: str, modified: float) -> dict[str, Any]:
    """:func:`~survival_core.workflows.scoring.score_case` as a dict, in a worker."""
    from survival_core.workflows.scoring import score_case

    return score_case(_with_values(case, clinical_json), _model(folder, modified)).as_dict()


def band_task(case: Case, clinical_json: str, folder: str, modified: float) -> Any:
    """:func:`~survival_core.workflows.scoring.case_survival` (curve and band), in a worker."""
    from survival_core.workflows.scoring import case_survival

    return case_survival(_with_values(case, clinical_json), _model(folder, modified))


def explain_task(
    case: Case, clinical_json: str, folder: str, modified: float, method: str = "ig"
) -> Any:
    """:func:`~survival_core.explain.case.explain_case` (top 10 inputs), in a worker."""
    from survival_core.explain.case import explain_case

    loaded = _model(folder, modified)
    return explain_case(_with_values(case, clinical_json), loaded, method=method, top=10)


def store_task(
    files: list[tuple[str, bytes]],
    keep: frozenset[str],
    variables: frozenset[SchemaVariable],
) -> tuple[str, UploadContents]:
    """An upload de-identified and stored by content, its clinical files' ``keep`` columns of
    ``variables`` (:func:`~survival_core.io.uploads.store_upload`) and its files classified
    (:func:`~survival_core.io.upload_case.describe_upload`), in a worker: parsing and rewriting
    every DICOM file holds the interpreter for about half a second a case, which in the server
    would stall the other sessions' page runs."""
    from survival_core.io.upload_case import describe_upload
    from survival_core.io.uploads import store_upload

    folder = store_upload(files, keep, variables)
    try:
        return str(folder), describe_upload(folder)
    except InputError:  # nothing of a refused upload is kept (a 179 MB CT too large to read)
        shutil.rmtree(folder, ignore_errors=True)
        raise


def store(
    pool: CasePool,
    files: list[tuple[str, bytes]],
    keep: frozenset[str],
    variables: frozenset[SchemaVariable] = frozenset(),
) -> Future:
    """:func:`store_task` in ``pool``, once per uploaded content and kept columns
    (:func:`~survival_core.io.uploads.upload_key`) while its folder exists: sessions uploading
    the same files store them once, and again after upload retention deleted them."""
    from survival_core.io.uploads import upload_key

    return pool.remember(
        ("store_task", *upload_key(files, keep, variables)),
        store_task,
        files,
        keep,
        variables,
        still_valid=lambda stored: Path(stored[0]).exists(),
    )


def read_upload_task(
    folder: str,
    roles: tuple[tuple[str, tuple[str, ...]], ...],
    image_name: str | None = None,
    case_id: str | None = None,
    series_uid: str | None = None,
    site: str | None = None,
    modality: str | None = None,
    model_folder: str | None = None,
) -> Case:
    """An upload folder read as a case (:func:`~survival_core.io.upload_case.load_upload`: images
    decoded, contours rasterised, clinical values checked by ``model_folder``'s schema when it
    carries one, a value it refuses named for the app's form to correct, not failing the
    read), in a worker: the reading holds the interpreter for a second or more."""
    from survival_core.io.clinical_schema import model_schema
    from survival_core.io.upload_case import describe_upload, load_upload

    return load_upload(
        describe_upload(Path(folder)),
        {role: list(names) for role, names in roles},
        image_name=image_name,
        case_id=case_id,
        series_uid=series_uid,
        site=site,
        modality=modality,
        schema=model_schema(model_folder) if model_folder else None,
        correctable=True,
    )


def report_task(
    case: Case,
    clinical_json: str,
    folder: str,
    modified: float,
    score: dict[str, Any],
    explanation: Any,
    date: str | None = None,
) -> bytes:
    """The one-page PDF (:func:`~survival_core.report.pdf.build_report`), in a worker: drawing it
    holds the interpreter for about a second, which in the server would stall other sessions."""
    from survival_core.report.pdf import build_report

    case = _with_values(case, clinical_json)
    loaded = _model(folder, modified)
    return build_report(case, loaded, score, explanation, date=date)


def radiomics_task(case: Case, settings_json: str) -> dict[str, float]:
    """One part of a case's radiomics (:func:`~survival_core.features.radiomics.extract_case` with
    one part of the model's settings), in a worker."""
    from survival_core.features.radiomics import extract_case
    from survival_core.features.settings import ExtractionSettings

    return extract_case(case, ExtractionSettings.from_json(settings_json))


def radiomics(
    pool: CasePool,
    case: Case,
    settings: ExtractionSettings | None,
    wait: Callable[[Future], Any] = Future.result,
) -> None:
    """The case's radiomics for ``settings`` computed in parts side by side, one per worker
    (:func:`~survival_core.features.case_cache.split_settings`), and stored in the feature cache
    where the score, band and attribution tasks find them: a case's radiomics take the pool's
    cores instead of one. Nothing to do when they are cached already or cannot be split (the
    score task then computes them, or names the mask a case lacks). ``wait`` waits for a part
    (e.g. showing the queue)."""
    from survival_core.features.settings import required_masks

    if settings is None or any(r not in case.masks for r in required_masks(settings.rois)):
        return
    from survival_core.features.case_cache import split_settings
    from survival_core.features.cohort import FeatureCache

    cache, digest = FeatureCache(settings), case.content_digest()
    parts = split_settings(settings, pool.workers)
    if len(parts) < 2 or digest in cache:  # checked on every page run: no read
        return
    futures = [
        pool.remember(("radiomics_task", digest, part.hash()), radiomics_task, case, part.to_json())
        for part in parts
    ]
    features: dict[str, float] = {}
    for future in futures:
        features.update(wait(future))
    cache.put(digest, case.case_id, features)


def read_upload(pool: CasePool, *args: Any) -> Future:
    """:func:`read_upload_task` of ``args`` in ``pool``, once per arguments: an upload folder is
    named after its content, so sessions uploading the same files read them once."""
    return pool.remember(("read_upload_task", *args), read_upload_task, *args)


def report(
    pool: CasePool,
    case: Case,
    clinical_json: str,
    folder: str,
    modified: float,
    score: dict[str, Any],
    explanation: Any,
) -> Future:
    """:func:`report_task` in ``pool``, once per case as the report shows it
    (:meth:`~survival_core.case.Case.shown_digest`: its content, id, series and warnings),
    clinical values, model and day (what the score, attributions and report depend on):
    sessions opening the same case draw its report once, and a case read with other warnings
    gets its own (it was handed the first one's PDF, its "Check before use" lost)."""
    date = datetime.now(UTC).date().isoformat()
    key = (case.shown_digest(), clinical_json, folder, modified, date)
    args = (case, clinical_json, folder, modified, score, explanation, date)
    return pool.remember(("report_task", *key), report_task, *args)


def _warm() -> None:
    """Import the scoring stack in a worker before its first case."""
    import survival_core.explain.case  # noqa: F401
    import survival_core.explain.tabular  # noqa: F401
    import survival_core.io.upload_case  # noqa: F401
    import survival_core.report.pdf  # noqa: F401
    import survival_core.workflows.scoring  # noqa: F401


def _worker_start() -> None:
    """One ITK thread per worker; ends with the server process, not with the session thread that
    happened to start the pool."""
    exit_with_parent()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    _warm()


@contextlib.contextmanager
def _no_main_script() -> Iterator[None]:
    """Hide ``__main__`` while workers are spawned: a spawned process imports its parent's main
    module first, and under ``streamlit run`` that is the page script being run (``app.py``), which
    a worker must never run (it would start a pool of its own)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _InThread(Executor):
    """Runs each task in the calling thread (``workers=0``: tests, or a machine with one core)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future


class _RayExecutor(Executor):
    """Each task a Ray task on the cluster at ``address`` (:func:`survival_core.engine.ray_future`)."""

    def __init__(self, address: str) -> None:
        connect(address)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        return ray_future(fn, *args)


class CasePool:
    """Per-case tasks in ``workers`` processes (default: every CPU; 0: in the calling thread), or
    as Ray tasks on the cluster at ``ray_address``; results remembered per task key."""

    def __init__(self, workers: int | None = None, ray_address: str | None = None) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.ray_address = ray_address
        self._lock = threading.Lock()
        self._tasks: OrderedDict[tuple, Future] = OrderedDict()
        self._queue: list[Future] = []
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.ray_address:
            return _RayExecutor(self.ray_address)
        if self.workers == 0:
            return _InThread()
        executor = ProcessPoolExecutor(  # a Ctrl-C to the server is its own, not the workers'
            self.workers, mp_context=WorkerContext(), initializer=_worker_start
        )
        with _no_main_script():
            for _ in range(self.workers):  # start every worker now (none is started later)
                executor.submit(_warm)
        return executor

    def submit(self, fn: Callable[..., Any], case: Case, *args: Any) -> Future:
        """The future of ``fn(case, *args)``: a finished or running one for the same task (same
        function, case as its results show it, and arguments) when there is one, else a new
        task. The case is its :meth:`~survival_core.case.Case.shown_digest`: a result names its
        case (two patients' uploads of the same images, under their own pseudonyms, each get
        their own), and a score's cautions follow its MR weighting."""
        key = (fn.__name__, case.shown_digest(), *args)
        return self.remember(key, fn, case, *args)

    def remember(
        self,
        key: tuple,
        fn: Callable[..., Any],
        *args: Any,
        still_valid: Callable[[Any], bool] = lambda result: True,
    ) -> Future:
        """The future of ``fn(*args)`` under ``key`` (hashable; it must name everything the result
        depends on): a running one, or a finished one while ``still_valid`` says its result holds
        (e.g. the folder it names still exists), for the same key when there is one, else a new
        task. A failed task is not remembered: asking again runs it again."""
        with self._lock:
            future = self._tasks.get(key)
            if future is not None and (
                not future.done() or (future.exception() is None and still_valid(future.result()))
            ):
                self._tasks.move_to_end(key)
                return future
            future = self._start(fn, *args)
            self._tasks[key] = future
            while len(self._tasks) > MEMORY:
                self._tasks.popitem(last=False)
            heavy = [k for k in self._tasks if k[0] in _HEAVY]
            for old in heavy[: max(len(heavy) - HEAVY_MEMORY, 0)]:  # the least recently asked
                del self._tasks[old]
        return future

    def run(self, fn: Callable[..., Any], *args: Any) -> Future:
        """The future of ``fn(*args)``, a new task every time (nothing remembered)."""
        with self._lock:
            return self._start(fn, *args)

    def _start(self, fn: Callable[..., Any], *args: Any) -> Future:
        try:
            future = self._executor.submit(fn, *args)
        except BrokenExecutor:  # a worker died (e.g. out of memory): start a new pool
            self._executor = self._new_executor()
            future = self._executor.submit(fn, *args)
        self._queue = [f for f in self._queue if not f.done()]  # finished ones hold results
        self._queue.append(future)
        return future

    def ahead(self, future: Future) -> int:
        """Tasks submitted before ``future`` that have not started yet (0 once it runs)."""
        with self._lock:
            waiting = [f for f in self._queue if not (f.done() or f.running())]
        return waiting.index(future) if future in waiting else 0

    def shutdown(self) -> None:
        """Stop the workers (tasks not started are cancelled)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
