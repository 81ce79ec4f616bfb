"""NIfTI, NRRD and MetaImage volumes and masks.

The format is recognised from the file's first bytes (NIfTI-1/2, gzip-compressed NIfTI, NRRD,
MetaImage header) and must agree with the extension, which the readers rely on. A NIfTI file must
hold all the voxel bytes its header announces: the reader would silently fill a truncated upload
with zeros. A 2D image becomes a
one-slice 3D volume (of 1 mm at z = 0, or of the slice of a one-slice 3D mask drawn on it:
:func:`on_mask_slice`); a 4D file is accepted only when it holds a single volume.

Geometry tolerances (:func:`check_same_geometry`): sizes must be equal; spacings may differ by
``SPACING_RTOL`` (0.1 %); origins by ``ORIGIN_TOL_VOXELS`` (5 %) of the smallest voxel spacing along
each axis; direction cosines by ``DIRECTION_ATOL`` (1e-3, about 0.06 degree). These absorb float32 storage
of NIfTI headers and rounding by exporters, not real misregistration. A mask within tolerance is put
exactly on the image's grid. A mask whose voxels lie on the image's voxels but whose grid is
cropped to the structure (3D Slicer's default), padded, or stores the axes in another order or
direction (:func:`lattice_map`) is placed voxel for voxel onto the image's grid
(:func:`on_image_grid`); its voxels outside the image are refused, never dropped.
"""

from __future__ import annotations

import gzip
import math
import struct
import warnings
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from survival_core.errors import (
    EmptyMaskError,
    GeometryError,
    InputError,
    MaskError,
    PlacementConflict,
)
from survival_core.io.filetype import read_head, sniff_file

SPACING_RTOL = 1e-3
ORIGIN_TOL_VOXELS = 0.05
DIRECTION_ATOL = 1e-3
#: Most voxels a volume may hold (2 GiB as float32; a 512 x 512 CT of 2048 slices).
MAX_VOXELS = 512 * 512 * 2048
#: Most bytes a volume may hold uncompressed, read from its header before any voxel (the voxel
#: limit as float32): a gzip NRRD of a few MB announcing 512 x 512 x 2048 doubles (4 GiB) passed
#: the voxel limit and was read (4.9 GB of memory already for 1024 slices, at this limit).
MAX_VOLUME_BYTES = 2 * 1024**3

#: Extensions per format, as the SimpleITK readers expect them.
FORMATS = {
    "NIfTI": (".nii", ".nii.gz"),
    "NRRD": (".nrrd", ".nhdr"),
    "MetaImage": (".mha", ".mhd"),
}
VOLUME_SUFFIXES = tuple(s for suffixes in FORMATS.values() for s in suffixes)
_FORMAT_OF_KIND = {"nifti": "NIfTI", "nrrd": "NRRD", "metaimage": "MetaImage"}


def is_volume_file(path: Path | str) -> bool:
    """Whether the file name has a volume extension (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd)."""
    return str(path).lower().endswith(VOLUME_SUFFIXES)


