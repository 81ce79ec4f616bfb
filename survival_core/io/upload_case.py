"""Turn an uploaded folder (see :mod:`survival_core.io.uploads`) into a :class:`Case`.

An upload is one of: a zip (DICOM series + RTSTRUCT, or image and mask volumes), loose DICOM files,
or loose NIfTI/NRRD volumes (one image plus masks). A ``clinical.json`` or a clinical CSV may come
with it. This module says what the upload holds, so the Case page can ask the user only what is
ambiguous (which volume is the image, which series, which structures are the GTV and the organ),
then loads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from survival_core.case import Case
from survival_core.errors import DicomError, InputError
from survival_core.io import uploads
from survival_core.io.case_loader import (
    clinical_values,
    describe_structures,
    load_case,
    names_mask,
    nnunet_first_channel,
    read_json_object,
    volume_modality,
)
from survival_core.io.clinical import clinical_row, read_clinical_table
from survival_core.io.clinical_schema import CohortSchema
from survival_core.io.dataset_layout import names_image
from survival_core.io.dicom_series import SERIES_OPTION, SeriesSummary
from survival_core.io.filetype import check_file_type
from survival_core.io.label_maps import label_file, labels_by_shared_file, structure_names
from survival_core.io.structures import (
    RoleCandidates,
    alternative_gtvs,
    lone_structure,
    role_candidates,
    structure_key,
)
from survival_core.io.volume import is_volume_file, volume_stem
from survival_core.once import OncePerKey

#: Where an upload's series is chosen, for a case folder's option (--series) in a refusal.
_SERIES_BOX = "(the Case page's 'Image series' box)"
#: Roles as the Case page's form names them.
_ROLE_NAMES = {"gtv": "GTV", "organ": "organ"}


def _one_role_each(chosen: Mapping[str, Sequence[str]]) -> None:
    """An :class:`InputError` naming each structure ``chosen`` gives to several roles."""
    roles: dict[str, list[str]] = {}
    for role, names in chosen.items():
        for name in dict.fromkeys(names):
            roles.setdefault(name, []).append(role)
    shared = {name: listed for name, listed in roles.items() if len(listed) > 1}
    if shared:
        said = "; ".join(
            f"{name!r} as {' and '.join(_ROLE_NAMES.get(r, r) for r in listed)}"
            for name, listed in shared.items()
        )
        raise InputError(
            f"A structure is chosen for two roles: {said}. Each structure fills one role: "
            "choose it for one only."
        )


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
    series: list[SeriesSummary] = field(default_factory=list)
    #: A DICOM upload's structure sets as a user knows them (label, date, structure names).
    structure_sets: list[str] = field(default_factory=list)

    def suggested_roles(self, site: str | None = None) -> dict[str, list[str]]:
        """Role -> structure names the names make clear: every GTV-like structure, and the organ
        when one site's organ names occur (the loader still checks that it surrounds the GTV).
        Volumes, loose or zipped: never the suggested image ('lung1_image.nrrd' names a lung,
        not an organ mask), and a single mask file named for no role is the GTV (the one
        structure a case needs: pyradiomics' 'lung1_label.nrrd')."""
        names = self.structure_names()
        if len(self.patients()) > 1 or len(self.structure_sets) > 1:  # whose are whose: asked
            return {}
        keys, found = _candidates(names, site)
        gtv = _named_gtv(keys, found)
        roles = {"gtv": gtv} if gtv else {}
        if len(found.organs) == 1:
            roles["organ"] = [keys[k] for k in next(iter(found.organs.values()))]
        if self.kind != "dicom" and not self.series and (lone := lone_structure(names, found)):
            roles = {"gtv": lone}
        return roles

    def roles_to_load(
        self, chosen: Mapping[str, Sequence[str]], site: str | None = None
    ) -> dict[str, tuple[str, ...]]:
        """The roles to load the case with: a role the user left as :meth:`suggested_roles`
        (under ``site``) pre-filled it from the names is left to the loader to find by name, so
        it is checked as a role found so is (an organ that does not surround the GTV set aside:
        a head-and-neck plan's brain; a union of GTVs said); the others as chosen (an emptied
        role: none). Passed as chosen, a pre-filled brain hosted the tumour without a word.
        A structure chosen for two roles is refused naming it and both (a liver chosen as part
        of the GTV and as the organ was silently the GTV's alone, the organ dropped)."""
        _one_role_each(chosen)
        suggested = self.suggested_roles(site)
        keys, found = _candidates(self.structure_names(), site)
        by_name = {
            "gtv": [keys[k] for k in found.gtv],
            "organ": [keys[k] for listed in found.organs.values() for k in listed],
        }
        return {
            role: tuple(names)
            for role, names in chosen.items()
            if not (names and list(names) == suggested.get(role) == by_name.get(role))
        }

    def too_large(self) -> list[str]:
        """Why each image series too large to read is refused (the Case page says it before
        roles are chosen; its load raises it)."""
        return [s.refusal for s in self.series if s.refusal]

    def patients(self) -> list[str]:
        """The PatientIDs of a DICOM upload's image series (several: another patient's files
        came along, which the loader does not read)."""
        return list(dict.fromkeys(s.patient for s in self.series if s.patient))

    @property
    def notes(self) -> list[str]:
        """What storing the upload left out (:func:`~survival_core.io.uploads.upload_notes`),
        read when asked: a variable offered later is added to the stored clinical file, and its
        note of being left out is gone."""
        return uploads.upload_notes(self.folder)

    def structure_names(self) -> list[str]:
        """The structures a role can take: every one but those of the suggested image volume."""
        image = self.suggested_image()
        return [n for n in self.structures if image is None or label_file(n) != image]

    def roles_clear(self) -> bool:
        """Whether the names leave nothing to ask: a GTV is found, and the organ is either found
        or absent (no structure is named like an organ of any site)."""
        keys, found = _candidates(self.structures)
        return (
            bool(_named_gtv(keys, found))
            and len(found.organs) <= 1
            and len(self.patients()) <= 1
            and len(self.structure_sets) <= 1  # a load reads one set: the user picks from one
        )

    def suggested_site(self) -> str | None:
        """The site whose organ the structure names show, when exactly one does."""
        sites = _candidates(self.structures)[1].sites
        return sites[0] if len(sites) == 1 else None

    def clinical_case_ids(self) -> list[str]:
        """Case ids listed in the uploaded clinical CSV (empty without one)."""
        if self.clinical_csv is None:
            return []
        return read_clinical_table(self.clinical_csv, stored=True)["case_id"].tolist()

    def suggested_image(self) -> str | None:
        """The volume most likely to be the image: nnU-Net's first channel beside its label map
        ('volume-1_0000.nii.gz' beside 'volume-1.nii.gz'), else one named like the image and not
        like a mask ('lung1_image.nrrd'), else one named like no structure and no label map, else
        any not named like a mask (never 'mask.nii.gz' before 'phantom.nii.gz')."""
        if self.kind != "volumes":
            return None
        keys, found = _candidates(self.structures)
        roles = {keys[k] for k in [*found.gtv, *(k for ks in found.organs.values() for k in ks)]}
        label_maps = {v for v in self.volumes if v not in self.structures}  # named per label
        plain = [v for v in self.volumes if not names_mask(v)]
        ranked = (
            nnunet_first_channel(self.volumes)
            or [v for v in plain if names_image(volume_stem(v))]
            or [v for v in plain if v not in roles | label_maps]
            or plain
            or self.volumes
        )
        return ranked[0] if ranked else None

    def suggested_modality(self) -> str:
        """The modality the suggested image's name gives (HECKTOR's '__PT': PT), else CT, as a
        case folder of the same files is read (:func:`volume_modality`)."""
        return volume_modality(self.suggested_image())


def _candidates(names: list[str], site: str | None = None) -> tuple[dict[str, str], RoleCandidates]:
    """What each structure's name says (key -> name) and the role candidates by key."""
    keys = {structure_key(n): n for n in names}
    return keys, role_candidates(list(keys), site)


def _named_gtv(keys: dict[str, str], found: RoleCandidates) -> list[str]:
    """The GTV-like structures, less the labels of a label map several of whose labels are
    GTV-like by its name ('tumor.nii.gz:1', 'tumor.nii.gz:2': LiTS's 1 is the liver), which
    the user must pick from (the loader refuses them found by name)."""
    gtv = [keys[k] for k in found.gtv]
    if alternative_gtvs(found.gtv, list(keys)):  # 'GTV' and 'GTV_replan': the user says
        return []
    shared = {n for labels in labels_by_shared_file(gtv).values() for n in labels}
    return [n for n in gtv if n not in shared]


#: Upload folders classified by this process (a folder's content never changes: it is named
#: after it).
_DESCRIBED = OncePerKey()


def forget_uploads() -> None:
    """Forget which uploads this process stored and classified (a benchmark timing a new one)."""
    uploads._STORED.clear()
    _DESCRIBED.clear()


def describe_upload(folder: Path) -> UploadContents:
    """Classify the files of an upload folder and list its structures, once per folder while it
    exists (shared by every session and page rerun: read it, do not change it).

    Every file's content must be what its name says (:func:`check_file_type`), else InputError.
    """
    return _DESCRIBED.get(
        Path(folder).resolve(), _describe, Path(folder), still_valid=lambda c: c.folder.exists()
    )


def _describe(folder: Path) -> UploadContents:
    """:func:`describe_upload`'s work."""
    if not folder.is_dir():
        raise InputError(
            f"The stored upload {folder.name} no longer exists (uploads are deleted after the "
            "retention period); upload the files again."
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != uploads.NOTES_FILE)
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
    if kind == "volumes":
        structures = [n for v in volumes for n in structure_names(folder / v, v)]
        series: list[SeriesSummary] = []
        sets: list[str] = []
    else:
        structures, series, sets = describe_structures(source)
        _check_readable(series)
    return UploadContents(
        folder=folder,
        kind=kind,
        source=source,
        volumes=volumes,
        structures=structures,
        clinical_json=clinical_json,
        clinical_csv=clinical_csv,
        series=series,
        structure_sets=sets,
    )


def _check_readable(series: list[SeriesSummary]) -> None:
    """InputError when every image series but scouts is too large to read, saying why and what
    to do: a 1024 x 1024 x 560 CT was refused only when loaded, after roles were chosen."""
    candidates = [s for s in series if not s.scout] or series
    if candidates and all(s.refusal for s in candidates):
        raise InputError(" ".join(s.refusal for s in candidates))


def upload_clinical(
    contents: UploadContents,
    case_id: str,
    warnings: list[str],
    schema: CohortSchema | None = None,
    refused: dict[str, str] | None = None,
) -> dict | None:
    """Clinical values that came with the upload (clinical.json, else the CSV row of ``case_id``),
    checked by ``schema`` (a model's own cohort schema) or else the HCC schema, keys read as a
    case folder's are ('AFP' is afp), those of none of its variables named in ``warnings``, one
    nearly naming a variable left missing refused ('ECOG PS' beside ecog)
    (:func:`~survival_core.io.case_loader.clinical_values`); the CSV's row is read by its headers
    as written, as keys are: a number under a header stating another unit than its variable's
    is refused ('tsize (cm)' under a model recording no unit too), no value or a text read as
    under the variable's own key (the column was refused whatever the row's value: 'NA' and
    'pending' were to be converted). ``refused``: values
    the schema refuses are left out and named there instead of raising."""
    if contents.clinical_json is not None:
        raw = read_json_object(contents.clinical_json, InputError, "name: value pairs")
        return clinical_values(raw, schema, warnings, "clinical.json", refused, True)
    if contents.clinical_csv is not None:
        table = read_clinical_table(contents.clinical_csv, stored=True)
        headers = table.attrs["headers"]
        row = {headers[name]: value for name, value in clinical_row(table, case_id).items()}
        return clinical_values(row, schema, warnings, "The clinical CSV", refused, True)
    return None


def load_upload(
    contents: UploadContents,
    roles: dict[str, str | list[str]],
    *,
    image_name: str | None = None,
    case_id: str | None = None,
    series_uid: str | None = None,
    site: str | None = None,
    modality: str | None = None,
    schema: CohortSchema | None = None,
    correctable: bool = False,
) -> Case:
    """Load the upload as a case with ``roles`` mapping each role to structure name(s).

    The case is named by its images, never by a clinical file (whose IDs are often the
    hospital's): a DICOM upload by its pseudonym (or kept de-identified PatientID), volumes by the
    upload's content-derived folder name, as a cohort import names volume folders by pseudonyms.
    ``case_id`` picks its row of an uploaded clinical CSV (:func:`_row_of`). What storing the
    upload left out is said in the case's warnings. ``series_uid`` picks the image series of a
    DICOM upload, ``site`` the organ's site, and ``modality`` that of volume files (CT by
    default); ``schema`` checks its clinical values (the chosen model's own schema; the HCC
    schema by default); ``correctable``: a value it refuses is left out and named in
    :attr:`~survival_core.case.Case.clinical_refused` rather than failing the read.
    """
    if contents.kind == "volumes":
        image_name = image_name or contents.suggested_image()
        if image_name is None:
            raise InputError("No image volume was found in the upload.")
        named = {
            n for value in roles.values() for n in ([value] if isinstance(value, str) else value)
        }
        if image_name in named:
            raise InputError(f"{image_name} cannot be both the image and a mask.")
        case = load_case(
            contents.folder,
            roles=roles,
            case_id=contents.folder.name,
            site=site,
            modality=modality,
            image_name=image_name,
            schema=schema,
            correctable=correctable,
        )
    else:
        # DICOM is named by its pseudonym; an archive of volumes by the upload, as loose volumes
        # are (never by the archive's or a folder's name, which may be the patient's)
        try:
            case = load_case(
                contents.source,
                roles=roles,
                case_id=None if contents.series else contents.folder.name,
                site=site,
                series_uid=series_uid,
                schema=schema,
                correctable=correctable,
            )
        except DicomError as error:  # the series is chosen on the Case page, not by an option
            raise type(error)(str(error).replace(SERIES_OPTION, _SERIES_BOX)) from error
    refused: dict[str, str] | None = {} if correctable else None
    row = _row_of(contents, case, case_id)
    clinical = upload_clinical(contents, row, case.warnings, schema, refused)
    if clinical is not None:
        case.clinical, case.clinical_refused = clinical, refused or {}
    case.warnings.extend(contents.notes)
    return case


def _row_of(contents: UploadContents, case: Case, chosen: str | None) -> str:
    """The id of ``case``'s row in the upload's clinical CSV: ``chosen`` (the user's), else the
    case's own; where the images carry no patient ID to key it by, the CSV's only row (stored
    under :data:`~survival_core.io.uploads.UPLOAD_ROW`; any one row of volumes stored before).
    Several rows, none the case's, are refused: the user says which (never the first by
    default)."""
    listed = contents.clinical_case_ids()
    if chosen is not None:
        return chosen
    if not listed or case.case_id in listed:
        return case.case_id
    if len(listed) == 1 and (listed[0] == uploads.UPLOAD_ROW or not contents.series):
        return listed[0]
    shown = ", ".join(listed[:5]) + (", ..." if len(listed) > 5 else "")
    raise InputError(
        f"The clinical CSV lists {len(listed)} case(s) ({shown}), none of them this case "
        f"({case.case_id}): choose its case id in the clinical CSV."
    )
