"""Whether a DICOM image was compressed with loss, which texture radiomics read.

A transfer syntax may say it (JPEG baseline and extended always lose), the image may
(LossyImageCompression '01' lossy, '00' not), or, for the syntaxes that allow both, its codestream
does: JPEG 2000 (1.2.840.10008.1.2.4.91) and HTJ2K (.203) with the 9/7 irreversible wavelet lose
(the 5/3 reversible one loses only where the encoder cut the stream short, which the stream does not
show: such an image *may* have lost); JPEG-LS near-lossless (.81) loses where its NEAR is above 0.
"""

from __future__ import annotations

import enum
import struct

from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

#: Transfer syntaxes that always compress with loss.
LOSSY_SYNTAXES = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit})
#: Transfer syntaxes that allow loss or none: the image or its codestream says which.
_J2K_EITHER = frozenset({JPEG2000, HTJ2K})
_JPEG_LS_EITHER = frozenset({JPEGLSNearLossless})
#: JPEG 2000 markers: start of codestream and image size (they open the main header), coding
#: style default (its wavelet), start of tile (the main header's end).
_J2K_START, _J2K_COD, _J2K_TILE = b"\xff\x4f\xff\x51", 0xFF52, 0xFF90
#: Offset of the wavelet transformation byte in a COD segment from its marker (marker 2, length 2,
#: Scod 1, SGcod 4, levels, code-block width, height and style 1 each): 0 is 9/7 irreversible.
_COD_TRANSFORM = 13
_IRREVERSIBLE = 0
#: JPEG-LS start of scan marker; its NEAR byte follows the marker, length, component count and
#: two bytes per component.
_JPEG_LS_SCAN = b"\xff\xda"


class Loss(enum.Enum):
    """What an image says of its compression."""

    NONE = "none"  # uncompressed, lossless, or said to be
    LOSSY = "lossy"  # compressed with loss
    UNSAID = "unsaid"  # of a syntax that allows loss, neither it nor its codestream says


def image_loss(ds: Dataset) -> Loss:
    """How the image ``ds`` (read with its pixel data where its syntax allows loss and the image
    does not say, :func:`needs_pixels`) was compressed."""
    said = str(ds.get("LossyImageCompression", "")).strip()
    syntax = getattr(ds, "file_meta", Dataset()).get("TransferSyntaxUID")
    if said == "01" or syntax in LOSSY_SYNTAXES:
        return Loss.LOSSY
    if said == "00" or syntax not in _J2K_EITHER | _JPEG_LS_EITHER:
        return Loss.NONE
    stream = _first_frame(ds)
    read = _j2k_lossy(stream) if syntax in _J2K_EITHER else _jpeg_ls_lossy(stream)
    return Loss.UNSAID if read is None else Loss.LOSSY if read else Loss.NONE


def needs_pixels(header: Dataset) -> bool:
    """Whether :func:`image_loss` of ``header`` reads its codestream (a header read without its
    pixel data then says :attr:`Loss.UNSAID`)."""
    said = str(header.get("LossyImageCompression", "")).strip()
    syntax = getattr(header, "file_meta", Dataset()).get("TransferSyntaxUID")
    return said not in ("00", "01") and syntax in _J2K_EITHER | _JPEG_LS_EITHER


def _first_frame(ds: Dataset) -> bytes:
    """The first frame's codestream of an encapsulated image, b'' where there is none to read."""
    pixels = ds.get("PixelData")
    if not isinstance(pixels, bytes):
        return b""
    try:
        return get_frame(pixels, 0, number_of_frames=int(ds.get("NumberOfFrames") or 1) or 1)
    except (ValueError, KeyError, struct.error, IndexError):  # damaged: the decoder says so
        return b""


def _j2k_lossy(stream: bytes) -> bool | None:
    """True for a JPEG 2000 codestream of the 9/7 irreversible wavelet (lossy), None for the
    5/3 reversible one (lossless unless cut short) or a main header not read."""
    at = stream.find(_J2K_START)
    if at < 0:
        return None
    at += 2  # past the start of codestream, to the first marker segment
    while at + 4 <= len(stream):
        marker, length = struct.unpack(">HH", stream[at : at + 4])
        if marker == _J2K_TILE or marker >> 8 != 0xFF:
            return None
        if marker == _J2K_COD and at + _COD_TRANSFORM < len(stream):
            return True if stream[at + _COD_TRANSFORM] == _IRREVERSIBLE else None
        at += 2 + length
    return None


def _jpeg_ls_lossy(stream: bytes) -> bool | None:
    """Whether a JPEG-LS codestream's first scan allows an error (NEAR above 0); None where its
    scan header is not read."""
    at = stream.find(_JPEG_LS_SCAN)
    if at < 0 or at + 5 > len(stream):
        return None
    near = at + 5 + 2 * stream[at + 4]
    return stream[near] > 0 if near < len(stream) else None
