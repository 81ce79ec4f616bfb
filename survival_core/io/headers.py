"""Column headers read as a clinician writes them: a variable name, its unit and stated codes
(``Dose [Gy]``, ``OS_months``, ``status (1=dead, 2=alive)``), and the names and words that make a
column a survival outcome rather than a predictor.

Shared by the clinical spreadsheet import (:mod:`survival_core.cohort.clinical_table`), which finds
the time and event columns by these names and drops other outcomes, and the model tables
(:func:`survival_core.io.tables.load_model_table`), which keep outcome columns out of a model's
features whatever table they come from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from survival_core.errors import InputError

#: Endpoints whose abbreviation names a survival time, preferred first: the disease's (PFS,
#: DFS, RFS, EFS, TTP), a disease- or cancer-specific survival's ('DSS (days)', 'css_months').
TIMED_ENDPOINTS = ("pfs", "dfs", "rfs", "efs", "ttp", "dss", "css")
#: TCGA's intervals and the time to recurrence, whose abbreviation alone is no time: TCGA's
#: event indicator ('PFI' beside 'PFI.time'), or a predictor's (a platinum-free interval,
#: transthyretin's 'TTR'): their times are 'PFI.time', 'TTR_days', 'DFI (months)' (they were
#: not found), looked up after every other name (a predictor 'DFI' beside 'rfstime' was read
#: as the time; :func:`time_lookup_name`).
INTERVAL_ENDPOINTS = ("pfi", "dfi", "ttr")


def _endpoint_time_names(endpoints: Sequence[str], alone: bool = True) -> tuple[str, ...]:
    """The names of ``endpoints``' time columns once unit words are removed: each ``alone`` and
    before 'time' ('PFS.time', 'OS_time_days': 'pfs_time', 'os_time'), one rule for every
    endpoint ('OS_days' and 'OS.time' were found, 'TTP.time' was not)."""
    return tuple(n for e in endpoints for n in ((e, f"{e}_time") if alone else (f"{e}_time",)))


#: Names of a survival time column once unit words are removed, preferred first (OS before PFS).
TIME_NAMES = (
    *_endpoint_time_names(("os",)), "overall_survival", "overall_survival_time", "survival_time",
    "survival", "surv_time", "survtime", "time_to_death", "time", "futime", "fu_time",
    "follow_up", "followup", "follow_up_time", "followup_time", "time_to_event", "lenfol",
    *_endpoint_time_names(TIMED_ENDPOINTS),
    # written out ('Progression free survival (months)', 'disease-free survival')
    "progression_free_survival", "disease_free_survival", "recurrence_free_survival",
    "relapse_free_survival", "event_free_survival",
    # cBioPortal's 'Disease Free (Months)'
    "disease_free",
    # R's survival data glue them ('rfstime' of GBSG2, 'ostime')
    "ostime", "rfstime", "pfstime", "dfstime", "efstime",
    # NCDB's Participant User File: months from diagnosis to the last contact or death
    "dx_lastcontact_death",
    # French, German, Spanish, Italian exports (accents dropped: 'Survie (jours)' is 'survie')
    "survie", "survie_globale", "duree_de_suivi", "suivi", "uberleben", "ueberleben",
    "gesamtuberleben", "uberlebenszeit", "ueberlebenszeit", "nachbeobachtung", "supervivencia",
    "supervivencia_global", "seguimiento", "sopravvivenza", "sopravvivenza_globale",
    # the length of that survival ('Durée de survie (jours)', 'Tiempo de supervivencia')
    "duree_de_survie", "duree_survie", "temps_de_survie", "tiempo_de_supervivencia",
    "tiempo_supervivencia", "tempo_di_sopravvivenza", "tempo_sopravvivenza",
    # Dutch and Portuguese ('Overleving (maanden)', 'Sobrevida global (meses)')
    "overleving", "totale_overleving", "sobrevida", "sobrevida_global",
    *_endpoint_time_names(INTERVAL_ENDPOINTS, alone=False),
)  # fmt: skip

#: Names of an event column whose 1 / yes means the event (death), preferred first.
EVENT_NAMES = (
    "os_event", "os_status", "vital_status", "vitalstatus", "deadstatus_event", "deadstatus",
    "puf_vital_status",  # NCDB's, its 0 the death (clinical_events.ncdb_vital_status)
    "event", "status", "death", "dead", "died", "deceased", "fstat",
    "pfs_event", "pfs_status", "dfs_event", "dfs_status", "rfs_event", "rfs_status",
    "efs_event", "efs_status", "relapse", "relapsed", "recurrence", "recurred", "progression",
    "progressed",
    # SEER's 'Vital status recode (study cutoff used)', cBioPortal's 'Disease Free Status',
    # Duke-Breast-Cancer-MRI's 'Recurrence event(s)' (with its codes, 'Recurrence event(s) (0 =
    # no, 1 = yes)', the '(s)' is in its name)
    "vital_status_recode", "disease_free_status", "recurrence_event", "recurrence_events",
    "recurrence_event_s",
    # French, German, Spanish, Italian ('Décès' is 'deces', 'Statut vital' 'statut_vital')
    "deces", "decede", "statut_vital", "etat_vital", "evenement", "verstorben", "tod",
    "exitus", "fallecido", "muerte", "evento", "decesso", "deceduto", "morte",
    # Dutch and Portuguese ('Overleden', 'Óbito' is 'obito')
    "overleden", "overlijden", "obito", "falecido",
    # a Spanish or Italian vital status ('Estado vital', 'Stato in vita')
    "estado_vital", "stato_vitale", "stato_in_vita",
)  # fmt: skip
#: A Spanish, Portuguese or Italian vital status's bare names, also a country's state or a
#: country ('Estado': SP, RJ; 'Stato': Italia): the event column only when given or when its
#: cells are a vital status ('Estado (vivo/fallecido)':
#: :func:`~survival_core.io.tables.vital_status_by_cells`), never an outcome by the name alone.
STATE_OR_STATUS_NAMES = ("estado", "stato")

#: Header names of a hospital's or health service's number of the patient: the medical record
#: (chart) number, the UK's NHS number, the Dutch 'Patiëntnummer' and the Brazilian
#: 'Prontuário'. The patient ID only where no study ID is named: beside an 'ID' it is another
#: identifier, dropped (the chart number taken as the ID gave new pseudonyms, and a sheet whose
#: patients shared one was refused).
CHART_NUMBER_NAMES = (
    "mrn", "medical_record_number", "hospital_number", "nhs_number", "nhs_no", "patientnummer",
    "patient_nummer", "prontuario", "no_prontuario", "numero_prontuario", "numero_do_prontuario",
)  # fmt: skip

#: Header names of the patient ID column, most specific first (compared normalised), a chart
#: number last: the cohort import's and an upload's clinical file's alike.
ID_NAMES = (
    # TCGA / GDC: the barcode TCIA's images carry as PatientID, before GDC's UUID case_id
    "case_submitter_id", "submitter_id", "bcr_patient_barcode",
    "case_id", "patient_id", "patientid", "subject_id", "subjectid", "participant_id",
    "record_id", "study_id", "caseid", "pat_id", "patient_number", "patient_no", "patient_nr",
    # CDISC's subject identifiers, as SAS writes them (SUBJID) and Stata lower-cases them
    "subjid", "usubjid",
    # French, German, Spanish, Italian ('N° patient' is 'n_patient', 'Pat.-Nr.' 'pat_nr')
    "n_patient", "no_patient", "num_patient", "numero_patient", "id_patient", "identifiant",
    "identifiant_patient", "patientennummer",
    "patienten_id", "pat_nr", "id_paciente", "numero_paciente", "n_paciente", "id_paziente",
    "codice_paziente", "numero_paziente", "n_paziente",
    "id", "patient", "subject", "case", "participant", "pid",
    *CHART_NUMBER_NAMES,
)  # fmt: skip

#: Names of a censoring column: its 1 / yes means *censored*, so the event is its inverse.
CENSOR_NAMES = ("os_censor", "censor", "censored", "is_censored", "censoring", "cens", "cnsr")

#: First name parts of outcome columns other than the chosen ones (kept out of the variables).
_OUTCOME_PREFIXES = {
    "os", "pfs", "dfs", "rfs", "efs", "ttp", "dss", "css", "mfs", "lrc",
    # TCGA's Pan-Cancer endpoints (PFI, DFI), distant-metastasis-, locoregional-recurrence- and
    # failure-free survival
    "pfi", "dfi", "dmfs", "lrfs", "ffs",
}  # fmt: skip

#: Header words of an outcome wherever they stand: another survival time, a vital status, a cause
#: of death, a recurrence ('Disease-specific survival_duration', 'Cause of Death'). A predictor
#: never holds one: these columns are known only after follow-up, and a model given one learns
#: the outcome back from it.
_OUTCOME_WORDS = frozenset(
    {"survival", "survived", "surv", "death", "died", "deceased", "dead", "alive", "vital",
     "mortality", "relapse", "relapsed", "recurrence", "recurred", "progression", "progressed",
     "censor", "censored", "censoring", "follow", "followup",
     # French, German, Spanish, Italian, Dutch, Portuguese ('Progressão' is 'progressao')
     "survie", "deces", "decede", "suivi", "rechute", "recidive", "uberleben", "ueberleben",
     "verstorben", "tod", "rezidiv", "supervivencia", "fallecido", "muerte", "recaida",
     "sopravvivenza", "decesso", "deceduto", "recidiva", "exitus", "overleving", "overleden",
     "overlijden", "recidief", "progressie", "progressievrije", "sobrevida", "obito", "falecido",
     "progressao", "recorrencia", "progresion", "progressione", "progress", "progredient",
     # NLST's glued names of the death ('dth_days')
     "dth"}
)  # fmt: skip
#: An outcome's word standing alone or beside the treatment or course it is of (TCGA's
#: 'treatment_outcome_first_course': Complete Remission/Response, Progressive Disease; 'Outcome of
#: treatment'), never 'Outcome prediction score' nor 'Outcome of previous pregnancy'.
_OUTCOME_NOUNS = frozenset({"outcome", "outcomes"})
_OUTCOME_OF = frozenset({"treatment", "therapy", "course", "first"})

#: Header words saying a column was known at baseline, or is a plan, risk or score rather than
#: what happened after treatment ('Disease control at baseline', 'Metastasis-free at diagnosis',
#: 'Prior treatment failure', 'Tumor control probability (planned)', 'Local failure risk group',
#: 'Response to prior chemotherapy', 'Prior salvage surgery'): such a header names no disease
#: state, outcome, response or salvage after treatment (:func:`_baseline_qualified`).
_BASELINE_WORDS = frozenset(
    {"baseline", "diagnosis", "prior", "previous", "before", "pre", "enrollment", "enrolment",
     "planned", "risk", "probability", "strategy", "score", "prediction"}
)  # fmt: skip

#: Words of a disease's control, an outcome beside where it was controlled (:data:`_CONTROLLED`:
#: 'Local control', 'Distant Control'), and of its failure, beside those or a biochemical or
#: treatment failure's words; never 'Pain control', 'Glycemic control', 'Control arm', a
#: 'Treatment / Control' arm nor 'Heart failure'.
_CONTROL_WORDS = frozenset({"control", "controlled"})
_FAILURE_WORDS = frozenset({"failure", "failures", "failed"})
_CONTROLLED = frozenset(
    {"local", "loco", "locoregional", "regional", "distant", "nodal", "lr", "tumor", "tumour",
     "disease"}
)  # fmt: skip
_FAILED = _CONTROLLED | {"biochemical", "treatment"}
#: What an outcome's '... free' is free of ('Disease-free status', 'Tumor free', 'Event free
#: (months)'): never 'Smoke-free years', 'Free text' nor a 'Tumor free margin', a surgical
#: margin, known at surgery (:data:`_MARGIN_WORDS`).
_FREE_OF = frozenset(
    {"disease", "tumor", "tumour", "event", "cancer", "metastasis", "metastases", "distant",
     "local", "locoregional", "regional", "biochemical", "bcr", "failure", "progression",
     "recurrence", "relapse"}
)  # fmt: skip
_MARGIN_WORDS = frozenset({"margin", "margins"})
#: What a baseline time free of something is free of ('Smoke-free years'): any other time free
#: of something ('Free of disease (months)', 'Symptom-free interval') is an outcome's.
_FREE_OF_HABITS = _MARGIN_WORDS | {"smoke", "smoking", "tobacco", "alcohol", "drinking"}
#: Words 'last' names the last contact beside ('Status at last contact', 'last_fu_status'):
#: never 'Last line status' nor 'Status at last prior therapy'.
_LAST_OF = frozenset({"contact", "follow", "followup", "fu"})
#: Abbreviations of an outcome standing alone or before 'status' or 'event' only: a locoregional
#: failure, a biochemical recurrence (never TCGA's 'bcr_patient_barcode'), no evidence of disease.
_OUTCOME_ABBREVIATIONS = frozenset({"lrf", "bcr", "ned"})

#: Outcomes of a screening trial, as NLST names them (their unit read off: 'candx_days' is
#: 'candx'): the lung cancer confirmed, its year and days from randomisation to diagnosis, the
#: screen that found it, the days free of it.
_SCREENING_OUTCOMES = frozenset({"conflc", "cancyr", "candx", "can_scr", "canc_free"})

#: An endpoint glued to its time or status in one word, as R's survival data name them
#: ('rfstime', 'osstatus', 'pfsevent', 'dfsdays').
_GLUED_OUTCOME = re.compile(
    "(" + "|".join(sorted(_OUTCOME_PREFIXES)) + ")"
    r"(?:time|status|event|censor|cens|days|months|years|dur|duration)"
)

#: A survival's status or date glued in one word, as I-SPY1 names its overall survival's
#: ('sstat', its vital status; 'survDtD2', the days to death or last contact), 'vstat',
#: 'survstat'.
_GLUED_SURVIVAL = re.compile(r"(?:s|v|surv|vital)stat(?:us)?|surv(?:dtd|dt|time|days)\d*")

#: Endpoint words glued after a censoring word or before a time word, as GBSG's lymph-node file
#: names its outcomes ('censrec' and 'rectime' of the recurrence, 'censdead' of the death), and
#: the endpoint each names.
_GLUED_ENDPOINT_WORDS = {
    "rec": "rfs",
    "recur": "rfs",
    "relapse": "rfs",
    "dead": "os",
    "death": "os",
}
#: Such a glued word ('recstatus' and 'recdate' are a receptor's status and a date, not one).
_GLUED_ENDPOINT_WORD = re.compile(
    r"cens(?:or)?(?P<censored>{0})|(?P<timed>{0})(?:time|days|months|years|dur|duration)".format(
        "|".join(_GLUED_ENDPOINT_WORDS)
    )
)

#: Other names of one endpoint: a cancer-specific survival is a disease-specific survival.
_SAME_ENDPOINT = {"css": "dss"}
#: Endpoints spelled out, by words in a row ('Overall survival (months)', SEER's 'cause-specific
#: death classification', 'Disease-specific survival_duration', 'progression-free survival';
#: three words, as 'disease-free interval' is TCGA's DFI, not a DFS).
_SPELLED_ENDPOINTS = {
    ("overall", "survival"): "os",
    **{(word, "specific"): "dss" for word in ("disease", "cause", "cancer")},
    ("progression", "free", "survival"): "pfs",
    ("disease", "free", "survival"): "dfs",
    ("recurrence", "free", "survival"): "rfs",
    ("relapse", "free", "survival"): "rfs",
    ("event", "free", "survival"): "efs",
}
#: cBioPortal's names of a disease-free survival's time and status ('Disease Free (Months)',
#: 'Disease Free Status'), which say no 'survival'.
_DISEASE_FREE_NAMES = frozenset({"disease_free", "disease_free_status"})

#: Header words of an outcome only beside a time word ('Length FU', NLST's 'fup_days', 'Local
#: control_duration'; never '5-FU', a chemotherapy, nor 'control arm').
_TIMED_OUTCOME_WORDS = frozenset({"fu", "fup", "lfu", "control", "failure", "lc", "ttr"})

#: Header words of an outcome beside a length of time only (not beside 'last': 'Time to
#: metastasis (months)' is one, 'last_metastasis_site' none; 'Time – diagnosis to LR(days)' of
#: Head-Neck-PET-CT, 'distant_metastases_in_days' of HN1), or beside an event or status word
#: ('event_distant_metastases'): never 'distant_metastasis_at_diagnosis' nor 'M stage'.
_TIME_TO_WORDS = frozenset(
    {"metastasis", "metastases", "distant", "locoregional", "local", "regional", "lr", "dm"}
)
#: Of :data:`_TIME_TO_WORDS`, those naming baseline things too: beside a length of time an
#: outcome only after 'to' or before 'time' ('Time – diagnosis to DM(days)', 'dm_time'), never
#: a diabetes's 'DM duration (years)' or 'years since DM diagnosis', nor 'Local therapy (months)'.
_TIMED_ONLY_AFTER_TO = frozenset({"dm", "lr", "local", "regional", "distant"})
#: Header words of an event indicator, first or last in its name ('event_distant_metastases').
#: Not 'status': a '*_status' is an event only beside its endpoint's time (:func:`endpoint_time`;
#: 'ER_status', 'regional_lymph_node_status' and a diabetic's 'DM_status' are baseline).
_EVENT_WORDS = frozenset({"event", "events"})
#: Names of an endpoint's event flag standing alone (Head-Neck-PET-CT's 0/1 'Locoregional' and
#: 'Distant', RADCURE's 'Local'): an outcome only beside that endpoint's time or date, as a
#: 'Distant' or 'Regional' yes/no is as often the spread at diagnosis, and 'DM' diabetes mellitus.
_ENDPOINT_FLAGS = frozenset({"locoregional", "distant", "local", "regional", "lr", "dm"})
#: The endpoint each word of a recurrence's or metastasis's header names, so that a flag finds
#: its time under another name ('Locoregional' beside 'Time – diagnosis to LR(days)', 'Distant'
#: beside '... to DM(days)' or 'Time to distant metastasis (days)').
_ENDPOINT_OF_WORD = {
    "locoregional": "lr",
    "lr": "lr",
    "local": "local",
    "regional": "regional",
    "distant": "dm",
    "dm": "dm",
    "metastasis": "dm",
    "metastases": "dm",
}

#: TCGA / GDC's fields of the disease known only at follow-up: a new tumour event (any field
#: of it), and the patient's tumour status at the last contact.
_NEW_TUMOR_EVENT = "new_tumor_event"
_FOLLOW_UP_STATES = frozenset(
    {"tumor_status", "last_known_disease_status", "person_neoplasm_cancer_status"}
)

#: Header words of a length of time (with the time units).
_TIME_WORDS = frozenset({"time", "duration", "length", "interval", "period", "last"})

#: Time unit words, English first, then French, German, Spanish / Portuguese, Italian and Dutch.
UNIT_ALIASES = {
    "days": ("d", "day", "days", "dys", "jours", "jour", "tage", "tagen", "dias", "giorni",
             "dagen"),
    "weeks": ("w", "wk", "wks", "week", "weeks", "semaines", "wochen", "semanas", "settimane",
              "weken"),
    "months": ("m", "mo", "mos", "mon", "mth", "mths", "month", "months", "mois", "monate",
               "monaten", "meses", "mesi", "maanden"),
    "years": ("y", "yr", "yrs", "year", "years", "ans", "annees", "jahre", "jahren", "anos",
              "anni", "jaren"),
}  # fmt: skip

TIME_UNIT_OF = {alias: unit for unit, aliases in UNIT_ALIASES.items() for alias in aliases}

#: Where a camelCase header turns to a new word: 'diagnosisDate', 'DXDate' (before 'Date').
_CASE_TURN = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

#: Header words a trailing 'years' belongs to ('pack-years'): not a time unit there.
_YEARS_OF = frozenset({"pack", "person", "patient"})


#: Words of a death among a header's stated codes or an event column's cells ('2=dead',
#: 'Death without recurrence').
DEATH_WORDS = ("death", "dead", "died", "deceased")
#: The same in the languages hospital exports come in, accents folded ('Décédé', 'Óbito'):
#: French, German, Spanish, Italian, Dutch, Portuguese.
DEATH_WORDS_ABROAD = (
    "decede", "decedee", "deces", "verstorben", "fallecido", "fallecida", "muerto", "muerta",
    "deceduto", "deceduta", "overleden", "obito", "falecido", "falecida", "morto", "morta",
)  # fmt: skip
#: Oncology's abbreviations of a death: dead of disease, of other causes, with disease.
_DEATH_ABBREVIATIONS = frozenset({"dod", "doc", "dwd"})
#: Words before a death's word that say there was none ('no death', 'not yet dead', 'no
#: recurrence or death'); after it they qualify something else ('death without recurrence').
_NEGATIONS = frozenset({"no", "not", "non", "never", "without"})
#: Words anywhere in a meaning that make it no death to count: the patient alive, censored, death
#: unknown or free of it, or a death of another cause (a disease-specific survival's event
#: column censors it; elsewhere it is left unread, named in the report, rather than guessed an
#: event).
_NOT_A_DEATH = frozenset(
    {"alive", "living", "survived", "censored", "censor", "unknown", "uncertain", "free", "other",
     "others"}
)  # fmt: skip
#: The words of :data:`_NOT_A_DEATH` that name another cause: an overall survival's death still.
OTHER_CAUSE = frozenset({"other", "others"})


def names_a_death(meaning: str, any_cause: bool = False) -> bool:
    """Whether a stated code's meaning or an event's cell names a death: 'dead', 'dead of
    disease', 'recurrence or death', 'death without recurrence', '1:DECEASED', 'DOD', another
    language's ('fallecido', 'overleden', :data:`DEATH_WORDS_ABROAD`); not 'no
    recurrence or death', 'not yet dead', 'censored at death', 'death-free', 'unknown if dead',
    'alive or dead of other cause' nor 'dead of other causes' (each read as 1 was every
    censored patient's or another cause's death counted as an event). With ``any_cause`` (an
    overall survival's code) another cause's death is a death: 'dead of other causes'."""
    not_a_death = _NOT_A_DEATH - OTHER_CAUSE if any_cause else _NOT_A_DEATH
    words = re.split(r"[\W_]+", folded(meaning).lower())
    deaths = [
        at
        for at, word in enumerate(words)
        if word.removesuffix("s") in DEATH_WORDS
        or word in DEATH_WORDS_ABROAD
        or word in _DEATH_ABBREVIATIONS
    ]
    return (
        bool(deaths) and not set(words) & not_a_death and not set(words[: deaths[0]]) & _NEGATIONS
    )


#: A stated code's meaning: words, hyphens kept ('death-free'), and the words a comma or a bracket
#: adds up to the next code ('2=dead, other causes', '2=dead (other causes)').
_MEANING = r"[A-Za-z][A-Za-z -]*(?:\s*[,(]\s*(?![\w.]+\s*[=:])[A-Za-z][A-Za-z -]*\)?)*"


#: A header that is its codes, each meaning then its code ('Censored_0_progressed_1',
#: 'Death_1_StillAliveorLostToFU_0' of TCIA's HCC-TACE-Seg), and one such pair; then each code
#: before its meaning (UCSF-PDGM's '1-dead 0-alive').
_CODES_IN_NAME = re.compile(r"(?:[A-Za-z]+[_\s-]+\d[_\s-]+)+[A-Za-z]+[_\s-]+\d")
_CODE_AFTER_MEANING = re.compile(r"([A-Za-z]+)[_\s-]+(\d)")
_CODES_FIRST_IN_NAME = re.compile(r"(?:\d[_\s-]+[A-Za-z]+[_\s-]+)+\d[_\s-]+[A-Za-z]+")
_CODE_BEFORE_MEANING = re.compile(r"(\d)[_\s-]+([A-Za-z]+)")
#: Words of an outcome or status that each meaning of such a header names ('lost' of
#: 'StillAliveorLostToFU'); 'ECOG_0_vs_1' or 'Stage_I_II_0_vs_III_IV_1' names none: a variable.
_CODED_OUTCOME_WORDS = _OUTCOME_WORDS | _OUTCOME_NOUNS | {"event", "lost", "stillalive"}


def _name_codes(text: str) -> list[tuple[str, str]]:
    """The (meaning, code) pairs of a header that is its codes (:data:`_CODES_IN_NAME`, or
    :data:`_CODES_FIRST_IN_NAME`: '1-dead 0-alive' was found by no name), each meaning an
    outcome or status (:data:`_CODED_OUTCOME_WORDS`); none of another header: 'ECOG_0_vs_1' was
    read as codes of 'ecog' and 'vs', a yes/no variable named 'vs' (beside 'Nodes_0_vs_1',
    refused as the same variable)."""
    if _CODES_IN_NAME.fullmatch(text):
        pairs = _CODE_AFTER_MEANING.findall(text)
    elif _CODES_FIRST_IN_NAME.fullmatch(text):
        pairs = [(meaning, code) for code, meaning in _CODE_BEFORE_MEANING.findall(text)]
    else:
        return []
    outcome = all(
        set(normalise_name(_CASE_TURN.sub("_", meaning)).split("_")) & _CODED_OUTCOME_WORDS
        for meaning, _ in pairs
    )
    return pairs if outcome else []


def code_meanings(codes: str) -> dict[str, str]:
    """``1=dead, 2=alive`` -> {"1": "dead", "2": "alive"}: the codes a header states, a
    hyphen's words kept whole ('0=death-free' was read as '0=death'), a comma's or a bracket's
    too ('2=dead, other causes' was read as '2=dead', an event of a disease-specific survival).
    A header of meanings and codes ('Censored_0_progressed_1', '1-dead 0-alive') states its
    codes too (its 'censored' read it backwards: 70 progressions of 35)."""
    if pairs := _name_codes(codes):
        return {code: _CASE_TURN.sub(" ", meaning).lower() for meaning, code in pairs}
    return {
        code.lower(): meaning.strip(" -").lower()
        for code, meaning in re.findall(rf"([\w.]+)\s*[=:]\s*({_MEANING})", codes)
    }


@dataclass(frozen=True)
class Header:
    """A column header read as a variable name, a label, a unit and stated codes."""

    text: str
    name: str
    label: str
    unit: str
    codes: str

    @property
    def death_codes(self) -> set[str]:
        """The stated codes meaning a death ('2' of 'status (0=censored, 1=recurrence,
        2=dead)', of '2=dead of disease', '1=recurrence or death'): an event too, beside a
        recurrence's."""
        return {c for c, meaning in code_meanings(self.codes).items() if names_a_death(meaning)}

    @property
    def tokens(self) -> list[str]:
        return self.name.split("_")

    @property
    def event_name(self) -> str | None:
        """The name of the event a header of codes states as its 1 ('progressed' of
        'Censored_0_progressed_1', 'death' of 'Death_1_StillAliveorLostToFU_0'): found as an
        event column by it, named by its header; None for other headers."""
        meanings = {code: meaning for meaning, code in _name_codes(self.codes)}
        return normalise_name(_CASE_TURN.sub(" ", meanings.get("1", "")).lower()) or None

    @property
    def base(self) -> str:
        """The name without time-unit words (``os_months`` -> ``os``)."""
        kept = [t for t in self.tokens if t not in TIME_UNIT_OF and t != "in"]
        return "_".join(kept)

    @property
    def words(self) -> list[str]:
        """The name's words, also split where the header's case turns ('DiagnosisDate':
        diagnosis, date; 'dxDate': dx, date), as warehouse exports write them: for reading what
        a column is (a date, a start date), not for naming it ('horTh' stays horth)."""
        return normalise_name(_CASE_TURN.sub("_", self.label)).split("_")


def normalise_name(text: str) -> str:
    """A header as a variable name: :func:`folded`, lower case, runs of characters other than
    letters and digits as ``_``. Every header of another script was 'column' (two were refused
    as one variable)."""
    return re.sub(r"[\W_]+", "_", folded(text).lower()).strip("_")


def folded(text: str) -> str:
    """``text`` as names are read: full-width forms as ASCII ('ＡＢＣ', '（kg）'), Latin letters
    without accents (other letters of the Latin blocks, 'ß', 'µ', dropped), letters of other
    scripts kept whole ('Ηλικία', 'グレード' and half-width 'ｸﾞﾚｰﾄﾞ' with their voiced marks)."""
    return "".join(
        unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() if is_latin(c) else c
        for c in compatible(text)
    )


def compatible(text: str) -> str:
    """``text`` with its full-width and half-width forms and ideographic spaces (as East Asian
    input methods type them: 'ＧＴＶ', '体重（kg）', 'ｸﾞﾚｰﾄﾞ') as their common forms; other
    characters as they are."""
    changed = "".join(
        unicodedata.normalize("NFKC", c) if "\uff00" <= c <= "\uffef" or c == "\u3000" else c
        for c in text
    )
    return unicodedata.normalize("NFC", changed)  # a half-width voiced mark joins its kana


def is_latin(c: str) -> bool:
    """Whether ``c`` is ASCII or of the Latin blocks ('é', 'ß', 'µ', 'Ł'), which names fold to
    ASCII, not a letter of another script."""
    return c.isascii() or ord(c) < 0x0250 or unicodedata.name(c, "").startswith("LATIN")


def parse_header(text: str) -> Header:
    """``Dose [Gy]`` -> name dose, unit Gy; ``Age_in_years`` -> age, years; ``status (1=dead,
    2=alive)`` -> status with codes ``1=dead, 2=alive``; a bracket inside the codes kept
    (``2=dead (other causes)``)."""
    label, unit, codes = compatible(text), "", ""  # '体重（kg）'
    bracket = re.fullmatch(r"(.*?)\s*[(\[]((?:[^()\[\]]|\([^()]*\))*)[)\]]\s*", label)
    if bracket and bracket.group(1).strip():
        label = bracket.group(1).strip()
        if "=" in bracket.group(2) or ":" in bracket.group(2):
            codes = bracket.group(2).strip()
        else:
            unit = bracket.group(2).strip()
    if not codes and _name_codes(label):  # its name and label as written
        codes = label
    name = normalise_name(label)
    tokens = name.split("_")
    if not unit and len(tokens) >= 2 and tokens[-1] in UNIT_ALIASES and tokens[-2] not in _YEARS_OF:
        unit = tokens[-1]
        tokens = tokens[:-2] if len(tokens) >= 3 and tokens[-2] == "in" else tokens[:-1]
        name = "_".join(tokens)
        label = re.sub(rf"[\W_]+(?:in[\W_]+)?{unit}\W*$", "", label, flags=re.IGNORECASE)
    return Header(text=text, name=name or "column", label=label, unit=unit, codes=codes)


#: Names of a bare time, whose trailing 'd' names the endpoint, death, not days: scikit-survival's
#: AIDS 'time_d' beside 'censor_d'.
_BARE_TIMES = frozenset({"time", "surv", "survtime"})


def d_names_death(h: Header) -> bool:
    """Whether a header's name is a bare time then a lone 'd' ('time_d', 'surv_d'): the 'd' is
    the endpoint's, death, as AIDS's 'time_d' beside 'censor_d' (its months were refused as
    days); after any other name it is days ('os_d', 'fu_d', 'time_to_death_d')."""
    return len(h.tokens) == 2 and h.tokens[0] in _BARE_TIMES and h.tokens[1] == "d"


def endpoint_name(h: Header) -> str | None:
    """The endpoint an outcome's header names: its name's first part ('dss' of 'DSS.time', 'rfs'
    of R's 'rfstime', 'ttr'), a word glued to a time or a censoring word ('rfs' of 'rectime' and
    'censrec', 'os' of 'censdead'), cBioPortal's 'Disease Free' ('dfs'), or words spelling it
    ('cause-specific': 'dss', 'Progression free survival (months)': 'pfs'), 'css' as 'dss';
    None for a bare 'time' or 'status'. DSS and OS are both a death's endpoint, RFS and PFS a
    recurrence's or progression's, but not one outcome."""
    first = h.tokens[0]
    glued = _GLUED_OUTCOME.fullmatch(first)
    if first in _OUTCOME_PREFIXES or first == "ttr":
        name = first
    elif glued:
        name = glued.group(1)
    elif word := _GLUED_ENDPOINT_WORD.fullmatch(first):
        name = _GLUED_ENDPOINT_WORDS[word.group("censored") or word.group("timed")]
    elif h.name in _DISEASE_FREE_NAMES:
        name = "dfs"
    else:
        name = next((n for words, n in _SPELLED_ENDPOINTS.items() if _in_a_row(words, h)), None)
    return _SAME_ENDPOINT.get(name or "", name)


def glued_to_censoring(h: Header) -> bool:
    """Whether a header is an endpoint's event glued after a censoring word, as GBSG's
    lymph-node file names them ('censdead', 'censrec'; not 'cens' or 'rectime'): its endpoint is
    :func:`endpoint_name`'s."""
    word = _GLUED_ENDPOINT_WORD.fullmatch(h.name)
    return word is not None and word.group("censored") is not None


def _in_a_row(words: tuple[str, ...], h: Header) -> bool:
    """Whether a header's name holds ``words`` one after the other."""
    size = len(words)
    return any(tuple(h.tokens[at : at + size]) == words for at in range(len(h.tokens) - size + 1))


def name_unit(h: Header) -> str:
    """The time unit a header's name states where :attr:`Header.unit` holds none: its last unit
    word ('os_mo', 'days_from_surgery', 'fu_d'); "" when none, or when the name is a bare time's
    whose 'd' names death (:func:`d_names_death`)."""
    if d_names_death(h):
        return ""
    return next((TIME_UNIT_OF[t] for t in reversed(h.tokens) if t in TIME_UNIT_OF), "")


def stated_unit(h: Header) -> str:
    """The time unit a header states: the one unit word in its brackets ('(months)', '(in
    months)', '(mois)', '(months from diagnosis)'), else its name's (:func:`name_unit`); ""
    when none."""
    if h.unit:
        said = {TIME_UNIT_OF[t] for t in normalise_name(h.unit).split("_") if t in TIME_UNIT_OF}
        if len(said) > 1:
            raise InputError(
                f"The time column {h.text!r} states several units ({h.unit!r}); rename it to "
                f"say one of {', '.join(UNIT_ALIASES)}."
            )
        if said:
            return said.pop()
    return name_unit(h)


def time_lookup_name(h: Header) -> str:
    """The name a header is looked up by among :data:`TIME_NAMES`: its base name, or where that
    is an interval's (:data:`INTERVAL_ENDPOINTS`) and the header states a time unit, its base
    before 'time' ('TTR_days', 'TTR (months)' as 'ttr_time'; 'TTR (mg/dL)', transthyretin, and
    TCGA's event 'PFI' stay 'ttr' and 'pfi', no time)."""
    stated = h.unit.lower() in TIME_UNIT_OF or bool(name_unit(h))
    alone = h.base in INTERVAL_ENDPOINTS
    return f"{h.base}_time" if stated and alone else h.base


def is_outcome_like(h: Header, beside: Iterable[Header] | None = None) -> bool:
    """Whether a column is an outcome (PFS beside OS, the length of follow-up, a cause of death):
    never a predictor. An endpoint's bare flag or status ('Distant', 'LR', 'local_status') is one
    only where ``beside``, its table's headers, hold that endpoint's time or date
    (:func:`endpoint_time`): GBSG2's baseline 'Distant', 'Regional', 'LR' and 'DM_status'
    (diabetes) were dropped by their names. A header read alone (no ``beside``) takes such a
    flag for an outcome, but 'DM'."""
    words = set(h.tokens)
    length = _is_length(h)
    timed = length or "last" in words
    flagged = h.tokens[0] in _EVENT_WORDS or h.tokens[-1] in _EVENT_WORDS
    return (
        h.base in TIME_NAMES
        or h.name in EVENT_NAMES
        or h.name in CENSOR_NAMES
        or h.tokens[0] in _OUTCOME_PREFIXES
        or bool(_GLUED_OUTCOME.fullmatch(h.tokens[0]))
        or bool(_GLUED_ENDPOINT_WORD.fullmatch(h.tokens[0]))
        or bool(_GLUED_SURVIVAL.fullmatch(h.tokens[0]))
        or any("death" in word for word in words)  # glued: NLST's 'finaldeathlc', 'deathstat'
        or h.name in _SCREENING_OUTCOMES
        or bool(words & _OUTCOME_WORDS)
        or _names_an_outcome(h)
        or (timed and bool(words & _TIMED_OUTCOME_WORDS))
        or (length and _times_an_endpoint(h))
        or (flagged and bool(words & _TIME_TO_WORDS))
        or (
            _is_endpoint_flag(h)
            and (h.name != "dm" if beside is None else endpoint_time(h, beside) is not None)
        )
        or _NEW_TUMOR_EVENT in h.name
        or h.name in _FOLLOW_UP_STATES
        or _names_a_disease_state(h)
    )


def _baseline_qualified(h: Header) -> bool:
    """Whether a header says its column was known at baseline or is a plan, risk or score: a word
    of :data:`_BASELINE_WORDS` in its name or its bracket ('Chemotherapy response score
    (baseline)'), or a 'pre' glued to a treatment ('pretreatment', 'preop'; not I-SPY1's
    'PreSurg', measured after the neoadjuvant therapy). 'Baseline', 'pre-treatment' and 'prior
    surgery' name no outcome nor measure after treatment, whatever other words they hold."""
    words = _qualifying(h.tokens) | _qualifying(normalise_name(h.unit).split("_"))
    glued = any(w.startswith("pre") and w[3:] in _TREATMENT_WORDS for w in words)
    return bool(words & _BASELINE_WORDS) or glued


def _qualifying(tokens: Sequence[str]) -> set[str]:
    """``tokens`` but the start a time is counted from ('Local control (months from diagnosis)'
    is a time to an outcome, not a control known at diagnosis)."""
    return {w for i, w in enumerate(tokens) if not (i and tokens[i - 1] in ("from", "since"))}


def _names_an_outcome(h: Header) -> bool:
    """Whether a header is an outcome by its word 'outcome': alone, or beside the treatment or
    course it is of (:data:`_OUTCOME_OF`; TCGA's 'treatment_outcome_first_course'), never with a
    baseline word (:func:`_baseline_qualified`: 'Outcome of previous pregnancy')."""
    tokens = [t for t in h.tokens if t not in ("of", "the")]
    beside = any(
        a in _OUTCOME_NOUNS and b in _OUTCOME_OF or b in _OUTCOME_NOUNS and a in _OUTCOME_OF
        for a, b in pairwise(tokens)
    )
    alone = len(tokens) == 1 and tokens[0] in _OUTCOME_NOUNS
    return (alone or beside) and not _baseline_qualified(h)


def _names_a_disease_state(h: Header) -> bool:
    """Whether a header names the disease's state after treatment: its control or failure
    ('Local control', 'Biochemical failure'), a time free of it ('Freedom from distant
    metastasis', 'Disease-free status', 'Tumor free'), an outcome's abbreviation ('LRF', 'BCR',
    'NED') or a status at the last contact. Kept as predictors, such columns gave a model the
    outcome back; 'Pain control', 'Smoke-free years' and a 'Tumor free margin' are baseline, as
    is a header saying so (:func:`_baseline_qualified`: 'Disease control at baseline', 'Prior
    treatment failure', 'Metastasis-free at diagnosis', 'Local failure risk group')."""
    if _baseline_qualified(h):
        return False
    words = set(h.tokens)
    return (
        bool(words & _CONTROL_WORDS and words & _CONTROLLED)
        or bool(words & _FAILURE_WORDS and words & _FAILED)
        or _in_a_row(("freedom", "from"), h)
        or (
            any(a in _FREE_OF and b == "free" for a, b in pairwise(h.tokens))
            and not words & _MARGIN_WORDS
        )
        or any(
            a == "free" and b in ("of", "from") and c in _FREE_OF
            for a, b, c in zip(h.tokens, h.tokens[1:], h.tokens[2:], strict=False)
        )
        or (_is_length(h) and "free" in words and not words & _FREE_OF_HABITS)
        or (
            h.tokens[0] in _OUTCOME_ABBREVIATIONS
            and words - {h.tokens[0]} <= _EVENT_WORDS | {"status"}
        )
        or ("status" in words and _at_last_contact(h))
    )


def _at_last_contact(h: Header) -> bool:
    """Whether a header names the last contact: 'last' before a contact's or follow-up's word
    (:data:`_LAST_OF`)."""
    return any(a == "last" and b in _LAST_OF for a, b in pairwise(h.tokens))


def _is_length(h: Header) -> bool:
    """Whether a header names a length of time: a time word ('duration', 'interval') or unit."""
    words = set(h.tokens)
    return bool(words & ((_TIME_WORDS - {"last"}) | set(TIME_UNIT_OF))) or (
        h.unit.lower() in TIME_UNIT_OF
    )


def _times_an_endpoint(h: Header) -> bool:
    """Whether a header of a length of time names a metastasis's or recurrence's endpoint: a
    word of :data:`_TIME_TO_WORDS`, one of :data:`_TIMED_ONLY_AFTER_TO` only after 'to' or
    before 'time' or 'interval'."""
    plain = set(h.tokens) & _TIME_TO_WORDS - _TIMED_ONLY_AFTER_TO
    return bool(plain) or any(
        (a == "to" and b in _TIMED_ONLY_AFTER_TO)
        or (a in _TIMED_ONLY_AFTER_TO and b in ("time", "interval"))
        for a, b in pairwise(h.tokens)
    )


def _is_endpoint_flag(h: Header) -> bool:
    """Whether a header reads as a recurrence's or metastasis's flag, which a baseline variable
    may as well be named: a bare 'Distant' or 'LR', or a 'status' first or last beside such a
    word ('local_status', 'distant_metastases_status', 'DM_status')."""
    status = "status" in (h.tokens[0], h.tokens[-1])
    return h.name in _ENDPOINT_FLAGS or (status and bool(set(h.tokens) & _TIME_TO_WORDS))


def _endpoint_of(h: Header) -> str | None:
    """The recurrence or metastasis endpoint a header's words name: 'lr' of 'Locoregional', 'LR'
    and 'local regional', 'dm' of 'Distant', 'DM' and 'metastases', 'local', 'regional'."""
    words = set(h.tokens)
    if "regional" in words and words & {"local", "loco"}:
        return "lr"
    return next((_ENDPOINT_OF_WORD[t] for t in h.tokens if t in _ENDPOINT_OF_WORD), None)


def endpoint_time(flag: Header, beside: Iterable[Header]) -> str | None:
    """The header among ``beside`` that is the time or date of the endpoint ``flag`` names
    ('Time – diagnosis to LR(days)' of 'Locoregional', 'Date Distant' and 'Time to distant
    metastasis (days)' of 'Distant'), None when none is: then ``flag`` is no outcome."""
    endpoint = _endpoint_of(flag)
    return next(
        (
            other.text
            for other in beside
            if other.text != flag.text
            and _endpoint_of(other) == endpoint
            and ((_is_length(other) and _times_an_endpoint(other)) or "date" in other.tokens)
        ),
        None,
    )


#: Words after an outcome's name in the header of its time or date ('Local control_duration',
#: 'recurrence date', 'relapse_time'), with the time units ('Local control days').
_TIME_AFTER = frozenset({"duration", "time", "date", "dt", "length"} | set(TIME_UNIT_OF))
#: Words before it ('Date Local', 'Date of relapse'); a 'to' before it always does ('Time -
#: diagnosis to lung metastasis (days)', 'days to recurrence').
_DATE_BEFORE = (["date"], ["date", "of"])


def timed_events(headers: Iterable[Header]) -> dict[str, str]:
    """Columns that are an outcome's event flag, each with the column of its time or date beside
    it: another header is that outcome's time or date under the same name, an outcome itself
    ('Local control' beside 'Local control_duration', 'Lung metastasis [Yes/No]' beside 'Time -
    diagnosis to lung metastasis (days)'; HNSCC's 'Local control' kept as a predictor lifted a
    Cox c-index to 0.90), or a date of a recurrence's or metastasis's ('Distant' beside 'Date
    Distant'). 'Surgery' beside 'Date of surgery', or 'Distant metastasis at diagnosis' with no
    such column, stay variables."""
    heads = list(headers)
    found = {}
    for flag in heads:
        timed = (
            other.text
            for other in heads
            if other is not flag
            and _times(other.tokens, flag.tokens)
            and (
                is_outcome_like(other)
                or ("date" in other.tokens and bool(set(flag.tokens) & _TIME_TO_WORDS))
            )
        )
        sibling = next(timed, None)
        if sibling is None and _is_endpoint_flag(flag):
            sibling = endpoint_time(flag, heads)
        if sibling is not None:
            found[flag.text] = sibling
    return found


def _times(time: list[str], flag: list[str]) -> bool:
    """Whether a header's name ``time`` is the time or date of an outcome named ``flag``."""
    size = len(flag)
    if len(time) <= size:
        return False
    if time[:size] == flag:
        return len(time) == size + 1 and time[-1] in _TIME_AFTER
    before = time[:-size]
    return time[-size:] == flag and (before[-1] == "to" or before in _DATE_BEFORE)


#: Header words of a measure taken after treatment began: I-SPY1's 'MRI LD 1-3dAC' (1-3 days
#: after chemotherapy), 'InterReg' (between regimens), 'PreSurg' (before surgery, after the
#: neoadjuvant therapy), 'PCR' and 'RCBClass' (the pathologic response at surgery), UPENN-GBM's
#: 'PsP_TP_score' (pseudoprogression), a 'posttherapy' or 'postop' glued in one word.
_AFTER_TREATMENT_WORDS = frozenset(
    {"3dac", "interreg", "presurg", "pcr", "rcb", "rcbclass", "psp", "posttherapy",
     "posttreatment", "postop", "postoperative", "postsurgery", "postsurgical", "postrt"}
)  # fmt: skip
#: A salvage treatment, given once the first failed: after treatment, but where its header says
#: it came before baseline ('Prior salvage surgery': :func:`_baseline_qualified`).
_SALVAGE = "salvage"
#: A response by RECIST, by its name's words as written (:attr:`Header.tokens`): never mRECIST's
#: after TACE ('mRECIST', read 'm', 'recist' at its case turn), a predictor of the clinical
#: schema's HCC studies (sun2023 requires it).
_RECIST = frozenset({"recist", "irecist"})
#: A stage after neoadjuvant therapy ('ypT', 'ypN', 'yp_stage'; prefixed 'yp' only: 'pT' and
#: 'Type' are not one).
_YP_STAGE = re.compile(r"yp(?:t|n|m|tnm|stage)?")
_STAGE_PARTS = frozenset({"t", "n", "m", "tnm", "stage"})
#: Words beside 'response' making it the tumour's response to treatment ('Best Overall Response',
#: 'Tumor response', GDC's 'disease_response', 'Response to induction'); a lone 'Response' is one
#: too, a gene set's 'interferon_gamma_response' score is not.
_RESPONSE_OF = frozenset(
    {"best", "overall", "objective", "tumor", "tumour", "disease", "clinical", "pathologic",
     "pathological", "radiologic", "radiological", "radiographic", "metabolic", "treatment",
     "therapy", "chemo", "chemotherapy", "induction", "neoadjuvant", "partial"}
)  # fmt: skip
#: A response's phrases: the residual cancer burden, RECIST's progressive disease.
_RESPONSE_PHRASES = (("residual", "cancer", "burden"), ("progressive", "disease"))
#: Words after 'post' or 'after' that make a post-treatment measure ('SUVmax post-therapy PET').
_TREATMENT_WORDS = frozenset(
    {"therapy", "treatment", "tx", "op", "operative", "surgery", "surgical", "rt", "chemo",
     "radiotherapy", "chemotherapy", "neoadjuvant", "resection"}
)  # fmt: skip
#: Words of a treatment given and its amount: a header of these beside its 'post' word alone is a
#: treatment's assignment ('Postoperative radiotherapy', 'Postop RT dose (Gy)'), not a measure.
_GIVEN_TREATMENT_WORDS = _TREATMENT_WORDS | frozenset(
    {"post", "after", "postop", "postoperative", "adjuvant", "radiation", "crt", "dose", "gy",
     "fractions", "yes", "no", "given"}
)  # fmt: skip
#: Words beside 'PCR' making it a pathologic complete response (I-SPY1's 'PCR' stands alone);
#: an 'HPV PCR' or 'EBV_DNA_PCR' is a baseline test by polymerase chain reaction.
_RESPONSE_WORDS = frozenset({"pathologic", "pathological", "complete", "response"})


def measured_after_treatment(h: Header) -> str:
    """The words of a header saying its column was measured after treatment began ('post-therapy'
    of 'SUVmax post-therapy PET', 'PreSurg', 'PCR', 'RECIST response', 'ypT', 'Salvage therapy'),
    "" when none: an outcome of treatment, not a baseline predictor (I-SPY1's tumour diameters
    during and after chemotherapy were kept as predictors with no word). 'Baseline',
    'pre-treatment' and 'prior surgery' are not: a response or salvage its header says came
    before ('Response to prior chemotherapy', 'Chemotherapy response score (baseline)', 'Prior
    salvage surgery': :func:`_baseline_qualified`), a treatment given ('Postoperative
    radiotherapy') nor an 'HPV PCR'."""
    if set(h.tokens) <= _GIVEN_TREATMENT_WORDS:
        return ""
    baseline = _baseline_qualified(h)
    if not baseline and {"complete", "response"} <= set(h.tokens):  # 'Pathologic complete ...'
        return "complete response"
    if not baseline and (response := _response_to_treatment(h)):
        return response
    for words in (h.tokens, h.words):  # 'PreSurg' as written, 'Post RT' split at its case
        for at, word in enumerate(words):
            if word == "pcr" and len(words) > 1 and not set(words) & _RESPONSE_WORDS:
                continue
            if word in _AFTER_TREATMENT_WORDS or (word == _SALVAGE and not baseline):
                return word
            following = words[at + 1] if at + 1 < len(words) else ""
            if word in ("post", "after") and following in _TREATMENT_WORDS:
                return f"{word}-{following}"
    return ""


def _response_to_treatment(h: Header) -> str:
    """The words of a header naming the tumour's response to treatment ('Best Overall Response',
    'Residual cancer burden', 'Progressive disease') or its stage after neoadjuvant therapy
    ('ypT'), "" when none: TCGA's 'treatment_outcome_first_course' of such categories lifted a Cox
    c-index from 0.72 to 0.83. A header saying baseline ('at diagnosis') is not read here
    (:func:`measured_after_treatment`)."""
    words = set(h.tokens)
    if words & _RECIST:
        return min(words & _RECIST)
    if "response" in words and (len(words) == 1 or words & _RESPONSE_OF):
        return "response"
    for phrase in _RESPONSE_PHRASES:
        if _in_a_row(phrase, h):
            return " ".join(phrase)
    first = h.tokens[0]
    return "yp" if _YP_STAGE.fullmatch(first) and (first != "yp" or words & _STAGE_PARTS) else ""


#: Names of a column saying which split of a study's data a patient is in.
_SPLIT_NAMES = frozenset({"split", "fold", "cv_fold", "train_test", "dataset_split", "subset"})


def bookkeeping(headers: Iterable[Header]) -> set[str]:
    """The columns saying which dataset or split a patient is in, never a clinical variable:
    a split ('split', 'fold', 'train/test') and a '... Cohort' beside an ID of the same dataset
    (UCSF-PDGM's 'BraTS21 Segmentation Cohort' and 'BraTS21 MGMT Cohort' beside 'BraTS21 ID',
    kept as predictors)."""
    heads = list(headers)
    datasets = [h.tokens[:-1] for h in heads if h.tokens[-1] == "id" and len(h.tokens) > 1]
    return {
        h.text
        for h in heads
        if h.name in _SPLIT_NAMES
        or (h.tokens[-1] == "cohort" and any(h.tokens[: len(d)] == d for d in datasets))
    }
