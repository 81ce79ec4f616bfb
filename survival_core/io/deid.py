"""De-identification of DICOM and volume files, applied to uploads before anything is stored.

DICOM follows the DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (113100)
with the Retain Longitudinal Temporal Information with Modified Dates Option (113107):

- the attributes of :data:`PROFILE` that matter for CT series and RT structure sets get the
  profile's action: X remove, Z empty, D dummy value, U new UID (compound codes such as X/Z are
  resolved to the least destructive valid choice, see :func:`_resolve`), and the table's other
  attributes that may hold identifying text (orders, visits, interpretations, clinical trial
  subjects) are removed, the retired and newest ones by tag number; every nested sequence item
  is treated the same way, any person name (PN) the table does not list is emptied, and any
  other free text (LT, ST, UT, "...Comments") removed;
- the texts that name structures (ROI names, segment labels and descriptions, content label and
  description) are kept, less the patient's own name parts, IDs and birth date
  (:func:`structure_names`, which whoever matches names before de-identification applies too);
- private attributes, curves (50xx) and overlays (60xx) are removed;
- the patient's name and ID become a pseudonym, ``RS-`` + 10 hex digits of an HMAC of the
  original PatientID, which is also the case id the app shows (data already marked
  PatientIdentityRemoved=YES keep their PatientID, a study code, as the pseudonym); a PatientID
  that names no one (empty, 'ANONYMOUS') gives way to the StudyInstanceUID
  (:func:`patient_identity`, :func:`case_id_of`: the cohort import names and groups its cases
  by the same rule);
- every date (DA) and date-time (DT) is shifted by the same whole number of days for one patient
  (365 to 3650 days back, from an HMAC of what the pseudonym derives from), so intervals between
  studies survive;
  times of day are kept; the birth date is emptied, not shifted;
- of the patient's characteristics only weight and size are kept (the Retain Patient
  Characteristics Option 113108): a PET's SUV is computed from the weight;
- every instance UID (study, series, SOP instance, frame of reference, referenced SOP instances,
  file meta) is replaced by ``2.25.<integer>`` from an HMAC of the original UID, so a CT series
  and the RTSTRUCT that references it stay linked, across uploads too.

The HMAC key is ``<data>/keys/deid.key`` (32 random bytes, created on first use, mode 0600);
whoever holds it can re-link pseudonyms to patient IDs they already know, so it stays on the
server. NIfTI, NRRD and MetaImage headers carry no patient attributes but free text (NIfTI
``descrip``/``aux_file``/``intent_name``/extensions, NRRD comments, key/value pairs and
``content``, MetaImage fields outside the format's own): those are blanked or dropped, except a
3D Slicer segmentation's segment names, label values and layers, which name structures as an
RTSTRUCT's ROI names (kept by DICOM de-identification) do.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import os
import re
import secrets
import struct
import threading
import unicodedata
import uuid
import warnings
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

import pydicom.config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

from survival_core.errors import DicomError, InputError
from survival_core.io.dicom_series import (
    DUMMY_TEXT,
    dcmread_whole,
    set_transfer_syntax,
    structure_text,
)
from survival_core.io.filetype import is_bare_dicom
from survival_core.io.label_maps import SEGMENT_KEY
from survival_core.io.mr_sequence import header_sequence
from survival_core.io.structures import STRUCTURE_WORDS
from survival_core.io.volume import MAX_VOLUME_BYTES
from survival_core.paths import data_dir

KEY_FILE = Path("keys") / "deid.key"
PSEUDONYM_PREFIX = "RS-"
#: Range of the per-patient date shift, in days back.
SHIFT_DAYS = (365, 3650)
#: DeidentificationMethod (LO, at most 64 characters).
METHOD = "RadSurv: PS3.15 E Basic Profile, dates shifted, UIDs remapped"
#: (code value, meaning) of the profile and option applied (CID 7050).
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)

#: PS3.15 Annex E Basic Profile action per attribute keyword, for the attributes CT images and RT
#: structure sets carry (file meta and the patient, study, series, equipment and RT modules).
PROFILE: dict[str, str] = {
    # file meta
    "MediaStorageSOPInstanceUID": "U",
    "SourceApplicationEntityTitle": "X",
    "SendingApplicationEntityTitle": "X",
    "ReceivingApplicationEntityTitle": "X",
    "SourcePresentationAddress": "X",
    # patient
    "PatientName": "Z",
    "PatientID": "Z",
    "IssuerOfPatientID": "X",
    "IssuerOfPatientIDQualifiersSequence": "X",
    "PatientBirthDate": "Z",
    "PatientBirthTime": "X",
    "PatientBirthName": "X",
    "PatientMotherBirthName": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X",
    "PatientAge": "X",
    "PatientSex": "Z",
    # PatientSize, PatientWeight: kept (option 113108), PET's SUV needs the weight
    "MedicalRecordLocator": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "EthnicGroup": "X",
    "Occupation": "X",
    "SmokingStatus": "X",
    "AdditionalPatientHistory": "X",
    "PregnancyStatus": "X",
    "LastMenstrualDate": "X",
    "PatientReligiousPreference": "X",
    "PatientComments": "X",
    "PatientState": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "ReferencedPatientSequence": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    # study, visit and request
    "StudyInstanceUID": "U",
    "StudyID": "Z",
    "AccessionNumber": "Z",
    "IssuerOfAccessionNumberSequence": "X",
    "StudyDescription": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "AdmissionID": "X",
    "IssuerOfAdmissionIDSequence": "X",
    "ReasonForStudy": "X",
    "RequestedProcedureDescription": "X",
    "RequestedProcedureID": "X",
    "RequestAttributesSequence": "X",
    "ReferencedStudySequence": "X/Z",
    "ImageComments": "X",
    "TextComments": "X",
    "TimezoneOffsetFromUTC": "X",
    # series, equipment and acquisition
    "SeriesInstanceUID": "U",
    "SOPInstanceUID": "U",
    "FrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U",
    "InstanceCreatorUID": "U",
    "IrradiationEventUID": "U",
    "StorageMediaFileSetUID": "U",
    "ReferencedSOPInstanceUID": "U",
    "ReferencedFrameOfReferenceUID": "U",
    "RelatedFrameOfReferenceUID": "U",
    "SeriesDescription": "X",
    "ProtocolName": "X/D",
    "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "OperatorsName": "X/Z/D",
    "OperatorIdentificationSequence": "X/D",
    "InstitutionName": "X/Z/D",
    "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X",
    "InstitutionCodeSequence": "X/Z/D",
    "StationName": "X/Z/D",
    "DeviceSerialNumber": "X/Z/D",
    "DeviceUID": "U",
    "DetectorID": "X/Z/D",
    "GantryID": "X",
    "PlateID": "X",
    "CassetteID": "X",
    "ContrastBolusAgent": "Z/D",
    "AcquisitionComments": "X",
    "DerivationDescription": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedLocation": "X",
    "PerformedStationName": "X",
    "PerformedStationAETitle": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledProcedureStepID": "X",
    "ReferencedPerformedProcedureStepSequence": "X/Z/D",
    # RT structure set
    "StructureSetLabel": "D",
    "StructureSetName": "X",
    "StructureSetDescription": "X",
    "ROIDescription": "X",
    "ROIGenerationDescription": "X",
    "ROIInterpreter": "Z",
    "ROIObservationDescription": "X",
    "ContentCreatorName": "Z",
    "ContentCreatorIdentificationCodeSequence": "X",
    "ReviewerName": "X/Z",
    "VerifyingObserverName": "D",
    "VerifyingObserverIdentificationCodeSequence": "Z",
    "PersonName": "D",
    "PersonAddress": "X",
    "PersonTelephoneNumbers": "X",
    # RT plan, the RT objects' annotations
    "RTPlanLabel": "D",
    "TreatmentMachineName": "Z",
    "AnnotationGroupLabel": "D",
    # dates and times of studies: kept, shifted (option 113107)
    "StudyDate": "Z",
    "SeriesDate": "X/D",
    "AcquisitionDate": "X/Z",
    "ContentDate": "Z/D",
    "InstanceCreationDate": "X/D",
    "StructureSetDate": "X/Z",
    "AcquisitionDateTime": "X/Z/D",
}

#: Further attributes of PS3.15 Table E.1-1 that hold or may hold identifying text (orders,
#: visits, interpretations, clinical trial subjects, alternative-calendar dates): removed, which
#: the profile allows for each (a real export carried the patient's name in MedicalAlerts and
#: StudyComments, the MRN in ClinicalTrialSubjectID and the order numbers); and the file meta's
#: PrivateInformation, any application's bytes (with the UID of who wrote them).
_REMOVED = """
    MedicalAlerts Allergies SpecialNeeds PatientTransportArrangements CurrentPatientLocation
    PatientInstitutionResidence ScheduledPatientInstitutionResidence PatientSexNeutered
    PatientBirthDateInAlternativeCalendar PatientDeathDateInAlternativeCalendar
    PatientAlternativeCalendar PatientPrimaryLanguageCodeSequence
    PatientPrimaryLanguageModifierCodeSequence PatientTelecomInformation PersonTelecomInformation
    PersonIdentificationCodeSequence ReferencedPatientAliasSequence ResponsiblePersonRole
    ConfidentialityConstraintOnPatientDataDescription InsurancePlanIdentification PreMedication
    ClinicalTrialSubjectID ClinicalTrialSubjectReadingID ClinicalTrialSponsorName
    ClinicalTrialProtocolID ClinicalTrialProtocolName ClinicalTrialSiteID ClinicalTrialSiteName
    ClinicalTrialCoordinatingCenterName ClinicalTrialTimePointID ClinicalTrialTimePointDescription
    ClinicalTrialProtocolEthicsCommitteeName ClinicalTrialProtocolEthicsCommitteeApprovalNumber
    StudyComments StudyIDIssuer PlacerOrderNumberImagingServiceRequest
    FillerOrderNumberImagingServiceRequest ImagingServiceRequestComments RequestedProcedureComments
    RequestedProcedureLocation RequestedContrastAgent ReasonForTheImagingServiceRequest
    ReasonForTheRequestedProcedure OrderEnteredBy OrderEntererLocation OrderCallbackPhoneNumber
    RequestingPhysicianIdentificationSequence ScheduledProcedureStepSequence
    ScheduledProcedureStepStartDate ScheduledProcedureStepEndDate ScheduledProcedureStepLocation
    ScheduledPerformingPhysicianName ScheduledPerformingPhysicianIdentificationSequence
    ScheduledHumanPerformersSequence ScheduledStationName ScheduledStationAETitle
    ScheduledStationNameCodeSequence ScheduledStationGeographicLocationCodeSequence
    ScheduledStudyLocation ScheduledStudyLocationAETitle PerformedProcedureStepEndDate
    PerformedStationGeographicLocationCodeSequence ActualHumanPerformersSequence HumanPerformerName
    HumanPerformerOrganization CommentsOnThePerformedProcedureStep CommentsOnRadiationDose
    VisitComments ServiceEpisodeDescription ServiceEpisodeID IssuerOfServiceEpisodeID
    IssuerOfAdmissionID AdmittingDate AdmittingTime DischargeDiagnosisDescription ResultsComments
    ResultsIDIssuer ResultsDistributionListSequence IntendedRecipientsOfResultsIdentificationSequence
    NamesOfIntendedRecipientsOfResults DistributionName DistributionAddress InterpretationText
    InterpretationDiagnosisDescription InterpretationRecorder InterpretationTranscriber
    InterpretationAuthor InterpretationApproverSequence InterpretationIDIssuer
    PhysicianApprovingInterpretation Impressions IdentifyingComments FrameComments
    ImagePresentationComments ModifiedImageDescription TopicTitle TopicSubject TopicAuthor
    TopicKeywords TextString ContentSequence AcquisitionDeviceProcessingDescription
    VerifyingOrganization AuthorObserverSequence ParticipantSequence CustodialOrganizationSequence
    GeneratorID ModifyingDeviceID ModifyingDeviceManufacturer Arbitrary DigitalSignaturesSequence
    DataSetTrailingPadding IconImageSequence OriginalAttributesSequence ModifiedAttributesSequence
    ClinicalTrialSeriesID ClinicalTrialSeriesDescription IssuerOfClinicalTrialSeriesID
    IssuerOfClinicalTrialProtocolID IssuerOfClinicalTrialSiteID IssuerOfClinicalTrialSubjectID
    IssuerOfClinicalTrialSubjectReadingID IssuerOfClinicalTrialTimePointID RetrieveAETitle
    StationAETitle Originator SecondaryCaptureDeviceID DeviceDescription PyramidLabel
    PyramidDescription RequestedSeriesDescription ContainerDescription SpecimenShortDescription
    InterventionDrugStopTime PositionAcquisitionTemplateName RTPlanName DoseReferenceDescription
    FractionGroupDescription SourceManufacturer EntityName ROICreatorSequence
    ROIInterpreterSequence XRaySourceID XRayDetectorID XRayDetectorLabel
    PrivateInformation PrivateInformationCreatorUID
