"""Reading a clinical spreadsheet's event column as 0/1, and whose outcome a column is.

Codes stated in the header ('1=dead, 2=alive'), censoring indicators and their yes/no, vital
status words, letters (NED, AWD, D) and codes (cBioPortal's '1:DECEASED', I-SPY's 7/8/9, CDISC
ADaM's CNSR), and the refusals of an event column that would only be read by guess (two outcomes
in one column, codes both ways). :func:`column_endpoint` says whether a time or event column is a
death's or the disease's (recurrence, progression).
"""

from __future__ import annotations

import re

import pandas as pd

from survival_core.cohort.clinical_values import missing_mask
from survival_core.cohort.import_report import Coercion, give_option, show
from survival_core.errors import ClinicalValueError
from survival_core.io.clinical import is_missing
from survival_core.io.clinical_schema import NO_TOKENS, YES_TOKENS
from survival_core.io.delimited import NumberMarks
from survival_core.io.headers import (
    CENSOR_NAMES,
    DEATH_WORDS,
    OTHER_CAUSE,
    Header,
    code_meanings,
    endpoint_name,
    names_a_death,
)
from survival_core.io.tables import (
    ALIVE_WORDS,
    CODED_STATUS,
    DEATH_CELLS,
    END_MARKS,
    EVENT_WORDS,
    VITAL_STATUS_CODES,
    VITAL_STATUS_LETTERS,
    YES_NO_ABROAD,
    without_end_marks,
)

#: Header words of a death (a vital status), whatever the endpoint the time names.
DEATH_HEADER_WORDS = frozenset(
    {"vital", "vitalstatus", "death", "dead", "died", "deceased", "deadstatus", "deces", "decede",
     "verstorben", "tod", "exitus", "fallecido", "muerte", "decesso", "deceduto", "morte",
     "overleden", "overlijden", "obito", "falecido"}
)  # fmt: skip

#: Endpoints (:func:`~survival_core.io.headers.endpoint_name`) whose event is the disease's
#: (recurrence, progression; an event-free survival's relapse or progression too, its 'event or
#: death' no overall survival's), not death alone, and header words of such an event.
_DISEASE_ENDPOINTS = frozenset(
    {"rfs", "dfs", "pfs", "efs", "ttp", "ttr", "pfi", "dfi", "lrfs", "dmfs", "mfs"}
)
_DISEASE_EVENT_WORDS = frozenset(
    {"relapse", "relapsed", "recurrence", "recurred", "recur", "progression", "progressed",
     "metastasis", "metastases", "rechute", "recidive", "rezidiv", "recaida", "recidiva"}
)  # fmt: skip
#: Header words of a date of the disease's event ('Date of PD': of progressive disease).
DISEASE_DATE_WORDS = _DISEASE_EVENT_WORDS | {"pd"}
#: Header words of an event column whose 1 / yes can only mean no event: the patient alive
#: ('alive', 'is_alive', 'survived', 'living') or censored ('censored', CDISC ADaM's 'CNSR'),
#: found by name or given. The other censoring names ('cens', 'censor', 'censoring') are written
#: for the event indicator too (scikit-survival's GBSG2 and AIDS, R's TH.data 'censoring
#: indicator (0 censored, 1 event)'), so they are never read by guess.
NO_EVENT_WORDS = frozenset({"alive", "survived", "living", "censored", "cnsr"})
#: How each endpoint reads another cause's death ('Non-cancer death', '2=dead of other causes'):
#: 1, an event, where its event is a death of any cause (overall survival, the recurrence-,
#: progression-, disease- and event-free survivals); 0, censored, where it counts the disease's
#: events alone (a disease-specific survival; a time to recurrence or progression and TCGA's
#: progression- and disease-free intervals, which censor a death without recurrence or
#: progression: Liu et al. 2018). Other endpoints (LRFS, DMFS, a bare status) are not here.
#: The endpoints censoring it, and what each counts, said when a stated code is so censored.
_DISEASE_EVENTS_ONLY = {
    "dss": "a disease-specific survival's event is a death from the disease",
    "ttr": "a time to recurrence's event is the disease's",
    "ttp": "a time to progression's event is the disease's",
    "pfi": "a progression-free interval's event is the disease's",
    "dfi": "a disease-free interval's event is the disease's",
}
_ANOTHER_CAUSES_DEATH = {
    **dict.fromkeys(("os", "rfs", "pfs", "dfs", "efs"), 1),
    **dict.fromkeys(_DISEASE_EVENTS_ONLY, 0),
}


def _another_causes_death(h: Header) -> int | None:
    """Another cause's death under an event column's header: 1 (an event), 0 (censored) or None
    (read as before: an event in cells, a stated code unread), by :data:`_ANOTHER_CAUSES_DEATH`."""
    return _ANOTHER_CAUSES_DEATH.get(endpoint_name(h) or "")


