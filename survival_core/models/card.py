"""Model card: what a saved model needs beside its weights to score and explain a new case.

Written as ``card.json`` next to ``model.json``: the training cohort's size and events, its sorted
risk scores (for a new patient's percentile), the learned risk-group cut and what
:func:`~survival_core.evaluation.risk_groups.stratify` returns for the cohort under it (Kaplan-Meier
curves per group, log-rank test, hazard ratio; for the Risk page and the report), the apparent
and, when run, cross-validated c-index, and the feature sources (clinical variables, radiomics
settings) that a case must be able to produce.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from survival_core import __version__
from survival_core.errors import InputError
from survival_core.evaluation.bootstrap import Estimate
from survival_core.evaluation.concordance import harrell_c_index
from survival_core.evaluation.risk_groups import (
    KaplanMeierCurve,
    LogRankResult,
    RiskGroupCut,
    StratificationResult,
    constant_columns,
    cut_rounding,
    digits_apart_from_cut,
    kaplan_meier,
    logrank_test,
    stratify,
)
from survival_core.io.hashing import file_sha256
from survival_core.io.outcome_source import EndpointWords, endpoint_words, load_outcome_source
from survival_core.outcome import survival_arrays
from survival_core.versions import package_versions

CARD_FILE = "card.json"


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite number as None (JSON has neither; e.g. an unbounded
    hazard-ratio CI in a small cohort, or a td-AUC no patient could inform)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def _arrays(curve: dict[str, Any]) -> dict[str, Any]:
    """A stored Kaplan-Meier curve's lists as the float arrays of a KaplanMeierCurve."""
    return {k: v if k == "level" else np.asarray(v, dtype=float) for k, v in curve.items()}


def _stratification_dict(
    result: StratificationResult, hazard_ratio_note: str | None = None
) -> dict[str, Any]:
    """``result`` as JSON, less the per-patient groups (the card's cut of its training risks),
    with why the hazard ratio is missing when it is (``hazard_ratio_note``)."""
    return {
        "km": {
            str(g): {
                k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in asdict(c).items()
            }
            for g, c in result.km.items()
        },
        "logrank": None if result.logrank is None else asdict(result.logrank),
        "hazard_ratio": None if result.hazard_ratio is None else asdict(result.hazard_ratio),
        **({"hazard_ratio_note": hazard_ratio_note} if hazard_ratio_note else {}),
    }


def _current_shape(data: dict[str, Any]) -> dict[str, Any]:
    """A saved card's fields; a card written before the stratification was stored (curves by
    "low"/"high", ``logrank_p``, ``hazard_ratio`` as [value, CI low, CI high]) is converted."""
    if "km" not in data:
        return data
    km, p, hr = (data.pop(key) for key in ("km", "logrank_p", "hazard_ratio"))
    curves = {str(g): {**km[name], "level": 0.95} for g, name in enumerate(("low", "high"))}
    logrank = (
        None if p is None else {"chi2": None, "p_value": p, "observed": None, "expected": None}
    )
    ratio = (
        None if hr is None else {"value": hr[0], "ci_low": hr[1], "ci_high": hr[2], "method": ""}
    )
    return data | {"stratification": {"km": curves, "logrank": logrank, "hazard_ratio": ratio}}


