"""Hyper-parameter search: a survival model that tunes another one by inner cross-validation.

:class:`TunedModel` is a meta-estimator in the manner of scikit-learn's ``GridSearchCV``: its
``fit(X, y)`` runs an Optuna TPE study (seeded, maximising) over the ``space`` of a model's
parameters, scores every trial by the mean Harrell c-index on the held-out rows of stratified
inner folds of ``X``, then refits the model with the best trial's parameters on all of ``X``.
Predictions come from that refitted model, and :meth:`TunedModel.save` writes it as an ordinary
model folder (:func:`survival_core.models.load_model` reads it back) plus ``search.json``, the
trial table. So a TunedModel drops into :func:`~survival_core.workflows.crossval.cross_validate`
(each outer fold tunes on its own training rows only: nested CV) and into ``train_model``.

The sampler runs in the calling process (ask/tell); trials are evaluated through ``trial_map``,
any ordered ``map(fn, items)``: the builtin ``map`` (one at a time) or
:func:`survival_core.engine.fold_map` (Ray tasks, GPU-aware through its ``num_gpus``).
``parallel`` trials are asked for at once and run as one batch; a seed and a batch size give the
same trials, and the same best parameters, with either. A trial that raises, scores a
non-finite value or whose model gives all of an inner fold's training rows one risk (it learned
nothing: the ties' c-index of 0.5 beat real trials on weak data) is recorded as failed and the
search goes on; only a search whose every trial failed is an error. :func:`tuned_factory` is the
counterpart of :func:`~survival_core.workflows.training.model_factory` for a config's
``model.search``.
"""

from __future__ import annotations

import json
import time as clock
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sksurv.util import Surv

from survival_core.errors import ConfigError, InputError, RadSurvError
from survival_core.evaluation import splits
from survival_core.evaluation.concordance import concordance_columns, harrell_c_index
from survival_core.evaluation.risk_groups import constant_columns
from survival_core.io.atomic import json_ready, write_json
from survival_core.models.base import SurvivalModel
from survival_core.models.image_set import ImageSet
from survival_core.models.tabular import TablePreprocessor, unseen_levels_noted
from survival_core.outcome import training_arrays
from survival_core.runs.config import SEARCH_KINDS, ParamRange, SearchConfig
from survival_core.text import params_text
from survival_core.workflows.training import ModelMaker, model_factory

#: Written next to the best model's ``model.json`` by :meth:`TunedModel.save`.
SEARCH_FILE = "search.json"