#: A number as the event column's cells are written once read ('2', '0.5').
_NUMBER_TEXT = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_CENSOR_CODES = {"1", "0", "yes", "no", "y", "n", "true", "false", *YES_NO_ABROAD}


def column_endpoint(h: Header) -> str | None:
    """Whose outcome a time or event column is: 'death' (overall survival's, a vital status),
    'disease' (a recurrence's or progression's: RFS, PFS, EFS, 'Relapse'), else None (a bare
    'time' or 'status'). The endpoint the header names (R's 'rfstime': 'rfs') and the codes it
    states count: 'status (0=censored, 1=recurrence, 2=dead)' is a recurrence's, 'efs_status
    (1=event or death)' an EFS's, not a death's; a disease-specific (cancer-specific) survival
    a death's (:func:`~survival_core.io.headers.endpoint_name`)."""
    meanings = code_meanings(h.codes).values()
    words = set(h.tokens) | {w for m in meanings for w in re.split(r"[\W_]+", m)}
    name = endpoint_name(h)
    if name in _DISEASE_ENDPOINTS or words & _DISEASE_EVENT_WORDS:
        return "disease"
    if name in ("os", "dss") or words & DEATH_HEADER_WORDS:
        return "death"
    return None


def _stated_codes(h: Header) -> dict[str, int]:
    """``1=dead, 2=alive`` -> {"1": 1, "2": 0}; a meaning naming a death is an event ('2=dead of
    disease'; where another cause's death is an event, :func:`_another_causes_death`, '2=dead of
    other causes', '2=non-cancer death' and '9=dead of unknown cause' too: a death of any cause
    is their event, as such cells are read); where it is censored (DSS, TTR, TTP, PFI, DFI) so is
    such a code ('2=dead of other causes', '2=DOC', a TTR's '9=dead of unknown cause':
    :func:`_censored_death_codes`); other meanings are
    ignored ('9=unknown if dead', a bare recurrence status's '2=dead of other causes', a DSS's
    '9=dead, cause not known': their cells read as missing, named)."""
    stated: dict[str, int] = {}
    name, censored_yes = endpoint_name(h), _censored_yes_no(h)
    any_cause = _another_causes_death(h) == 1
    censored_deaths = _censored_death_codes(h)
    for code, meaning in code_meanings(h.codes).items():
        cause = _cause_of_death(meaning)
        if censored_yes and meaning in _CENSOR_CODES:
            stated[code] = int(YES_NO_ABROAD.get(meaning, meaning) in ("no", "n", "false"))
        elif code in censored_deaths:
            stated[code] = 0
        elif _death_unknown(meaning):
            continue  # '9=unknown if dead', '9=alive or dead unknown': the death itself unknown
        elif name == "dss" and cause == "unknown":
            continue  # '9=dead, cause not known': unread, neither the disease's nor another's
        elif any_cause and cause == "unknown" and _CAUSE.search(meaning):
            stated[code] = 1  # '9=dead of unknown cause': a death, whatever its cause
        elif any_cause and cause == "other":
            stated[code] = 1  # '2=non-cancer death': another cause's, a death of any cause too
        elif meaning in EVENT_WORDS:
            stated[code] = 1
        elif meaning in ALIVE_WORDS:
            stated[code] = 0
        elif names_a_death(meaning, any_cause=any_cause):
            stated[code] = 1
    return stated


def death_event_codes(h: Header) -> set[str]:
    """The codes a header states for a death that its endpoint reads as an event: its
    :attr:`~survival_core.io.headers.Header.death_codes` but those it censors (a TTR's, DFI's or
    DSS's '2=DOC', another cause's death). A code so censored counts no death: a DFI's '2=DOC'
    made its deaths counted, its dates' deaths events."""
    stated = _stated_codes(h)
    return {code for code in h.death_codes if stated.get(code) == 1}


def states_codes(h: Header) -> bool:
    """Whether an event column's header states what its codes mean ('censor (1=censored,
    0=dead)'): a censoring column so is read by them, not refused as saying nothing of its 1."""
    return bool(_stated_codes(h))