@dataclass
class ModelCard:
    """Training-cohort facts of a fitted model (times in days)."""

    model: str
    n: int
    n_events: int
    training_risk: list[float]
    cut: dict[str, Any]
    #: :func:`_stratification_dict` of the training cohort's stratification.
    stratification: dict[str, Any]
    apparent_c_index: float
    clinical_columns: list[str]
    radiomics_settings: str | None = None
    #: The modality (CT, MR, PT) of the images the radiomics were computed on, when known.
    radiomics_modality: str | None = None
    #: A model on several images' radiomics (PET/CT, T1c + FLAIR) or a companion image's: each
    #: image's extraction settings by its name; its features are named 'IMAGE:name'
    #: (:func:`~survival_core.io.tables.image_names`, :data:`~survival_core.io.tables.IMAGE_SEPARATOR`).
    radiomics_by_modality: dict[str, str] = field(default_factory=dict)
    #: The MR weightings of the training images (:mod:`survival_core.io.mr_sequence`) with how
    #: many cases each, where known: a case of another is cautioned.
    mr_sequences: dict[str, int] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    #: Where the training outcome came from, as the cohort of its table recorded it at import
    #: (:class:`~survival_core.io.outcome_source.OutcomeSource`: time and event columns, time
    #: unit, endpoint 'death' or 'disease'); None when no table's folder records one.
    outcome: dict[str, Any] | None = None
    #: sha256 of each of :attr:`tables`, in their order (None for one that was not a file): the
    #: exact tables a fit read (a table edited or re-extracted since under the same name is told
    #: apart; two cohorts' clinical.csv each keep theirs). Empty in a card written before.
    tables_sha256: list[str | None] = field(default_factory=list)
    #: The clinical.csv of the cohort a training run fitted it on (cohort folder's name ->
    #: sha256; its resolved path in a card written before): its :attr:`tables` may be the run's
    #: copies (an external validation's stacked tables), and a deep network's leak check still
    #: finds the cohort. No path: cards travel with registered models. Empty for a model fitted
    #: outside a run, or written before.
    sources: dict[str, str] = field(default_factory=dict)
    #: An image model's training patients' keys (:func:`patient_keys`: digests of case id and
    #: outcome keyed by its data folder's secret key, naming no patient to whoever lacks it),
    #: sorted: as a deep-feature network, its leak check counts them among a run's patients in
    #: that data folder, where the sha256 of :attr:`tables` and :attr:`sources` missed a
    #: clinical.csv edited or rewritten by a withdrawal since. Empty for a table model (its card
    #: read by RadSurv 0.2.1), or in a card written before.
    trained_patients: list[str] = field(default_factory=list)
    #: The versions of the packages that change its numbers (:func:`~survival_core.versions.
    #: package_versions`) where it was fitted; empty in a card written before they were kept.
    packages: dict[str, str] = field(default_factory=dict)
    cv: dict[str, Any] | None = None
    #: The cancer sites of the training cases (their cohort manifest's ``site``); empty when
    #: unknown (a model fitted on tables alone).
    sites: list[str] = field(default_factory=list)
    #: What the table reading and the fit noted (a column left out, a coefficient without a
    #: finite estimate): said on stderr by `fit`, and kept with the model.
    notes: list[str] = field(default_factory=list)
    #: How the images its features came from were read (:func:`~survival_core.features.settings.
    #: reading_stamp`); None when its radiomics tables did not say (written by an earlier
    #: version) or they were read in several ways. A case is read the current way: a model of
    #: another reading is cautioned (:func:`~survival_core.workflows.scoring.score_case`).
    image_reading: str | None = None
    #: sha256 of the model file it was saved beside (:meth:`save`): a card copied beside another
    #: fit of the same kind gave one model's risk with the other's percentiles, groups and
    #: curves. None in a card written before it was kept.
    model_sha256: str | None = None
    created: str = ""
    radsurv_version: str = __version__

    @property
    def validated(self) -> str | None:
        """How the c-index of :attr:`cv` was measured: 'external' (the model tested on another
        cohort's patients: its card said 'cross-validated'), 'cross-validated', or None."""
        if not self.cv or self.cv.get("c_index") is None:
            return None
        return "external" if self.cv.get("protocol") == "external" else "cross-validated"

    @cached_property
    def endpoint(self) -> EndpointWords:
        """How its survival probabilities, events and curves are named: 'overall survival' for
        an outcome recorded as a death's; 'survival' and 'events' without a record (built once
        per card: pages and the PDF read it several times)."""
        return endpoint_words(self.outcome)

    def percentile(self, risk: float) -> float:
        """Share (%) of training patients with a risk at or below ``risk``; one within rounding
        (:data:`~survival_core.evaluation.risk_groups.CUT_RTOL`) is at it, as at the risk-group
        cut: a training patient scored alone differs from its batch risk by ~1e-16, and was
        ranked below itself."""
        ranked = np.asarray(self.training_risk)
        rounding = cut_rounding(risk)
        return float(100.0 * np.searchsorted(ranked, risk + rounding, side="right") / ranked.size)

    def risk_digits(self, risk: float) -> int:
        """Decimals that print ``risk`` apart from the risk-group cut's threshold
        (:func:`~survival_core.evaluation.risk_groups.digits_apart_from_cut`). The Risk page and
        the PDF print both in them."""
        threshold = self.cut.get("threshold")
        return digits_apart_from_cut(risk, None if threshold is None else float(threshold))

    def risk_group(self, risk: float) -> str:
        """'high' or 'low' by the cut learned on the training cohort."""
        return "high" if RiskGroupCut.from_dict(self.cut).assign(np.array([risk]))[0] else "low"

    def stratification_result(self) -> StratificationResult:
        """The training cohort's risk groups (``groups`` in the order of ``training_risk``);
        ``logrank`` and ``hazard_ratio`` are None when too few events allowed them."""
        data = self.stratification
        km = {int(g): KaplanMeierCurve(**_arrays(curve)) for g, curve in data["km"].items()}
        groups = RiskGroupCut.from_dict(self.cut).assign(np.asarray(self.training_risk))
        logrank, hr = data["logrank"], data["hazard_ratio"]
        return StratificationResult(
            groups,
            km,
            None if logrank is None else LogRankResult(**logrank),
            None
            if hr is None
            else Estimate(**{k: np.nan if v is None else v for k, v in hr.items()}),
        )

    def save(self, folder: Path | str) -> Path:
        """Write ``card.json`` into ``folder``, tied to the model file saved there first (its
        :attr:`model_sha256`; :func:`check_tie`)."""
        model_file = model_path(folder)
        if model_file.is_file():
            self.model_sha256 = file_sha256(model_file)
        path = Path(folder) / CARD_FILE
        record = asdict(self)
        # RadSurv before 0.2.2 (0.2.3: trained_patients) refuses these fields, even empty: left out
        for name, empty in (("outcome", None), ("sources", {}), ("trained_patients", [])):
            if record[name] == empty:
                del record[name]
        path.write_text(json.dumps(_finite(record), indent=1, allow_nan=False))
        return path

    @classmethod
    def load(cls, folder: Path | str) -> ModelCard:
        path = Path(folder) / CARD_FILE
        try:
            data = _current_shape(json.loads(path.read_text()))
            _check_known(path, data, {f.name for f in fields(cls)})
            return cls(**data)
        except FileNotFoundError as err:
            raise InputError(
                f"{folder} has no {CARD_FILE}: it is not a complete model (`fit` and training "
                "runs write one). Train it again, or choose another model."
            ) from err
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise InputError(f"{path} is not a readable model card: {err}") from err