"""
PROFILE.update(dict.fromkeys(_REMOVED.split(), "X"))
#: Rows of Table E.1-1 (all X) matched by tag number: pydicom's dictionary names these only as
#: retired (a later one may drop them) or not at all (added to the standard after it), so an
#: element read from a file may carry no keyword, and unlisted elements are kept.
_REMOVED_TAGS = frozenset(
    {
        0x00081000,  # Network ID (retired)
        *range(0x00100011, 0x00100017),  # names to use and pronouns
        *range(0x00100041, 0x00100048),  # gender identity and sex parameters for clinical use
        0x00181011,  # Hardcopy Creation Device ID (retired)
        0x0040050A,  # Specimen Accession Number (retired)
        0x004006FA,  # Slide Identifier (retired)
        0x30060085,  # ROI Observation Label (retired)
        0x300A000B,  # Treatment Sites (retired)
        0x40080040,  # Results ID (retired)
    }
)
#: Texts kept although the profile empties or does not list them: they name the structures
#: (an RTSTRUCT's ROIs, a SEG's segments and content) the app's roles need. The patient's own
#: names, IDs and birth date are cut out of them (:func:`structure_names`).
_KEPT_TEXT = {"ROIName", "SegmentLabel", "SegmentDescription", "ContentLabel", "ContentDescription"}
#: Free text (LT, ST, UT) and any "...Comments" attribute the profile does not list is removed
#: too (a site's own use of them may name the patient), but for :data:`_KEPT_TEXT`.
_FREE_TEXT = {"LT", "ST", "UT"}
#: Where the patient's names are read from, to be cut out of :data:`_KEPT_TEXT`.
_OWN_NAMES = ("PatientName", "PatientBirthName", "OtherPatientNames")
#: Fewest characters of a name part or code cut out of kept texts: shorter ones ('Li', 'Wu')
#: would cut into structure names and identify no one on their own.
_MIN_IDENTIFIER = 3
#: What the cutting leaves between and around the remaining words.
_SEPARATORS = " ^_-.,;:/"
#: PatientIDs that name no one: placeholders that de-identifying tools and exports share (IDs of
#: no letter or digit but zeros are placeholders too, see :func:`names_no_one`).
_PLACEHOLDER_IDS = {DUMMY_TEXT, "ANONYMOUS", "ANON", "UNKNOWN", "UNK", "NONE", "NULL", "NA", "N/A"}
#: What stands for the patient when the PatientID names no one, first found first: one study is
#: one patient's and an RTSTRUCT or SEG shares its image's study, so different studies never
#: share a case id or a date shift.
_STAND_INS = ("StudyInstanceUID", "FrameOfReferenceUID", "SeriesInstanceUID")
#: What :func:`patient_identity`, :func:`case_pseudonym` and :func:`structure_names` read of a
#: data set: a reader of selected attributes (the cohort inventory) reads them all, so that it
#: names patients and structures as de-identification does.
IDENTITY_KEYWORDS = (
    "PatientID",
    "PatientIdentityRemoved",
    *_STAND_INS,
    *_OWN_NAMES,
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "PatientBirthDate",
)

#: Dates the option 113107 does not keep: the birth date is emptied, the birth time removed.
_BIRTH = {"PatientBirthDate", "PatientBirthTime"}
#: UI attributes naming classes, syntaxes or coding schemes: never remapped.
_KEEP_UIDS = {
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "CodingSchemeUID",
    "ContextGroupExtensionCreatorUID",
    "PrivateInformationCreatorUID",
    "MappingResourceUID",
    "ContextUID",
}
_DUMMY_BY_VR = {"PN": DUMMY_TEXT, "IS": "0", "DS": "0", "TM": "000000", "CS": DUMMY_TEXT}


def _key_path() -> Path:
    return data_dir() / KEY_FILE


def load_key() -> bytes:
    """The de-identification HMAC key, created on first use (mode 0600, folder 0700)."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        try:
            os.link(staging, path)  # atomic; a concurrent first use keeps the winner's key
        except FileExistsError:
            pass
        finally:
            staging.unlink()
    key = path.read_bytes()
    if len(key) < 16:
        raise InputError(f"The de-identification key {path} is damaged (shorter than 16 bytes).")
    return key