def volume_stem(path: Path | str) -> str:
    """The file name without its volume extension ('liver.nii.gz' -> 'liver')."""
    name = Path(path).name
    for suffix in sorted(VOLUME_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def detect_format(path: Path) -> str | None:
    """'NIfTI', 'NRRD' or 'MetaImage' from the file's content, or None."""
    return _FORMAT_OF_KIND.get(sniff_file(path).kind)


@dataclass(frozen=True)
class _NiftiHeader:
    """The fields of a NIfTI-1/2 header that place and size its voxels."""

    order: str  # '<' little or '>' big endian
    dims: tuple[int, ...]
    datatype: int
    bitpix: int
    pixdim: tuple[float, ...]
    offset: float
    qform_code: int
    sform_code: int
    quatern: tuple[float, float, float]
    qoffset: tuple[float, float, float]
    srow: tuple[tuple[float, ...], ...]

    @property
    def n_voxels(self) -> int:
        n_dims = min(max(int(self.dims[0]), 1), 7)
        return math.prod(max(int(d), 1) for d in self.dims[1 : n_dims + 1])

    @property
    def voxel_bytes(self) -> int:
        """Bytes of the voxel data that follow the header's offset."""
        return self.n_voxels * self.bitpix // 8

    @property
    def float_dtype(self) -> np.dtype | None:
        """The stored float type (NIfTI datatype 16 or 64), else None."""
        kind = {16: "f4", 64: "f8"}.get(self.datatype)
        return np.dtype(self.order + kind) if kind else None


#: (header size, struct formats and offsets) of NIfTI-1 (348 bytes, float32) and NIfTI-2 (540,
#: float64) headers: dims, datatype, bitpix, pixdim, vox_offset, qform/sform codes, quatern_bcd,
#: qoffset_xyz, srow_xyz.
_NIFTI_LAYOUTS = (
    (348, {"dims": ("8h", 40), "datatype": ("h", 70), "bitpix": ("h", 72), "pixdim": ("8f", 76),
           "offset": ("f", 108), "codes": ("2h", 252), "quatern": ("3f", 256),
           "qoffset": ("3f", 268), "srow": ("12f", 280)}),
    (540, {"dims": ("8q", 16), "datatype": ("h", 12), "bitpix": ("h", 14), "pixdim": ("8d", 104),
           "offset": ("q", 168), "codes": ("2i", 344), "quatern": ("3d", 352),
           "qoffset": ("3d", 376), "srow": ("12d", 400)}),
)  # fmt: skip


def _nifti_header(head: bytes) -> _NiftiHeader | None:
    """The header of a single-file NIfTI-1/2 (its first bytes, decompressed), else None."""
    for order in "<>":
        for size, layout in _NIFTI_LAYOUTS:
            if len(head) < size or struct.unpack(order + "i", head[:4])[0] != size:
                continue
            field = {
                name: struct.unpack_from(order + fmt, head, at)
                for name, (fmt, at) in layout.items()
            }
            srow = field["srow"]
            return _NiftiHeader(
                order=order,
                dims=field["dims"],
                datatype=field["datatype"][0],
                bitpix=field["bitpix"][0],
                pixdim=field["pixdim"],
                offset=field["offset"][0],
                qform_code=field["codes"][0],
                sform_code=field["codes"][1],
                quatern=field["quatern"],
                qoffset=field["qoffset"],
                srow=(srow[0:4], srow[4:8], srow[8:12]),
            )
    return None


def _nifti_expected_bytes(header: _NiftiHeader, path: Path) -> int:
    """Bytes a single-file NIfTI-1/2 must hold: voxel offset + voxels x bytes per voxel.

    Refuses (:class:`InputError`) a header whose voxel offset, or voxel size along an axis of more
    than one voxel, is not a finite non-zero number: SimpleITK would silently put 1 mm in its place.
    """
    offset = header.offset
    if not math.isfinite(offset) or offset < 0:
        raise InputError(f"{path} has an invalid voxel offset ({offset}); the header is damaged.")
    n_dims = min(max(int(header.dims[0]), 1), 7)
    sizes = [header.pixdim[i] for i in range(1, min(n_dims, 3) + 1) if header.dims[i] > 1]
    if not all(math.isfinite(v) and v != 0 for v in sizes):
        raise InputError(
            f"{path} has an invalid voxel size {list(sizes)} mm (pixdim); the header is damaged."
        )
    return int(offset) + header.voxel_bytes


#: Bytes read at a time when checking a NIfTI file.
_CHUNK_BYTES = 1 << 22


def _scan_nifti(path: Path, values: bool) -> np.ndarray | None:
    """Check a NIfTI file holds every voxel byte its header announces; with ``values``, also
    which of its float voxels are not finite (a flag per voxel in stored order, x fastest; None
    when all are): SimpleITK reads NaN and inf as 0, so a voxel without a value would silently
    be 0 HU."""
    head, compressed = read_head(path)
    header = _nifti_header(head)
    if header is None:
        return None
    expected = _nifti_expected_bytes(header, path)
    dtype = header.float_dtype if values else None
    start = int(header.offset)
    stop = start + header.voxel_bytes
    stored, missing, carry = 0, None, b""
    try:
        if not compressed and dtype is None:  # nothing to look at: its size says enough
            stored = path.stat().st_size
        else:
            with gzip.open(path, "rb") if compressed else open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK_BYTES):
                    if dtype is not None:  # this chunk's voxel bytes, whole voxels at a time
                        data = carry + chunk[max(start - stored, 0) : max(stop - stored, 0)]
                        usable = len(data) - len(data) % dtype.itemsize
                        first = (max(stored, start) - start - len(carry)) // dtype.itemsize
                        bad = np.flatnonzero(~np.isfinite(np.frombuffer(data[:usable], dtype)))
                        if bad.size:
                            if missing is None:
                                missing = np.zeros(header.n_voxels, dtype=bool)
                            missing[first + bad] = True
                        carry = data[usable:]
                    stored += len(chunk)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(f"{path} is damaged or truncated ({err}); upload it again.") from err
    if stored < expected:
        raise InputError(
            f"{path} is truncated: it holds {stored} bytes where its header announces {expected}; "
            "upload it again."
        )
    return missing


def _refuse_bytes(path: Path, reader: sitk.ImageFileReader, n_voxels: int) -> None:
    """InputError when the volume a header announces (``reader`` after ReadImageInformation)
    holds more than :data:`MAX_VOLUME_BYTES` uncompressed."""
    pixel = sitk.Image(
        [1] * reader.GetDimension(), reader.GetPixelID(), reader.GetNumberOfComponents()
    )
    n_bytes = n_voxels * reader.GetNumberOfComponents() * pixel.GetSizeOfPixelComponent()
    if n_bytes > MAX_VOLUME_BYTES:
        raise InputError(
            f"{path} announces {'x'.join(map(str, reader.GetSize()))} voxels of "
            f"{pixel.GetPixelIDTypeAsString()}: {n_bytes:,} bytes uncompressed, over the "
            f"{MAX_VOLUME_BYTES:,} (2 GiB) accepted. Save it with fewer bytes per voxel (a CT as "
            "16-bit integers) or crop it."
        )