#: Words of a death's cause other than the disease ('dead of other causes', SEER's 'Dead
#: (attributable to causes other than this cancer dx)', oncology's DOC: dead of other causes),
#: and of a cause not known (SEER's 'Dead (missing/unknown COD)', 'dead, cause not known').
_OTHER_CAUSE_WORDS = OTHER_CAUSE | {"doc"}
_UNKNOWN_CAUSE_WORDS = frozenset({"unknown", "missing", "uncertain", "unspecified"})
_CAUSE_NOT_KNOWN = re.compile(r"\bnot known\b")
#: A death's cause named as such ('dead of unknown cause', SEER's 'unknown COD'): an overall
#: survival's code so meant is a death; 'death uncertain' leaves the death itself unknown.
_CAUSE = re.compile(r"\b(?:causes?|cod)\b", re.IGNORECASE)
#: After a death's word, the disease denied as its cause: 'Dead (not cancer)', 'Dead without
#: disease', 'Dead, no evidence of disease', 'Dead, not related to cancer', 'Dead - NED',
#: 'Dead, tumour free' (cBioPortal's 'DEAD TUMOR FREE'): another cause's death.
_NOT_THE_DISEASE = re.compile(
    r"\b(?:(?:not|no|non|without)(?: (?:evidence|signs?|of|from|due|to|the|this|related))*"
    r" (?:cancer|disease|tumou?rs?|malignancy)\b(?! free)|(?:cancer|disease|tumou?r) free|ned)\b"
)
#: A word just before 'NED' or 'disease free' that denies it ('not NED'): the disease's death.
_DENIALS_OF_A_DENIAL = frozenset({"not", "never", "no", "non"})
#: After a death's word, the disease named as its cause ('Dead of disease, never NED', 'Died of
#: recurrent disease, previously NED', DOD): a death from the disease whatever else follows;
#: not so after a 'not' ('Death not due to cancer': another cause's).
_OF_THE_DISEASE = re.compile(
    r"\b(?<!evidence )(?<!signs )(?<!sign )(?<!not )(?:(?:of|from|due to)"
    r"(?: (?:the|this|its|recurrent|progressive|metastatic))*"
    r" (?:cancer|disease|tumou?rs?|malignancy|recurrence|progression)|dod)\b"
)


def _death_at(words: list[str]) -> int | None:
    """Where an event cell's words (lower-cased) first name a death ('dead', 'deaths')."""
    return next((i for i, w in enumerate(words) if w.removesuffix("s") in DEATH_WORDS), None)


def _cause_of_death(text: str) -> str | None:
    """'unknown' where a cell or a stated code's meaning names a death of unknown cause (SEER's
    'Dead (missing/unknown COD)', 'dead, cause not known'), 'other' where of another cause than
    the disease ('Dead (attributable to other cause)', 'DOC', 'Dead without disease', 'Dead -
    NED', 'Non-cancer death', 'Death not due to cancer'), else None ('Dead (attributable to
    this cancer dx)', 'Alive', '1')."""
    words = [w for w in re.split(r"[\W_]+", text.lower()) if w]
    at = _death_at(words)
    if at is None and "doc" not in words:
        return None
    after = words[at + 1 :] if at is not None else words  # 'unknown if dead': not its cause
    if set(after) & _UNKNOWN_CAUSE_WORDS or _CAUSE_NOT_KNOWN.search(" ".join(after)):
        return "unknown"
    if set(words) & _OTHER_CAUSE_WORDS or _another_cause_before(words, at):
        return "other"
    return "other" if at is not None and _denies_the_disease(" ".join(after)) else None


#: Words before a death's that deny the disease as its cause, and say nothing else: 'Non-cancer
#: death', 'Noncancer death', 'Non-disease death', 'Non cancer-related death'.
_NOT_THE_DISEASE_BEFORE = re.compile(
    r"(?:non|not) ?(?:cancer|disease|tumou?r|malignancy)(?: related)?"
)


def _another_cause_before(words: list[str], at: int | None) -> bool:
    """Whether a cell's words (lower-cased) before its death's, at ``at``, deny the disease as
    the cause ('Non-cancer death'): another cause's death, not a death denied (read as missing,
    a death not known, before)."""
    before = " ".join(w for w in words[:at] if w) if at is not None else ""
    return bool(_NOT_THE_DISEASE_BEFORE.fullmatch(before))


def _denies_the_disease(after: str) -> bool:
    """Whether the words after a death's deny the disease as its cause ('without disease',
    'NED', 'tumour free'), not when they name it ('of disease, never NED') nor deny the denial
    ('not NED', 'not disease free': a death from the disease, censored as another's before)."""
    if _OF_THE_DISEASE.search(after):
        return False
    return any(
        not set(after[: found.start()].split()[-1:]) & _DENIALS_OF_A_DENIAL
        for found in _NOT_THE_DISEASE.finditer(after)
    )


#: Words of doubt before an event cell's death ('possibly dead'); names_a_death's 'unknown',
#: 'uncertain', 'alive' and negations are the others.
_DOUBT_WORDS = frozenset({"unclear", "unsure", "possibly", "probably", "maybe", "perhaps"})