class Deidentifier:
    """Pseudonyms, date shifts and UID remapping derived from one secret key. ``keep_marked``
    False pseudonymises the PatientID of data marked de-identified too (a patient of whose files
    only some carry the mark: their PatientID is the hospital's, see :func:`case_pseudonym`)."""

    def __init__(self, key: bytes | None = None, keep_marked: bool = True) -> None:
        self._key = key if key is not None else load_key()
        self.keep_marked = keep_marked
        self._given: dict[str, set[str]] = {}  # original PatientID -> the case ids it got

    def mixed_marks(self) -> bool:
        """Whether one PatientID got two case ids here: some of its files marked de-identified
        (their ID kept), others not (pseudonymised): the mark is then not to be trusted."""
        return any(len(given) > 1 for given in self._given.values())

    def case_ids(self) -> dict[str, str]:
        """Original PatientID -> the case id its files got here (a pseudonym, or itself when
        marked de-identified), for the IDs that got one."""
        return {
            patient: next(iter(given))
            for patient, given in self._given.items()
            if patient and len(given) == 1
        }

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_id: str) -> str:
        """The case id standing for ``patient_id``: ``RS-`` + 10 hex digits."""
        return PSEUDONYM_PREFIX + self._digest("patient", _same_id(patient_id)).hex()[:10].upper()

    def folder_token(self, name: str) -> str:
        """A keyed stand-in for a folder name (export folders are often named after patients)."""
        return "d" + self._digest("folder", name).hex()[:8]

    def content_token(self, content: bytes) -> bytes:
        """A keyed stand-in for a file's bytes as uploaded (a clinical file may name the
        patient): it tells two files apart without saying anything of either."""
        return self._digest("content", hashlib.sha256(content).hexdigest())

    def record_token(self, record: str) -> str:
        """A keyed stand-in for a patient's record (16 hex digits; a model card's training
        patient, its case id and outcome): the same key tells whether a cohort holds the same
        record, while without it nothing is recovered (an unkeyed digest gave a patient's time
        and event from its case id by trying every day)."""
        return self._digest("record", record).hex()[:16]

    def day_shift(self, patient_id: str) -> int:
        """Days (negative: back in time) by which this patient's dates are moved."""
        low, high = SHIFT_DAYS
        draw = int.from_bytes(self._digest("dates", _same_id(patient_id))[:4], "big")
        return -(low + draw % (high - low + 1))

    def uid(self, original: str) -> str:
        """The replacement of an instance UID: ``2.25.<128-bit integer>`` (a UUID-derived UID)."""
        digest = self._digest("uid", original.strip().rstrip("\0"))
        return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"

    def deidentify(self, ds: Dataset) -> str:
        """De-identify ``ds`` (with its file meta) in place; returns the case pseudonym.

        Data already marked PatientIdentityRemoved=YES (by RadSurv or another tool) keep their
        PatientID as the case id (see :func:`case_pseudonym`) but go through the whole profile
        all the same: the mark is never trusted to skip the cleaning.
        """
        if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
            raise DicomError(
                "The image has identifying text burned into its pixels (BurnedInAnnotation=YES); "
                "RadSurv cannot clean pixel data. Export the series without annotations."
            )
        patient_id = _patient_id(ds)
        pseudonym = case_pseudonym(ds, self)
        if patient_id:  # files of a placeholder ID are not one patient's: no mixed marks
            self._given.setdefault(patient_id, set()).add(pseudonym)
        shift = timedelta(days=self.day_shift(patient_identity(ds)))
        names = structure_names(ds)  # read before the walk empties the patient's attributes
        # an MR series' weighting, read from the names and contrast agent the walk removes
        weighting = header_sequence(ds) if str(ds.get("Modality", "")).upper() == "MR" else None
        self._walk(ds, shift, names)
        if weighting is not None:  # our own word, nothing of the patient's: 'T1C', 'FLAIR'
            ds.SeriesDescription = weighting
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            self._walk(meta, shift, names)
        ds.PatientName = pseudonym
        ds.PatientID = pseudonym
        ds.PatientIdentityRemoved = "YES"
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
        ds.DeidentificationMethod = METHOD
        ds.DeidentificationMethodCodeSequence = Sequence([_code(*c) for c in METHOD_CODES])
        return pseudonym

    def _walk(self, ds: Dataset, shift: timedelta, names: Callable[[str], str]) -> None:
        """Apply the profile to ``ds`` and its sequence items; ``names``: what
        :data:`_KEPT_TEXT` become (:func:`structure_names`)."""
        for keyword in _KEPT_TEXT:  # bytes of another character set: stored as they read
            text, guessed = structure_text(ds, keyword)
            if guessed:
                ds[keyword].value = text
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private or (tag.group >> 8) in (0x50, 0x60):
                del ds[tag]
                continue
            if elem.VR == "SQ" and _resolve(_profile_code(elem)) in ("K", "U"):
                for item in elem.value:
                    self._walk(item, shift, names)
                continue
            self._apply(ds, elem, shift, names)

    def _apply(
        self, ds: Dataset, elem: DataElement, shift: timedelta, names: Callable[[str], str]
    ) -> None:
        keyword = elem.keyword
        action = _resolve(_profile_code(elem))
        if action == "K" and keyword in _KEPT_TEXT:
            if elem.value:
                elem.value = _map_values(elem.value, names)
            return
        if action == "K" and (elem.VR in _FREE_TEXT or keyword.endswith("Comments")):
            action = "X"
        if elem.VR in ("DA", "DT") and keyword not in _BIRTH and action != "U":
            elem.value = _shift(elem.value, shift, elem.VR)
        elif action == "X":
            del ds[elem.tag]
        elif action == "Z" or (elem.VR == "PN" and action == "K"):
            elem.value = Sequence() if elem.VR == "SQ" else ""
        elif action == "D":
            elem.value = Sequence() if elem.VR == "SQ" else _DUMMY_BY_VR.get(elem.VR, DUMMY_TEXT)
        elif elem.VR == "UI" and elem.value and _remappable(keyword, elem):
            elem.value = _map_values(elem.value, self.uid)


