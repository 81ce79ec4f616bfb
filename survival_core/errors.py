"""The project's own exception types.

Every message is written for the person who supplied the input (a clinician or physicist): it names
the file, value or setting at fault and what was expected. The UI shows ``str(error)``; the log keeps
the traceback.
"""

import re
from collections.abc import Iterator
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


class PlacementConflict(GeometryError):
    """A mask lies whole voxels off its image, or mirrored, as read, but exactly on it by the other
    placement of a NIfTI header whose qform and sform disagree: which one is right only the user
    can say."""


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


#: A failed allocation as torch words it: its CPU allocator's "can't allocate memory", CUDA's
#: "CUDA out of memory" and "CUDA error: out of memory", MPS's "MPS backend out of memory".
_ALLOCATION_FAILED = re.compile(r"can't allocate memory|out of memory", re.IGNORECASE)
#: The memory that ran out was a GPU's (torch.OutOfMemoryError is raised for devices only).
_ON_GPU = re.compile(r"\b(CUDA|MPS|GPU|XPU)\b")
#: The allocation that failed: torch's CPU "allocate 308281344 bytes", CUDA's "allocate
#: 2.00 GiB", numpy's "Unable to allocate 1.2 GiB".
_ASKED = re.compile(r"allocate (\d+) bytes|allocate (\d+(?:\.\d+)?)\.? ([KMGT]i?B)\b")


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """``error`` and the errors it was raised from (each once)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is a full disk: SQLite's 'database or disk
    is full' reaches the run store's callers wrapped in SQLAlchemy's and MLflow's errors."""
    return any(
        "database or disk is full" in str(e) or getattr(e, "errno", None) == ENOSPC
        for e in _chain(error)
    )


def memory_refusal(error: BaseException) -> str | None:
    """What to say when ``error``, or one it was raised from, is a failed allocation
    (MemoryError, torch.OutOfMemoryError, a RuntimeError in torch's allocator's words): which
    memory ran out and how to ask for less; None for any other error. An image model's
    Integrated Gradients at 448 x 448 x 96 voxels ended the explain command with torch's
    80-line traceback."""
    for e in _chain(error):
        text = str(e)
        if isinstance(e, MemoryError) or (
            isinstance(e, RuntimeError) and _ALLOCATION_FAILED.search(text)
        ):
            on_gpu = type(e).__name__ == "OutOfMemoryError" or bool(_ON_GPU.search(text))
            return _memory_text(on_gpu, _ASKED.search(text))
    return None


def _memory_text(on_gpu: bool, asked: re.Match[str] | None) -> str:
    what = "the GPU's memory" if on_gpu else "the computer's memory (RAM)"
    if asked is None:
        more = ""
    else:
        size = f"{int(asked[1]) / 2**20:.0f} MiB" if asked[1] else f"{asked[2]} {asked[3]}"
        more = f" (a further {size} was asked for)"
    elsewhere = "a GPU with more memory" if on_gpu else "a machine with a GPU"
    return (
        f"Out of memory: {what} ran out{more}. Free memory (other programs, sessions or jobs) "
        "and run again. With an image model, ask for less: explain with Grad-CAM rather than "
        "Integrated Gradients, use a smaller volume_shape (or batch_size, to train one), or run "
        f"on {elsewhere}."  # said as an image model's: a GPU does not help a table's import
    )
