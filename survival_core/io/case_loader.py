"""Build a :class:`~survival_core.case.Case` from a case folder, a .zip of one, or explicit uploads.

A case folder (or .zip; a single wrapping folder inside is entered) holds either
- DICOM: one image series (CT preferred) and an RTSTRUCT anywhere below; masks are rasterised from
  the RTSTRUCT's structures, mapped to roles by name (:func:`~survival_core.io.rtstruct.map_roles`)
  unless ``roles`` names them (role -> ROI name), or
- volumes: ``image.nii.gz`` (or image.nrrd, ct.*, or the only volume that is not a mask) beside
  ``liver.nii.gz`` and ``gtv.nii.gz`` (any name matching the role, or ``roles``: role -> file name).
Volume files carry no modality: such cases are marked CT, the project's imaging modality.
A ``clinical.json`` beside them is validated with :func:`~survival_core.io.clinical.validate_clinical`.

``require`` lists the roles that must be found; by default both the liver (needed by the liver-based
features) and the GTV. Pass ``require=("gtv",)`` for tumour-only work: the liver is then loaded when
found and skipped when absent (a structure name matching it ambiguously still asks the user).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from survival_core.case import ROLES, Case
from survival_core.errors import ClinicalValueError, InputError, MaskError, RTStructError
from survival_core.io.archive import extract_zip, is_zip
from survival_core.io.clinical import validate_clinical
from survival_core.io.deid import case_pseudonym
from survival_core.io.dicom_series import DicomInventory, SeriesInfo, read_series, scan_dicom
from survival_core.io.rtstruct import (
    RTStruct,
    map_roles,
    match_role,
    read_rtstruct,
    rtstruct_to_masks,
)
from survival_core.io.volume import is_volume_file, read_mask, read_volume, volume_stem
from survival_core.paths import data_subdir

CLINICAL_FILE = "clinical.json"
#: File stems (lower case) that name the image in a volume case folder.
IMAGE_STEMS = ("image", "ct", "img", "volume", "scan")
_MASK_WORDS = {"mask", "masks", "label", "labels", "seg", "segmentation", "roi"}


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]


@contextmanager
def _case_root(path: Path) -> Iterator[tuple[Path, str]]:
    """The folder holding the case (a .zip extracted to a temporary folder) and its default name.

    Errors raised inside name files as 'archive.zip:member' rather than by their temporary path.
    """
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if path.is_dir():
        yield _enter_wrapper(path), path.name
        return
    if not is_zip(path):
        raise InputError(f"{path} is neither a case folder nor a .zip archive of one.")
    with tempfile.TemporaryDirectory(prefix="radsurv-case-", dir=data_subdir("tmp")) as tmp:
        extract_zip(path, Path(tmp))
        root = _enter_wrapper(Path(tmp))
        try:
            yield root, (root.name if root != Path(tmp) else path.stem)
        except InputError as err:
            message = str(err).replace(f"{tmp}/", f"{path}:").replace(tmp, str(path))
            raise type(err)(message) from err


def _enter_wrapper(folder: Path) -> Path:
    """Step into single wrapping folders (an archive of 'case_001/...')."""
    entries = _visible(folder)
    while len(entries) == 1 and entries[0].is_dir():
        folder = entries[0]
        entries = _visible(folder)
    return folder


def _clinical(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(validate_clinical(raw).values) if raw is not None else {}


def _read_clinical_json(root: Path) -> dict[str, Any] | None:
    file = root / CLINICAL_FILE
    if not file.is_file():
        return None
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ClinicalValueError(f"{file} is not valid JSON ({err}).") from err
    if not isinstance(raw, dict):
        raise ClinicalValueError(
            f"{file} must hold one object of clinical values, not a {type(raw).__name__}."
        )
    return raw


def _check_roles(roles: Mapping[str, str] | None, require: tuple[str, ...]) -> dict[str, str]:
    unknown = [r for r in (*(roles or {}), *require) if r not in ROLES]
    if unknown:
        raise InputError(
            f"Unknown role(s) {', '.join(map(repr, unknown))}; the roles are {', '.join(ROLES)}."
        )
    return dict(roles or {})


def _volumes(root: Path) -> list[Path]:
    return sorted(p for p in _visible(root) if p.is_file() and is_volume_file(p))


def _is_mask_like(path: Path) -> bool:
    return match_role(volume_stem(path)) is not None or bool(
        set(re.findall(r"[a-z]+", volume_stem(path).lower())) & _MASK_WORDS
    )


def _pick_rtstruct(inventory: DicomInventory, info: SeriesInfo) -> Path:
    entries = inventory.rtstructs
    if not entries:
        raise RTStructError(f"No RTSTRUCT found in {inventory.source}; the masks cannot be made.")
    own = [e for e in entries if info.series_uid in e.references.series_uids]
    if len(own) == 1 or (not own and len(entries) == 1):
        return (own or entries)[0].path
    names = ", ".join(inventory.display(e.path) for e in (own or entries))
    raise RTStructError(
        f"{inventory.source} holds several RTSTRUCTs {'for this series' if own else ''}: {names}. "
        "Keep only the one to use."
    )


def _role_names(
    rtstruct: RTStruct, roles: dict[str, str], require: tuple[str, ...]
) -> dict[str, str]:
    """Role -> ROI name: the explicit ones, the others found by name."""
    rest = tuple(r for r in ROLES if r not in roles)
    found = map_roles(
        [n for n in rtstruct.roi_names if n not in roles.values()],
        rest,
        required=tuple(r for r in require if r in rest),
    )
    return {**roles, **found}


def _load_dicom(
    root: Path, roles: dict[str, str], require: tuple[str, ...]
) -> tuple[sitk.Image, dict, str, list[str], str]:
    """Image, masks, modality, warnings and the case pseudonym of a DICOM case."""
    inventory = scan_dicom(root)
    image, info = read_series(inventory)
    header = next(s for s in inventory.series if s.series_uid == info.series_uid).headers[0]
    pseudonym = case_pseudonym(header)
    if not roles and not require and not inventory.rtstructs:
        return image, {}, info.modality, list(info.warnings), pseudonym
    rtstruct = read_rtstruct(_pick_rtstruct(inventory, info))
    mapping = _role_names(rtstruct, roles, require)
    by_name = rtstruct_to_masks(rtstruct, image, info, list(mapping.values()))
    masks = {role: by_name[name] for role, name in mapping.items()}
    return image, masks, info.modality, [*info.warnings, *rtstruct.warnings], pseudonym


def _load_volumes(
    root: Path, volumes: list[Path], roles: dict[str, str], require: tuple[str, ...]
) -> tuple[sitk.Image, dict]:
    role_files: dict[str, Path] = {}
    for role in ROLES:
        if role in roles:
            file = root / roles[role]
            if not file.is_file():
                raise MaskError(f"The {role} mask {roles[role]!r} is not in {root}.")
            role_files[role] = file
            continue
        candidates = [
            v
            for v in volumes
            if match_role(volume_stem(v)) == role and v not in role_files.values()
        ]
        if len(candidates) > 1:
            raise MaskError(
                f"Several files could be the {role} mask: {', '.join(c.name for c in candidates)}. "
                "Say which one to use."
            )
        if candidates:
            role_files[role] = candidates[0]
        elif role in require:
            raise MaskError(
                f"No {role} mask found in {root} (volumes: {', '.join(v.name for v in volumes)}); "
                f"name it {role}.nii.gz or say which file it is."
            )
    rest = [v for v in volumes if v not in role_files.values()]
    named = [v for v in rest if volume_stem(v).lower() in IMAGE_STEMS]
    unmasked = [v for v in rest if not _is_mask_like(v)]
    images = named if named else unmasked
    if len(images) != 1:
        listing = ", ".join(v.name for v in images or rest) or "none"
        raise InputError(
            f"Cannot tell which volume in {root} is the image (candidates: {listing}); name it image.nii.gz."
        )
    image = read_volume(images[0])
    masks = {role: read_mask(file, image, name=f"{role} mask") for role, file in role_files.items()}
    return image, masks


def load_case(
    path: Path | str,
    *,
    case_id: str | None = None,
    roles: Mapping[str, str] | None = None,
    require: tuple[str, ...] = ROLES,
) -> Case:
    """Load a case folder or .zip (DICOM + RTSTRUCT, or image and mask volumes, + clinical.json).

    ``roles`` maps role -> ROI name (DICOM) or file name (volumes) where automatic matching fails;
    ``require`` lists the roles that must be present. ``case_id`` defaults to clinical.json's
    case_id, else for DICOM the case pseudonym (:func:`~survival_core.io.deid.case_pseudonym`:
    never the folder name or PatientID, which may identify the patient), else the folder (or
    archive) name.
    """
    path = Path(path)
    explicit = _check_roles(roles, require)
    with _case_root(path) as (root, default_id):
        raw = _read_clinical_json(root)
        volumes = _volumes(root)
        if volumes:
            image, masks = _load_volumes(root, volumes, explicit, require)
            modality, warnings = "CT", []
        else:
            image, masks, modality, warnings, default_id = _load_dicom(root, explicit, require)
        clinical = _clinical(raw)
    if case_id is None:
        case_id = str(raw["case_id"]) if raw and raw.get("case_id") else default_id
    return Case(
        case_id=case_id,
        image=image,
        masks=masks,
        clinical=clinical,
        modality=modality,
        source=str(path),
        warnings=warnings,
    )


def list_structures(path: Path | str) -> list[str]:
    """Structure names a case offers for role mapping: RTSTRUCT ROI names, or mask file names."""
    path = Path(path)
    with _case_root(path) as (root, _):
        volumes = _volumes(root)
        if volumes:
            return [v.name for v in volumes if volume_stem(v).lower() not in IMAGE_STEMS]
        inventory = scan_dicom(root)
        names = [n for entry in inventory.rtstructs for n in read_rtstruct(entry.path).roi_names]
    return list(dict.fromkeys(names))


def load_case_files(
    image: Path | str,
    masks: Mapping[str, Path | str],
    clinical: Mapping[str, Any] | None,
    case_id: str,
) -> Case:
    """Build a case from explicit uploads.

    ``image`` is a volume file, or a DICOM folder, .zip or file. ``masks`` maps role -> a mask
    volume on the image grid, or an RTSTRUCT (DICOM image only) whose structure for that role is
    found by name. ``clinical`` is a raw dict of clinical values, validated here.
    """
    _check_roles(masks, ())
    image_path = Path(image)
    info: SeriesInfo | None = None
    if image_path.is_file() and is_volume_file(image_path):
        volume = read_volume(image_path)
        modality = "CT"
    else:
        volume, info = read_series(image_path)
        modality = info.modality
    loaded: dict[str, sitk.Image] = {}
    structure_sets: dict[Path, RTStruct] = {}
    for role, mask_path in masks.items():
        mask_path = Path(mask_path)
        if is_volume_file(mask_path):
            loaded[role] = read_mask(mask_path, volume, name=f"{role} mask")
            continue
        if info is None:
            raise RTStructError(
                f"{mask_path}: an RTSTRUCT can only be used with the DICOM series it was drawn on."
            )
        if mask_path not in structure_sets:
            structure_sets[mask_path] = read_rtstruct(mask_path)
        rtstruct = structure_sets[mask_path]
        name = map_roles(rtstruct.roi_names, (role,), required=(role,))[role]
        loaded[role] = rtstruct_to_masks(rtstruct, volume, info, [name])[name]
    return Case(
        case_id=case_id,
        image=volume,
        masks=loaded,
        clinical=_clinical(clinical),
        modality=modality,
        source=str(image_path),
        warnings=[] if info is None else list(info.warnings),
    )