def _profile_code(elem: DataElement) -> str:
    """The profile's code for ``elem``: by keyword, else by tag number, else K (keep)."""
    code = PROFILE.get(elem.keyword)
    if code is None:
        return "X" if int(elem.tag) in _REMOVED_TAGS else "K"
    return code


def _resolve(code: str) -> str:
    """One action for a profile code: any choice with Z -> Z (empty: valid for type 2 and 3
    attributes, nothing kept), X/D -> D (valid for type 1), a choice with U -> U (the sequence is
    kept and its UIDs remapped); single codes as they are."""
    if "/" not in code:
        return code
    options = code.split("/")
    if any(o.startswith("U") for o in options):
        return "U"
    return "Z" if "Z" in options else "D"


def _remappable(keyword: str, elem: DataElement) -> bool:
    if keyword in _KEEP_UIDS or keyword.endswith("ClassUID"):
        return False
    values = elem.value if isinstance(elem.value, list | MultiValue) else [elem.value]
    return not any(str(v) in UID_dictionary for v in values)


def _map_values(value, fn: Callable[[str], str]):
    if isinstance(value, list | MultiValue):
        return [fn(str(v)) for v in value]
    return fn(str(value))


def _same_id(patient_id: str) -> str:
    """A patient ID as its pseudonym and date shift key it: stripped, its letters composed
    ('MÜL-4711' typed on macOS, decomposed, got another case id)."""
    return unicodedata.normalize("NFC", patient_id.strip())