def _read_image(path: Path | str, layers: bool = False, keep_missing: bool = False) -> sitk.Image:
    """Read a volume in its stored pixel type as 3D (with ``layers``, several values per voxel
    allowed; with ``keep_missing``, a NIfTI's non-finite voxels stay NaN, as other formats keep
    them, where its reader makes them 0); :class:`InputError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file.")
    found = detect_format(path)
    if found is None:
        raise InputError(f"{path} is not a NIfTI, NRRD or MetaImage volume (unrecognised content).")
    if not path.name.lower().endswith(FORMATS[found]):
        raise InputError(
            f"{path} contains a {found} volume but its name does not end with "
            f"{' or '.join(FORMATS[found])}; rename it."
        )
    header = _nifti_size(path) if found == "NIfTI" else None
    if found == "NIfTI":
        if header == _NIFTI2_BYTES:
            raise InputError(
                f"{path} is a NIfTI-2 file (540-byte header, as nibabel's Nifti2Image writes), "
                "which cannot be read here. Save it as NIfTI-1 (nibabel: nib.save(nib.Nifti1Image("
                "np.asanyarray(img.dataobj), img.affine), 'image.nii.gz'); FSL: fslchfiletype "
                "NIFTI_GZ; c3d: c3d in.nii.gz -o out.nii.gz) and give that file."
            )
        if path.name.lower().endswith(".nii") and read_head(path, 2)[1]:
            raise InputError(
                f"{path} is a gzip-compressed NIfTI volume named .nii; rename it to .nii.gz."
            )
        missing = _scan_nifti(path, values=keep_missing)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
        n_voxels = int(np.prod(reader.GetSize(), dtype=np.float64))
        if n_voxels > MAX_VOXELS:
            raise InputError(
                f"{path} announces {'x'.join(map(str, reader.GetSize()))} voxels; at most "
                f"{MAX_VOXELS} are accepted."
            )
        _refuse_bytes(path, reader, n_voxels)
        _refuse_series(path, reader.GetSize())  # before reading all its volumes
        image = reader.Execute()
    except RuntimeError as err:
        if "orthonormal" in str(err):  # ITK's 'only supports orthonormal direction cosines'
            raise InputError(
                f"{path}: its header places the voxels along axes that are not perpendicular "
                "(a sheared or skewed affine, as registration tools write), which is no scan's "
                "grid. Resample it onto a regular grid (3D Slicer: harden the transform, then "
                "save) and give that file."
            ) from err
        raise InputError(
            f"{path} cannot be read as a {found} volume: {str(err).strip().splitlines()[-1]}"
        ) from err
    geometry = (*image.GetSpacing(), *image.GetOrigin(), *image.GetDirection())
    if not np.all(np.isfinite(geometry)) or min(image.GetSpacing()) <= 0:
        raise InputError(
            f"{path} has an invalid voxel geometry (spacing {image.GetSpacing()} mm, origin "
            f"{image.GetOrigin()} mm); the header is damaged."
        )
    if image.GetNumberOfComponentsPerPixel() != 1 and not layers:
        raise InputError(
            f"{path} has {image.GetNumberOfComponentsPerPixel()} values per voxel; expected one (grey levels)."
        )
    dim = image.GetDimension()
    if dim == 4:
        size = image.GetSize()
        image = sitk.Extract(image, (*size[:3], 0), (0, 0, 0, 0))
    elif dim == 2:
        image = sitk.JoinSeries([image])
    elif dim != 3:
        raise InputError(f"{path} has {dim} dimensions; expected a 3D volume.")
    if header == _NIFTI1_BYTES:
        image.SetSpacing([_header_decimal(v) for v in image.GetSpacing()])
        image.SetOrigin([_header_decimal(v) for v in image.GetOrigin()])
    if found == "NIfTI" and missing is not None:
        image = sitk.Cast(image, sitk.sitkFloat32)
        values = sitk.GetArrayFromImage(image)
        values.reshape(-1)[missing[: values.size]] = np.nan
        restored = sitk.GetImageFromArray(values)
        restored.CopyInformation(image)
        image = restored
    return image


#: Header size (sizeof_hdr) of NIfTI-1, whose spacing and origin are float32, and of NIfTI-2,
#: which SimpleITK cannot read.
_NIFTI1_BYTES, _NIFTI2_BYTES = 348, 540
#: A header number that is a whole number of 1/1024 mm is held exactly (a DICOM origin of
#: 1/256 mm steps, -249.51171875; a spacing of 500/512 mm, 0.9765625): kept as it is.
_EXACT_STEPS = 1024


def _nifti_size(path: Path) -> int | None:
    """A single-file NIfTI's sizeof_hdr (348: NIfTI-1, 540: NIfTI-2), in either byte order."""
    head = read_head(path, 4)[0]
    if len(head) < 4:
        return None
    sizes = {struct.unpack(order + "i", head)[0] for order in "<>"}
    return next((n for n in (_NIFTI1_BYTES, _NIFTI2_BYTES) if n in sizes), None)


def _header_decimal(value: float) -> float:
    """A NIfTI-1 header number (float32) as the decimal it was rounded from: 0.9765620231628418
    -> 0.976562, 3.2699999809 -> 3.27, as the DICOM series states them. Resampling to 1 mm is
    sensitive to that 1e-8 relative change (a NIfTI copy of a series got other features than the
    series: 64 of the sarcoma CT's 107 'full' ones); a number float32 holds exactly, a whole
    number of :data:`_EXACT_STEPS` ths, is kept (-249.51171875 read -249.51172)."""
    if float(value * _EXACT_STEPS).is_integer():
        return value
    return float(np.format_float_positional(np.float32(value)))


def _refuse_series(path: Path | str, size: Sequence[int]) -> None:
    """InputError for a 4-D file of several volumes (a dynamic or multi-echo MR), said from its
    header: read whole first, a 40-volume MR took 1 GB only to be refused."""
    if len(size) == 4 and size[3] != 1:
        raise InputError(f"{path} is a 4D series of {size[3]} volumes; give a single 3D volume.")


def read_volume(path: Path | str) -> sitk.Image:
    """Read a 3D image volume (NIfTI, NRRD or MetaImage) as float32, keeping its geometry."""
    return sitk.Cast(_read_image(path, keep_missing=True), sitk.sitkFloat32)


#: How far (mm) a NIfTI header's two placements (qform, sform) may differ and still agree.
QFORM_SFORM_TOLERANCE_MM = 0.01


def nifti_placement_warning(path: Path | str) -> str | None:
    """A warning when a NIfTI file's header places its voxels twice, differently: its qform and
    sform (both set) disagree. ITK and nibabel read the sform, but ITK the qform when the sform
    is not a rotation with spacing (sheared: a registration tool's affine), which the warning
    then says; either way a header that contradicts itself was edited or written by a buggy
    tool: a mask 3 voxels off its image passed unnoticed. A header placing it nowhere (both
    codes 0: origin 0, axes as stored) is said too. None for other files and agreeing headers."""
    header = _placement_header(path)
    if header is not None and header.qform_code <= 0 and header.sform_code <= 0:
        return (
            f"{Path(path).name}: its header does not place the volume (qform_code and "
            "sform_code 0), so it was read at origin (0, 0, 0) with its axes as stored: it "
            "lines up only with files placed alike. Check the tool that wrote it."
        )
    two = _two_placements(path, header)
    if two is None:
        return None
    said = f"{Path(path).name}: its header places the volume twice, up to {two.apart:.2f} mm apart"
    if two.read_name == "qform":
        return (
            f"{said} (qform and sform disagree), and its sform is not a rotation with spacing "
            "(sheared or skewed axes), so the qform was used, as ITK reads it; nibabel and 3D "
            "Slicer place the volume by the sform. Check the file: it was edited, or written "
            "by a registration tool."
        )
    return (
        f"{said} (qform and sform disagree); the sform was used, as ITK and nibabel use it. "
        "Check the file: it was edited or written by a tool that updated one placement only."
    )


