"""Turn a generated cohort into a TCIA-like download: what a physicist brings to ``cohort import``.

:func:`write_download` writes one patient per listed generated case (by default each case once, so
every patient has its own image, masks and outcome; a case listed again becomes a clone with a new
identity and new UIDs, which makes large trees cheap). DICOM cases are nested as
``<PatientID>/<study>/<series>/1-NNN.dcm`` with a two-slice scout series and the RTSTRUCT in its
own series folder, every header carrying a fake identity (``LUNG1-001``, ``HARTMANN^MARGARET``)
and UIDs remapped per patient; NIfTI cases become ``<PatientID>/nifti/`` folders of the image and
mask files. Images are optionally cropped to the slices around the GTV to keep the tree small.

Named problems break chosen DICOM patients the way real downloads are broken (see
:data:`PROBLEMS`), and ``clinical.csv`` beside the tree holds the patients' clinical data under a
study's own column names, spellings and missing-value codes (like the TCIA NSCLC-Radiomics
export), keyed by PatientID. What the import should do with each patient is returned in a
:class:`DownloadTree`, for tests, benchmarks and browser scenarios.
"""

from __future__ import annotations

import copy
import csv
import io
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
import SimpleITK as sitk
from pydicom.dataset import Dataset
from pydicom.uid import UID_dictionary, generate_uid

from survival_core.io.manifest import read_manifest
from survival_core.io.structures import role_candidates

#: Problem name -> the text the import's report gives for it ("" when the patient still imports).
PROBLEMS = {
    "zipped": "",  # a good patient delivered as <PatientID>.zip
    "no_rtstruct": "no RTSTRUCT or SEG",  # the structure-set series was not downloaded
    "no_gtv": "no structure is recognised as the GTV",  # the GTV is named "Target-1"
    "truncated": "The file is damaged or truncated",  # one CT slice file cut short
    "two_organs": "Several organs could host the tumour",  # a "Liver" drawn over the lungs
}
#: Slices kept above and below the GTV when cropping.
CROP_MARGIN = 2
_SURNAMES = (
    "HARTMANN", "OKONKWO", "LINDQVIST", "MORETTI", "ABERNATHY", "KOWALSKI", "FONTAINE",
    "NAKAMURA", "OYELARAN", "VASQUEZ", "DRUMMOND", "PETROVIC", "ASHWORTH",
)  # fmt: skip
_GIVEN_NAMES = (
    "MARGARET", "THEODORE", "BEATRICE", "RAPHAEL", "ELEANOR", "AUGUSTIN", "CORDELIA",
    "LEOPOLD", "ROSALIND", "BARNABY", "GWENDOLYN",
)  # fmt: skip
#: Sex code -> (the usual spelling, the one every fourth row has).
_SEX_SPELLINGS = {"M": ("Male", "male"), "F": ("female", "Female")}
_HISTOLOGIES = ("Adenocarcinoma", "Squamous cell carcinoma", "Large cell")
#: Upper bounds (mm) of the largest diameter for T1, T2 and T3 (TNM 8 lung); above: T4.
_T_BOUNDS_MM = (30.0, 50.0, 70.0)
#: The time stamp of zip members, so that the same tree is the same bytes.
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_CLINICAL_HEADER = (
    "PatientID", "Age at diagnosis (years)", "gender", "ECOG", "T Stage", "Histology",
    "Survival.time", "deadstatus.event",
)  # fmt: skip


@dataclass(frozen=True)
class TreePatient:
    """One patient of the tree: the identity its files carry and what was done to them."""

    #: The PatientID of its headers, its folder's (or archive's) name and the sheet's key.
    patient_id: str
    #: The PatientName of its headers (NIfTI patients have none written).
    patient_name: str
    #: The generated case it was made from.
    source: str
    #: "dicom" or "nifti".
    fmt: str
    #: A :data:`PROBLEMS` name, "" when nothing is wrong.
    problem: str = ""

    @property
    def expected_failure(self) -> str:
        """Text of the import's reason for failing this patient ("" when it imports)."""
        return PROBLEMS.get(self.problem, "")


