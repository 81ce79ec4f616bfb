"""pydicom's own real-world test files run through RadSurv's DICOM entry points, each call in a
worker process with a time limit; shared by tests/test_dicom_corpus.py and
benchmarks/bench_dicom_corpus.py.

pydicom ships about 200 files in its package folder (``test_files``, ``charset_files``,
``palettes``): compressed transfer syntaxes, big-endian and implicit VR, files without a preamble
or file meta, multi-frame images, RT dose/plan/structure sets, SEG, SR, DICOMDIRs, truncated and
damaged files, and a few non-DICOM companions (README, JSON, dumps, gzip). :func:`corpus_files`
lists them from the installed package; nothing is downloaded.

:func:`run_corpus` runs every file through the entry points of :data:`ENTRY_POINTS` and records an
:class:`Outcome`: ``loaded``, ``refused`` (a :class:`RadSurvError`, kept with its message),
``crashed`` (any other exception, or the worker process died) or ``hung`` (no answer within the
time limit: the worker is killed and a fresh one started). The worker is a fresh interpreter
("spawn": a fork of a process that has run ITK filters could deadlock), kept for all files.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pydicom.data
from pydicom.uid import UID

from survival_core.errors import RadSurvError
from survival_core.io.case_loader import load_case
from survival_core.io.dicom_series import (
    PIXEL_DATA_KEYWORDS,
    decode_pixels,
    read_dicom,
    read_series,
)
from survival_core.io.filetype import check_file_type
from survival_core.io.rtstruct import read_rtstruct
from survival_core.io.seg import read_seg
from survival_core.io.upload_case import describe_upload
from survival_core.io.uploads import store_upload
from survival_core.workers import die_with_parent

#: The folders of pydicom's package data that hold its test files.
CORPUS_FOLDERS = ("test_files", "charset_files", "palettes")
#: Seconds one entry point may take on one file before it counts as hung.
PER_FILE_SECONDS = 20.0
#: Seconds a fresh worker process may take to import RadSurv.
STARTUP_SECONDS = 120.0
STATUSES = ("loaded", "refused", "crashed", "hung")


def corpus_root() -> Path:
    """pydicom's installed data folder."""
    return Path(pydicom.data.__file__).parent


def corpus_files() -> list[Path]:
    """Every file pydicom ships in :data:`CORPUS_FOLDERS`, sorted."""
    root = corpus_root()
    return sorted(p for folder in CORPUS_FOLDERS for p in (root / folder).rglob("*") if p.is_file())


def pixel_syntax(path: Path) -> UID | None:
    """The transfer syntax RadSurv decodes the file's pixel data with (pydicom's guess when the
    file meta names none), or None when RadSurv does not read it as DICOM or it has no pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about the odd values of these files
            ds = read_dicom(path)
    except RadSurvError:
        return None
    if not any(k in ds for k in PIXEL_DATA_KEYWORDS):
        return None
    return UID(str(ds.file_meta.TransferSyntaxUID))


def _upload(name: str, content: bytes) -> str:
    """The Case page's path: store (de-identify) the upload, classify it, then read the case as
    load_upload does, without asking for structures."""
    contents = describe_upload(store_upload([(name, content)]))
    case = load_case(contents.source, require=())
    return f"{contents.kind}: {case.modality} {'x'.join(map(str, case.image.GetSize()))}"


def upload_file(path: Path) -> str:
    """The file uploaded on its own."""
    return _upload(path.name, path.read_bytes())


def upload_zip(path: Path) -> str:
    """The file uploaded inside a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"case/{path.name}", path.read_bytes())
    return _upload("case.zip", buffer.getvalue())


def series(path: Path) -> str:
    """The DICOM series reader on the file."""
    image, info = read_series(path)
    return f"{info.modality} {'x'.join(map(str, image.GetSize()))}"


def pixels(path: Path) -> str:
    """The series reader's pixel decoding on its own: many compressed files carry no slice
    geometry, so the reader refuses them before it decodes a pixel."""
    array = decode_pixels(read_dicom(path), str(path))
    return f"{array.dtype} {'x'.join(map(str, array.shape))}"


def rtstruct(path: Path) -> str:
    """The RTSTRUCT reader on the file."""
    return f"{len(read_rtstruct(path).rois)} ROIs"


