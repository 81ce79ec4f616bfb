"""The session's chosen model: the app's active model, any registered version, or the demo default.

The choice is per browser session (``st.session_state``); the models themselves are loaded once per
server and shared read-only. Scores and explanations are cached per (case content, clinical values,
model), so two sessions share a result only when they asked the same question of the same data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from survival_core.case import Case
from survival_core.io.clinical_schema import CohortSchema, SchemaVariable

if TYPE_CHECKING:
    from survival_core.runs.store import ActiveModel, RunStore

#: The session's model choice, by :attr:`ModelChoice.key`.
MODEL_CHOICE = "model_choice"
#: Its label when picked, to name it should it disappear from the registry.
MODEL_CHOICE_LABEL = "model_choice_label"
#: The choices the sidebar picker listed on this script run (the pages reuse them).
LISTED = "model_choices_listed"
#: Whether the session's choice follows the app's default (the active model): False once
#: another model was picked in the sidebar.
FOLLOWS = "model_choice_follows"
#: The app's default model (:attr:`ModelChoice.key`) at the picker's last run, and its label.
DEFAULT_SEEN = "model_default_seen"


@dataclass(frozen=True)
class ModelChoice:
    """A model the user can pick: a label for the picker and the local folder it loads from."""

    label: str
    folder: Path
    #: Whether it is the app's default: the active model, else the demo cohort's default model.
    default: bool = False

    @property
    def key(self) -> str:
        """What the session remembers of its choice: the folder, one per registry entry (the
        label changes when another model is made active, or a version's c-index is shown)."""
        return str(self.folder)

    @property
    def modified(self) -> float:
        """Modification time of the card (a retrained folder invalidates the caches)."""
        card = self.folder / "card.json"
        return card.stat().st_mtime if card.exists() else 0.0


@st.cache_resource(show_spinner=False)
def run_store(root: str):
    """The run store of the data folder ``root`` (one MLflow client per server)."""
    from survival_core.runs.store import RunStore

    return RunStore(Path(root) / "runs")


def current_store():
    """The run store of this server's data folder."""
    from survival_core.paths import data_dir

    return run_store(str(data_dir()))


def model_choices(problems: list[str] | None = None) -> list[ModelChoice]:
    """Active model first, then the demo cohort's default model, then every registered version:
    the first is the app's default, and a version registered without being made active is not
    (the sidebar picked one, and the Risk page scored a liver case with a heart-attack model).

    A source that cannot be read is left out and said, in ``problems`` when given, else as a
    warning on the page: an unreadable run store (a disk that filled while it was made) or a
    truncated demo card hid every model, the others too."""
    from survival_core.paths import data_dir
    from survival_core.runs.active import resolve_active
    from survival_core.workflows.demo import default_model_dir

    if problems is None:
        choices = model_choices(problems := [])
        _warn(problems)
        return choices
    # as `score` resolves it: the registry asked, the local copy only with the store unreadable
    resolved = resolve_active(current_store, data_dir() / "runs")
    active, offline, unread = resolved.active, resolved.offline, resolved.unread
    problems.extend(resolved.problems)
    registered, store = [], resolved.store
    if store is not None:
        try:
            registered = list(store.list_models().itertuples())
        except Exception as error:  # noqa: BLE001 - the demo model stays offered without it
            logging.getLogger(__name__).exception("the run store could not be read")
            unread = error
    if unread is not None:
        unlisted = _unlisted(active, resolved.missing)
        problems.append(f"The run store cannot be read ({_reason(unread)}): {unlisted}")
    choices = []
    if active is not None:
        label = f"{active.name} v{active.version} (active{', offline copy' if offline else ''})"
        choices.append(ModelChoice(label, active.folder, default=True))
    try:
        default = default_model_dir()
        card = default / "card.json"
        model = json.loads(card.read_text()).get("model", "model") if card.exists() else None
    except (OSError, ValueError, AttributeError) as error:  # cut short, not an object
        problems.append(f"The demo model's card cannot be read ({error}): it is not listed.")
    else:
        if model is not None:
            label = f"demo default ({model} on the demo cohort)"
            choices.append(ModelChoice(label, default, default=active is None))
    for row in registered:
        if active is not None and (row.name, row.version) == (active.name, active.version):
            continue
        c_index = "" if row.c_index is None else f", {_validated(row)}c-index {row.c_index:.3f}"
        try:  # the copy listed is that entry's: no registry query a version, a page run
            folder = (
                row.folder if row.folder.is_dir() else store.model_folder(row.name, row.version)
            )
        except Exception as error:  # noqa: BLE001 - one version's files gone hid every model
            logging.getLogger(__name__).exception("%s v%s cannot be fetched", row.name, row.version)
            problems.append(f"{row.name} v{row.version} is not offered ({_reason(error)}).")
            continue
        choices.append(ModelChoice(f"{row.name} v{row.version} ({row.model}{c_index})", folder))
    return choices


def shown_active(store: RunStore) -> ActiveModel | None:
    """The app's active model in ``store`` as the pages resolve it (:func:`model_choices`), a
    problem with it warned in the Risk page's words: the Training page showed the store's own
    message of a retired one, naming the registry's database on the server."""
    from survival_core.runs.active import resolve_active

    resolved = resolve_active(lambda: store, store.root)
    _warn(resolved.problems)
    return resolved.active


def _warn(problems: list[str]) -> None:
    """Each problem with the models offered as a warning on the page, without server paths."""
    from survival_core.paths import without_server_paths

    for problem in problems:
        st.warning(without_server_paths(problem), icon=":material/warning:")


def _unlisted(active: ActiveModel | None, missing: str) -> str:
    """What the pages use with the run store unreadable: the ``active`` model from its local
    copy, else the demo default model (``missing``: why the active model is not, if not said)."""
    if active is not None:
        return (
            f"the active model {active.name} v{active.version} is used from its local copy; the "
            "other trained models are not listed."
        )
    unlisted = "trained models are not listed"
    if missing:
        unlisted += f", nor the active model ({missing})"
    return f"{unlisted}: the pages use the demo default model."


def _reason(error: Exception) -> str:
    """Why a source of models cannot be read, for the page: the message of an expected failure
    (which names no password), else its kind with where the details are; files gone are said
    without the server's folders their message names."""
    from survival_core.errors import RadSurvError
    from survival_core.runs.active import FILES_MISSING
    from survival_core.runs.store import ModelFilesMissing

    if isinstance(error, ModelFilesMissing):  # its message names the server's folders
        return FILES_MISSING
    if isinstance(error, RadSurvError):
        return str(error)
    return f"{type(error).__name__}; the details are in the server log"


def _validated(row: Any) -> str:
    """How a registered version's c-index was validated, before it ('external ', 'nested CV
    '): an external c-index read as a cross-validated one; '' for a version that kept none."""
    from survival_core.runs.store import PROTOCOL_WORDS

    protocol = getattr(row, "protocol", None)
    return f"{PROTOCOL_WORDS.get(protocol, protocol)} " if isinstance(protocol, str) else ""


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_schema(folder: str, modified: float) -> CohortSchema | None:
    """A model's own clinical schema, read once per model version (``modified``)."""
    from survival_core.io.clinical_schema import model_schema

    return model_schema(folder)


def chosen_schema(choice: ModelChoice | None) -> CohortSchema | None:
    """The clinical schema the chosen model carries (a model of an own cohort), else None."""
    return None if choice is None else _model_schema(str(choice.folder), choice.modified)


def offered_variables() -> frozenset[SchemaVariable]:
    """The clinical variables of every model offered (their own schemas'): what an upload's
    clinical file keeps, whichever model is chosen now or later, and which values a key nearly
    naming one could be (such a key is refused)."""
    variables: set[SchemaVariable] = set()
    for choice in listed_choices():
        schema = chosen_schema(choice)
        variables |= set(schema.variables) if schema is not None else set()
    return frozenset(variables)


def listed_choices() -> list[ModelChoice]:
    """The model choices of this run: those the sidebar picker listed (it runs before every
    page), else read from the registry now (a page run on its own)."""
    listed = st.session_state.get(LISTED)
    return model_choices() if listed is None else listed


def model_picker() -> ModelChoice | None:
    """A picker of the session's model (in the sidebar); returns the choice, None if no model.
    The choices it lists are kept for the page of this run (one registry read per run)."""
    st.session_state.pop(LISTED, None)
    choices = model_choices()
    st.session_state[LISTED] = choices
    if not choices:
        st.caption("No model yet: train one on the Training page.")
        return None
    keys = [c.key for c in choices]
    previous = st.session_state.get(MODEL_CHOICE)
    if previous is not None and previous not in keys:
        st.warning(
            f"The model you chose ({st.session_state.get(MODEL_CHOICE_LABEL, previous)}) is no "
            f"longer registered; the pages now use {choices[0].label}. Pick another model here "
            "if that is not the one you want.",
            icon=":material/warning:",
        )
        st.session_state[FOLLOWS] = True
    # set before the widget is made: its value is the session's choice
    _follow_default(choices[0] if choices[0].default else None, choices[0], previous in keys)
    by_key = {c.key: c for c in choices}
    # keyed by the session's choice: an unkeyed picker's identity held its index, so the run
    # after a pick made a new widget and the next pick was dropped (the session kept its model)
    key = st.selectbox(
        "Model",
        keys,
        key=MODEL_CHOICE,
        on_change=_picked,
        format_func=lambda k: by_key[k].label,
        help="Used by the Risk, Nomogram, Viewer "
        "overlay and Report pages; the active model is the app's default.",
    )
    st.session_state[MODEL_CHOICE_LABEL] = by_key[key].label
    return by_key[key]


def _follow_default(default: ModelChoice | None, first: ModelChoice, kept: bool) -> None:
    """The session's choice as the app's ``default`` (the active model, else the demo's; None
    when there is neither) has it: a session following the default moves with it, saying so
    once ("The active model is now X (was Y)": a tab opened before a Promote or a ``train
    --activate`` kept scoring with the model active then); one that picked a model keeps it,
    told the default changed. Without a default a session keeps its model (a version merely
    registered, listed first, took over every session), and one whose model is no longer
    listed (``kept`` False) gets the ``first`` listed."""
    seen = st.session_state.get(DEFAULT_SEEN)
    changed = (
        default is not None
        and DEFAULT_SEEN in st.session_state  # not the session's first run
        and (seen is None or seen[0] != default.key)
    )
    follows = st.session_state.get(FOLLOWS, True)
    if not kept or (follows and default is not None):
        target = default or first
        if kept and changed:
            was = st.session_state.get(MODEL_CHOICE_LABEL, seen and seen[1])
            st.info(f"The active model is now {target.label} (was {was}).", icon=":material/sync:")
        st.session_state[MODEL_CHOICE], st.session_state[FOLLOWS] = target.key, True
    elif changed:
        st.info(
            f"The active model is now {default.label}; this session keeps the model picked here.",
            icon=":material/info:",
        )
    st.session_state[DEFAULT_SEEN] = None if default is None else (default.key, default.label)


def _picked() -> None:
    """The sidebar picker's change: the session follows the default again when it is the one
    picked, else keeps the model picked."""
    seen = st.session_state.get(DEFAULT_SEEN)
    st.session_state[FOLLOWS] = seen is not None and st.session_state[MODEL_CHOICE] == seen[0]


def follow_active() -> None:
    """Make this session follow the app's default model: the model just made active here (the
    Training page's Promote) is then the one its pages use."""
    st.session_state[FOLLOWS] = True


def chosen_model() -> ModelChoice | None:
    """This session's model choice (as picked in the sidebar), else the first available."""
    try:
        choices = listed_choices()
    except Exception:  # noqa: BLE001 - shown by the picker
        return None
    key = st.session_state.get(MODEL_CHOICE)
    for choice in choices:
        if choice.key == key:
            return choice
    return choices[0] if choices else None


def loaded_model(choice: ModelChoice):
    """The chosen model loaded (once per server and card version)."""
    from ui.state import scoring_model

    return scoring_model(str(choice.folder), choice.modified)


def clinical_json(case: Case) -> str:
    """The case's clinical values with this session's edits, as a cache key (canonical JSON)."""
    from ui.state import clinical_values

    return json.dumps(clinical_values(case), sort_keys=True, default=str)


def score(case: Case, choice: ModelChoice) -> dict:
    """The case's score under ``choice`` with this session's clinical values, from the case pool
    (computed once per case content, values and model version; a copy, so a page may annotate it)."""
    import copy

    from survival_core.features.case_row import radiomics_settings
    from survival_core.workflows.case_pool import radiomics, score_task
    from ui.state import case_pool, pooled, waited

    folder, values = str(choice.folder), clinical_json(case)
    settings = radiomics_settings(loaded_model(choice))
    radiomics(case_pool(), case, settings, lambda part: waited(part, "Computing the radiomics"))
    result = pooled(score_task, case, values, folder, choice.modified, doing="Scoring the case")
    return copy.deepcopy(result)


def explanation(case: Case, choice: ModelChoice, method: str = "ig"):
    """The case's :class:`~survival_core.explain.case.CaseExplanation` under ``choice`` (cached,
    read-only: IG or Grad-CAM map for image models, input attributions for table models)."""
    from survival_core.workflows.case_pool import explain_task
    from ui.auth import record
    from ui.state import pooled

    record("explain_case", case.case_id, once=True, model=choice.label, method=method)
    doing = "Computing the attributions" if method == "ig" else "Computing the Grad-CAM map"
    folder, values = str(choice.folder), clinical_json(case)
    return pooled(explain_task, case, values, folder, choice.modified, method, doing=doing)


def report_pdf(case: Case, choice: ModelChoice, scored: dict, explained) -> bytes:
    """The case's one-page PDF under ``choice``, drawn in the case pool once per case, values,
    model and day (:func:`~survival_core.workflows.case_pool.report`)."""
    from survival_core.workflows.case_pool import report
    from ui.state import case_pool, waited

    folder, values = str(choice.folder), clinical_json(case)
    future = report(case_pool(), case, values, folder, choice.modified, scored, explained)
    return waited(future, "Drawing the report")
