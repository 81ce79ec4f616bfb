"""Which case each volume file of a dataset folder belongs to, from the names public datasets use.

Public NIfTI cohorts are not laid out one folder per patient: the Medical Segmentation Decathlon
and LiTS keep every case's image in ``imagesTr/`` and its label map, under the same file name, in
``labelsTr/``; nnU-Net adds a channel number to the images (``imagesTr/case_0000.nii.gz``);
HECKTOR (head-and-neck PET/CT with recurrence-free survival) names them
``imagesTr/CHUM-001__CT.nii.gz``, ``imagesTr/CHUM-001__PT.nii.gz`` and ``labelsTr/CHUM-001.nii.gz``
(its 2021 release ``CHGJ007_ct``, ``_pt``, ``_gtvt`` in one folder); pyradiomics' samples are
``lung1_image.nrrd`` with ``lung1_label.nrrd``; KiTS has ``case_00000/imaging.nii.gz`` and
``segmentation.nii.gz``; a MONAI Label datastore ``case001.nii.gz`` beside
``labels/final/case001.nii.gz`` (and ``labels/original/``: :data:`LABEL_STAGES`).
:func:`dataset_cases` finds the cases in such a set of paths: a file's
case key is its name less its channel number and its trailing role words (modality, image or
mask words, structure names: ``__CT``, ``_gtvt``, ``_label``), within its folder less the role
folders (``imagesTr``, ``labelsTr``...); a name that is only role words keys by its folder, and
so does a key without a digit (cases are named by IDs; ``pre_ct`` and ``post_ct`` are one
patient's time points). A case is a key two or more files share (an image and its mask at
least). Each file also gets the name it takes in its case's own folder, its role words
(``CT.nii.gz``, ``label.nii.gz``, ``gtvt.nii.gz``; a channel other than the first
``channel_0001``), so that every case reads as a per-patient folder does and an ROI map can name
a structure alike for all patients (``label.nii.gz:1``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from survival_core.errors import InputError
from survival_core.io.structures import (
    IMAGE_FOLDERS,
    IMAGE_STEMS,
    MASK_WORDS,
    MR_SEQUENCES,
    match_structure,
)
from survival_core.io.volume import is_volume_file, volume_stem

#: Words naming each modality's images in file names ('CHUM-001__PT', 'BraTS_001_t1ce').
MODALITY_NAMES = {
    "CT": frozenset({"ct", "cect"}),
    "PT": frozenset({"pt", "pet", "suv"}),
    "MR": frozenset({"mr", "mri", *MR_SEQUENCES, "flair", "adc", "dwi"}),
}
#: MR sequences as file names give them: a case's other sequences are kept by these names.
SEQUENCE_NAMES = MODALITY_NAMES["MR"] - {"mr", "mri"}
#: Words naming an image whatever its modality.
IMAGE_WORDS = frozenset({*IMAGE_STEMS, "imaging"}) - MODALITY_NAMES["CT"]
MODALITY_WORDS = frozenset().union(*MODALITY_NAMES.values())
#: Folders that say what their files are (image or mask), not whose.
ROLE_FOLDERS = frozenset({*IMAGE_FOLDERS, *MASK_WORDS, "segmentations", "gt", "groundtruth"})
_MASK_FOLDERS = ROLE_FOLDERS - IMAGE_FOLDERS
#: Folders below a mask folder that say which labels they hold, not whose: MONAI Label's
#: datastore keeps 'labels/final/' (saved) and 'labels/original/' (as given) beside its images.
LABEL_STAGES = frozenset({"final", "original"})
_CHANNEL = re.compile(r"_(\d{4})$")
#: A volume given by its name or its path.
VolumeName = TypeVar("VolumeName", str, Path)
_LAST_WORD = re.compile(r"(?:__|[_\-. ])([A-Za-z][A-Za-z0-9]*)$")
_PLAIN_WORDS = frozenset({*IMAGE_WORDS, *MASK_WORDS, *MODALITY_WORDS})
_FIRST_WORD = re.compile(r"([A-Za-z]+)(?:__|[_\-. ])")
_LEADING_WORDS = frozenset({*IMAGE_WORDS, *MASK_WORDS})


@dataclass(frozen=True)
class DatasetFile:
    """Where a file of a dataset folder belongs: its ``case`` (its folders less the role folders,
    then its case key: 'CHUM-001', 'kits/case_00000'; :func:`short_case_names` shortens them)
    and the ``name`` it takes in that case's folder ('CT.nii.gz')."""

    case: str
    name: str


def _is_role_word(word: str) -> bool:
    return word.lower() in _PLAIN_WORDS or match_structure(word) is not None