def _death_unknown(text: str) -> bool:
    """Whether an event cell leaves the death itself unknown: a question ('dead?'), 'alive'
    ('dead or alive unknown'), or words of doubt or a negation before its death ('Unknown if
    dead', 'not known whether dead'), never a denial of it ('Not dead': alive,
    :func:`_death_denied`); read as an event, each counted a patient not known dead. After the
    death they name its cause ('Dead (unknown cause)': a death, :func:`_cause_of_death`), and
    before it another cause ('Non-cancer death', 'Other-cause death': a death, read as missing
    before). A death's question answered with doubt or no value ('Dead: unknown', 'Dead: maybe',
    'Dead: NA', 'Dead: n/a', :func:`~survival_core.io.clinical.is_missing`) leaves it unknown
    too: it was read as a death for its first word. So does 'none' or '-' ('Dead: none', 'Died:
    -'): no value, or a no not to be guessed, never a death (they were read as deaths)."""
    answer = _answer_to_death(text)
    if answer is not None and (answer in _DOUBT_WORDS or is_missing(answer)):
        return True
    words = re.split(r"[\W_]+", text.lower())
    if (at := _death_at(words)) is None or _death_denied(text):
        return False
    before = words[: at + 1]
    doubt = set(before) & _DOUBT_WORDS or "alive" in words or "?" in text
    named = names_a_death(" ".join(before)) or _another_cause_before(words, at)
    return bool(doubt) or not (named or set(before) & _OTHER_CAUSE_WORDS)


#: Words that, alone beside a death's, deny it outright: 'not dead', 'no death', 'never died',
#: 'not yet dead'.
_DENIALS = frozenset({"not", "no", "never", "yet"})


def _death_denied(text: str) -> bool:
    """Whether an event cell denies a death and says nothing else, its denial just before the
    death's word ('Not dead', 'not deceased', 'no death', 'never died'): the patient alive,
    censored (it was read as missing, a death not known). An answer set off by punctuation
    ('No - dead', 'No, died': a no to another question) denies nothing."""
    words = text.lower().split()
    if (at := _death_at(words)) is None or at != len(words) - 1:
        return False
    before = set(words[:at])
    return before <= _DENIALS and bool(before - {"yet"})


def _censored_cause(h: Header, cause: str | None, meaning: str) -> bool:
    """Whether the endpoint censors a death of ``cause`` (:func:`_cause_of_death`) written
    ``meaning``: another cause's where it counts the disease's events alone
    (:func:`_another_causes_death`), an unknown cause's too under a TTR, TTP, PFI or DFI, whose
    event is a recurrence or progression: a death without one is censored whatever its cause
    (cells 'Dead of unknown cause' were events, a code '9=dead of unknown cause' missing). A DSS
    leaves an unknown cause's death out (SEER); a death itself not known ('Dead: unknown') is
    no cause's."""
    if _another_causes_death(h) != 0:
        return False
    if cause == "unknown":
        return endpoint_name(h) != "dss" and not _death_unknown(meaning)
    return cause == "other"


def _censored_death_codes(h: Header) -> dict[str, str]:
    """The codes a header states for a death its endpoint censors (:func:`_censored_cause`),
    each with its cause ('other', 'unknown'): 'DSS status (0=alive, 1=dead of disease, 2=dead of
    other causes)', 'TTR status (..., 2=non-cancer death, 9=dead of unknown cause)': {'2':
    'other', '9': 'unknown'}; read as censored (they were read as missing); none elsewhere."""
    causes = {code: (_cause_of_death(m), m) for code, m in code_meanings(h.codes).items()}
    return {code: cause for code, (cause, m) in causes.items() if _censored_cause(h, cause, m)}


#: Header words of a censoring indicator, whose stated yes is censored: no event.
_CENSORING_WORDS = frozenset(name for name in CENSOR_NAMES if "_" not in name)


def _censored_yes_no(h: Header) -> bool:
    """Whether a header names a censoring and states yes/no codes ('censored (1=yes, 0=no)'):
    its yes is censored, the event its no (its 1 was read as the event)."""
    meanings = set(code_meanings(h.codes).values())
    yes_no, others = meanings & _CENSOR_CODES, meanings - _CENSOR_CODES
    return bool(
        set(h.words) & _CENSORING_WORDS
        and yes_no
        and not any(_event_word(m) is not None or names_a_death(m) for m in others)
    )  # an 'unknown' or 'missing' code beside is no value ('9=unknown': left missing)


def _death_answer(text: str) -> int | None:
    """A death's question answered yes or no alone, in any language the yes/no of a clinical
    file is read in (:data:`~survival_core.io.clinical_schema.YES_TOKENS`): 1 for 'Dead: yes',
    'Died - Y', 'Décédé : oui', 'Tot: ja', 'Óbito: sim'; 0 for 'Dead: no', 'Deceased: N',
    'Décédé : non' (alive, censored); None for any other cell ('Dead - other', 'No - dead':
    :func:`_death_denied`). One reading of both answers: the no was read and the yes, outside
    English, left missing (WHAS500's 215 deaths)."""
    answer = _answer_to_death(text)
    return 1 if answer in YES_TOKENS else 0 if answer in NO_TOKENS else None