@dataclass(frozen=True)
class DownloadTree:
    """What :func:`write_download` wrote: the tree, the clinical sheet and the patients."""

    images: Path
    clinical: Path
    patients: tuple[TreePatient, ...]
    #: ``Survival.time`` states no unit (as in the TCIA export): give this one to the import.
    time_unit: str = "days"

    @property
    def patient_ids(self) -> list[str]:
        """Every patient's ID, in tree order."""
        return [p.patient_id for p in self.patients]

    @property
    def importable(self) -> list[str]:
        """IDs of the patients an import should bring in."""
        return [p.patient_id for p in self.patients if not p.expected_failure]

    @property
    def failing(self) -> dict[str, str]:
        """ID -> expected failure text of the patients an import should refuse."""
        return {p.patient_id: p.expected_failure for p in self.patients if p.expected_failure}

    def with_problem(self, problem: str) -> TreePatient:
        """The first patient given ``problem`` ("" for the first patient without one)."""
        return next(p for p in self.patients if p.problem == problem)

    @property
    def identifiers(self) -> set[str]:
        """IDs, names and name parts: what an import must never write."""
        found = set()
        for p in self.patients:
            found |= {p.patient_id, p.patient_name, *p.patient_name.split("^")} - {""}
        return found


# --- the generated cases, read once ---------------------------------------------------------------


@dataclass(frozen=True)
class _DicomSource:
    slices: list[Dataset]
    rtstruct: Dataset


#: A generated case as read: DICOM data sets, or NIfTI file name -> bytes.
_Source = _DicomSource | dict[str, bytes]


def _roi_numbers(rtstruct: Dataset, prefix: str) -> set[int]:
    return {
        int(r.ROINumber) for r in rtstruct.StructureSetROISequence if r.ROIName.startswith(prefix)
    }


def _referenced_sop(contour: Dataset) -> str:
    return contour.ContourImageSequence[0].ReferencedSOPInstanceUID


def _crop_dicom(slices: list[Dataset], rtstruct: Dataset) -> None:
    """Keep the slices around the GTV (in place), the contours and references on them, and only
    the GTV and organ structures (the others cost import time and say nothing more)."""
    gtv = _roi_numbers(rtstruct, "GTV")
    gtv_sops = {
        _referenced_sop(c)
        for item in rtstruct.ROIContourSequence
        if item.ReferencedROINumber in gtv
        for c in item.ContourSequence
    }
    index = [i for i, s in enumerate(slices) if s.SOPInstanceUID in gtv_sops]
    slices[:] = slices[max(min(index) - CROP_MARGIN, 0) : max(index) + CROP_MARGIN + 1]
    kept = {s.SOPInstanceUID for s in slices}
    for item in rtstruct.ROIContourSequence:
        item.ContourSequence = [c for c in item.ContourSequence if _referenced_sop(c) in kept]
    found = role_candidates([r.ROIName for r in rtstruct.StructureSetROISequence])
    wanted = {*found.gtv, *(name for names in found.organs.values() for name in names)}
    _keep_rois(
        rtstruct,
        {int(r.ROINumber) for r in rtstruct.StructureSetROISequence if r.ROIName in wanted},
    )
    study = rtstruct.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    refs = study.RTReferencedSeriesSequence[0]
    refs.ContourImageSequence = [
        r for r in refs.ContourImageSequence if r.ReferencedSOPInstanceUID in kept
    ]


def _keep_rois(rtstruct: Dataset, numbers: set[int]) -> None:
    """Drop every structure whose ROINumber is not in ``numbers`` from the three sequences."""
    rtstruct.StructureSetROISequence = [
        r for r in rtstruct.StructureSetROISequence if r.ROINumber in numbers
    ]
    rtstruct.RTROIObservationsSequence = [
        o for o in rtstruct.RTROIObservationsSequence if o.ReferencedROINumber in numbers
    ]
    rtstruct.ROIContourSequence = [
        i for i in rtstruct.ROIContourSequence if i.ReferencedROINumber in numbers
    ]


