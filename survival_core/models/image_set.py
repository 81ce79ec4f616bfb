"""CT volumes by case id: the image input of the image models, next to their table rows.

An image model's table rows are indexed by ``case_id``; an :class:`ImageSet` turns those ids into
network inputs (:func:`~survival_core.models.image_data.network_input`: organ-cropped, resized,
windowed) for a :class:`VolumeSpec`. Cases come from case folders (a cohort) or from loaded
:class:`~survival_core.case.Case` objects (an upload being scored).

Volumes of case folders are computed once per (folder content, spec) and cached as float16 ``.npy``
files under ``<data>/cache/volumes/<spec key>/<content hash>.npy`` (a [0, 1] window loses < 5e-4 to
float16), so cross-validation folds and later runs read them instead of reloading DICOM. What
loading each case warned of (a label 2 taken as the GTV...) is kept beside its volume, in
``<content hash>.warnings.json``, so that a run reading cached volumes reports it as the first did.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from survival_core.case import Case
from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.io.atomic import write_json
from survival_core.io.case_loader import load_case_read
from survival_core.io.manifest import CaseRead
from survival_core.io.orientation import ORIENTATION
from survival_core.models.image_data import GTV_MARGIN_MM, _check_size, network_input
from survival_core.paths import data_subdir
from survival_core.preprocess.window import get_window
from survival_core.text import first_few

#: What ends the name of the load warnings kept beside a cached volume (``<key>.npy``).
WARNINGS_SUFFIX = ".warnings.json"

#: Fewer volumes than this are prepared in this process.
SERIAL_BELOW = 8


@dataclass(frozen=True)
class VolumeSpec:
    """How a case becomes a network input: size (x, y, z) voxels, CT window, margin (mm) around the
    organ, and around the GTV for cases without an organ (see
    :func:`~survival_core.models.image_data.network_input`)."""

    shape: tuple[int, int, int] = (224, 224, 48)
    window: str = "arterial"
    margin_mm: float = 10.0
    gtv_margin_mm: float = GTV_MARGIN_MM

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _check_size(self.shape, "Volume shape"))
        get_window(self.window)  # a misspelt window refused now, not case by case in a run
        for name in ("margin_mm", "gtv_margin_mm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int | float) and value >= 0):
                raise ConfigError(f"{name} must be a number >= 0; got {value!r}.")

    @property
    def key(self) -> str:
        """Short hash naming this spec's cache folder (the default GTV margin left out, so caches
        of earlier versions keep their names; the LPS storage order of loaded cases in, so volumes
        cached before it, in the file's order, are not reused; nor those cached before a scan
        too small for the network was refused)."""
        data = asdict(self)
        if data["gtv_margin_mm"] == GTV_MARGIN_MM:
            del data["gtv_margin_mm"]
        data["orientation"] = ORIENTATION
        data["extent_checked"] = True  # volumes cached before scans too small were refused
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def input(self, case: Case) -> tuple[np.ndarray, sitk.Image]:
        """The network input ``(1, z, y, x)`` of ``case`` and the grid it lies on."""
        return network_input(
            case, self.shape, self.window, self.margin_mm, gtv_margin_mm=self.gtv_margin_mm
        )


@dataclass
class ImageRows:
    """Preprocessed table rows of an image model with the case id of each row."""

    tabular: np.ndarray
    case_ids: list[str]

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, table columns), as for a plain model matrix."""
        return self.tabular.shape

    def __getitem__(self, rows: np.ndarray) -> ImageRows:
        rows = np.asarray(rows)
        return ImageRows(self.tabular[rows], [self.case_ids[i] for i in rows.tolist()])


def _volume_of_case(read: CaseRead, spec: VolumeSpec) -> tuple[np.ndarray, list[str]]:
    """The network input of a cohort's case, read as its manifest row says: its own files, where
    every patient's lie in one images/ and masks/ folder (that folder was read as a DICOM case);
    with what loading it warned of (:attr:`Case.warnings`), which the volume may rest on."""
    case = load_case_read(read)
    _check_ct({case.case_id: case.modality})
    return spec.input(case)[0], list(case.warnings)