def text_values(ds: Dataset, keyword: str) -> list[str]:
    """The values of one attribute of ``ds`` as texts (none when absent or empty)."""
    value = ds.get(keyword)
    if not value:
        return []
    return [str(v) for v in (value if isinstance(value, list | MultiValue) else [value])]


def _identifier_pattern(ds: Dataset) -> re.Pattern[str] | None:
    """The patient's own identifiers in ``ds``, as one pattern: each part of its names (of at
    least :data:`_MIN_IDENTIFIER` letters) as a whole word (a patient called Art leaves
    'Artery'), its IDs (:func:`_bounded`) and its birth date in the usual written forms."""
    names = {
        form
        for keyword in _OWN_NAMES
        for value in text_values(ds, keyword)
        for form in _name_forms(value)
        if form.lower() not in STRUCTURE_WORDS  # 'LIVER_017' names no one's 'Liver'
    }
    others = (str(item.get("PatientID", "")) for item in ds.get("OtherPatientIDsSequence", []))
    written = {_patient_id(ds), *text_values(ds, "OtherPatientIDs"), *others}
    written |= {form for day in text_values(ds, "PatientBirthDate") for form in _date_forms(day)}
    codes = {c.strip() for c in written if len(c.strip()) >= _MIN_IDENTIFIER} - names
    alternatives = [  # longest first, so an ID holding a name part ('ALICE123') goes whole
        _bounded(word, word in names) for word in sorted(names | codes, key=len, reverse=True)
    ]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def _name_forms(value: str) -> set[str]:
    """The parts of a person's name (its ``^`` components, of each ``=`` group) a text may hold:
    each of at least :data:`_MIN_IDENTIFIER` letters, of any length in an East Asian script (a
    part is one or two characters there: 'GTV_山田' kept the name), and each group's components
    joined ('山田太郎', written without a space); each as composed, decomposed, accentless and
    case-folded letters ('GTV_Muller', 'GTV_WEISS', Greek capitals without accents kept it)."""
    parts: set[str] = set()
    for group in value.split("="):
        components = [c for c in re.split(r"[\W_]+", group) if c]
        for part in [*components, "".join(components)] if len(components) > 1 else components:
            if sum(c.isalpha() for c in part) >= _MIN_IDENTIFIER or _EAST_ASIAN.search(part):
                parts.add(part)
    forms = set()
    for part in parts:
        decomposed = unicodedata.normalize("NFD", part)
        accentless = "".join(c for c in decomposed if not unicodedata.combining(c))
        forms |= {part, unicodedata.normalize("NFC", part), decomposed, accentless}
        forms |= {accentless.casefold(), part.casefold()}
    return forms


