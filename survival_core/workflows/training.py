"""Train a model on whole tables and save it with its card (the ``fit`` command, the demo model)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survival_core.columns import clinical_inputs, is_image_feature
from survival_core.errors import ConfigError, InputError
from survival_core.evaluation.risk_groups import check_youden_horizon
from survival_core.features.settings import named_reading, reading_stamp
from survival_core.io.atomic import replaced_folder
from survival_core.io.clinical import BY_NAME
from survival_core.io.clinical_schema import SCHEMA_FILE, schema_beside
from survival_core.io.manifest import sites_beside
from survival_core.io.tables import (
    READING_KEY,
    SETTINGS_KEY,
    TIME_UNITS,
    ModelTable,
    load_model_table,
)
from survival_core.models import IMAGE_MODELS, make_model
from survival_core.models.base import MODEL_FILE, SurvivalModel
from survival_core.models.card import CARD_FILE, build_card, recorded_outcome
from survival_core.models.image_set import ImageSet
from survival_core.models.leaks import outcome_leak_notes
from survival_core.outcome import no_censored_said


def _cohort_manifest(cohort: Path | ImageSet | None) -> list[Path]:
    """The manifest of the cohort folder image models read, as :func:`sites_beside` takes it."""
    return [Path(cohort) / "manifest.csv"] if isinstance(cohort, str | Path) else []


def _few_events_warning(table: ModelTable, model: SurvivalModel, apparent: float) -> list[str]:
    """A warning when the rows hold fewer than 10 events per variable the model uses (after a
    reduction's selection; a coxph fitted on 1 event and 9 variables was saved with an apparent
    c-index of 1.0, unwarned)."""
    from survival_core.models.candidates import too_few_events

    few = too_few_events(model, int(table.y["event"].sum()), len(model.features_used_))
    if not few:
        return []
    return [
        f"{few}: the model overfits, and its apparent c-index ({apparent:.3f}) overstates what "
        "new patients would see. Cross-validate it (--cv-repeats), let a penalty chosen by "
        "cross-validation shrink it (coxnet, lasso_cox), or give fewer variables."
    ]


def no_censored_warning(y: np.ndarray) -> list[str]:
    """A warning when every training patient has the event: the censored ones lost (lymph-node's
    import left its 515 living patients without an outcome, and its 171 deaths were fitted
    alone, said only as cases left out) or the event coded the other way. Not refused: a cohort
    followed until every patient died is one to model
    (:func:`~survival_core.evaluation.splits.nested_cv` takes it)."""
    events = y["event"]
    if not events.size or not events.all():
        return []
    check = "the cohort import's report (outcomes left missing: those cases are left out here)"
    return [no_censored_said(events.size, "training patients", check)]


def _radiomics_source(metadata: dict[str, dict[bytes, bytes]]) -> dict[str, Any]:
    """The card's record of the radiomics among the inputs: the one table's extraction settings
    and the modality its images were (when it says), or each image's settings when the features
    are named after their images (:func:`~survival_core.io.tables.image_names`: a PET/CT model,
    or features of each case's companion image); with the MR weightings of the training cases'
    images where the table says them."""
    from survival_core.io.tables import MODALITY_KEY, SEQUENCES_KEY, SETTINGS_KEY, image_names

    tables = [m for m in metadata.values() if SETTINGS_KEY in m]
    names = image_names(tables)
    if names is not None:
        by_image = {n: t[SETTINGS_KEY].decode() for n, t in zip(names, tables, strict=True)}
        return {"radiomics_by_modality": by_image}
    found = {m[SETTINGS_KEY].decode() for m in tables}
    if len(found) > 1:
        raise InputError(
            "The tables come from several radiomics settings of one modality (or of images "
            "whose modality they do not say); join one at a time."
        )
    said = {m[MODALITY_KEY].decode() for m in tables if MODALITY_KEY in m}
    sequences: Counter[str] = Counter()
    for m in tables:
        sequences.update(json.loads(m.get(SEQUENCES_KEY, b"{}")))
    return {
        "radiomics_settings": found.pop() if found else None,
        "radiomics_modality": said.pop() if len(said) == 1 else None,
        "mr_sequences": dict(sorted(sequences.items())),
    }


def _image_reading(metadata: dict[str, dict[bytes, bytes]]) -> str | None:
    """How the images of a model's features were read: its radiomics tables' way, from their
    metadata or their cohort table's name (None when one says neither, written by an earlier
    version, or they differ), else this version's (an image network reads its images as it
    fits; deep and DSFR tables do not say, and are taken as read so)."""
    said = {
        m.get(READING_KEY, b"").decode() or named_reading(Path(path).name) or ""
        for path, m in metadata.items()
        if SETTINGS_KEY in m
    }
    if not said:
        return reading_stamp()
    return (said.pop() if len(said) == 1 else "") or None


#: What the load warnings of an image model's cases name as their table.
VOLUMES_TABLE = "CT volumes"


@dataclass(frozen=True)
class ModelMaker:
    """Makes fresh, unfitted models of one kind: ``params`` with ``overrides`` on top (a search
    trial's values), the feature ``reduction`` and, for image models, the CT ``images``.

    A plain picklable object (not a closure), so that it travels to worker processes and Ray tasks.
    """

    model_name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    reduction: str = "none"
    images: ImageSet | None = None

    def __call__(self, overrides: Mapping[str, Any] | None = None) -> SurvivalModel:
        from survival_core.models.reduction import make_reduction

        model = make_model(self.model_name, **{**self.params, **(overrides or {})})
        model = model.with_reduction(make_reduction(self.reduction))
        return model if self.images is None else model.with_images(self.images)

    def load_warnings(self, case_ids: Sequence[str]) -> pd.DataFrame:
        """What loading the CT of each of ``case_ids`` warned of, as a run lists its feature
        tables' (:data:`~survival_core.io.load_warnings.WARNED_COLUMNS`, the table named
        :data:`VOLUMES_TABLE`); none for a model reading no image. The cases whose volumes may
        rest on a guess (a label 2 taken as the GTV...)."""
        from survival_core.io.load_warnings import WARNED_COLUMNS

        if self.images is None:
            return pd.DataFrame(columns=list(WARNED_COLUMNS))
        spec = make_model(self.model_name, **self.params).volume_spec
        return self.images.load_warnings(case_ids, spec).assign(table=VOLUMES_TABLE)


def model_factory(
    model_name: str,
    params: dict[str, Any],
    reduction: str = "none",
    cohort: Path | ImageSet | None = None,
    case_ids: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> ModelMaker:
    """A maker of fresh, unfitted models (one per CV fold, one for the final fit): call it without
    arguments, or with parameter overrides (see :class:`ModelMaker`).

    Parameters are checked now. Image models read the CT volumes of ``cohort`` (a cohort folder,
    or an :class:`ImageSet` spanning several): those of ``case_ids`` are prepared (cached) here
    once, in worker processes, not inside each fold.
    """
    from survival_core.models.image_base import ImageSurvivalModel

    prototype = make_model(model_name, **params)
    images = None
    if isinstance(prototype, ImageSurvivalModel):
        if cohort is None:
            raise ConfigError(
                f"Model '{model_name}' reads CT volumes: pass the cohort folder (--cohort DIR)."
            )
        images = cohort if isinstance(cohort, ImageSet) else ImageSet.from_cohort(cohort)
        images.prepare(list(case_ids), prototype.volume_spec, progress=progress)

    return ModelMaker(model_name, dict(params), reduction, images)


def _check_model_out(out: Path) -> None:
    """Refuse, before any work, a model folder ``out`` holding files but no model: the fitted
    model replaces the whole folder (:func:`~survival_core.io.atomic.replaced_folder`)."""
    model = (out / MODEL_FILE).is_file() or (out / CARD_FILE).is_file()
    if out.is_dir() and any(out.iterdir()) and not model:
        raise InputError(
            f"{out} holds files but no model; the model is written as a whole folder, "
            "replacing what a folder holds. Give a new or empty folder, or a model folder to "
            "replace."
        )


def train_model(
    tables: list[str | Path],
    model_name: str,
    params: dict[str, Any],
    out: Path,
    *,
    reduction: str = "none",
    features: str | None = None,
    time_unit: str = "days",
    cut: str = "median",
    horizon: float | None = 730.0,
    horizon_option: str = "horizon",
    cv_repeats: int = 0,
    cv_folds: int = 5,
    seed: int = 0,
    cohort: Path | ImageSet | None = None,
    rows: Sequence[str] | None = None,
    cv_summary: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    factory: Callable[[], SurvivalModel] | None = None,
    sources: Sequence[Path] = (),
) -> dict[str, Any]:
    """Fit ``model_name`` on all rows, save model + card into ``out``; returns a summary.

    ``cohort``: where image models read CT volumes (folder or ImageSet). ``rows``: fit on these
    case ids only (e.g. the development cohort of an external validation). ``cv_summary``: metrics
    of a cross-validation already run, stored in the card (instead of ``cv_repeats`` x
    ``cv_folds``).
    ``horizon_option`` names where ``horizon`` came from in the refusal of one outside the
    training follow-up, made before the fit (``fit --horizon``).
    ``factory``: makes the model instead of :func:`model_factory` (e.g. a hyper-parameter search,
    :func:`survival_core.runs.search.tuned_factory`; ``model_name`` still names it in the card).
    ``sources``: the clinical.csv of the cohort a training run fits it on, kept in the card.
    """
    from survival_core.evaluation import splits
    from survival_core.io.load_warnings import warned_notes, write_load_warnings
    from survival_core.workflows.crossval import cross_validate

    out = Path(out)
    _check_model_out(out)
    table = load_model_table(list(tables), time_unit=time_unit, features=features)
    outcome = recorded_outcome(tables)  # an unreadable record refused before the fit
    if rows is not None:
        table = table.subset(rows)
    if cut == "youden" and horizon is not None:
        unit = (time_unit, TIME_UNITS[time_unit])
        check_youden_horizon(table.y, horizon, horizon_option, unit)
    say = progress or (lambda _: None)
    for note in table.notes:
        say(f"note: {note}")
    # a factory given (a run's search): the run lists the load warnings in its reports, its model
    # folder does not
    warned = None
    if factory is None:
        factory = model_factory(model_name, params, reduction, cohort, table.case_ids, say)
        warned = factory.load_warnings(table.case_ids)

    cv_notes: list[str] = []
    if cv_repeats > 0:
        folds = splits.nested_cv(table.y["event"], cv_repeats, cv_folds, seed=seed)
        say(f"cross-validating {model_name}: {cv_repeats} x {cv_folds} folds")
        result = cross_validate(
            table.X, table.y, factory, folds, case_ids=table.case_ids, seed=seed, progress=say
        )
        cv_summary, left_out = result.summary, result.left_out_records()
        cv_notes = cv_summary["preprocessing_notes"]  # kept in the card's cv, said here too
        for note in cv_notes:
            say(f"note: {note}")
    # a cross-validation's notes hold them, on its development rows
    leaks = outcome_leak_notes(table.X, table.y) if cv_summary is None else []
    say(f"fitting {model_name} on {len(table.y)} patients")
    model = factory().fit(table.X, table.y)
    if model.null_:
        raise InputError(
            f"The feature reduction {model.emptied_by} kept no feature of the "
            f"{len(table.y)} training patients: no variable passes its filter, so the model "
            "would give every patient the same risk, and nothing is saved. Fit without "
            "--reduction, or a penalised model (coxnet, lasso_cox)."
        )
    for note in [*leaks, *model.preprocessor_.notes_]:
        say(f"note: {note}")
    notes = [*table.notes, *leaks, *model.preprocessor_.notes_]  # in the card and the summary
    risk = model.predict_risk(table.X)
    schema = schema_beside(tables)
    own = set(schema.names) if schema is not None else set()
    radiomics = _radiomics_source(table.metadata)
    card = build_card(
        model_name,
        table.y,
        risk,
        clinical_columns=clinical_inputs(
            table.X.columns,
            set(BY_NAME) | own | {c for c in table.beside_outcomes if not is_image_feature(c)},
            tabular=not any(radiomics.values()),
        ),
        **radiomics,
        tables=list(tables),
        outcome=outcome,
        cut_method=cut,
        horizon=horizon if cut == "youden" else None,
        cv=cv_summary,
        why_one_risk=model.why_one_risk,
        notes=notes,
        image_reading=_image_reading(table.metadata),
        sources=sources,
        # an image model's patients, for its leak check as a deep-feature network (a table
        # model's card stays readable by RadSurv 0.2.1)
        case_ids=table.case_ids if model_name in IMAGE_MODELS else (),
        # the images' manifest names the sites where the table lies elsewhere (a lung case
        # under a liver CNN was scored without the caution)
        sites=sites_beside([*_cohort_manifest(cohort), *tables], table.case_ids),
    )
    with replaced_folder(out) as folder:  # whole: no file of a model fitted there before
        model.save(folder)
        card.save(folder)
        if schema is not None:  # the model carries the schema of the clinical variables it reads
            schema.save(folder / SCHEMA_FILE)
        # and an image model which of its patients' CT loaded with warnings
        n_warned = 0 if warned is None else write_load_warnings(warned, folder)
    # auto / ensemble: the small-data guards of the choice made on all rows (few events per
    # variable, a network chosen with few events, no gain over the clinical baseline); any other
    # model: its events per variable
    warnings = list(getattr(model, "selection_", {}).get("warnings", []))
    warnings += _few_events_warning(table, model, card.apparent_c_index)
    warnings += no_censored_warning(table.y)
    for warning in warnings:
        say(f"warning: {warning}")
    # said and listed with the others: `fit --json`'s notes lacked it
    said_warned = warned_notes(n_warned, out)
    for note in said_warned:
        say(f"note: {note}")
    shown_notes = [*notes, *cv_notes, *said_warned]
    return {
        "model": model_name,
        "out": str(out),
        "n": card.n,
        "features_used": len(model.features_used_),
        "apparent_c_index": card.apparent_c_index,
        "cv_c_index": None if cv_summary is None else cv_summary["c_index"],
        **({"warnings": warnings} if warnings else {}),
        **({"n_warned": n_warned} if model_name in IMAGE_MODELS else {}),
        **({"notes": shown_notes} if shown_notes else {}),
        # the patients the cross-validation left out of a fold, named here and not in the card
        **({"left_out": left_out} if cv_repeats > 0 else {}),
    }