def volume_warnings_path(volume: Path) -> Path:
    """Where the load warnings of the case of cached ``volume`` are kept: beside it."""
    return volume.with_name(volume.name.removesuffix(".npy") + WARNINGS_SUFFIX)


def _check_ct(modalities: Mapping[str, str | None]) -> None:
    """Refuse training an image model on cases (case id -> modality) that are not CT: the
    networks read CT through an HU window, and scoring refuses any other modality, so an MR
    cohort must not train one."""
    not_ct = [c for c, modality in modalities.items() if modality != "CT"]
    if not_ct:
        shown = first_few(not_ct, 5)
        raise InputError(
            f"Image models read CT through an HU window; {len(not_ct)} case(s) are "
            f"{modalities[not_ct[0]] or 'not CT'} ({shown}). Train a radiomics model for this "
            "modality instead."
        )


def _failure_text(case_id: str, error: BaseException) -> str:
    """'Case X: why' of a case whose volume cannot be made (the case named once: the loader's
    messages often name it already)."""
    said = str(error) if isinstance(error, RadSurvError) else f"cannot read its CT ({error})"
    return said if said.startswith(f"Case {case_id} ") else f"Case {case_id}: {said}"


def _is_cached(volume: Path) -> bool:
    """Whether ``volume`` and its load warnings are both cached."""
    return volume.exists() and volume_warnings_path(volume).exists()


def _cache_volume(task: tuple[CaseRead, Path, VolumeSpec]) -> Path:
    """Compute one case's volume into ``path`` and its load warnings beside it (each atomically);
    picklable for worker processes. A volume cached without its warnings (before they were
    kept) is computed again, not taken as loaded without any."""
    read, path, spec = task
    if not _is_cached(path):
        volume, warnings = _volume_of_case(read, spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(volume_warnings_path(path), warnings)
        volume = volume.astype(np.float16)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.part")
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, volume, allow_pickle=False)
        os.replace(tmp, path)
    return path


def _cached_or_error(task: tuple[CaseRead, Path, VolumeSpec]) -> Path | Exception:
    """:func:`_cache_volume`, or the error that stopped it, so that every case that cannot be
    read is named (in this process too, where the first one stopped the others)."""
    try:
        return _cache_volume(task)
    except Exception as error:  # noqa: BLE001 - reported per case by the caller
        return error