def _read_dicom(series: Path, structure_set: Path, crop: bool) -> _DicomSource:
    """A generated DICOM case's slices (sorted by position) and structure set."""
    rtstruct = pydicom.dcmread(structure_set)
    slices = [pydicom.dcmread(p) for p in sorted(series.iterdir())]
    slices.sort(key=lambda s: float(s.ImagePositionPatient[2]))
    if crop:
        _crop_dicom(slices, rtstruct)
    return _DicomSource(slices, rtstruct)


def _read_nifti(files: dict[str, Path], crop: bool) -> dict[str, bytes]:
    """File name -> bytes of a generated NIfTI case's image and masks, cropped like DICOM."""
    if not crop:
        return {name: path.read_bytes() for name, path in files.items()}
    gtv = sitk.GetArrayFromImage(sitk.ReadImage(str(files["gtv.nii.gz"])))
    z = gtv.any(axis=(1, 2)).nonzero()[0]
    start, stop = max(int(z.min()) - CROP_MARGIN, 0), int(z.max()) + CROP_MARGIN + 1
    cropped = {}
    with tempfile.TemporaryDirectory(prefix="radsurv-tree-") as tmp:
        for name, path in files.items():
            target = Path(tmp) / name
            sitk.WriteImage(sitk.ReadImage(str(path))[:, :, start:stop], str(target), True)
            cropped[name] = target.read_bytes()
    return cropped


def _read_sources(generated: Path, cases: set[str], crop: bool) -> dict[str, _Source]:
    """Case id -> :class:`_DicomSource` or NIfTI file bytes, for the listed cases."""
    sources: dict[str, _Source] = {}
    for row in read_manifest(generated).itertuples():
        if row.case_id not in cases:
            continue
        if row.format == "dicom":
            sources[row.case_id] = _read_dicom(Path(row.image), Path(row.rtstruct), crop)
        else:
            paths = [Path(row.image), Path(row.gtv_mask), Path(row.organ_mask)]
            sources[row.case_id] = _read_nifti({p.name: p for p in paths}, crop)
    unknown = sorted(cases - set(sources))
    if unknown:
        raise ValueError(f"{generated} has no case(s) {', '.join(unknown)}")
    return sources


# --- one patient's files --------------------------------------------------------------------------


def _remap_uids(ds: Dataset, patient_id: str) -> None:
    """New instance UIDs for a patient, the same for the same original UID."""

    def remap(_: Dataset, elem: pydicom.DataElement) -> None:
        if elem.VR != "UI" or not elem.value or elem.keyword.endswith("ClassUID"):
            return
        if str(elem.value) in UID_dictionary:
            return
        elem.value = generate_uid(entropy_srcs=[patient_id, str(elem.value)])

    ds.walk(remap)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


def _rename_gtv(rtstruct: Dataset) -> None:
    """The GTV named as no importer can guess ("Target-1")."""
    for roi in rtstruct.StructureSetROISequence:
        if roi.ROIName.startswith("GTV"):
            roi.ROIName = "Target-1"


def _add_liver_over_lungs(rtstruct: Dataset) -> None:
    """A "Liver" drawn over both lungs: two sites' organs could host the tumour."""
    lungs = _roi_numbers(rtstruct, "Lung")
    roi = copy.deepcopy(next(r for r in rtstruct.StructureSetROISequence if r.ROINumber in lungs))
    roi.ROINumber, roi.ROIName = 99, "Liver"
    rtstruct.StructureSetROISequence.append(roi)
    items = [i for i in rtstruct.ROIContourSequence if i.ReferencedROINumber in lungs]
    item = copy.deepcopy(items[0])
    item.ReferencedROINumber = 99
    item.ContourSequence = [copy.deepcopy(c) for i in items for c in i.ContourSequence]
    rtstruct.ROIContourSequence.append(item)


