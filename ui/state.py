"""Per-session state and cached, read-only loaders shared by the pages.

Loaded cases are cached by their content-addressed location, so two browser sessions only ever share
a case they both loaded from identical bytes; everything session-specific (which case is current,
where it came from, edited clinical values) lives in ``st.session_state``. Clinical values saved
for a case are kept for that case (:func:`edits_key`) while the session lasts: opening another
case and coming back finds them again, and they never apply to another case.

Patient safety: the current case is the one every page shows as "current". It is cleared as soon as
another source starts (a new upload, before its structures are confirmed) and whenever loading fails,
so no page ever shows a previous patient beside a new file or an error.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import streamlit as st

from survival_core.case import Case
from survival_core.errors import RadSurvError, is_disk_full, memory_refusal
from survival_core.paths import without_server_paths
from survival_core.text import markdown_message

log = logging.getLogger("radsurv.ui")

CURRENT_CASE = "current_case"
#: Where the current case came from: "demo:<case id>" or "upload:<upload folder>".
CURRENT_ORIGIN = "current_case_origin"
#: This session's saved clinical values, by case (:func:`edits_key`): each a dict of
#: ``values`` (the form's), ``read`` (the case's values they were saved over) and ``refused``
#: (the names its model refused then).
CLINICAL_EDITS = "clinical_edits"
#: The arguments an uploaded current case was read with (:func:`set_current_case`).
CURRENT_READ = "current_case_read"


@st.cache_resource(max_entries=32, show_spinner=False)
def load_case_folder(path: str, case_id: str) -> Case:
    """A case folder of a cohort, under the manifest's ``case_id`` (which links it to the cohort's
    clinical table), loaded once per server."""
    from survival_core.io.case_loader import load_case

    return load_case(path, case_id=case_id)


@st.cache_resource(max_entries=8, show_spinner=False)  # whole cases: HEAVY_MEMORY
def load_upload_folder(
    folder: str,
    roles: tuple[tuple[str, tuple[str, ...]], ...],
    image_name: str | None,
    case_id: str | None,
    series_uid: str | None = None,
    site: str | None = None,
    modality: str | None = None,
    model_folder: str | None = None,
) -> Case:
    """An uploaded case loaded once per (content, structure mapping, case id, series, site,
    modality, model), read in the case pool; ``roles`` maps each role to its structure name(s),
    none for a role left out on purpose (no organ); its clinical values are checked by
    ``model_folder``'s own schema when the model carries one."""
    from survival_core.workflows.case_pool import read_upload

    args = (folder, roles, image_name, case_id, series_uid, site, modality, model_folder)
    return read_upload(case_pool(), *args).result()


def set_current_case(case: Case, origin: str | None = None, read: tuple | None = None) -> None:
    """Make ``case`` this session's current case, from ``origin`` ("demo:<id>", "upload:<folder>");
    the values saved for it earlier in the session apply again (:func:`saved_edits`), unless it
    was read with other clinical values since (the upload's other row of its clinical table: the
    edits held every value of the row first read, another patient's). ``read``: an upload's
    :func:`load_upload_folder` arguments, the model's folder last, so that :func:`current_case`
    reads its clinical values again for another model."""
    saved = st.session_state.get(CLINICAL_EDITS, {})
    key = edits_key(case, origin)
    if key in saved and _other_values(saved[key], case):
        saved.pop(key)
    st.session_state[CURRENT_CASE] = case
    st.session_state[CURRENT_ORIGIN] = origin
    st.session_state[CURRENT_READ] = read


def edits_key(case: Case, origin: str | None) -> str:
    """What a case's saved clinical values are kept under: where it came from and its id, so
    that they never apply to another case or another upload under its id (an upload's folder is
    named by its content); a demo case's with its content too
    (:meth:`~survival_core.case.Case.content_digest`), never applying to one prepared again. Not
    an upload's roles or modality: read again with the GTV alone, its corrected albumin of 48
    read 31 again without a word."""
    kept = f"{origin}|{case.case_id}"
    return kept if str(origin).startswith("upload:") else f"{kept}|{case.content_digest()}"


def _other_values(saved: dict, now: Case) -> bool:
    """Whether the values ``saved`` edits were made over and the case's now differ in a variable
    both hold (missing alike), a value either read's model refused aside (left out there, not
    another patient's)."""
    before = saved["read"]
    refused = saved["refused"] | now.clinical_refused.keys()
    both = (before.keys() & now.clinical.keys()) - refused
    return not all(_same(before[k], now.clinical[k]) for k in both)