def _answer_to_death(text: str) -> str | None:
    """What follows a death's word alone, its answer ('Dead: no' -> 'no', 'Décédé : oui' ->
    'oui', 'Dead: n/a' -> 'n/a', 'Dead of disease' -> 'of disease'), else None ('Dead:')."""
    found = _DEATH_AND_ANSWER.fullmatch(text.lower())
    return found[2] if found is not None and found[1] in DEATH_CELLS else None


#: A cell's first word, then what follows its separator, trailing end marks left out.
_DEATH_AND_ANSWER = re.compile(rf"\s*(\w+)[\W_]+(.+?){END_MARKS}*")


def _event_word(text: str) -> int | None:
    if (coded := CODED_STATUS.fullmatch(text)) is not None:
        return int(coded[1])
    if (answer := _death_answer(text)) is not None:
        return answer
    if text in EVENT_WORDS or text.startswith(("dead", "died", "deceased")):
        return 1
    if text in ALIVE_WORDS or text.startswith(("alive", "living", "lost to follow")):
        return 0
    if _death_denied(text):
        return 0
    return None


def event_01(
    cells: pd.Series,
    h: Header,
    *,
    censoring: bool,
    report: list[Coercion],
    numbers: NumberMarks,
) -> tuple[pd.Series, set[str]]:
    """The event as 0/1 (nullable) from numbers, words or the codes stated in the header, and
    the values read as 1 (lower-cased)."""
    missing = missing_mask(cells, h.text, report)
    lowered = cells.str.strip().str.lower().where(~missing)
    values = numbers.read(lowered.fillna(""), h.text)
    lowered = lowered.where(values.isna(), values.map(lambda v: f"{v:g}"))
    lowered = lowered.map(without_end_marks, na_action="ignore")
    stated = _stated_codes(h)
    lowered = _vital_status_letters(lowered, h, report)
    present = set(lowered.dropna())
    if not stated:
        _refuse_both_said(h, present)
    # a code the header does not state is not read as 0/1 would be: '1' under 'status (2=dead)'
    # is the other code, alive, not an event; with one meaning stated and one other code, the
    # other code means the other outcome
    unstated = {v for v in present - set(stated) if _NUMBER_TEXT.fullmatch(v)} if stated else set()
    complement = {}
    if len(unstated) == 1 and len(set(stated.values())) == 1:
        complement = {unstated.pop(): 1 - next(iter(stated.values()))}
    mapping: dict[str, int] = {}
    adam = _adam_censoring(h, present, stated)
    ispy = not stated and ispy_vital_status(h, present)
    ncdb = not stated and ncdb_vital_status(h, present)
    if adam or ncdb:  # CDISC ADaM: 0 the event, 1, 2... why censored; NCDB: 0 dead, 1 alive
        mapping = {value: int(value == "0") for value in present}
    elif ispy:
        mapping = {value: int(value == "8") for value in present}
    death_column = column_endpoint(h) == "death" and not censoring
    # a disease-specific survival's cells: another cause's death censored, one of unknown cause
    # left out (SEER's cause-specific classification: 'Dead (missing/unknown COD)' was an event)
    dss = endpoint_name(h) == "dss" and not censoring
    # another cause's death censored where the endpoint counts the disease's events alone (DSS,
    # TTR, TTP, PFI, DFI: it was an event outside a DSS)
    disease_only = _another_causes_death(h) == 0 and not censoring
    meanings = code_meanings(h.codes)  # a DSS's '9=dead of unknown cause' left out as its cells
    causes = {v: _cause_of_death(meanings.get(v, v)) for v in present} if disease_only else {}
    not_known = sorted(  # not SEER's 'Alive or dead of other cause': censored
        v
        for v in present - set(mapping) - set(stated)
        if causes.get(v) != "other" and _death_unknown(v)
    )
    unknown_cause = sorted(
        v for v, cause in causes.items() if dss and cause == "unknown" and v not in not_known
    )
    for value in present - set(mapping) - set(unknown_cause) - set(not_known):
        if value in stated or value in complement:
            mapping[value] = {**stated, **complement}[value]
        elif value in causes and _censored_cause(h, causes[value], meanings.get(value, value)):
            mapping[value] = 0
        elif value not in unstated and (word := _event_word(value)) is not None:
            mapping[value] = 1 - word if censoring and value in _CENSOR_CODES else word
        elif any(death in value for death in DEATH_WORDS) and (
            death_column or _cause_of_death(value) == "other"
        ):  # 'Death from other causes' in a vital status: a death; where not censored
            # another cause's ('Other-cause death', 'Non-disease death') is one, as 'Died of
            # other causes' is: a PFS's, RFS's or DFS's event is a death of any cause
            mapping[value] = 1
    if present == {"1", "2"} and not stated:  # all 1 is every patient's event, not R's coding
        raise ClinicalValueError(
            f"The event column {h.text!r} holds 1 and 2: state which one means death in its "
            f"header, e.g. '{h.label} (1=alive, 2=dead)', or recode it as 0/1."
        )
    unknown = sorted(present - set(mapping) - set(unknown_cause) - set(not_known))
    _refuse_other_outcomes(h, unknown, stated)
    if unknown and len(unknown) == len(present):
        raise ClinicalValueError(
            f"The event column {h.text!r} holds {show(unknown)}, "
            + (
                f"none of the codes its header states ({h.codes})."
                if stated
                else "not an event indicator (0/1, yes/no, dead/alive)."
            )
        )
    _refuse_unread_events(h, unknown, mapping)
    if unknown:
        count = int(lowered.isin(unknown).sum())
        said = show(_as_written(cells, lowered, unknown))
        report.append(Coercion(h.text, f"unreadable events {said} read as missing", count))
    if not_known:
        report.append(
            Coercion(
                h.text,
                f"deaths not known {show(_as_written(cells, lowered, not_known))} read as "
                "missing: neither an event nor censored",
                int(lowered.isin(not_known).sum()),
            )
        )
    if unknown_cause:
        report.append(
            Coercion(
                h.text,
                f"deaths of unknown cause {show(_as_written(cells, lowered, unknown_cause))} "
                "read as missing: neither a death from the disease (a disease-specific "
                "survival's event) nor censored; SEER leaves them out of cause-specific survival",
                int(lowered.isin(unknown_cause).sum()),
            )
        )
    if dss:
        report.extend(_deaths_of_no_cause(h, cells, lowered, mapping))
    event = lowered.map(mapping).astype("Int64")
    spelled = {}
    for raw, low in zip(cells, lowered, strict=True):
        if isinstance(low, str) and low in mapping:
            spelled.setdefault(raw.strip(), mapping[low])
    if stated:
        censored = "; its yes is censored: event = its no" if _censored_yes_no(h) else ""
        censored_deaths = _censored_death_codes(h)
        for cause, whose in (("other", "another"), ("unknown", "unknown")):
            if codes := sorted(c for c, said in censored_deaths.items() if said == cause):
                censored += (
                    f"; {show(codes)}, a death of {whose} cause, censored "
                    f"({_DISEASE_EVENTS_ONLY[endpoint_name(h) or '']})"
                )
        how = f"event from the codes stated in the header ({h.codes}){censored}" + "".join(
            f"; {code!r}, the other code, read as {'dead' if meaning else 'alive'}"
            for code, meaning in complement.items()
        )
    elif adam:
        how = "event = CNSR 0 (CDISC ADaM: 0 the event, each other code a reason of censoring)"
    elif ispy:
        how = "event = 8 (I-SPY's vital status codes: 8 dead; 7 alive and 9 lost, censored)"
    elif ncdb:
        how = f"event = 1 - {h.text!r} (NCDB's PUF vital status: 0 dead, 1 alive)"
    elif censoring and set(mapping) & _CENSOR_CODES and says_no_event(h):
        how = (
            f"event = 1 - {h.text!r}: its header says its 1 or yes means alive or censored; if "
            "its 1 means death, rename the column (e.g. 'dead')"
        )
    elif censoring and set(mapping) & _CENSOR_CODES:
        how = (
            "event = 1 - censoring indicator (a censor column's 1 means censored); if its 1 "
            f"means death, give it as the event column: {give_option('event_column', h.text)}"
        )
    elif set(spelled) <= {"0", "1"}:
        how = "event 0/1"
    else:
        how = "event from " + ", ".join(f"{k!r} -> {v}" for k, v in sorted(spelled.items()))
    report.append(Coercion(h.text, how, int(event.notna().sum())))
    return event, {value for value, read in mapping.items() if read == 1}