#: Letters of the East Asian scripts (Hangul, kana, CJK ideographs), whose name parts are short.
_EAST_ASIAN = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
#: Fewest characters of an ID cut out wherever it stands ('GTVp_MRN12345'); a shorter one only
#: between non-alphanumerics (ID '100' leaves 'PTV_1000').
_LONG_CODE = 5


def _bounded(word: str, is_name: bool) -> str:
    """The pattern of one identifier: a name part as a whole word (it ends at a non-letter:
    'ZZLEAK2'), a short code between non-alphanumerics, a long code anywhere."""
    edge = r"[^\W\d_]" if is_name else r"[^\W_]"
    if not is_name and len(word) >= _LONG_CODE:
        return re.escape(word)
    return rf"(?<!{edge}){re.escape(word)}(?!{edge})"


def _date_forms(day: str) -> set[str]:
    """A DICOM date (YYYYMMDD) as it is written in a name: as stored, ISO, and the European and
    US day orders with '.', '/' and '-' ('1960-01-01', '01.01.1960', '01/31/1960')."""
    day = day.strip()
    if not re.fullmatch(r"\d{8}", day):
        return {day}
    y, m, d = day[:4], day[4:6], day[6:]
    return {day, f"{y}-{m}-{d}"} | {f"{a}{s}{b}{s}{y}" for s in "./-" for a, b in ((d, m), (m, d))}


def structure_names(ds: Dataset) -> Callable[[str], str]:
    """What de-identification makes of a text of ``ds`` that names a structure (an ROI name, a
    segment's label or description): the patient's own identifiers cut out
    (:func:`_identifier_pattern`, :func:`_cut`), any other text as it is. Whoever matches
    structure names before de-identification (the cohort import's ROI map) names them with it
    as the stored file will."""
    own = _identifier_pattern(ds)
    return (lambda text: text) if own is None else partial(_cut, own=own)


def _cut(text: str, own: re.Pattern[str]) -> str:
    """``text`` without the patient's identifiers, the separators they leave collapsed
    ('GTV ZZLEAK^ALICE' -> 'GTV'); a text of nothing else becomes empty (readers then name the
    structure by its number). Texts without them stay as they are, byte for byte."""
    cut = own.sub("", text)
    if cut == text:
        return text
    cut = re.sub(r"\(\s*\)|\[\s*\]", "", cut)  # brackets that held only identifiers
    return re.sub(r"([\s^_-])[\s^_-]+", r"\1", cut).strip(_SEPARATORS)


def _shift_one(text: str, shift: timedelta, vr: str) -> str:
    text = text.strip()
    if len(text) < 8:
        return ""
    try:
        day = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return ""  # an unreadable date cannot be shifted: drop it rather than keep it
    moved = (day + shift).strftime("%Y%m%d")
    return moved + text[8:] if vr == "DT" else moved


def _shift(value, shift: timedelta, vr: str):
    """Dates (DA 'YYYYMMDD', DT 'YYYYMMDD...') moved by ``shift``; time parts and offsets kept."""
    if value in (None, ""):
        return value
    if isinstance(value, list | MultiValue):
        return [_shift_one(str(v), shift, vr) for v in value]
    if isinstance(value, datetime | date):
        value = value.strftime("%Y%m%d%H%M%S.%f" if vr == "DT" else "%Y%m%d")
    return _shift_one(str(value), shift, vr)


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


#: A study code kept as a case id: it names the case's folder, so no path separators, no '..'.
_SAFE_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def kept_patient_id(patient_id: str) -> bool:
    """Whether a de-identified PatientID can be the case id as it is: a study code that is a
    safe folder name ('STS_001'; never 'STS/202' or '../escape', which are pseudonymised)."""
    return bool(_SAFE_CASE_ID.fullmatch(patient_id)) and ".." not in patient_id


def names_no_one(patient_id: str) -> bool:
    """Whether a PatientID identifies no patient: empty (a Basic Profile export), a placeholder
    many exports share (:data:`_PLACEHOLDER_IDS`) or without a letter or digit but zeros."""
    patient_id = patient_id.strip()
    if patient_id.upper() in _PLACEHOLDER_IDS:
        return True
    return not any(c.isalnum() and c != "0" for c in patient_id)


def _patient_id(ds: Dataset) -> str:
    """The PatientID of ``ds``, stripped, or "" when it :func:`names_no_one`."""
    patient_id = str(ds.get("PatientID", "") or "").strip()
    return "" if names_no_one(patient_id) else patient_id


def patient_identity(ds: Dataset) -> str:
    """Who the patient of ``ds`` is: its PatientID, else (one that :func:`names_no_one`) the
    first UID of :data:`_STAND_INS` it has, after the keyword and a NUL (so never equal to a
    PatientID); "" for none. The pseudonym and date shift derive from it, and the cohort import
    groups files into patients by it: one rule, so a case is named as its files' PatientID."""
    patient_id = _patient_id(ds)
    if patient_id:
        return patient_id
    for keyword in _STAND_INS:
        uid = str(ds.get(keyword, "") or "").strip()
        if uid:
            return f"{keyword}\0{uid}"
    return ""