def split_name(stem: str, channels: bool = True, leading: bool = False) -> tuple[str, str, str]:
    """(case key, role words, channel) of a file stem: 'CHUM-001__CT' -> ('CHUM-001', 'CT', ''),
    'lung1_label' -> ('lung1', 'label', ''), 'case_0001' -> ('case', '', '0001'), 'imaging' ->
    ('', 'imaging', ''); without ``channels`` a 4-digit ending is the ID's ('lung_0001'); with
    ``leading`` image and mask words before an ID are role words too (LiTS's 'volume-12',
    'segmentation-12' -> ('12', 'volume', ''), ('12', 'segmentation', ''))."""
    channel = _CHANNEL.search(stem) if channels else None
    key = stem[: channel.start()] if channel else stem
    while (word := _LAST_WORD.search(key)) and _is_role_word(word.group(1)):
        key = key[: word.start()]
    start = 0
    while (
        leading
        and (word := _FIRST_WORD.match(key, start))
        and word.group(1).lower() in _LEADING_WORDS
        and _is_id(key[word.end() :])
    ):
        start = word.end()
    lead, key = key[:start], key[start:]
    if key.lower() in _PLAIN_WORDS:
        key = ""
    rest = stem[len(lead) + len(key) : channel.start() if channel else len(stem)]
    role = "_".join(part for part in (lead.strip("_-. "), rest.strip("_-. ")) if part)
    return key, role, channel.group(1) if channel else ""


def _is_id(key: str) -> bool:
    """Whether a case key can name a patient: IDs carry a digit ('CHUM-001', 'lung1'), time
    points and structures do not ('pre', 'gtv')."""
    return any(c.isdigit() for c in key)


def _name_words(stem: str) -> set[str]:
    """The stem, and its role words when what precedes them is a case ID (has a digit) or
    nothing: 'CHUM-001__CT' -> {'chum-001__ct', 'ct'}; 'gtv_ct' (a GTV drawn on the CT, no ID)
    -> {'gtv_ct'}."""
    key, role, _ = split_name(stem)
    words = {stem.lower()}
    if not key or _is_id(key):
        words |= set(re.split(r"[_\-. ]+", role.lower()))
    return words


def names_image(stem: str, modality: str = "CT") -> bool:
    """Whether a volume file's stem names a case's image of ``modality``: 'image', 'ct' (a CT
    case), or such role words after a case ID ('CHUM-001__CT', 'lung1_image'; not
    'CHUM-001__PT' in a CT case, nor the mask 'gtv_ct')."""
    named = IMAGE_WORDS | MODALITY_NAMES.get(modality.upper(), frozenset())
    return bool(_name_words(stem) & named)


def named_modality(stem: str) -> str | None:
    """The modality a volume file's name gives ('CHUM-001__PT' -> 'PT', 'BraTS_001_t1ce' ->
    'MR'), or None."""
    words = _name_words(stem)
    found = [m for m, named in MODALITY_NAMES.items() if words & named]
    return found[0] if len(found) == 1 else None


def modality_word(stem: str) -> str | None:
    """The word of a volume file's stem that gives its modality (:func:`named_modality`), as
    written: 't1ce' of 'BraTS_001_t1ce', 'PT' of 'CHUM-001__PT'; None where it gives none."""
    modality = named_modality(stem)
    if modality is None:
        return None
    words = [stem, *re.split(r"[_\-. ]+", split_name(stem)[1])]
    return next(w for w in words if w.lower() in MODALITY_NAMES[modality])


def named_sequence(stem: str) -> str | None:
    """The MR sequence a volume file's name gives, upper case ('BraTS20_001_flair' -> 'FLAIR',
    'FLAIR' -> 'FLAIR'), or None (no sequence, or several)."""
    found = _name_words(stem) & SEQUENCE_NAMES
    return found.pop().upper() if len(found) == 1 else None


def role_file_name(name: str) -> str | None:
    """A volume file's name less its case key, lower case ('seg.nii.gz' of
    'BraTS20_Training_001_seg.nii.gz'); None for other names (no volume suffix or no key)."""
    if not is_volume_file(name):
        return None
    stem = volume_stem(name)
    key, role, _ = split_name(stem)
    return (role + name[len(stem) :]).lower() if key and role else None


def nnunet_channels(names: Iterable[VolumeName]) -> dict[VolumeName, tuple[VolumeName, str]]:
    """nnU-Net's naming of one patient's volumes: each image channel ('P003_0000.nii.gz') whose
    label map ('P003.nii.gz') is among ``names`` -> (that label map, the channel: '0000')."""
    stems = {volume_stem(n): n for n in names if is_volume_file(str(n))}
    return {
        name: (stems[stem[: found.start()]], found[1])
        for stem, name in stems.items()
        if (found := _CHANNEL.search(stem)) and stem[: found.start()] in stems
    }