def model_path(folder: Path | str) -> Path:
    """The model file of a model folder (``model.json``; :mod:`survival_core.models.base`)."""
    from survival_core.models.base import MODEL_FILE

    return Path(folder) / MODEL_FILE


def check_tie(folder: Path | str, card: ModelCard) -> None:
    """InputError when ``card`` (``folder``'s) was saved beside another model file than the one
    there now: its percentiles, risk groups and curves are another fit's. A card saved before
    the tie was kept (no :attr:`ModelCard.model_sha256`) is taken as it is."""
    if card.model_sha256 is None:
        return
    model_file = model_path(folder)
    found = file_sha256(model_file)
    if found != card.model_sha256:
        raise InputError(
            f"{Path(folder) / CARD_FILE} was written for another fit than {model_file} (its "
            f"model file's sha256 {card.model_sha256[:12]}, this one's {found[:12]}): the "
            "percentiles, risk groups and survival curves would be another model's. Put back "
            "the card saved with this model, or fit the model again into its own folder."
        )


def _made_by_newer(version: Any) -> bool:
    """Whether a card's ``radsurv_version`` is later than this RadSurv's (an unreadable one
    is not)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(str(version)) > Version(__version__)
    except InvalidVersion:
        return False


def _check_known(path: Path, data: Any, known: set[str]) -> None:
    """InputError naming the fields of card ``path`` this RadSurv does not know, with the
    RadSurv version that wrote it: a newer one's card was refused as 'unexpected keyword
    argument', which said neither."""
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a readable model card: not a JSON object.")
    unknown = sorted(set(data) - known)
    if not unknown:
        return
    written = data.get("radsurv_version", "unknown")
    todo = (
        f"update RadSurv to {written} or later to use this model"
        if _made_by_newer(written)
        else "fit the model again with this RadSurv"
    )
    raise InputError(
        f"{path} was written by RadSurv {written} (this is {__version__}) and holds what this "
        f"version does not know ({', '.join(unknown)}): {todo}."
    )