def _scout(slices: list[Dataset]) -> list[Dataset]:
    """A two-slice localizer series made of the first slices."""
    scout = [copy.deepcopy(s) for s in slices[:2]]
    for k, s in enumerate(scout):
        s.SeriesInstanceUID = generate_uid(entropy_srcs=["scout", slices[0].SeriesInstanceUID])
        s.SOPInstanceUID = generate_uid(entropy_srcs=["scout", str(k), s.SOPInstanceUID])
        s.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        s.SeriesDescription = "SCOUT"
    return scout


def _identify(ds: Dataset, patient_id: str, name: str, series_number: int) -> None:
    """The patient's identity (as before de-identification) and UIDs in a generated data set."""
    ds.PatientID, ds.PatientName, ds.SeriesNumber = patient_id, name, series_number
    for keyword in ("PatientIdentityRemoved", "DeidentificationMethod"):
        if keyword in ds:
            delattr(ds, keyword)
    _remap_uids(ds, patient_id)


def _uid_digits(uid: str) -> str:
    return uid.replace(".", "")[-5:]


def _study_folder(ds: Dataset) -> str:
    """A study folder named as the NBIA downloader does: ``01-31-2020-NA-12345``."""
    date = ds.StudyDate
    return f"{date[4:6]}-{date[6:8]}-{date[:4]}-NA-{_uid_digits(ds.StudyInstanceUID)}"


def _series_folder(ds: Dataset, description: str) -> str:
    """A series folder named as the NBIA downloader does: ``2.000000-CT THORAX-12345``."""
    return f"{ds.SeriesNumber}.000000-{description}-{_uid_digits(ds.SeriesInstanceUID)}"


def _dicom_files(source: _DicomSource, patient: TreePatient) -> dict[str, bytes]:
    """Relative path -> bytes of a DICOM patient: study/series folders, the scout, the CT and
    (unless missing) the RTSTRUCT, with the patient's identity, UIDs and problem."""
    slices = [copy.deepcopy(s) for s in source.slices]
    rtstruct = copy.deepcopy(source.rtstruct)
    if patient.problem == "no_gtv":
        _rename_gtv(rtstruct)
    if patient.problem == "two_organs":
        _add_liver_over_lungs(rtstruct)
    series = [(1, "SCOUT", _scout(slices)), (2, "CT THORAX", slices)]
    if patient.problem != "no_rtstruct":
        series.append((3, "RTSTRUCT", [rtstruct]))
    files: dict[str, bytes] = {}
    for number, description, datasets in series:
        for k, ds in enumerate(datasets):
            _identify(ds, patient.patient_id, patient.patient_name, number)
            folder = f"{_study_folder(ds)}/{_series_folder(ds, description)}"
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            files[f"{folder}/1-{k + 1:03d}.dcm"] = buffer.getvalue()
    return files