@dataclass
class ImageSet:
    """Case id -> CT volume, from a cohort's cases (as its manifest reads them) and/or loaded
    cases."""

    reads: dict[str, CaseRead] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)

    @classmethod
    def from_cohort(cls, cohort: Path | str, prefix: str = "") -> ImageSet:
        """Every case of a cohort folder (its manifest), case ids prefixed by ``prefix``."""
        from survival_core.io.manifest import cases_read_as

        return cls(reads={prefix + read.case_id: read for read in cases_read_as(Path(cohort))})

    @property
    def modalities(self) -> dict[str, str]:
        """A cohort's modality per case id, as its manifest says (volume files carry none)."""
        return {c: read.modality for c, read in self.reads.items() if read.modality}

    @classmethod
    def from_cases(cls, cases: Iterable[Case]) -> ImageSet:
        """Loaded cases (e.g. an upload), keyed by their case id."""
        return cls(cases={case.case_id: case for case in cases})

    def restricted(self, case_ids: Iterable[str]) -> ImageSet:
        """The cohort's cases among ``case_ids``."""
        return ImageSet(reads={c: self.reads[c] for c in case_ids if c in self.reads})

    @property
    def case_ids(self) -> list[str]:
        return list(dict.fromkeys([*self.reads, *self.cases]))

    def __contains__(self, case_id: object) -> bool:
        return case_id in self.reads or case_id in self.cases

    def check(self, case_ids: Sequence[str]) -> None:
        """Refuse rows whose case has no image, naming them."""
        missing = [c for c in case_ids if c not in self]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise InputError(
                f"No CT for {len(missing)} case(s) of the table: {shown}. Image models need the "
                "cohort folder holding every case of the table (--cohort)."
            )
        _check_ct({c: self.modalities.get(c, "CT") for c in case_ids})

    def _cache_path(self, case_id: str, spec: VolumeSpec) -> Path:
        """Keyed by the case's own files and how they are read (:meth:`CaseRead.key`): every
        case of a shared folder had that folder's key, one volume for all."""
        root = data_subdir("cache") / "volumes" / spec.key
        return root / f"{self.reads[case_id].key()}.npy"

    def prepare(
        self,
        case_ids: Sequence[str],
        spec: VolumeSpec,
        workers: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Fill the volume cache for the cohort's cases among ``case_ids`` (in worker
        processes)."""
        from survival_core.engine import make_mapper

        self.check(case_ids)
        tasks = []
        for case_id in dict.fromkeys(case_ids):
            if case_id in self.reads:
                path = self._cache_path(case_id, spec)
                if not _is_cached(path):
                    tasks.append((self.reads[case_id], path, spec))
        if not tasks:
            return
        if progress:
            progress(f"preparing {len(tasks)} CT volume(s) at {spec.shape} voxels")
        # worker processes take seconds to start: worth it only for more than a few cases
        mapper = make_mapper(workers if len(tasks) >= SERIAL_BELOW else 1, len(tasks))
        failed = [
            (read.case_id, outcome)
            for (read, _, _), outcome in mapper.map_unordered(_cached_or_error, tasks)
            if isinstance(outcome, BaseException)
        ]
        if failed:  # every case that cannot be read, not only the first
            raise InputError(
                f"{len(failed)} case(s) cannot be read: "
                + "; ".join(_failure_text(*item) for item in sorted(failed, key=lambda f: f[0]))
            ) from failed[0][1]

    def volume(self, case_id: str, spec: VolumeSpec) -> np.ndarray:
        """The float32 ``(1, z, y, x)`` network input of one case."""
        self.check([case_id])
        if case_id in self.cases:
            case = self.cases[case_id]
            return spec.input(case)[0]
        path = _cache_volume((self.reads[case_id], self._cache_path(case_id, spec), spec))
        try:
            return np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as err:
            path.unlink(missing_ok=True)  # a damaged cache entry is rebuilt on the next call
            raise InputError(f"Cached volume of case {case_id} was unreadable; retry.") from err

    def load_warnings(self, case_ids: Sequence[str], spec: VolumeSpec) -> pd.DataFrame:
        """What loading each of ``case_ids`` warned of (case_id, warning: one row per warning,
        as :data:`~survival_core.io.load_warnings.WARNING_COLUMNS`): the cases whose volumes
        may rest on a guess (a label 2 taken as the GTV...). A cohort's case is read from beside
        its cached volume (cached first where it is not)."""
        from survival_core.io.load_warnings import WARNING_COLUMNS

        self.check(case_ids)
        rows = []
        for case_id in dict.fromkeys(case_ids):
            if case_id in self.cases:
                warnings = list(self.cases[case_id].warnings)
            else:
                path = _cache_volume((self.reads[case_id], self._cache_path(case_id, spec), spec))
                warnings = self._cached_warnings(case_id, volume_warnings_path(path))
            rows += [(case_id, warning) for warning in warnings]
        return pd.DataFrame(rows, columns=list(WARNING_COLUMNS))

    @staticmethod
    def _cached_warnings(case_id: str, path: Path) -> list[str]:
        """The load warnings kept at ``path``; a damaged file is deleted (the case is read
        again next time) and refused, as a damaged volume is."""
        try:
            warnings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            path.unlink(missing_ok=True)
            raise InputError(
                f"Cached load warnings of case {case_id} were unreadable; retry."
            ) from err
        return [str(warning) for warning in warnings]

    def volumes(self, case_ids: Sequence[str], spec: VolumeSpec) -> np.ndarray:
        """Float32 ``(n, 1, z, y, x)`` inputs of ``case_ids``, in order."""
        self.check(case_ids)
        self.prepare(case_ids, spec)
        return np.stack([self.volume(c, spec) for c in case_ids])