def _placement_header(path: Path | str) -> _NiftiHeader | None:
    """The header of a file named as a single-file NIfTI, else None (another format, unreadable)."""
    if not str(path).lower().endswith((".nii", ".nii.gz")):
        return None
    try:
        return _nifti_header(read_head(path)[0])
    except OSError:
        return None


@dataclass(frozen=True)
class _Placements:
    """How a NIfTI header's two placements of its voxels that disagree were read: which one ITK
    read (``read_name``: 'sform' or 'qform'), the other as a 3 x 4 voxel-to-RAS affine."""

    other: np.ndarray
    read_name: str
    apart: float  # mm, at the corner where they lie farthest apart

    @property
    def other_name(self) -> str:
        return "qform" if self.read_name == "sform" else "sform"


#: :func:`_two_placements`' ``grid`` when its caller has not read it (None is an unreadable one).
_UNREAD = object()


def _two_placements(
    path: Path | str,
    header: _NiftiHeader | None,
    grid: tuple[np.ndarray, np.ndarray] | None | object = _UNREAD,
) -> _Placements | None:
    """The two placements of ``path``'s NIfTI ``header`` when its qform and sform are both set
    and disagree by more than :data:`QFORM_SFORM_TOLERANCE_MM`; else None. ``grid``: its
    :func:`_itk_grid` where the caller has read it already, else read here when needed."""
    if header is None or header.qform_code <= 0 or header.sform_code <= 0:
        return None
    last = [max(int(n), 1) - 1 for n in header.dims[1:4]]
    corners = np.array([[*corner, 1] for corner in product(*((0, n) for n in last))], float).T
    qform, sform = _qform(header), np.array(header.srow)
    apart = float(np.abs((qform - sform) @ corners).max())
    if apart <= QFORM_SFORM_TOLERANCE_MM:
        return None
    if grid is _UNREAD:
        grid = _itk_grid(path)
    if grid is not None and np.abs((grid[0] - sform) @ corners).max() > QFORM_SFORM_TOLERANCE_MM:
        return _Placements(other=sform, read_name="qform", apart=apart)
    return _Placements(other=qform, read_name="sform", apart=apart)


def _qform(header: _NiftiHeader) -> np.ndarray:
    """The 3 x 4 voxel-to-RAS affine of a NIfTI header's quaternion placement, as the NIfTI
    reference code builds it: ``a`` is 0 when b, c, d alone are a unit quaternion up to float32
    rounding (a coronal volume's), where the square root of the rounding put it 0.1 mm off."""
    b, c, d = (float(v) for v in header.quatern)
    rest = 1.0 - (b * b + c * c + d * d)
    if rest < 1e-7:
        norm = np.sqrt(b * b + c * c + d * d)
        a, b, c, d = 0.0, b / norm, c / norm, d / norm
    else:
        a = np.sqrt(rest)
    rotation = np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
        ]
    )
    qfac = -1.0 if header.pixdim[0] < 0 else 1.0  # pixdim[0] holds the sign of the third axis
    spacing = np.array([header.pixdim[1], header.pixdim[2], qfac * header.pixdim[3]])
    return np.column_stack([rotation * spacing, header.qoffset])


def _header_information(path: Path | str) -> sitk.ImageFileReader | None:
    """A reader of ``path`` that read its header alone (None when it cannot)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None
    return reader


#: ITK's LPS coordinates to NIfTI's RAS.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def _itk_grid(path: Path | str) -> tuple[np.ndarray, np.ndarray] | None:
    """The 3 x 4 voxel-to-RAS affine ITK reads a 3-D volume's header as, and its size in voxels
    (None when it cannot)."""
    reader = _header_information(path)
    if reader is None or reader.GetDimension() != 3:
        return None
    axes = np.asarray(reader.GetDirection()).reshape(3, 3) * np.asarray(reader.GetSpacing())
    affine = _LPS_TO_RAS @ np.column_stack([axes, reader.GetOrigin()])
    return affine, np.asarray(reader.GetSize())


def on_mask_slice(
    image: sitk.Image, image_path: Path, others: Sequence[Path]
) -> tuple[sitk.Image, Path | None]:
    """A 2-D image (``image``, read from ``image_path`` as one slice whose 1 mm thickness and
    z = 0 position the reader made up) placed on the slice of the first of ``others`` that is a
    3-D file of one slice whose in-plane grid is the image's (a mask drawn on it, saved from its
    3-D scan: 5 mm at z = -612.5 mm), taking its thickness and position, and that file; else
    ``image`` and None. Compared with the made-up ones, such a mask was refused as 'different
    spacing'."""
    reader = _header_information(image_path)
    if reader is None or reader.GetDimension() != 2:
        return image, None
    for path in others:
        grid = _itk_grid(path)
        if grid is None or grid[1][2] != 1:
            continue
        placed = sitk.Image(image)
        placed.SetSpacing((*image.GetSpacing()[:2], float(np.linalg.norm(grid[0][:, 2]))))
        placed.SetOrigin((*image.GetOrigin()[:2], float(grid[0][2, 3])))
        found = _voxel_map(_LPS_TO_RAS @ _affine(placed), *grid)
        if found is not None and found[0][2, 2] and _first_voxel(*found, grid[1])[2] == 0:
            return placed, path
    return image, None


def _describe(image: sitk.Image) -> str:
    def fmt(values: tuple[float, ...], digits: int = 4) -> str:
        return "(" + ", ".join(f"{v:.{digits}g}" for v in values) + ")"

    return (
        f"size {'x'.join(map(str, image.GetSize()))}, spacing {fmt(image.GetSpacing())} mm, "
        f"origin {fmt(image.GetOrigin(), 6)} mm, direction {fmt(image.GetDirection(), 3)}"
    )


