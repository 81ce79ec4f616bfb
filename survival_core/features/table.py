"""Feature tables on disk: Parquet, one row per case (index ``case_id``), one float column per
feature, with the extraction settings (canonical JSON) and their hash in the file's key-value
metadata so every table records exactly how it was made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from survival_core import __version__
from survival_core.errors import InputError
from survival_core.features.settings import ExtractionSettings, json_hash, reading_stamp
from survival_core.io.atomic import temp_sibling
from survival_core.io.tables import (
    COHORT_KEY,
    HASH_KEY,
    IMAGE_KEY,
    MODALITY_KEY,
    READING_KEY,
    SEQUENCES_KEY,
    SETTINGS_KEY,
)

VERSION_KEY = b"radsurv.version"
#: The voxel sizes of the cases a table was extracted from (size -> cases).
VOXEL_SIZES_KEY = b"radsurv.voxel_sizes"
INDEX_NAME = "case_id"


@dataclass(frozen=True)
class FeatureTable:
    """A feature table read back: the values and the settings that made them."""

    data: pd.DataFrame
    settings: ExtractionSettings

    @property
    def settings_hash(self) -> str:
        """Hash of the settings (see :meth:`ExtractionSettings.hash`)."""
        return self.settings.hash()


def write_table(data: pd.DataFrame, path: Path | str, metadata: dict[bytes, bytes]) -> Path:
    """Write ``data`` (index: case ids, float columns) to Parquet at ``path`` with ``metadata``
    (and the RadSurv version) in its footer.

    The file is written beside its destination and moved into place, so a reader never sees half a
    table."""
    path = Path(path)
    frame = data.astype("float64")
    frame.index = frame.index.astype(str).rename(INDEX_NAME)
    table = pa.Table.from_pandas(frame, preserve_index=True)
    footer = dict(table.schema.metadata or {})
    footer.update({**metadata, VERSION_KEY: __version__.encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = temp_sibling(path)  # its own per writer: two writing one table never mix
    try:
        pq.write_table(table.replace_schema_metadata(footer), partial)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_feature_table(
    data: pd.DataFrame,
    path: Path | str,
    settings: ExtractionSettings,
    modality: str | None = None,
    image: str | None = None,
    sequences: dict[str, int] | None = None,
    voxel_sizes: dict[str, int] | None = None,
    cohort: Path | None = None,
) -> Path:
    """Write radiomics ``data`` (index: case ids) to Parquet with ``settings``, the images'
    ``modality`` (when known), for features of each case's companion image its name (``image``:
    'PT', 'FLAIR'), the MR ``sequences`` of the cases (weighting -> cases), their
    ``voxel_sizes`` (size -> cases), the ``cohort`` folder they were extracted from (when one)
    and how their images were read (:func:`reading_stamp`: this version's way, which computed
    them) in its metadata."""
    metadata = {SETTINGS_KEY: settings.to_json().encode(), HASH_KEY: settings.hash().encode()}
    if modality:
        metadata[MODALITY_KEY] = modality.upper().encode()
    if image:
        metadata[IMAGE_KEY] = image.upper().encode()
    if sequences:
        metadata[SEQUENCES_KEY] = json.dumps(sequences, sort_keys=True).encode()
    if voxel_sizes:
        metadata[VOXEL_SIZES_KEY] = json.dumps(voxel_sizes).encode()
    if cohort is not None:
        metadata[COHORT_KEY] = str(Path(cohort).resolve()).encode()
    metadata[READING_KEY] = reading_stamp().encode()
    return write_table(data, path, metadata)


def _footer(path: Path | str) -> dict[bytes, bytes]:
    """A feature table's metadata; {} when it cannot be read (what reads the table says so)."""
    try:
        return pq.read_schema(path).metadata or {}
    except (OSError, ValueError, pa.ArrowException):
        return {}


def read_voxel_sizes(path: Path | str) -> dict[str, int]:
    """The voxel sizes a feature table's cases were extracted at (size -> cases, most frequent
    first; {} for a table written before they were kept)."""
    try:
        return json.loads(_footer(path).get(VOXEL_SIZES_KEY, b"{}"))
    except ValueError:
        return {}


def read_reading(path: Path | str) -> str | None:
    """How a feature table's images were read (:func:`reading_stamp`); None for a table written
    before it was kept."""
    said = _footer(path).get(READING_KEY)
    return None if said is None else said.decode()


def read_settings(path: Path | str) -> ExtractionSettings:
    """The extraction settings stored in a feature table (reads the footer only)."""
    path = Path(path)
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException) as err:
        raise InputError(f"{path} is not a readable Parquet feature table: {err}") from err
    if SETTINGS_KEY not in metadata:
        raise InputError(
            f"{path} has no extraction settings in its metadata; it was not written by RadSurv."
        )
    written = metadata[SETTINGS_KEY].decode()
    settings = ExtractionSettings.from_json(written)
    stored = metadata.get(HASH_KEY, b"").decode()
    if stored != json_hash(written):
        raise InputError(
            f"{path}: the settings hash in the metadata ({stored}) does not match its settings "
            f"({json_hash(written)}); the file was altered after writing."
        )
    return settings


def read_feature_table(path: Path | str) -> FeatureTable:
    """A feature table and its settings (InputError if it is not one of ours)."""
    settings = read_settings(path)
    data = pd.read_parquet(path)
    if data.index.name != INDEX_NAME:
        raise InputError(f"{path} is not indexed by {INDEX_NAME!r}; it was not written by RadSurv.")
    return FeatureTable(data, settings)