def _same(a: object, b: object) -> bool:
    """Whether two clinical values are one (missing alike: pd.NA compares to nothing)."""
    from survival_core.io.clinical import is_missing

    if is_missing(a) or is_missing(b):
        return is_missing(a) and is_missing(b)
    return bool(a == b)


def saved_edits(case: Case) -> dict:
    """The clinical values this session saved for ``case`` (the current one), {} when none."""
    key = edits_key(case, st.session_state.get(CURRENT_ORIGIN))
    return st.session_state.get(CLINICAL_EDITS, {}).get(key, {}).get("values", {})


def save_edits(case: Case, values: dict) -> None:
    """Keep ``values`` (the form's, checked) as this session's clinical values of ``case``."""
    key = edits_key(case, st.session_state.get(CURRENT_ORIGIN))
    saved = {"values": values, "read": dict(case.clinical), "refused": set(case.clinical_refused)}
    st.session_state.setdefault(CLINICAL_EDITS, {})[key] = saved


def discard_edits(case: Case) -> None:
    """Forget the clinical values this session saved for ``case``: its own are read again."""
    key = edits_key(case, st.session_state.get(CURRENT_ORIGIN))
    st.session_state.get(CLINICAL_EDITS, {}).pop(key, None)


def corrected(case: Case) -> list[str]:
    """The variables whose saved value is not the case's own (what the corrections changed)."""
    edits = saved_edits(case)
    return [name for name, value in edits.items() if not _same(value, case.clinical.get(name))]


def clear_current_case() -> None:
    """No current case any more (a new upload started, or loading failed): no page may show the
    previous patient as current. The values saved for it stay for when it is opened again."""
    for key in (CURRENT_CASE, CURRENT_ORIGIN, CURRENT_READ):
        st.session_state.pop(key, None)


def current_case(read_again: bool = True) -> Case | None:
    """This session's current case, if any; an uploaded case's clinical values as the chosen
    model's schema reads them (switching to a model of other variables kept the first model's
    values alone, and every other variable was imputed). A value that model's schema refuses (a
    value outside its range) leaves the case current, the value named for correction
    (:func:`clinical_refusal`); a case that cannot be read again is none, with the reason
    shown. ``read_again`` False: the case as last read (the sidebar's line)."""
    case = st.session_state.get(CURRENT_CASE)
    read = st.session_state.get(CURRENT_READ)
    if case is None or read is None or not read_again:
        return case
    from ui.models import chosen_model, chosen_schema

    choice = chosen_model()
    wanted = str(choice.folder) if chosen_schema(choice) is not None else None
    if read[-1] == wanted:
        return case
    read = (*read[:-1], wanted)
    try:
        case = load_upload_folder(*read)  # read once per model: the case pool keeps it
    except RadSurvError as error:
        show_error(type(error)(f"Case {case.case_id} under {choice.label}: {error}"))
        return None
    st.session_state[CURRENT_CASE], st.session_state[CURRENT_READ] = case, read
    return case


def current_origin() -> str | None:
    """Where the current case came from ("demo:<id>", "upload:<folder>"), None without one."""
    return st.session_state.get(CURRENT_ORIGIN) if current_case() is not None else None


def case_key(case: Case) -> str:
    """A short key naming this session's current case and where it came from, for the keys of
    widgets that show its values: a form keyed by it never shows another patient's values."""
    text = f"{current_origin()}|{case.case_id}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def given_values(case: Case) -> dict:
    """The case's clinical values with this session's edits applied, as given: what the Case
    page's form shows and corrects, whether or not the chosen model takes them."""
    return {**case.clinical, **saved_edits(case)}


def clinical_refusal(case: Case) -> str | None:
    """Why the chosen model refuses the case's clinical values (with this session's edits), None
    when it takes them: a value of the case's file its schema refused that no edit corrects, or
    an edit saved under another model's form that this one's checks refuse (age 105 saved under
    a model allowing 0-110, scored by one allowing 18-100). The values as read were checked by
    the schema they were read for; a model's no-value codes (-99) among them are its own to
    read."""
    from survival_core.errors import ClinicalValueError
    from survival_core.io.clinical_schema import validate_clinical
    from ui.models import chosen_model, chosen_schema

    edits = saved_edits(case)
    why = [w for name, w in case.clinical_refused.items() if edits.get(name) is None]
    schema = chosen_schema(chosen_model())
    try:
        validate_clinical(edits) if schema is None else schema.validate(edits)
    except ClinicalValueError as error:
        why.append(str(error))
    return " ".join(why) or None