def seg(path: Path) -> str:
    """The DICOM SEG reader on the file."""
    return f"{len(read_seg(path).segments)} segments"


def classifier(path: Path) -> str:
    """The upload classifier (what describe_upload checks every uploaded file with)."""
    return check_file_type(path).describe()


#: Entry point name -> what it does with one file (returns a short description when it loads).
ENTRY_POINTS: dict[str, Callable[[Path], str]] = {
    "series": series,
    "pixels": pixels,
    "upload_file": upload_file,
    "upload_zip": upload_zip,
    "rtstruct": rtstruct,
    "seg": seg,
    "classifier": classifier,
}


@dataclass(frozen=True)
class Outcome:
    """What one entry point did with one file (named relative to :func:`corpus_root`)."""

    entry: str
    file: str
    status: str
    message: str
    seconds: float


def _call(load: Callable[[Path], str], path: Path) -> tuple[str, str]:
    try:
        return "loaded", load(path)
    except RadSurvError as err:
        return "refused", f"{type(err).__name__}: {err}"
    except Exception as err:  # a crash: what the corpus is run to find
        tail = "".join(traceback.format_exception(err)[-3:])
        return "crashed", f"{type(err).__name__}: {err}\n{tail}"


def _serve(conn: Connection) -> None:
    """Worker loop: (entry point, path) in, (status, message) out, until the pipe closes."""
    die_with_parent()
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    conn.send("ready")  # imported: the time limit counts from here
    while True:
        try:
            load, path = conn.recv()
        except EOFError:
            return
        conn.send(_call(load, Path(path)))


class _Worker:
    """A worker process and the parent's end of its pipe."""

    def __init__(self) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child,), daemon=True
        )
        self.process.start()
        child.close()
        if not self.conn.poll(STARTUP_SECONDS) or self.conn.recv() != "ready":
            self.stop()
            raise RuntimeError(f"the corpus worker did not start within {STARTUP_SECONDS:g} s")

    def ask(self, load: Callable[[Path], str], path: Path, limit_s: float) -> tuple[str, str]:
        """(status, message) of one call; 'hung' past ``limit_s``, 'crashed' if the worker died."""
        self.conn.send((load, str(path)))
        try:
            if self.conn.poll(limit_s):
                return self.conn.recv()
        except EOFError:
            self.process.join()
            return "crashed", f"the worker process died (exit code {self.process.exitcode})"
        return "hung", f"no result within {limit_s:g} s"

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join()


def run_corpus(
    files: list[Path],
    entries: Mapping[str, Callable[[Path], str]] = ENTRY_POINTS,
    limit_s: float = PER_FILE_SECONDS,
) -> list[Outcome]:
    """Every file through every entry point, one call at a time in a worker process; the entry
    points are module-level functions (the worker imports them by name)."""
    root = corpus_root()
    outcomes = []
    worker = _Worker()
    try:
        for path in files:
            for entry, load in entries.items():
                start = time.perf_counter()
                status, message = worker.ask(load, path, limit_s)
                if status == "hung" or not worker.process.is_alive():
                    worker.stop()
                    worker = _Worker()
                name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
                outcomes.append(Outcome(entry, name, status, message, time.perf_counter() - start))
    finally:
        worker.stop()
    return outcomes


def counts(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Entry point -> {tried, loaded, refused, crashed, hung}."""
    table: dict[str, Counter] = {}
    for o in outcomes:
        table.setdefault(o.entry, Counter())[o.status] += 1
    return {
        entry: {"tried": sum(c.values()), **{s: c[s] for s in STATUSES}}
        for entry, c in table.items()
    }


def by_syntax(
    outcomes: list[Outcome], syntaxes: dict[str, UID | None], entry: str = "pixels"
) -> dict[str, Counter]:
    """'name (UID)' of each transfer syntax -> outcome counts of ``entry`` on its files
    (``syntaxes``: file name -> :func:`pixel_syntax`; files without one are left out)."""
    table: dict[str, Counter] = {}
    for o in outcomes:
        uid = syntaxes[o.file]
        if o.entry == entry and uid is not None:
            table.setdefault(f"{uid.name} ({uid})", Counter())[o.status] += 1
    return dict(sorted(table.items()))