def _as_written(cells: pd.Series, lowered: pd.Series, values: list[str]) -> list[str]:
    """The ``cells`` read as ``values`` (``lowered``: lower-cased, end marks left out) as the
    sheet writes them, each spelling once: a report names the user's own cells ('Dead:
    Unknown.', 'DEAD'), not how they were matched ('dead: unknown', 'dead')."""
    read = set(values)
    return sorted(
        {str(raw).strip() for raw, low in zip(cells, lowered, strict=True) if low in read}
    )


def _deaths_of_no_cause(
    h: Header, cells: pd.Series, lowered: pd.Series, mapping: dict[str, int]
) -> list[Coercion]:
    """The report's note on a disease-specific survival's cells that name a death and no cause
    ('Dead', 'Deceased', a lone 'D'): read as deaths from the disease, as the column's events
    are, their count said so that another cause's deaths left so can be written as such."""
    bare = sorted(v for v, read in mapping.items() if read == 1 and v in DEATH_CELLS)
    if not bare:
        return []
    return [
        Coercion(
            h.text,
            f"deaths of no stated cause {show(_as_written(cells, lowered, bare))} read as deaths "
            "from the disease (a disease-specific survival's event): write another cause's as "
            "'dead of other causes' (or DOC) to censor it, an unknown cause's as 'dead, unknown "
            "cause' to leave it out",
            int(lowered.isin(bare).sum()),
        )
    ]