def _c_index(y: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's c-index of ``risk`` against ``y``; NaN where no two patients are comparable (an
    inner fold's few test rows, their one event the last), as :func:`inner_score` leaves out."""
    try:
        return harrell_c_index(y, risk)
    except InputError:
        return float("nan")


#: Search metrics (higher is better; NaN where undefined), on the held-out rows of an inner fold.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"c_index": _c_index}
#: Trials asked for at once in a training run, on every engine: the batch size shapes what the
#: sampler proposes, so it is fixed for a run's results not to depend on where it runs (the same
#: batches give the same trials in this process or as Ray tasks).
RUN_PARALLEL = 4
#: Columns of :attr:`TunedModel.trials_` besides one per searched parameter.
TRIAL_COLUMNS = ("number", "score", "state", "seconds", "error")

Maker = Callable[[Mapping[str, Any]], SurvivalModel]
TrialMap = Callable[[Callable[[Any], Any], Iterable[Any]], Iterable[Any]]


# -- sampling --------------------------------------------------------------------------------------
def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def suggest(trial: Any, space: Mapping[str, ParamRange]) -> dict[str, Any]:
    """One value per parameter of ``space`` from the Optuna ``trial``: ``choice`` is categorical,
    ``uniform``/``loguniform`` a float (log scale for the latter), ``int`` an integer, bounds
    included. Choices that are not plain values (lists such as hidden layer sizes) are offered to
    the sampler under their JSON text and given back as the original values."""
    params = {}
    for name, spec in space.items():
        if spec.kind == "choice":
            if all(_is_plain(v) for v in spec.values):
                params[name] = trial.suggest_categorical(name, list(spec.values))
            else:
                labels = {json.dumps(v): v for v in spec.values}
                params[name] = labels[trial.suggest_categorical(name, list(labels))]
        elif spec.kind in ("uniform", "loguniform"):
            low, high = (float(v) for v in spec.values)
            params[name] = trial.suggest_float(name, low, high, log=spec.kind == "loguniform")
        elif spec.kind == "int":
            params[name] = trial.suggest_int(name, int(spec.values[0]), int(spec.values[1]))
        else:
            raise ConfigError(
                f"model.search.space.{name}: unknown range kind {spec.kind!r}; "
                f"use one of {', '.join(SEARCH_KINDS)}."
            )
    return params


# -- scoring ---------------------------------------------------------------------------------------
def _rows(X: Any, index: np.ndarray) -> Any:
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def inner_splits(y: Any, n_folds: int = 3, seed: int = 0) -> list[splits.Fold]:
    """Stratified (by event) ``n_folds``-fold split of the rows of ``y`` for scoring trials.
    :class:`InputError` where no fold's test rows hold two comparable patients (an event and a
    longer follow-up): the c-index is undefined in every fold, whatever a trial's parameters."""
    event, time = training_arrays(y)
    try:
        folds = splits.nested_cv(event, 1, n_folds, validation_fraction=0.0, seed=seed)
    except ConfigError as err:
        raise ConfigError(f"Hyper-parameter search on {event.size} patients: {err}") from err
    ties = np.zeros((time.size, 1))  # any risk: whether a pair is comparable is the outcomes'
    if all(
        np.isnan(concordance_columns(event[f.test], time[f.test], ties[f.test])[0]) for f in folds
    ):
        raise InputError(
            f"Hyper-parameter search on {event.size} patients ({int(event.sum())} events): none "
            f"of its {n_folds} inner folds' test rows holds two comparable patients (an event "
            "followed by a longer follow-up), so the c-index of every trial is undefined: the "
            "inner folds are too small. Search on more patients, or set the parameters in "
            "model.params instead of searching them."
        )
    return folds


def inner_score(
    make: Maker,
    params: Mapping[str, Any],
    X: Any,
    y: np.ndarray,
    folds: Sequence[splits.Fold],
    metric: str = "c_index",
) -> float:
    """Mean ``metric`` over ``folds`` of ``make(params)`` fitted on each fold's training rows and
    scored on its test rows; a fold whose score is undefined (no comparable pair among its test
    rows, common with 14 patients and 5 events) is left out of the mean, NaN when every fold's
    is. So is a fold whose model gives all its training rows one risk (:func:`_learned_nothing`:
    its ties' 0.5 is no score; a coxnet of one weak variable picks its null fit in some folds
    and learns in others), an :class:`InputError` when every fold's does. An inner fold's
    category its training rows lack is the search's own business: not warned of once per trial
    and fold (a run's log held dozens of UnseenLevelWarnings), as the model choice's inner folds
    do."""
    score = METRICS[metric]
    values, unlearned = [], []
    for number, fold in enumerate(folds, start=1):
        model = make(params).fit(_rows(X, fold.train), y[fold.train])
        why = _learned_nothing(model, _rows(X, fold.train))
        if why:
            unlearned.append(f"inner fold {number}: {why}")
            continue
        with unseen_levels_noted():
            values.append(score(y[fold.test], model.predict_risk(_rows(X, fold.test))))
    if len(unlearned) == len(folds):
        raise InputError(f"{LEARNED_NOTHING} in any inner fold ({unlearned[0]})")
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else float("nan")


#: How a trial whose model gave one risk in every inner fold fails (:func:`inner_score`).
LEARNED_NOTHING = "the model learned nothing"


def _learned_nothing(model: SurvivalModel, X_train: Any) -> str:
    """Why the fitted ``model`` gives all its training rows ``X_train`` one risk (a null model,
    or a forest whose minimum leaf holds them all), '' when it does not: its test rows, all ties,
    would score a c-index of 0.5 that beats the real trials of weak data (inner c < 0.5) and is
    chosen; cross-validation's folds and ``fit`` say the same of it."""
    risk = np.asarray(model.predict_risk(X_train), dtype=float)
    if not (model.null_ or constant_columns(risk[:, None])[0]):
        return ""
    learned = (
        f"its feature reduction {model.emptied_by} kept no feature"
        if model.null_
        else "it learned nothing from them"
    )
    return (
        f"the model gave all its {risk.size} inner-training patients one risk ({learned}), so "
        f"its c-index of 0.5 is no score. {model.why_one_risk()}"
    )


def run_trial(
    item: tuple[int, dict[str, Any]],
    X: Any,
    y: np.ndarray,
    make: Maker,
    folds: Sequence[splits.Fold],
    metric: str,
) -> dict[str, Any]:
    """Score trial ``item = (number, params)``; a picklable unit of work (one Ray task). Never
    raises: a failure is returned as the record's ``error``, so one bad trial stops nothing."""
    number, params = item
    start = clock.perf_counter()
    try:
        score, error = inner_score(make, params, X, y, folds, metric), ""
        if not np.isfinite(score):
            error = f"the inner-fold {metric} is {score}"
    except Exception as err:  # noqa: BLE001 - any failure of a trial is recorded, not raised
        score, error = float("nan"), f"{type(err).__name__}: {err}"
    return {
        "number": number,
        "params": params,
        "score": score if not error else None,
        "state": "FAIL" if error else "COMPLETE",
        "seconds": round(clock.perf_counter() - start, 3),
        "error": error,
    }


# -- the meta-estimator ----------------------------------------------------------------------------
class TunedModel(SurvivalModel):
    """A model whose parameters in ``space`` are chosen by an Optuna TPE search on the training
    rows (see the module doc).

    ``make(params)`` builds an unfitted model with the trial's ``params`` on top of its fixed
    ones (reduction and images applied), e.g. a :class:`~survival_core.workflows.training.ModelMaker`;
    it must be picklable for a Ray ``trial_map``. ``trials`` trials are run, ``parallel`` at a
    time; each is scored by ``metric`` averaged over ``inner_folds`` folds stratified on the event
    and seeded by ``seed`` (which also seeds the sampler). ``progress`` receives one line per trial.

    After ``fit``: ``best_params_``, ``best_score_``, ``best_model_`` (refitted on all rows) and
    ``trials_`` (a DataFrame: number, one column per parameter, score, state COMPLETE or FAIL,
    seconds, error).
    """

    name: ClassVar[str] = "tuned"

    @property
    def survival_until(self) -> float:
        """The last time (days) the model estimates survival at: the fitted choice's, before the
        fit its maker's (a discrete model's last edge; a cross-validation's horizons stop there)."""
        chosen = getattr(self, "best_model_", None)
        return (chosen if chosen is not None else self.make({})).survival_until

    @property
    def emptied_by(self) -> str | None:  # type: ignore[override]
        """The refitted choice's (:attr:`SurvivalModel.emptied_by`); None before the fit."""
        chosen = getattr(self, "best_model_", None)
        return None if chosen is None else chosen.emptied_by

    @property
    def null_(self) -> bool:  # type: ignore[override]
        return self.emptied_by is not None

    @property
    def guards_variables(self) -> bool:  # type: ignore[override]
        """Whether the searched model guards its own variables on small data: it does (coxnet),
        or the search chooses its penalty by inner CV (a Cox PH's penalizer; a searched run was
        told to prefer 'a penalty chosen by cross-validation')."""
        made = self.make({})
        return made.guards_variables or made.penalty_param in self.space

    def __init__(
        self,
        make: Maker,
        space: Mapping[str, ParamRange],
        trials: int = 20,
        metric: str = "c_index",
        inner_folds: int = 3,
        parallel: int = 1,
        seed: int = 0,
        trial_map: TrialMap = map,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if not space:
            raise ConfigError("model.search.space: expected at least one parameter to search.")
        if metric not in METRICS:
            raise ConfigError(
                f"model.search.metric: unknown metric {metric!r}; use one of {', '.join(METRICS)}."
            )
        if int(trials) < 1 or int(inner_folds) < 2 or int(parallel) < 1:
            raise ConfigError(
                "A search needs trials >= 1, inner_folds >= 2 and parallel >= 1; got "
                f"{trials}, {inner_folds}, {parallel}."
            )
        self.make = make
        self.space = space
        self.trials = trials
        self.metric = metric
        self.inner_folds = inner_folds
        self.parallel = parallel
        self.seed = seed
        self.trial_map = trial_map
        self.progress = progress

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> TunedModel:
        """Search on ``X``, ``y``, then refit the best parameters on all of them (``X_val``,
        ``y_val``: early-stopping rows of a neural model's final fit, as in ``SurvivalModel.fit``)."""
        import optuna

        event, time = training_arrays(y)
        if len(X) != len(event):
            raise InputError(f"X has {len(X)} rows but y has {len(event)} labels.")
        y = Surv.from_arrays(event, time)
        folds = inner_splits(y, int(self.inner_folds), int(self.seed))
        work = partial(run_trial, X=X, y=y, make=self.make, folds=folds, metric=self.metric)
        say = self.progress or (lambda _: None)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(
                direction="maximize", sampler=optuna.samplers.TPESampler(seed=int(self.seed))
            )
            records: list[dict[str, Any]] = []
            while len(records) < int(self.trials):
                batch = [
                    study.ask() for _ in range(min(int(self.parallel), self.trials - len(records)))
                ]
                items = [(trial.number, suggest(trial, self.space)) for trial in batch]
                for trial, record in zip(batch, self.trial_map(work, items), strict=True):
                    if record["error"]:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                        say(f"trial {record['number'] + 1}/{self.trials} failed: {record['error']}")
                    else:
                        study.tell(trial, record["score"])
                        say(
                            f"trial {record['number'] + 1}/{self.trials}: {self.metric} "
                            f"{record['score']:.3f} ({params_text(record['params'])})"
                        )
                    records.append(record)
        finally:
            optuna.logging.set_verbosity(verbosity)
        self._set_trials(records)
        self.best_model_ = self.make(self.best_params_).fit(X, y, X_val, y_val)
        return self

    def _set_trials(self, records: list[dict[str, Any]]) -> None:
        complete = [r for r in records if not r["error"]]
        if not complete:
            raise RadSurvError(
                f"Hyper-parameter search: all {len(records)} trials failed; the last error was "
                f"{records[-1]['error'].rstrip('.')}. "
                + (
                    "No trial's model learned anything: the data hold too little for this model "
                    "to learn from, or the space gives it only values that leave it nothing to "
                    "learn (a forest's minimum leaf larger than its inner-training rows)."
                    if all(LEARNED_NOTHING in r["error"] for r in records)
                    else "Narrow model.search.space to values the model accepts."
                )
            )
        best = max(complete, key=lambda r: r["score"])  # the first of equal scores
        self.best_params_ = dict(best["params"])
        self.best_score_ = float(best["score"])
        self.trials_ = pd.DataFrame(
            [
                {"number": r["number"], **r["params"], **{k: r[k] for k in TRIAL_COLUMNS[1:]}}
                for r in records
            ],
            columns=["number", *self.space, *TRIAL_COLUMNS[1:]],
        )

    # -- the best model stands in for the search ----------------------------------------------
    def _best(self) -> SurvivalModel:
        if not hasattr(self, "best_model_"):
            raise ConfigError("The hyper-parameter search is not fitted yet; call fit first.")
        return self.best_model_

    @property
    def preprocessor_(self) -> TablePreprocessor:
        return self._best().preprocessor_

    @property
    def features_used_(self) -> list[str]:
        return self._best().features_used_

    @property
    def risk_scale(self) -> str:  # type: ignore[override]
        return self._best().risk_scale

    @property
    def curves_may_cross(self) -> bool:  # type: ignore[override]
        return self._best().curves_may_cross

    @property
    def is_network(self) -> bool:  # type: ignore[override]
        """Its maker's (a search over a network's parameters early-stops on a CV fold's
        validation rows, as the network does)."""
        return self.make({}).is_network

    @property
    def n_validation_(self) -> int:
        """The rows that only stopped the refitted choice's training early (0: not a network)."""
        return int(getattr(self._best(), "n_validation_", 0))

    def epochs_kept(self) -> dict[str, int]:
        """The refitted choice's kept and trained epochs (a network's; none for other models)."""
        return self._best().epochs_kept() if self.is_network else {}

    def predict_risk(self, X: Any) -> np.ndarray:
        """Risk per row from the refitted best model (higher = worse)."""
        return self._best().predict_risk(X)

    def predict_survival(self, X: Any, times: Any) -> np.ndarray:
        """S(t | x) from the refitted best model, shape (rows, len(times))."""
        return self._best().predict_survival(X, times)

    def fold_choice(self) -> dict[str, Any]:
        """What a cross-validation fold records of its own search, as of a model choice: the
        parameters chosen (``chosen``, :func:`params_text`) and their inner score; the folds'
        choices side by side show how stable the search is."""
        return {
            "chosen": params_text(self.best_params_),
            f"chosen_inner_{self.metric}": self.best_score_,
        }

    def search_summary(self) -> dict[str, Any]:
        """The search as plain JSON values: settings, best parameters and score, trial table."""
        table = self.trials_.astype(object).where(self.trials_.notna(), None)
        return {
            "metric": self.metric,
            "inner_folds": int(self.inner_folds),
            "seed": int(self.seed),
            "space": {name: spec.to_dict() for name, spec in self.space.items()},
            "best_params": json_ready(self.best_params_),
            "best_score": json_ready(self.best_score_),
            "trials": json_ready(table.to_dict("records")),
        }

    def save(self, folder: str | Path) -> Path:
        """Write the best model (readable with :func:`survival_core.models.load_model`) and
        ``search.json``; returns the folder."""
        folder = self._best().save(folder)
        write_json(Path(folder) / SEARCH_FILE, self.search_summary())
        return folder


def read_search(folder: str | Path) -> dict[str, Any] | None:
    """The ``search.json`` of a saved model folder, or None for a model that was not searched."""
    path = Path(folder) / SEARCH_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def trial_table(search: Mapping[str, Any]) -> pd.DataFrame:
    """A saved search's trials (:func:`read_search`), numbered from 1 as the run's log counts
    them ('trial 3/20'; Optuna's own numbers, kept in ``search.json``, start at 0), a searched
    number as text of 4 significant digits: a report's 3 decimals read a learning rate of 1e-4
    as 0.000."""
    table = pd.DataFrame(search["trials"], columns=["number", *search["space"], *TRIAL_COLUMNS[1:]])
    table = table.rename(columns={"number": "trial"}).assign(trial=table["number"] + 1)
    for name in search["space"]:
        table[name] = [f"{v:.4g}" if isinstance(v, float) else v for v in table[name]]
    return table


def search_text(search: Mapping[str, Any]) -> str:
    """A saved search (:func:`read_search`) in a line, as a run's report and its Training page
    view head its trial table: 'chose penalizer=0.14 (inner c-index 0.684 over 3 inner folds;
    4 trials, 1 failed)'."""
    failed = sum(trial["state"] == "FAIL" for trial in search["trials"])
    return (
        f"chose {params_text(search['best_params'])} (inner {search['metric'].replace('_', '-')} "
        f"{search['best_score']:.3f} over {search['inner_folds']} inner folds; "
        f"{len(search['trials'])} trials" + (f", {failed} failed)" if failed else ")")
    )


# -- the factory for runs --------------------------------------------------------------------------
@dataclass(frozen=True)
class TunedFactory:
    """Makes a fresh :class:`TunedModel` per call (one per CV fold, one for the final fit);
    picklable (when ``trial_map`` and ``progress`` are). ``dataclasses.replace`` gives a variant,
    e.g. with a Ray ``trial_map`` or a ``progress`` callback for one line per trial."""

    make: ModelMaker
    search: SearchConfig
    seed: int = 0
    inner_folds: int = 3
    trial_map: TrialMap = map
    parallel: int = 1
    progress: Callable[[str], None] | None = None

    def __call__(self) -> TunedModel:
        return TunedModel(
            self.make,
            self.search.space,
            trials=self.search.trials,
            metric=self.search.metric,
            inner_folds=self.inner_folds,
            parallel=self.parallel,
            seed=self.seed,
            trial_map=self.trial_map,
            progress=self.progress,
        )


def tuned_factory(
    model_name: str,
    params: Mapping[str, Any],
    search: SearchConfig,
    reduction: str = "none",
    images: Path | ImageSet | None = None,
    case_ids: Sequence[str] = (),
    seed: int = 0,
    trial_map: TrialMap = map,
    parallel: int = 1,
    progress: Callable[[str], None] | None = None,
) -> TunedFactory:
    """:func:`~survival_core.workflows.training.model_factory` for a searched model: the fixed
    ``params`` are checked and image volumes prepared once, here (``progress`` gets those lines);
    each call of the result gives a :class:`TunedModel` over ``search.space``, its trials run
    through ``trial_map``, ``parallel`` at a time. Per-trial lines go to the factory's own
    ``progress`` field, unset here so that a factory shipped to Ray tasks carries no callback: set
    it with ``dataclasses.replace(factory, progress=...)`` where the model is fitted in this
    process."""
    from survival_core.models import MODELS

    make = model_factory(model_name, dict(params), reduction, images, case_ids, progress)
    allowed = MODELS[model_name].param_names()
    for name in search.space:
        if name not in allowed:
            raise ConfigError(
                f"model.search.space.{name}: not a parameter of model {model_name!r}; "
                f"allowed: {', '.join(allowed)}."
            )
        if name in params:
            raise ConfigError(
                f"model.search.space.{name}: also set in model.params; a parameter is fixed or "
                "searched."
            )
    return TunedFactory(make, search, seed, trial_map=trial_map, parallel=parallel)