def newer_version_note(card: ModelCard) -> str | None:
    """A note when ``card`` was written by a later RadSurv than this one: it reads, but what the
    later version changed (a score's scale, a cut's rule) is unknown here."""
    if not _made_by_newer(card.radsurv_version):
        return None
    return (
        f"The model was made by RadSurv {card.radsurv_version}, newer than this one "
        f"({__version__}): what that version changed is unknown here, so its scores may differ "
        f"from what RadSurv {card.radsurv_version} gives. Update RadSurv to use it as made."
    )


def packages_changed(card: ModelCard) -> list[str]:
    """'name then -> now' for each package the card records whose installed version is another
    (missing now: 'not installed'): its numbers may differ slightly from the fit's."""
    now = package_versions()
    return [
        f"{name} {then} -> {now.get(name, 'not installed')}"
        for name, then in sorted(card.packages.items())
        if now.get(name) != then
    ]


def last_follow_up(card: ModelCard) -> float:
    """The training cohort's last follow-up time (days): where its risk groups' KM curves end."""
    curves = card.stratification["km"].values()
    return max((max(curve["time"], default=0.0) for curve in curves), default=0.0)


def _training_stratification(
    y: np.ndarray, training_risk: np.ndarray, cut: RiskGroupCut
) -> tuple[StratificationResult, str | None]:
    """The training cohort's risk groups under ``cut`` (:func:`stratify`), and why the hazard
    ratio is missing when it is: with no event in one group it is infinite, but the log-rank test
    stands (all 6 events of a 40-patient cohort in the high group: p = 0.004, which the card
    dropped with the ratio)."""
    try:
        return stratify(y, training_risk, cut), None
    except InputError as err:  # no event in a group: no finite hazard ratio
        event, time = survival_arrays(y)
        high = cut.assign(training_risk)
        km = {g: kaplan_meier((event[high == g], time[high == g])) for g in (0, 1)}
        try:
            logrank = logrank_test((event, time), high)
        except InputError:  # one group is empty: no test either
            logrank = None
        return StratificationResult(high, km, logrank, None), str(err)


def patient_keys(case_ids: Iterable[str], y: np.ndarray) -> list[str]:
    """A key of each patient (:attr:`ModelCard.trained_patients`), sorted: the data folder's
    keyed digest (:meth:`~survival_core.io.deid.Deidentifier.record_token`, its
    ``keys/deid.key``) of its case id with its time and event, as a cohort's table reads them.
    Cohorts share case ids (every generated cohort has a SYN-0001; centres restart at 001): the
    id alone would take another cohort's patient for this one. Unkeyed, a card and a case id gave
    the patient's time and event by trying every day; the leak check runs in the data folder that
    wrote the card, whose key gives the same keys."""
    from survival_core.io.deid import Deidentifier

    token = Deidentifier().record_token
    event, time = survival_arrays(y)
    texts = (f"{c}\0{float(t)!r}\0{int(e)}" for c, t, e in zip(case_ids, time, event, strict=True))
    return sorted(map(token, texts))