def _vital_status_letters(lowered: pd.Series, h: Header, report: list[Coercion]) -> pd.Series:
    """An event column's cells (lower-cased) with a lone 'd' read as dead and 'a' as alive where
    they stand among oncology's vital status codes (NED, AWD, DOD) or the header lists them
    ('Status (NED, AWD, D)'): Soft-tissue-Sarcoma's 16 deaths 'D' were read as missing, its
    cohort left without an event. Elsewhere a lone letter is not guessed."""
    present = set(lowered.dropna())
    letters = present & set(VITAL_STATUS_LETTERS)
    listed = set(re.split(r"[\W_]+", f"{h.unit} {h.codes}".lower()))
    if not letters or not present - letters <= VITAL_STATUS_CODES:
        return lowered
    if not (present - letters or letters <= listed):
        return lowered
    said = ", ".join(f"{k.upper()!r} as {VITAL_STATUS_LETTERS[k]}" for k in sorted(letters))
    report.append(
        Coercion(
            h.text,
            f"{said}: a vital status's letter beside its codes "
            f"({show(sorted(v.upper() for v in present - letters) or sorted(listed & letters))})",
            int(lowered.isin(letters).sum()),
        )
    )
    return lowered.replace(VITAL_STATUS_LETTERS)


def counts_deaths(h: Header, events: set[str]) -> bool | None:
    """Whether an event column's ``events`` (its cells read as 1, lower-cased) count a death: its
    header states a death's code ('2=dead', '1=recurrence or death') or a cell names one ('Dead',
    '1:DECEASED'). False where each names a recurrence or progression alone ('Recurrence', a code
    '1=recurrence'), or the cells say nothing (1, yes) and the header names one alone
    ('recurrence', 'Relapse'); None where nothing says (a PFS's 0/1): an RFS whose 'Dead' cells
    were events was said to count recurrences alone. A death of a cause named ('Non-cancer
    death', '2=dead of unknown cause') read as an event is a death counted (it was None); a
    death's code the endpoint censors is none (:func:`death_event_codes`: a DFI's '2=DOC')."""
    meanings = code_meanings(h.codes)
    said = [meanings.get(value, value) for value in events]
    if death_event_codes(h) or any(names_a_death(m) or _cause_of_death(m) for m in said):
        return True
    disease = [bool(set(re.split(r"[\W_]+", text)) & _DISEASE_EVENT_WORDS) for text in said]
    if said and all(disease):
        return False
    if set(h.words) & DEATH_HEADER_WORDS:
        return True
    return False if set(h.words) & _DISEASE_EVENT_WORDS else None


def names_deaths_only(h: Header, events: set[str]) -> bool:
    """Whether every value of an event column read as 1 names a death, in its cells or the codes
    its header states ('Dead', '1:DECEASED', '1=dead'): a vital status (RADCURE's 'Status', NSCLC
    Radiogenomics' 'Survival Status'), an overall survival's event whatever its header says.
    Another or an unknown cause's death is a death ('Non-cancer death', 'Other cause of death'
    beside 'Cancer death', 'Dead of unknown cause' beside 'Alive': the endpoint recorded was
    None, 'os' when those cells were left missing)."""
    meanings = code_meanings(h.codes)
    said = [meanings.get(v, v) for v in events]
    return bool(said) and all(
        names_a_death(m) or (_cause_of_death(m) is not None and not _death_unknown(m)) for m in said
    )


def _adam_censoring(h: Header, present: set[str], stated: dict[str, int]) -> bool:
    """Whether an event column is CDISC ADaM's CNSR of several codes: 0 for the event, a whole
    number 1, 2... for each reason of censoring (its 2 was refused as another outcome, the
    example header given reversing its meaning)."""
    return (
        "cnsr" in h.words and not stated and len(present) > 2 and all(v.isdigit() for v in present)
    )


#: I-SPY's vital status codes: 7 alive, 8 dead, 9 lost to follow-up.
_ISPY_STATUS_CODES = frozenset({"7", "8", "9"})