def _case_name(path: PurePosixPath, role: str, channel: str) -> str:
    """The file's name in its case folder: its role words, else what its folder says it is;
    an image channel after the first is ``channel_<n>``."""
    extension = path.name[len(volume_stem(path)) :]
    folder = path.parent.name.lower()
    if channel and channel != "0000":
        return f"channel_{channel}{extension}"
    if not role and _is_label_stage(path.parent):  # 'labels/original/' beside 'labels/final/'
        role = "label" if folder == "final" else f"label_{folder}"
    if not role:
        role = "label" if folder in _MASK_FOLDERS else "image"
    return role + extension


def _is_label_stage(folder: PurePosixPath) -> bool:
    """Whether ``folder`` is one of :data:`LABEL_STAGES` in a mask folder ('labels/final')."""
    return folder.name.lower() in LABEL_STAGES and folder.parent.name.lower() in _MASK_FOLDERS


def _case_folders(path: PurePosixPath) -> tuple[str, ...]:
    """The folders of a dataset's file that say whose it is: all but the role folders
    ('imagesTr', 'labelsTr') and the label stages below them (MONAI Label's 'labels/final'),
    which a case's image beside them lacks: its labels were another case."""
    return tuple(
        f.name
        for f in reversed(path.parents)  # outermost first; '.' has no name
        if f.name and f.name.lower() not in ROLE_FOLDERS and not _is_label_stage(f)
    )


def several_cases(paths: Iterable[str], where: str) -> InputError | None:
    """The refusal of volume files ``paths`` (in ``where``) that are several cases of a dataset
    (:func:`dataset_cases`: 'lung1_image', 'lung1_label', 'lung2_image'...), else None: one
    case is read from one patient's files."""
    cases = sorted({f.case for f in dataset_cases(paths, min_cases=2).values()})
    if not cases:
        return None
    return InputError(
        f"The volumes {where} are {len(cases)} cases of a dataset "
        f"({', '.join(cases[:5])}{'...' if len(cases) > 5 else ''}): load one case's files, or "
        "import the dataset as a cohort (Cohort page, cohort import)."
    )


def dataset_cases(paths: Iterable[str], min_cases: int = 1) -> dict[str, DatasetFile]:
    """The case and in-case name of each of ``paths`` (POSIX, relative; an archive member
    'a.zip:x/y.nii.gz') that shares its case key with another file; {} when fewer than
    ``min_cases`` cases are found (the files are then one patient's folder, or no dataset)."""
    keyed: dict[tuple[str, ...], list[tuple[str, PurePosixPath, str, str]]] = defaultdict(list)
    files_of = {shown: PurePosixPath(shown.replace(":", "/")) for shown in paths}
    # nnU-Net's labels carry no channel: a 4-digit ending a label shares is the case ID's
    # (Decathlon-style 'imagesTr/lung_0001' + 'labelsTr/lung_0001')
    labelled = {volume_stem(p) for p in files_of.values() if _in_mask_folder(p)}
    for shown, path in files_of.items():
        stem = volume_stem(path)
        key, role, channel = split_name(stem, channels=stem not in labelled, leading=True)
        if not _is_id(key):  # 'pre_ct', 'post_ct': one patient's, not IDs
            key = ""
        folders = _case_folders(path)
        keyed[(*folders, key) if key else folders].append((shown, path, role, channel))
    cases = {k: files for k, files in keyed.items() if len(files) >= 2 and k}
    if len(cases) < min_cases:
        return {}
    found = {}
    for key, files in cases.items():
        names = [_case_name(path, role, channel) for _, path, role, channel in files]
        if len({n.lower() for n in names}) < len(names):  # two files would clash: keep names
            names = [path.name for _, path, _, _ in files]
        found |= {f[0]: DatasetFile("/".join(key), n) for f, n in zip(files, names, strict=True)}
    return found


def _in_mask_folder(path: PurePosixPath) -> bool:
    """Whether a file lies in a folder of masks ('labelsTr/', 'masks/', 'segmentations/')."""
    return any(p.lower() in _MASK_FOLDERS for p in path.parent.parts)


def short_case_names(cases: Iterable[str]) -> dict[str, str]:
    """Each case's shortest tail of '/'-separated parts that no other case ends with
    ('hecktor/CHUM-001' -> 'CHUM-001'; 'A/p1' and 'B/p1' stay apart)."""
    keys = [tuple(c.split("/")) for c in dict.fromkeys(cases)]
    tails = Counter(key[-size:] for key in keys for size in range(1, len(key) + 1))
    return {
        "/".join(key): "/".join(
            next((key[-n:] for n in range(1, len(key)) if tails[key[-n:]] == 1), key)
        )
        for key in keys
    }
