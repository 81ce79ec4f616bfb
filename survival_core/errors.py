"""The project's own exception types.

Every message is written for the person who supplied the input (a clinician or physicist): it names
the file, value or setting at fault and what was expected. The UI shows ``str(error)``; the log keeps
the traceback.
"""

from errno import ENOSPC


class RadSurvError(Exception):
    """Base class: an expected failure whose message can be shown to a user as-is."""


class InputError(RadSurvError):
    """A file or value supplied by the user cannot be used."""


class DicomError(InputError):
    """A DICOM file or series is unreadable, incomplete or inconsistent."""


class RTStructError(InputError):
    """An RTSTRUCT cannot be converted to masks for the given image."""


class SegError(RTStructError):
    """A DICOM SEG cannot be read or converted to masks for the given image."""


class GeometryError(InputError):
    """Two volumes that must share a voxel grid do not."""


class MaskError(InputError):
    """A mask is empty, non-binary or otherwise unusable."""


class EmptyMaskError(MaskError):
    """A mask file marks no voxel: a structure never drawn (TotalSegmentator writes one for each
    organ outside the scan), left out of a case where no role names it."""


class ClinicalValueError(InputError):
    """A clinical value is missing, of the wrong type or outside its plausible range."""


class ValuesNeeded(ClinicalValueError):
    """A case a model cannot score until its clinical values are given (every input missing):
    what to do next rather than a failure, so the app says it as a note."""


class ArchiveError(InputError):
    """An uploaded archive is unsafe (path traversal, zip bomb) or unreadable."""


class ArchiveTooLarge(ArchiveError):
    """An archive refused for its size (files, bytes, the disk's free space), neither damaged
    nor unsafe: unpacking it, not downloading it again, is what to do."""


class ConfigError(RadSurvError):
    """A setting or command-line option is invalid."""


class StoreError(RadSurvError):
    """The run store (MLflow's tracking and registry) cannot be opened: a tracking server not
    reachable, a database damaged or held by another process."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is a full disk: SQLite's 'database or disk
    is full' reaches the run store's callers wrapped in SQLAlchemy's and MLflow's errors."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if "database or disk is full" in str(error) or getattr(error, "errno", None) == ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False