def _patient_files(source: _Source, patient: TreePatient) -> dict[str, bytes]:
    """Relative path (below the patient's folder) -> bytes, problems applied."""
    if patient.fmt == "nifti":
        return {f"nifti/{name}": data for name, data in source.items()}
    files = _dicom_files(source, patient)
    if patient.problem == "truncated":
        ct = sorted(p for p in files if "-CT THORAX-" in p)
        victim = ct[len(ct) // 2]
        files[victim] = files[victim][: -len(files[victim]) // 3]
    return files


def _deliver(images: Path, patient: TreePatient, files: dict[str, bytes]) -> None:
    """Write the files under ``<PatientID>/``, or into ``<PatientID>.zip`` when zipped."""
    if patient.problem == "zipped":
        with zipfile.ZipFile(images / f"{patient.patient_id}.zip", "w") as archive:
            for relative, data in files.items():
                member = zipfile.ZipInfo(f"{patient.patient_id}/{relative}", _ZIP_TIME)
                archive.writestr(member, data)
        return
    for relative, data in files.items():
        path = images / patient.patient_id / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# --- identities, problems and the clinical sheet -------------------------------------------------


def _fake_name(k: int) -> str:
    """The fake DICOM PatientName of patient number ``k`` (parts of 7+ letters)."""
    return f"{_SURNAMES[k % len(_SURNAMES)]}^{_GIVEN_NAMES[k % len(_GIVEN_NAMES)]}"


def _assign_problems(formats: list[str], problems: Sequence[str]) -> list[str]:
    """Each patient's problem: the problems spread evenly over the DICOM patients."""
    unknown = sorted(set(problems) - set(PROBLEMS))
    if unknown:
        raise ValueError(f"unknown problem(s) {', '.join(unknown)}; known: {', '.join(PROBLEMS)}")
    dicom = [k for k, fmt in enumerate(formats) if fmt == "dicom"]
    if len(problems) > len(dicom):
        raise ValueError(f"{len(problems)} problems but only {len(dicom)} DICOM patients")
    assigned = [""] * len(formats)
    for j, problem in enumerate(problems):
        assigned[dicom[j * len(dicom) // len(problems)]] = problem
    return assigned


def _t_stage(diameter_mm: float) -> str:
    return f"T{1 + sum(diameter_mm > bound for bound in _T_BOUNDS_MM)}"


def _clinical_row(k: int, patient: TreePatient, row: dict[str, str]) -> list[str]:
    """Patient ``k``'s row as the study exported it, in its own names and spellings: every fifth
    age is -999 and every fifth ECOG NA, every third histology is in lower case, every fourth
    sex spelled with the other case."""
    histology = _HISTOLOGIES[zlib.crc32(patient.source.encode()) % len(_HISTOLOGIES)]
    return [
        patient.patient_id,
        "-999" if k % 5 == 3 else str(round(float(row["age"]))),
        _SEX_SPELLINGS[row["sex"]][k % 4 == 2],
        "NA" if k % 5 == 1 else row["ecog"],
        _t_stage(float(row["tumor_diameter"])),
        histology.lower() if k % 3 == 1 else histology,
        row["time"],
        row["event"],
    ]


def _write_clinical(path: Path, patients: list[TreePatient], generated: Path) -> None:
    with open(generated / "clinical.csv", encoding="utf-8", newline="") as handle:
        rows = {r["case_id"]: r for r in csv.DictReader(handle)}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_CLINICAL_HEADER)
        writer.writerows(_clinical_row(k, p, rows[p.source]) for k, p in enumerate(patients))


def write_download(
    generated: Path | str,
    out: Path | str,
    *,
    cases: Sequence[str] | None = None,
    problems: Sequence[str] = (),
    crop: bool = True,
    id_prefix: str = "LUNG1",
) -> DownloadTree:
    """Write ``out/images/`` (the download tree) and ``out/clinical.csv`` from the generated
    cohort ``generated``; ``out/images`` must not exist yet.

    ``cases`` lists the generated case ids to make patients of, in order (default: every case
    once); a case listed again is cloned as another patient. Patient ``k`` is
    ``{id_prefix}-{k + 1:03d}``. ``problems`` (names of :data:`PROBLEMS`, repeats allowed) are
    given to distinct DICOM patients spread evenly over the tree. ``crop`` keeps only the slices
    around each GTV (and :data:`CROP_MARGIN` more on each side) and, in structure sets, only the
    GTV and organ structures. The same arguments write the same bytes.
    """
    generated, out = Path(generated).resolve(), Path(out)
    manifest = read_manifest(generated)
    formats_of = dict(zip(manifest.case_id, manifest.format, strict=True))
    cases = list(manifest.case_id) if cases is None else list(cases)
    formats = [formats_of.get(c, "") for c in cases]
    assigned = _assign_problems(formats, problems)
    patients = [
        TreePatient(
            f"{id_prefix}-{k + 1:03d}", _fake_name(k) if fmt == "dicom" else "", case, fmt, problem
        )
        for k, (case, fmt, problem) in enumerate(zip(cases, formats, assigned, strict=True))
    ]
    sources = _read_sources(generated, set(cases), crop)
    images = out / "images"
    images.mkdir(parents=True)
    for patient in patients:
        _deliver(images, patient, _patient_files(sources[patient.source], patient))
    clinical = out / "clinical.csv"
    _write_clinical(clinical, patients, generated)
    return DownloadTree(images, clinical, tuple(patients))