def check_same_geometry(
    image: sitk.Image, mask: sitk.Image, image_name: str, mask_name: str
) -> None:
    """Raise :class:`GeometryError` naming both grids unless ``mask`` lies on ``image``'s voxel grid."""
    problems = []
    if image.GetSize() != mask.GetSize():
        problems.append("size")
    spacing_i, spacing_m = np.asarray(image.GetSpacing()), np.asarray(mask.GetSpacing())
    if spacing_i.shape != spacing_m.shape or not np.allclose(
        spacing_i, spacing_m, rtol=SPACING_RTOL, atol=0
    ):
        problems.append("spacing")
    elif np.any(
        np.abs(np.subtract(image.GetOrigin(), mask.GetOrigin()))
        > ORIGIN_TOL_VOXELS * spacing_i.min()
    ):
        problems.append("origin")
    if not np.allclose(image.GetDirection(), mask.GetDirection(), atol=DIRECTION_ATOL, rtol=0):
        problems.append("direction")
    if problems:
        raise GeometryError(
            f"{mask_name} is not on the voxel grid of {image_name} (different {', '.join(problems)}).\n"
            f"  {image_name}: {_describe(image)}\n  {mask_name}: {_describe(mask)}\n"
            "The mask's voxels must be the image's: the same spacing and axes (in any order or "
            "direction), its origin shifted by whole voxels (a grid cropped to the structure)."
        )


def lattice_map(image: sitk.Image, mask: sitk.Image) -> tuple[np.ndarray, np.ndarray] | None:
    """``(R, b)`` with ``R`` a signed permutation and ``b`` whole voxels such that the mask's voxel
    ``i`` (x, y, z order) is the image's voxel ``R @ i + b``, when every mask voxel centre lies on
    an image voxel centre (within the tolerances of :func:`check_same_geometry`); else None."""
    if image.GetDimension() != 3 or mask.GetDimension() != 3:
        return None
    return _voxel_map(_affine(image), _affine(mask), np.asarray(mask.GetSize()))


def _affine(image: sitk.Image) -> np.ndarray:
    """The 3 x 4 voxel-to-LPS affine of a 3-D image."""
    axes = np.asarray(image.GetDirection()).reshape(3, 3) * np.asarray(image.GetSpacing())
    return np.column_stack([axes, image.GetOrigin()])