def recorded_outcome(tables: Iterable[str | Path]) -> dict[str, Any] | None:
    """The outcome record (:func:`~survival_core.io.outcome_source.load_outcome_source`) of the
    cohort folder holding the first of ``tables`` that has one (its ``clinical.csv``); None
    without: an RFS and an OS model of one cohort were told apart by nothing. Every table's
    record is read, so that an unreadable one is refused wherever it is given (``--table COPY
    --table clinical.csv`` was refused, the other order fitted)."""
    sources = [load_outcome_source(t.parent) for t in map(Path, tables) if t.is_file()]
    return next((source.record() for source in sources if source is not None), None)


def build_card(
    model_name: str,
    y: np.ndarray,
    training_risk: np.ndarray,
    *,
    clinical_columns: list[str],
    radiomics_settings: str | None = None,
    radiomics_modality: str | None = None,
    radiomics_by_modality: dict[str, str] | None = None,
    mr_sequences: dict[str, int] | None = None,
    tables: list[str | Path] | None = None,
    outcome: dict[str, Any] | None = None,
    cut_method: str = "median",
    horizon: float | None = None,
    cv: dict[str, Any] | None = None,
    sites: Iterable[str] | None = None,
    why_one_risk: Callable[[], str] | None = None,
    notes: Iterable[str] = (),
    image_reading: str | None = None,
    sources: Iterable[Path] = (),
    case_ids: Sequence[str] = (),
) -> ModelCard:
    """A card from the training outcomes and the fitted model's risks on its training rows
    (``sites``: the training cases' cancer sites, when their cohort says; ``notes``: what the
    table reading and the fit noted; ``image_reading``: how the images its features came from
    were read; ``tables``: the files it was fitted on, kept by name with their sha256;
    ``outcome``: their cohort's outcome record (:func:`recorded_outcome`);
    ``sources``: the clinical.csv of the cohort a training run fitted it on, kept by its
    folder's name with its sha256; ``case_ids``: the training patients', in the order of ``y``,
    kept as :func:`patient_keys`).
    A model that gives every training patient the same risk is refused: it learned nothing,
    and its percentiles and risk groups would be empty words (a forest on 12 patients); the
    refusal ends with what ``why_one_risk`` says (:meth:`SurvivalModel.why_one_risk`: why, what
    to do), asked only then."""
    training_risk = np.asarray(training_risk, dtype=float)
    if training_risk.size and constant_columns(training_risk[:, None])[0]:
        raise InputError(
            f"The fitted {model_name} gives all {training_risk.size} training patients the same "
            f"risk ({training_risk[0]:.4g}): it learned nothing from them. "
            + (why_one_risk() if why_one_risk is not None else "")
        )
    cut = RiskGroupCut(cut_method, horizon).fit(y, training_risk)
    event, time = survival_arrays(y)
    result, why = _training_stratification(y, training_risk, cut)
    return ModelCard(
        model=model_name,
        n=int(event.size),
        n_events=int(event.sum()),
        training_risk=np.sort(training_risk).tolist(),
        cut=cut.to_dict(),
        stratification=_stratification_dict(result, why),
        apparent_c_index=float(harrell_c_index(y, training_risk)),
        clinical_columns=clinical_columns,
        radiomics_settings=radiomics_settings,
        radiomics_modality=radiomics_modality,
        radiomics_by_modality=radiomics_by_modality or {},
        mr_sequences=mr_sequences or {},
        tables=[Path(t).name for t in tables or []],
        outcome=outcome,
        tables_sha256=[file_sha256(Path(t)) if Path(t).is_file() else None for t in tables or []],
        sources={
            p.resolve().parent.name: file_sha256(p) for p in map(Path, sources) if p.is_file()
        },
        trained_patients=patient_keys(case_ids, y) if case_ids else [],
        packages=package_versions(),
        cv=cv,
        sites=sorted(sites or []),
        notes=list(notes),
        image_reading=image_reading,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