def case_id_of(identity: str, marked: bool, deidentifier: Deidentifier | None = None) -> str:
    """The case id of the patient ``identity`` names (:func:`patient_identity`): the PatientID
    itself when ``marked`` de-identified (any tool's PatientIdentityRemoved=YES: research
    exports keep a study code there that links the images to their clinical table), the mark
    trusted (:attr:`Deidentifier.keep_marked`) and the ID a safe folder name; else the keyed
    pseudonym of ``identity``."""
    trusted = deidentifier is None or deidentifier.keep_marked
    # a stand-in UID ('StudyInstanceUID\0...') is no safe folder name: never kept
    if marked and trusted and kept_patient_id(identity):
        return identity
    return (deidentifier or Deidentifier()).pseudonym(identity)


def uids_remapped(ds: Dataset) -> bool:
    """Whether RadSurv's de-identification wrote ``ds`` (an upload's, a cohort import's file):
    its UIDs are remapped, so a message naming one names nothing its user can find."""
    return str(ds.get("DeidentificationMethod", "")) == METHOD


def case_pseudonym(ds: Dataset, deidentifier: Deidentifier | None = None) -> str:
    """The case id of a DICOM data set (:func:`case_id_of` its :func:`patient_identity`)."""
    marked = str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"
    return case_id_of(patient_identity(ds), marked, deidentifier)


# --- detection and byte-level entry points --------------------------------------------------


def read_dicom_bytes(content: bytes) -> Dataset | None:
    """``content`` parsed as DICOM, or ``None`` when it is not DICOM (decided by content)."""
    has_preamble = content[128:132] == b"DICM"
    if not has_preamble and not is_bare_dicom(content[:8]):
        return None
    try:
        with warnings.catch_warnings():  # a forced parse of non-DICOM bytes warns about junk
            warnings.simplefilter("ignore")
            ds = dcmread_whole(io.BytesIO(content), force=not has_preamble)
        if "SOPClassUID" not in ds:
            return None if not has_preamble else ds
        set_transfer_syntax(ds)
        return ds
    except DicomError:  # DICOM by its first bytes, cut short
        raise
    except Exception as err:  # pydicom raises many types on damaged or non-DICOM bytes
        if has_preamble:
            raise DicomError(f"The file looks like DICOM but cannot be read ({err}).") from err
        return None


def deidentify_dicom_bytes(
    content: bytes, deidentifier: Deidentifier | None = None
) -> tuple[bytes, str, str, str] | None:
    """De-identify one DICOM file's bytes (:func:`deidentify_dicom`), or ``None`` when
    ``content`` is not DICOM."""
    ds = read_dicom_bytes(content)
    return None if ds is None else deidentify_dicom(ds, deidentifier)


def deidentify_dicom(
    ds: Dataset, deidentifier: Deidentifier | None = None
) -> tuple[bytes, str, str, str]:
    """De-identify a DICOM data set read by :func:`read_dicom_bytes` (in place): (new bytes,
    case pseudonym, new SOP instance UID, SOP class UID). Pixel data are copied unchanged.

    pydicom's check of each value against its VR is silenced meanwhile: an exporter's
    18-character StudyID (SH holds 16) printed two warnings a file, 120 for the sarcoma's CT,
    burying the import's own notes."""
    with _values_unchecked:
        return _deidentify_dicom(ds, deidentifier)


