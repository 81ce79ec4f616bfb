"""The project's own exception types.

Every message is written for the person who supplied the input (a clinician or physicist): it names
the file, value or setting at fault and what was expected. The UI shows ``str(error)``; the log keeps
the traceback.
"""


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


class ClinicalValueError(InputError):
    """A clinical value is missing, of the wrong type or outside its plausible range."""


class ValuesNeeded(ClinicalValueError):
    """A case a model cannot score until its clinical values are given (every input missing):
    what to do next rather than a failure, so the app says it as a note."""


class ArchiveError(InputError):
    """An uploaded archive is unsafe (path traversal, zip bomb) or unreadable."""


class ConfigError(RadSurvError):
    """A setting or command-line option is invalid."""
