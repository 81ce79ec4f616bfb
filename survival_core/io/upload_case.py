"""Turn an uploaded folder (see :mod:`survival_core.io.uploads`) into a :class:`Case`.

An upload is one of: a zip (DICOM series + RTSTRUCT, or image and mask volumes), loose DICOM files,
or loose NIfTI/NRRD volumes (one image plus masks). A ``clinical.json`` or a clinical CSV may come
with it. This module says what the upload holds, so the Case page can ask the user only what is
ambiguous (which volume is the image, which structure is the liver or GTV), then loads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from survival_core.case import ROLES, Case
from survival_core.errors import InputError
from survival_core.io.case_loader import IMAGE_STEMS, list_structures, load_case, load_case_files
from survival_core.io.clinical import clinical_row, read_clinical_table, validate_clinical
from survival_core.io.filetype import check_file_type
from survival_core.io.rtstruct import match_role
from survival_core.io.volume import is_volume_file, volume_stem


@dataclass
class UploadContents:
    """What an upload folder holds. ``kind`` is 'archive', 'dicom' or 'volumes'."""

    folder: Path
    kind: str
    source: Path
    volumes: list[str] = field(default_factory=list)
    structures: list[str] = field(default_factory=list)
    clinical_json: Path | None = None
    clinical_csv: Path | None = None

    def suggested_roles(self) -> dict[str, str]:
        """Role -> structure name where exactly one structure matches the role's synonyms."""
        found: dict[str, list[str]] = {role: [] for role in ROLES}
        for name in self.structures:
            role = match_role(volume_stem(name))
            if role in found:
                found[role].append(name)
        return {role: names[0] for role, names in found.items() if len(names) == 1}

    def clinical_case_ids(self) -> list[str]:
        """Case ids listed in the uploaded clinical CSV (empty without one)."""
        if self.clinical_csv is None:
            return []
        return read_clinical_table(self.clinical_csv)["case_id"].tolist()

    def suggested_image(self) -> str | None:
        """The volume most likely to be the image: not a structure, or named like one."""
        if self.kind != "volumes":
            return None
        roles = set(self.suggested_roles().values())
        candidates = [v for v in self.volumes if v not in roles]
        hinted = [v for v in candidates if volume_stem(v).lower() in IMAGE_STEMS]
        return (hinted or candidates or self.volumes or [None])[0]


def describe_upload(folder: Path) -> UploadContents:
    """Classify the files of an upload folder and list its structures.

    Every file's content must be what its name says (:func:`check_file_type`), else InputError.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not files:
        raise InputError("The upload is empty.")
    archives = [p for p in files if p.suffix.lower() == ".zip"]
    volumes = [p.name for p in files if is_volume_file(p.name)]
    clinical_json = next((p for p in files if p.name.lower() == "clinical.json"), None)
    clinical_csv = next((p for p in files if p.suffix.lower() == ".csv"), None)
    if len(archives) > 1:
        raise InputError(
            "Upload one zip at a time (found " + ", ".join(p.name for p in archives) + ")."
        )
    for path in files:
        check_file_type(path)
    if archives:
        kind, source = "archive", archives[0]
    elif volumes:
        kind, source = "volumes", folder
    else:
        kind, source = "dicom", folder
    structures = list(volumes) if kind == "volumes" else list_structures(source)
    return UploadContents(
        folder=folder,
        kind=kind,
        source=source,
        volumes=volumes,
        structures=structures,
        clinical_json=clinical_json,
        clinical_csv=clinical_csv,
    )


def upload_clinical(contents: UploadContents, case_id: str) -> dict | None:
    """Clinical values that came with the upload (clinical.json, else the CSV row of ``case_id``)."""
    if contents.clinical_json is not None:
        try:
            raw = json.loads(contents.clinical_json.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise InputError(f"clinical.json is not valid JSON: {err}") from err
        if not isinstance(raw, dict):
            raise InputError("clinical.json must hold one object of name: value pairs.")
        return validate_clinical(raw).values
    if contents.clinical_csv is not None:
        table = read_clinical_table(contents.clinical_csv)
        row = clinical_row(table, case_id)
        return validate_clinical(row).values
    return None


def load_upload(
    contents: UploadContents,
    roles: dict[str, str],
    *,
    image_name: str | None = None,
    case_id: str | None = None,
) -> Case:
    """Load the upload as a case with ``roles`` mapping each role to a structure name.

    ``case_id`` names the case (and picks its row of an uploaded clinical CSV); by default it is
    the CSV's only case id, else clinical.json's, else the upload's content-derived name.
    """
    listed = contents.clinical_case_ids()
    if case_id is None and len(listed) == 1:
        case_id = listed[0]
    if contents.kind == "volumes":
        image_name = image_name or contents.suggested_image()
        if image_name is None:
            raise InputError("No image volume was found in the upload.")
        if image_name in roles.values():
            raise InputError(f"{image_name} cannot be both the image and a mask.")
        case = load_case_files(
            contents.folder / image_name,
            {role: contents.folder / name for role, name in roles.items()},
            clinical=None,
            case_id=case_id or contents.folder.name,
        )
    else:
        case = load_case(contents.source, roles=roles, case_id=case_id)
    clinical = upload_clinical(contents, case.case_id)
    if clinical is not None:
        case.clinical = clinical
    return case