def refused_message(case: Case, why: str, where: str = "on the Case page") -> str:
    """The notice of a case whose clinical values the chosen model refuses: which, and where to
    correct them."""
    from ui.models import chosen_model

    choice = chosen_model()
    model = choice.label if choice is not None else "the chosen model"
    return (
        f"Case {case.case_id} is loaded, but {model} refuses its clinical values: {why} "
        f"Correct them in 'Edit clinical values' {where} (or pick another model): nothing is "
        "scored with them meanwhile."
    )


def refused_notice(case: Case) -> bool:
    """On a page scoring the case: the notice of its clinical values the chosen model refuses,
    naming the Case page's form; False when it takes them."""
    from survival_core.text import markdown_literal

    why = clinical_refusal(case)
    if why is None:
        return False
    st.error(
        markdown_literal(without_server_paths(refused_message(case, why))), icon=":material/error:"
    )
    return True


def clinical_values(case: Case) -> dict:
    """The case's clinical values with this session's validated edits applied, as the chosen
    model takes them; a :class:`~survival_core.errors.ClinicalValueError` naming what it refuses
    (:func:`clinical_refusal`): a score never reads a refused value, nor imputes it unsaid."""
    from survival_core.errors import ClinicalValueError

    why = clinical_refusal(case)
    if why is not None:
        raise ClinicalValueError(refused_message(case, why))
    return given_values(case)


def show_error(error: Exception) -> None:
    """Show an expected error's message, as written (it quotes the user's files: a structure
    named with a Markdown image or link drew them in the error box), and what to do when memory
    or the disk ran out; log anything unexpected and show a short notice."""
    if isinstance(error, RadSurvError):
        st.error(markdown_message(without_server_paths(str(error))), icon=":material/error:")
    elif (memory := memory_refusal(error)) is not None:  # what to ask for less of
        log.exception("out of memory")
        st.error(markdown_message(memory), icon=":material/error:")
    elif is_disk_full(error):  # the server's trouble, not the user's
        log.exception("the server's disk is full")
        st.error(
            "The server's disk is full: nothing was stored. Tell its administrator; try again "
            "once space is freed.",
            icon=":material/error:",
        )
    else:
        log.exception("unexpected error in the UI")
        st.error(
            f"Something went wrong ({type(error).__name__}). The details are in the server log.",
            icon=":material/error:",
        )


@st.cache_resource(max_entries=8, show_spinner=False)
def scoring_model(folder: str, modified: float):
    """A saved model with its card, loaded once per server (``modified`` invalidates on retrain)."""
    from survival_core.models.scoring import load_scoring_model

    return load_scoring_model(folder)


@st.cache_resource(show_spinner=False)
def case_pool():
    """The server's :class:`~survival_core.workflows.case_pool.CasePool`: ``RADSURV_CASE_WORKERS``
    worker processes (default: one per CPU; 0: in the session's own thread; another value is a
    ConfigError naming it), or Ray tasks on the
    cluster at ``RADSURV_RAY_ADDRESS`` when it is set (a cluster that cannot be used is an
    :class:`~survival_core.errors.InputError` naming that setting)."""
    from survival_core.engine import (
        CASE_POOL_RAY_SETTING,
        case_pool_ray_address,
        case_pool_workers,
        refused_as_setting,
    )
    from survival_core.workflows.case_pool import CasePool

    workers = case_pool_workers()
    with refused_as_setting(CASE_POOL_RAY_SETTING):
        return CasePool(workers=workers, ray_address=case_pool_ray_address())


def stored_upload(
    files: list[tuple[str, bytes]], keep: frozenset[str], variables: frozenset
) -> tuple[Path, Any]:
    """An upload de-identified, stored by content and classified in the case pool (see
    :func:`~survival_core.workflows.case_pool.store`; ``variables``: the offered models'), its
    place in the queue shown meanwhile: the folder and its
    :class:`~survival_core.io.upload_case.UploadContents`."""
    from survival_core.workflows.case_pool import store

    folder, contents = waited(store(case_pool(), files, keep, variables), "Reading the upload")
    return Path(folder), contents


def pooled(task, case: Case, *args, doing: str = "Computing"):
    """``task(case, *args)`` from the case pool (see :func:`case_pool`): the result at once when
    this case's task is done or running for any session, else its place in the queue shown while
    it waits."""
    return waited(case_pool().submit(task, case, *args), doing)


def waited(future, doing: str):
    """The result of a case-pool ``future``, with how many tasks are ahead of it shown meanwhile."""
    import time

    if not future.done():
        note = st.empty()
        while not future.done():
            ahead = case_pool().ahead(future)
            queued = f" ({ahead} case{'s' * (ahead != 1)} ahead in the queue)" if ahead else ""
            note.caption(f":material/hourglass_top: {doing}{queued}...")
            time.sleep(0.2)
        note.empty()
    return future.result()