def _voxel_map(
    to_image: np.ndarray, from_mask: np.ndarray, mask_size: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`lattice_map` of an image and a mask of ``mask_size`` voxels placed by these 3 x 4
    voxel-to-world affines (both in one frame: LPS or RAS)."""
    try:
        scale = np.linalg.solve(to_image[:, :3], from_mask[:, :3])
        shift = np.linalg.solve(to_image[:, :3], from_mask[:, 3] - to_image[:, 3])
    except np.linalg.LinAlgError:  # axes of no volume (a NIfTI sform of zeros): no voxel map
        return None
    R, b = np.rint(scale), np.rint(shift)
    signed_permutation = (np.abs(R).sum(axis=0) == 1).all() and (np.abs(R).sum(axis=1) == 1).all()
    if not signed_permutation or np.abs(scale - R).max() > SPACING_RTOL + DIRECTION_ATOL:
        return None
    if np.abs(shift - b).max() > ORIGIN_TOL_VOXELS:
        return None
    # where the small differences add up: no mask voxel may land half a voxel off its image voxel
    drift = np.abs(scale - R) @ (mask_size - 1) + np.abs(shift - b)
    if drift.max() >= 0.5:
        return None
    return R.astype(int), b.astype(int)


def _first_voxel(R: np.ndarray, b: np.ndarray, mask_size: np.ndarray) -> np.ndarray:
    """The image voxel of the first voxel of a mask of ``mask_size`` voxels mapped by
    :func:`lattice_map`'s ``(R, b)``, its array turned to the image's axes: 0, 0, 0 where it
    starts at the image's first voxel."""
    return b + np.minimum(R, 0) @ (np.asarray(mask_size) - 1)


def _shown_shift(offset: np.ndarray) -> str:
    return "x".join(str(int(v)) for v in offset)


def on_image_grid(
    image: sitk.Image, mask: sitk.Image, image_name: str, mask_name: str, resample: bool = False
) -> sitk.Image:
    """``mask`` on ``image``'s grid: itself when the grids agree, else placed voxel for voxel
    (:func:`lattice_map`) with zeros around it, else, with ``resample``, resampled
    (:func:`resample_labels`). :class:`GeometryError` when its voxels are not the image's (naming
    both grids) and it may not be resampled, or when some of its non-zero voxels lie outside the
    image."""
    try:
        check_same_geometry(image, mask, image_name, mask_name)
        return mask
    except GeometryError:
        found = lattice_map(image, mask)
        if found is None and resample:
            return resample_labels(image, mask, image_name, mask_name)
        if found is None:
            raise
    R, b = found
    b = _first_voxel(R, b, np.asarray(mask.GetSize()))
    array = sitk.GetArrayFromImage(mask).transpose(2, 1, 0)  # x, y, z
    source_axis = np.abs(R).argmax(axis=1)  # image axis a takes mask axis source_axis[a]
    array = array.transpose(source_axis)
    for axis, sign in enumerate(R[np.arange(3), source_axis]):
        if sign < 0:
            array = np.flip(array, axis)
    size = np.asarray(image.GetSize())
    low, high = np.maximum(b, 0), np.minimum(b + array.shape, size)
    placed = np.zeros(image.GetSize(), dtype=array.dtype)
    inside = tuple(slice(lo - o, hi - o) for lo, hi, o in zip(low, high, b, strict=True))
    if (high > low).all():
        placed[tuple(slice(lo, hi) for lo, hi in zip(low, high, strict=True))] = array[inside]
    outside = np.count_nonzero(array) - np.count_nonzero(placed)
    if outside:
        raise GeometryError(
            f"{mask_name} lies on the voxels of {image_name}, but {outside} of its non-zero "
            f"voxels are outside the image.\n  {image_name}: {_describe(image)}\n"
            f"  {mask_name}: {_describe(mask)}"
        )
    if tuple(array.shape) == tuple(size) and b.any():
        warnings.warn(
            MaskShifted(
                f"{mask_name} has the size of {image_name} but lies {_shown_shift(b)} "
                "voxels off it: placed as its header says. "
                "A mask the image's size shifted by whole voxels is more often a header written "
                "wrongly than a crop (which is smaller): check that it lines up with the tumour."
            ),
            stacklevel=2,
        )
    result = sitk.GetImageFromArray(np.ascontiguousarray(placed.transpose(2, 1, 0)))
    result.CopyInformation(image)
    return result


def nonzero_box(array: np.ndarray, margin: int | Sequence[int] = 0) -> tuple[slice, ...]:
    """Slices of ``array``'s nonzero voxels, widened by ``margin`` voxels (one for every axis, or
    one each) within the array; found axis by axis, with no copy of the array. Empty slices for
    an array without a nonzero voxel."""
    margins = np.broadcast_to(np.asarray(margin, dtype=int), (array.ndim,))
    box = []
    for axis, pad in enumerate(margins.tolist()):
        held = np.flatnonzero(array.any(axis=tuple(a for a in range(array.ndim) if a != axis)))
        low, high = (int(held[0]), int(held[-1])) if held.size else (0, -1)
        box.append(slice(max(low - pad, 0), min(high + pad + 1, array.shape[axis])))
    return tuple(box)


def resample_labels(
    image: sitk.Image, mask: sitk.Image, image_name: str, mask_name: str
) -> sitk.Image:
    """A mask or label map drawn on another grid of the same frame (a PET's GTV drawn on its
    CT) on ``image``'s grid: each image voxel takes the label covering at least half of it. The
    share is each label's indicator averaged over about an image voxel (a box mean over the
    finer grid, then linear interpolation at the image's voxel centres: exact where the grids
    nest, as 2 x 2 x 2 CT voxels in a PET voxel), which keeps a structure's volume where
    sampling only the voxel centres would not promise it. :class:`GeometryError` when a label
    lies mostly outside the image."""
    array = sitk.GetArrayViewFromImage(mask)
    labels = [v for v in distinct_values(array) if v != 0]
    if len(labels) > MAX_LABELS:  # an image: _label_masks refuses it with the reason
        return mask
    ratio = np.asarray(image.GetSpacing()) / np.asarray(mask.GetSpacing())
    radius = [int(r) for r in np.maximum(0, np.floor((ratio - 1) / 2))]
    out = np.zeros(sitk.GetArrayViewFromImage(image).shape, dtype=np.uint16)
    best = np.full(out.shape, 0.5 - 1e-6)
    # the labels' box with room for the box mean and the interpolation: the indicators of the
    # whole grid took 6.4 GB to move a 24 mm GTV from a 512 x 512 x 900 CT onto its PET
    box = nonzero_box(array, [r + 2 for r in radius[::-1]])
    corner = mask.TransformIndexToPhysicalPoint([int(b.start) for b in box[::-1]])
    for label in labels:
        inside = array[box] == label
        indicator = sitk.GetImageFromArray(inside.astype(np.float32))
        indicator.SetSpacing(mask.GetSpacing())
        indicator.SetDirection(mask.GetDirection())
        indicator.SetOrigin(corner)
        if any(radius):
            indicator = sitk.BoxMean(indicator, radius)
        fraction = sitk.GetArrayFromImage(
            sitk.Resample(indicator, image, sitk.Transform(), sitk.sitkLinear, 0.0)
        )
        if fraction.sum() * _voxel_ml(image) < inside.sum() * _voxel_ml(mask) * 0.5:
            raise GeometryError(
                f"{mask_name} is drawn on another grid than {image_name}, and its label {label:g} "
                f"lies mostly outside the image.\n  {image_name}: {_describe(image)}\n"
                f"  {mask_name}: {_describe(mask)}"
            )
        wins = fraction > best
        out[wins], best[wins] = int(label), fraction[wins]
    warnings.warn(
        f"{mask_name} is drawn on another grid than {image_name} (the CT's?): resampled onto "
        "it, each voxel taking the label that covers at least half of it.",
        MaskResampled,
        stacklevel=2,
    )
    result = sitk.GetImageFromArray(out)
    result.CopyInformation(image)
    return result


class MaskResampled(UserWarning):
    """A mask was resampled onto the image's grid (:func:`resample_labels`): the case says so."""


class MaskShifted(UserWarning):
    """A mask of the image's size was placed whole voxels off it (:func:`on_image_grid`): the
    case says so."""


def placement_refusal(image_path: Path, mask_path: Path) -> PlacementConflict | None:
    """The refusal of a mask lying off the image as read (mirrored, with its axes in another
    order, or, of the image's size, whole voxels off), where one of the two files' NIfTI header
    places its volume twice (qform and sform disagree) and, by the placement ITK did not read,
    the mask lies on the image voxel for voxel (:func:`_misplacement` says nothing): a tool
    updated one placement only, and the mask would be measured on other voxels than the
    structure's (lung1's GTV at -462 HU, mostly lung, instead of -64; at -599 HU mirrored; its
    crop to the tumour's box at -240 HU mirrored). None otherwise, the mask placed as read (stored
    mirrored, its header saying so, it lands where it was drawn; a crop both placements put
    inside the image, its axes the image's: either may be where it was cut)."""
    grids = {path: _itk_grid(path) for path in (image_path, mask_path)}
    placements = {
        path: _two_placements(path, _placement_header(path), grids[path])
        for path in (image_path, mask_path)
    }
    image_grid, mask_grid = grids[image_path], grids[mask_path]
    if not any(placements.values()) or image_grid is None or mask_grid is None:
        return None
    (image_read, image_size), (mask_read, mask_size) = image_grid, mask_grid
    found = _voxel_map(image_read, mask_read, mask_size)
    how = "" if found is None else _misplacement(*found, mask_size, image_size)
    if found is None or not how:
        return None
    turned = _turned_word(found[0])
    for path, two in placements.items():
        if two is None:
            continue
        other = _voxel_map(
            two.other if path == image_path else image_read,
            two.other if path == mask_path else mask_read,
            mask_size,
        )
        if other is None or _misplacement(*other, mask_size, image_size):
            continue
        return PlacementConflict(
            f"{mask_path.name} {how} {image_path.name} as read, but {path.name}'s header places "
            f"its volume twice, up to {two.apart:.2f} mm apart: by its {two.read_name}, which was "
            f"read, and by its {two.other_name}, by which {mask_path.name} lies exactly on the "
            f"image's voxels{f', not {turned}' if turned else ''}. One placement was written "
            "wrongly (a tool that updated one only), and the mask would be measured on voxels "
            f"{f'{turned} from' if turned else 'beside'} the structure: not scored. Save "
            f"{path.name} with the right placement alone (nibabel: "
            "img.set_sform(img.get_qform(), code=1) keeps the qform, "
            "img.set_qform(img.get_sform(), code=1) the sform), or set the wrong one's code "
            "(qform_code or sform_code) to 0, and load the case again."
        )
    return None


_VOXEL_AXES = ("x", "y", "z")


def _turned_word(R: np.ndarray) -> str:
    """'' for the identity :func:`lattice_map` ``R``, 'mirrored' for one that only reverses
    axes, else 'turned'."""
    if np.array_equal(R, np.eye(3)):
        return ""
    return "mirrored" if np.array_equal(np.abs(R), np.eye(3)) else "turned"


def _misplacement(
    R: np.ndarray, b: np.ndarray, mask_size: np.ndarray, image_size: np.ndarray
) -> str:
    """How a mask lies on an image of ``image_size`` voxels by :func:`lattice_map`'s ``(R, b)``,
    in words ending where the image's name goes ('is mirrored along x against', 'lies 10x0x0
    voxels off', 'reaches beyond' for a crop past its edge); '' where voxel for voxel: its axes
    the image's, and wholly inside the image (of the image's size, at its first voxel; a crop,
    anywhere in it)."""
    source = np.abs(R).argmax(axis=1)  # image axis a takes mask axis source[a]
    mirrored = [_VOXEL_AXES[a] for a in range(3) if R[a, source[a]] < 0]
    first = _first_voxel(R, b, mask_size)
    placed_size = np.abs(R) @ np.asarray(mask_size)
    said = []
    if (source != np.arange(3)).any():
        said.append(f"has its axes in another order ({', '.join(_VOXEL_AXES[s] for s in source)})")
    if mirrored:
        said.append(f"is mirrored along {' and '.join(mirrored)}")
    if (placed_size == image_size).all() and first.any():
        said.append(f"lies {_shown_shift(first)} voxels off")
    elif (first < 0).any() or (first + placed_size > image_size).any():
        said.append("reaches beyond")
    elif said:
        said[-1] += " against"
    return " and ".join(said)


def _voxel_ml(image: sitk.Image) -> float:
    return float(np.prod(image.GetSpacing())) / 1000.0


#: Most labels a label map may hold; a volume with more values is an image, not a mask.
MAX_LABELS = 64
#: Most labels, and largest label value, of a map of many labels (TotalSegmentator's one-file
#: output: 117 organs, labels 1-117), read for the labels a role names alone; beyond, whole
#: non-negative values are an image's (an MR's 1,499 values were called labels).
MANY_LABELS = 255
#: How a role names one label of such a map, and where that can be said: the Case page lists the
#: file whole, not its labels, so it is not sent there (its role choice could not name one).
NAMING_A_LABEL = (
    "name the label a role takes, the file's name, a colon and the label value (e.g. "
    "'segmentations.nii.gz:10'), in the case folder's roles.json or an import's ROI map; the "
    "Case page lists such a file whole, not its labels: there, give the organ's own mask file"
)


#: How far a mask's value may lie from a whole number and still be that label: float32 rounding
#: of a 0/1 mask scaled or converted on the way (0.99999994).
LABEL_TOLERANCE = 1e-3
#: How far an interpolated probability or partial-volume map may stray outside 0..1.
PROBABILITY_SLACK = 0.05


def whole_labels(values: np.ndarray) -> np.ndarray | None:
    """A mask's distinct values as whole numbers (each within :data:`LABEL_TOLERANCE` of one),
    distinct again; None when one is not (an image, a probability map)."""
    rounded = np.round(values)
    if not np.all(np.abs(values - rounded) <= LABEL_TOLERANCE):
        return None
    return np.unique(rounded)


#: Voxels counted at a time by :func:`distinct_values`: numpy counts in int64, so a whole
#: 600 x 600 x 900 mask at once took 2.6 GB beside its own 0.3 GB.
_COUNTED_AT_ONCE = 1 << 18


def distinct_values(array: np.ndarray) -> np.ndarray:
    """The sorted distinct voxel values of a mask volume (counted, not sorted, for uint8: fast,
    in chunks so that memory stays a few MB whatever the volume)."""
    if array.dtype == np.uint8:
        flat, seen = array.reshape(-1), np.zeros(256, dtype=bool)
        for start in range(0, flat.size, _COUNTED_AT_ONCE):
            seen |= np.bincount(flat[start : start + _COUNTED_AT_ONCE], minlength=256) > 0
        return np.flatnonzero(seen)
    return np.unique(array)


def read_label_masks(
    path: Path | str, reference: sitk.Image, *, name: str
) -> dict[int, sitk.Image]:
    """Read a mask or label map as one uint8 0/1 mask per non-zero label on ``reference``'s grid.

    Non-integer values or no voxel raise :class:`MaskError`; a grid that is not the image's
    (:func:`on_image_grid`) raises :class:`GeometryError`.
    """
    image = on_image_grid(reference, _read_image(path), "the image", f"{name} ({Path(path).name})")
    return _label_masks(image, reference, f"{name} ({path})")


def read_layered_masks(
    path: Path | str,
    reference: sitk.Image,
    *,
    name: str,
    resample: bool = False,
    named: Collection[tuple[int, int]] = (),
) -> dict[tuple[int, int], sitk.Image]:
    """Read a mask, a label map, or a segmentation stored in layers (several values per voxel:
    3D Slicer keeps overlapping segments, a tumour inside its organ, in separate layers) as one
    uint8 0/1 mask per ``(layer, non-zero label)`` on ``reference``'s grid (``resample``: also
    from another grid, :func:`on_image_grid`); an empty layer adds none, an empty file raises
    :class:`EmptyMaskError`. Of a map of more than :data:`MAX_LABELS` labels, only the ``named``
    (layer, label) pairs (those a role names) are read."""
    image = _read_image(path, layers=True)
    n_layers = image.GetNumberOfComponentsPerPixel()
    masks: dict[tuple[int, int], sitk.Image] = {}
    for layer in range(n_layers):
        component = image if n_layers == 1 else sitk.VectorIndexSelectionCast(image, layer)
        shown = f"{name} ({Path(path).name})" + (f" layer {layer}" if n_layers > 1 else "")
        placed = on_image_grid(reference, component, "the image", shown, resample)
        found = _label_masks(
            placed,
            reference,
            f"{name} ({path})",
            allow_empty=n_layers > 1,
            named=[label for at, label in named if at == layer],
        )
        masks.update({(layer, label): mask for label, mask in found.items()})
    if not masks:
        raise EmptyMaskError(f"{name} ({path}) is empty: no voxel is inside the mask.")
    return masks


def _label_masks(
    image: sitk.Image,
    reference: sitk.Image,
    shown: str,
    allow_empty: bool = False,
    named: Collection[int] = (),
) -> dict[int, sitk.Image]:
    """One uint8 0/1 mask per non-zero label of ``image`` (on ``reference``'s grid already); of
    a map of many labels, per ``named`` label (:func:`_named_of_many`)."""
    array = sitk.GetArrayViewFromImage(image)
    values = distinct_values(array)
    whole = whole_labels(values)
    if whole is None:
        off = values[np.abs(values - np.round(values)) > LABEL_TOLERANCE][0]
        if values.min() >= -PROBABILITY_SLACK and values.max() <= 1 + PROBABILITY_SLACK:
            raise MaskError(
                f"{shown} holds values between 0 and 1 (e.g. {off:.3g}): a probability or "
                "partial-volume map, not a mask. Threshold it into a binary mask (e.g. at 0.5) "
                "and give that."
            )
        raise MaskError(
            f"{shown} holds non-integer values (e.g. {off:.9g}); expected a binary mask or "
            "label map."
        )
    if whole.min() < 0:
        raise MaskError(
            f"{shown} holds negative values (e.g. {int(whole.min())}): a mask or label map has "
            "0 for the background and positive labels; a negative 'ignore' or fill value would "
            "be taken as a structure. Set it to 0."
        )
    if whole.size != values.size or not np.array_equal(whole, values):
        array = np.round(array)
    labels = [int(v) for v in whole if v != 0]
    if not labels and not allow_empty:
        raise EmptyMaskError(f"{shown} is empty: no voxel is inside the mask.")
    if len(labels) > MAX_LABELS:
        labels = _named_of_many(labels, named, shown)
    masks = {}
    for label in labels:
        mask = sitk.GetImageFromArray((array == label).astype(np.uint8))
        mask.CopyInformation(reference)
        masks[label] = mask
    return masks


def _named_of_many(labels: list[int], named: Collection[int], shown: str) -> list[int]:
    """The ``named`` labels of a map of more than :data:`MAX_LABELS` (a one-file output of every
    organ, TotalSegmentator's --ml), which one label of is cheap to read; :class:`MaskError`
    when none is named or held, or when the values are an image's (beyond :data:`MANY_LABELS`)."""
    if len(labels) > MANY_LABELS or labels[-1] > MANY_LABELS:
        raise MaskError(
            f"{shown} holds {len(labels)} different values; a mask or label map holds at "
            f"most {MAX_LABELS} labels ({MANY_LABELS} where a role names its label). Is it an "
            "image?"
        )
    taken = [label for label in labels if label in named]
    if not taken:
        raise MaskError(
            f"{shown} holds {len(labels)} different values ({labels[0]}-{labels[-1]}), more "
            f"than the {MAX_LABELS} labels a mask or label map is read with whole."
            + (f" It holds no label {', '.join(map(str, sorted(named)))}." if named else "")
            + f" A one-file map of every organ (TotalSegmentator's --ml): {NAMING_A_LABEL}. A "
            "probability map scaled to 0-255: threshold it into a binary mask."
        )
    return taken


def read_mask(
    path: Path | str, reference: sitk.Image, *, label: int | None = None, name: str
) -> sitk.Image:
    """Read a mask, or one ``label`` of a label map, as uint8 0/1 on ``reference``'s grid.

    A label map holding several labels needs ``label``; an unknown ``label`` raises
    :class:`MaskError`, and so does anything :func:`read_label_masks` refuses.
    """
    masks = read_label_masks(path, reference, name=name)
    labels = list(masks)
    if label is not None:
        if label not in masks:
            raise MaskError(
                f"{name} ({path}) has no voxel with label {label}; labels present: {labels}."
            )
        return masks[label]
    if len(masks) > 1:
        raise MaskError(
            f"{name} ({path}) is a label map with labels {', '.join(map(str, labels))}; "
            "say which label is the structure."
        )
    return masks[labels[0]]