def ispy_vital_status(h: Header, present: set[str]) -> bool:
    """Whether an event column is I-SPY1's vital status ('sstat': 7 alive, 8 dead, 9 lost),
    its codes exactly among those under a status header: it was refused as no event
    indicator."""
    status = "status" in h.words or h.tokens[0].endswith("stat")
    return status and "8" in present and present <= _ISPY_STATUS_CODES


#: NCDB's Participant User File's vital status, whose 0 is the death: 'PUF_VITAL_STATUS'.
_NCDB_VITAL_STATUS = "puf_vital_status"


def ncdb_vital_status(h: Header, present: set[str]) -> bool:
    """Whether an event column is NCDB's 'PUF_VITAL_STATUS' of 0 and 1: 0 dead, 1 alive, the
    reverse of a bare vital status's 1 = dead (read so, veterans' 128 deaths were 9 events)."""
    return h.name == _NCDB_VITAL_STATUS and bool(present) and present <= {"0", "1"}


def says_no_event(h: Header) -> bool:
    """Whether an event column's header says its 1 / yes is no event (:data:`NO_EVENT_WORDS`):
    given as the event column, 'alive' read as-is counted 387 deaths among GBSG2's 299. A header
    naming a death too ('death (1) / alive (0)', 'Dead/Alive') says both, and is read as written;
    one naming a recurrence or progression too ('censored_or_progressed') is refused unless it
    states its codes (:func:`_refuse_both_said`)."""
    words = set(h.words)
    return bool(words & NO_EVENT_WORDS) and not words & (DEATH_HEADER_WORDS | _DISEASE_EVENT_WORDS)


def _refuse_both_said(h: Header, present: set[str]) -> None:
    """Refuse an event column of codes (0/1, yes/no) whose header names no event and a
    recurrence or progression alike ('censored_or_progressed') without stating which code is
    which: read either way by guess, half the cohort's events could be its censored patients."""
    words = set(h.words)
    if not (words & NO_EVENT_WORDS and words & _DISEASE_EVENT_WORDS and present <= _CENSOR_CODES):
        return
    said = sorted(words & (NO_EVENT_WORDS | _DISEASE_EVENT_WORDS))
    raise ClinicalValueError(
        f"The event column {h.text!r} names both {' and '.join(map(repr, said))}: which of its "
        f"codes {show(sorted(present))} is the event is not guessed. State it in the header, "
        f"e.g. '{h.label} (0=censored, 1=progressed)' or 'Censored_0_progressed_1', or recode "
        "the column as 0/1 with 1 the event."
    )


def _refuse_other_outcomes(h: Header, unknown: list[str], stated: dict[str, int]) -> None:
    """Refuse an event column whose unread values are other outcomes, not unknown ones: a code 2
    or more not stated in the header (R's 1/2 beside a 9, a competing event's 2 beside 0/1) or
    words of a death ('Death without recurrence'); read as missing, they left the analysis, and
    R's 1 (alive) was read as the event."""
    codes = [v for v in unknown if v in {"2", "3", "4", "5"}] if not stated else []
    deaths = [v for v in unknown if any(word in v for word in DEATH_WORDS)]
    if not codes and not deaths:
        return
    raise ClinicalValueError(
        f"The event column {h.text!r} holds {show(codes + deaths)} beside its event and "
        "censoring values: another outcome (R's 1=alive, 2=dead; a competing event, such as a "
        "death without recurrence), which is not guessed. State each code in the header, e.g. "
        f"'{h.label} (0=censored, 1=recurrence, 2=dead)' (both events then count, as in "
        "recurrence-free survival), or recode the column as 0/1 for the endpoint you study."
    )


def _refuse_unread_events(h: Header, unknown: list[str], mapping: dict[str, int]) -> None:
    """Refuse an event column whose values read are all censored beside values not read
    ('Décédé : non' read, 'Décédé : oui' not): loaded, each patient with the event was left
    missing and the cohort without one (WHAS500: 0 events, 215 missing), said in a line of the
    report only."""
    if not unknown or not mapping or 1 in mapping.values():
        return
    censored = sorted(value for value, read in mapping.items() if read == 0)
    raise ClinicalValueError(
        f"The event column {h.text!r} holds {show(unknown)}, not read as an event, beside "
        f"{show(censored)} read as censored: no patient would have the event. Write each event "
        "as 'dead', 'yes' or 1 and each censored patient as 'alive', 'no' or 0, or state the "
        f"codes in the header, e.g. '{h.label} (0=alive, 1=dead)'."
    )


def is_death_column(h: Header | None) -> bool:
    """Whether an event column is known to be a death's ('vital_status', 'censdead'): a date of
    death beside its 'alive' is a contradiction; beside a recurrence's 0 ('censrec') or a bare
    'status' it says nothing (387 of GBSG's 686 patients without recurrence lost their outcome)."""
    return h is not None and column_endpoint(h) == "death"