class _ValuesUnchecked:
    """pydicom's process-wide reading validation off while any thread is inside, restored when
    the last one leaves (two sessions' uploads at once left it off for good)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._mode: int | None = None

    def __enter__(self) -> None:
        with self._lock:
            if not self._inside:
                self._mode = pydicom.config.settings.reading_validation_mode
                pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
            self._inside += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if not self._inside:
                pydicom.config.settings.reading_validation_mode = self._mode


_values_unchecked = _ValuesUnchecked()


def _deidentify_dicom(
    ds: Dataset, deidentifier: Deidentifier | None
) -> tuple[bytes, str, str, str]:
    missing = [
        label
        for keyword, label in (
            ("SOPClassUID", "SOP Class UID"),
            ("SOPInstanceUID", "SOP Instance UID"),
        )
        if not ds.get(keyword) and not ds.file_meta.get(f"MediaStorage{keyword}")
    ]
    if missing:
        raise DicomError(
            f"a DICOM data set without {' or '.join(missing)}, so not a complete DICOM object (an "
            "image, structure set or segmentation). Remove it from the upload or export it again."
        )
    pseudonym = (deidentifier or Deidentifier()).deidentify(ds)
    if "SOPInstanceUID" in ds:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "SOPClassUID" in ds:
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    # the 128 bytes before 'DICM' are any application's (a DICOM/TIFF file's header, a
    # vendor's text: a name stored verbatim in every file); the standard's own are zeros
    ds.preamble = bytes(128)
    out = io.BytesIO()
    try:
        ds.save_as(out, enforce_file_format=True)
    except Exception as err:  # pydicom raises many types for data sets it cannot encode
        raise DicomError(f"The de-identified DICOM file cannot be written ({err}).") from err
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", ds.get("SOPClassUID", "")))
    return out.getvalue(), pseudonym, str(ds.get("SOPInstanceUID", "")), sop_class


#: (offset, length) of the free text of a NIfTI-1 (348) and NIfTI-2 (540) header: descrip,
#: aux_file and intent_name (nibabel's header_dtype has the same offsets).
_NIFTI_TEXT = {
    348: ((148, 80), (228, 24), (328, 16)),
    540: ((240, 80), (320, 24), (508, 16)),
}


_NIFTI_MAGIC = {348: (344, (b"n+1\0", b"ni1\0")), 540: (4, (b"n+2\0", b"ni2\0"))}


def _nifti_layout(header: bytes) -> tuple[str, int] | None:
    """(byte order, header size) of a NIfTI-1 (348) or NIfTI-2 (540) header, else ``None``."""
    for order in "<>":
        size = struct.unpack(order + "i", header[:4])[0] if len(header) >= 4 else 0
        if size in _NIFTI_MAGIC and len(header) >= size + 4:
            offset, magics = _NIFTI_MAGIC[size]
            if header[offset : offset + 4] in magics:
                return order, size
    return None


def _blank_nifti(data: bytearray, order: str, size: int) -> bool:
    """Blank :data:`_NIFTI_TEXT` and extension contents in place; whether anything changed."""
    changed = False
    for offset, length in _NIFTI_TEXT[size]:
        changed |= any(data[offset : offset + length])
        data[offset : offset + length] = bytes(length)
    position = size + 4
    if data[size] != 0:  # extensions: (esize, ecode, content) until the voxel data
        while position + 8 <= len(data):
            esize, _ = struct.unpack(order + "ii", data[position : position + 8])
            if esize < 16 or position + esize > len(data):
                break
            changed |= any(data[position + 4 : position + esize])
            data[position + 4 : position + esize] = bytes(esize - 4)
            position += esize
    return changed


def blank_nifti_bytes(content: bytes, max_bytes: int = MAX_VOLUME_BYTES) -> bytes | None:
    """A NIfTI file (plain or gzipped) with its free text blanked; ``None`` if not NIfTI.

    A gzipped file already blank is returned as it is unless its gzip header stores a file name
    or comment; otherwise it is recompressed without them. More than ``max_bytes`` uncompressed
    is refused (a gzip bomb).
    """
    zipped = content[:2] == b"\x1f\x8b"
    try:
        if zipped:
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
                if _nifti_layout(stream.read(544)) is None:
                    return None
            with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
                raw = bytearray(stream.read(max_bytes + 1))
        else:
            raw = bytearray(content)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(f"A gzip-compressed upload cannot be decompressed ({err}).") from err
    if len(raw) > max_bytes:
        raise InputError(
            f"A compressed volume expands beyond {max_bytes / 2**20:.0f} MiB; refused."
        )
    layout = _nifti_layout(bytes(raw[:544]))
    if layout is None:
        return None
    changed = _blank_nifti(raw, *layout)
    named = zipped and content[3] & 0x18  # FNAME or FCOMMENT in the gzip header
    if not changed and not named:
        return content
    return gzip.compress(bytes(raw), mtime=0) if zipped else bytes(raw)


#: MetaImage header keys of the format itself; any other key (free text, copied DICOM tags) goes.
_METAIMAGE_KEYS = {
    "objecttype",
    "objectsubtype",
    "ndims",
    "dimsize",
    "binarydata",
    "binarydatabyteordermsb",
    "elementbyteordermsb",
    "compresseddata",
    "compresseddatasize",
    "transformmatrix",
    "rotation",
    "orientation",
    "offset",
    "position",
    "origin",
    "centerofrotation",
    "anatomicalorientation",
    "elementspacing",
    "elementsize",
    "elementtype",
    "elementnumberofchannels",
    "elementmin",
    "elementmax",
    "headersize",
    "modality",
    "elementdatafile",
}


def _clean_header_lines(head: bytes, keep: Callable[[str], bool]) -> bytes:
    lines = head.split(b"\n")
    return b"\n".join(line for line in lines if keep(line.decode("latin-1")))


_NRRD_HEADER_END = re.compile(rb"\r?\n\r?\n")


def blank_nrrd_bytes(content: bytes) -> bytes | None:
    """A NRRD file or detached header without comments, key/value pairs (but a segmentation's
    :data:`~.label_maps.SEGMENT_KEY` ones) and ``content``."""
    if not content.startswith(b"NRRD"):
        return None
    # the header ends at its first blank line, its line ends LF or CRLF (Windows tools): nothing
    # past it is touched; a file without one is a detached header, all of it header
    end = _NRRD_HEADER_END.search(content)
    head, rest = (content, b"") if end is None else (content[: end.start()], content[end.start() :])

    def keep(line: str) -> bool:
        if line.startswith("#") or line.lower().startswith("content:"):
            return False
        return ":=" not in line or bool(SEGMENT_KEY.fullmatch(line.split(":=", 1)[0]))

    return _clean_header_lines(head, keep) + rest


def blank_metaimage_bytes(content: bytes) -> bytes | None:
    """A MetaImage (.mha/.mhd) file with only the format's own header fields."""
    if not content[:64].lstrip().lower().startswith((b"objecttype", b"ndims")):
        return None
    marker = content.lower().find(b"elementdatafile")
    if marker < 0:
        return None
    end = content.find(b"\n", marker)
    head, rest = (content, b"") if end < 0 else (content[:end], content[end:])

    def keep(line: str) -> bool:
        return line.split("=", 1)[0].strip().lower() in _METAIMAGE_KEYS or not line.strip()

    return _clean_header_lines(head, keep) + rest
