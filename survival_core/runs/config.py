"""Run configs: one YAML file describes a training run, read into frozen pydantic dataclasses.

A config names the cohort, the feature sources, the model with fixed parameters or a search space,
the validation protocol, risk groups, seed, device and engine (see ``assets/configs/`` for one per
study). :func:`load_config` reads a YAML file, :func:`parse_config` checks a plain mapping (e.g.
from a form). Every problem is a :class:`~survival_core.errors.ConfigError` whose message starts
with the dotted path of the bad key (``model.params.lr``, ``features.radiomics[1]``) and says what
is allowed. Unknown keys are errors, so a typo never falls back to a default silently; missing
optional keys take their defaults, so :meth:`RunConfig.to_dict` is the complete description of a
run and :meth:`RunConfig.hash` a stable fingerprint of what determines its results.

Paths (cohort, external cohort, deep-feature network, the model's ``PATH_PARAMS``) are resolved
against the config file's folder (against ``base_dir``, else the working directory, for
:func:`parse_config`). ``cohort: demo`` stays the literal ``"demo"``: the bundled demo cohort,
located by the runner; write ``./demo`` for a folder of that name. Existence is not checked here:
the runner reads the folders, and a config may be written on one machine and run on another.

The sections declare their constraints as pydantic fields; values are strict (YAML ``true`` is
not a number, ``2.0`` not a whole number). Model parameters are checked against the types the
model's constructor declares, then by the constructor itself.
"""

from __future__ import annotations

import functools
import math
import re
import types
import typing
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError, core_schema

from survival_core.errors import ConfigError
from survival_core.features.presets import PRESETS
from survival_core.io.atomic import json_ready
from survival_core.io.modality_view import COMPANION_NAMES
from survival_core.models.reduction import REDUCTIONS
from survival_core.runs.store import MAX_NAME_LENGTH

#: Cohort values naming a bundled cohort rather than a folder (the runner resolves them).
COHORT_KEYWORDS = ("demo", "demo-external")
#: ``features.deep.network`` naming the demo's image model (trained on the external cohort).
NETWORK_KEYWORDS = ("demo",)
#: Validation protocols and the keys each reads besides ``name``.
PROTOCOL_KEYS: dict[str, tuple[str, ...]] = {
    "nested_cv": ("repeats", "folds"),
    "leave_one_out": (),
    "fixed_split": ("test_fraction",),
    "external": ("external_cohort",),
}
CUTS = ("median", "youden")
DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("local", "ray")
SEARCH_KINDS = ("choice", "uniform", "loguniform", "int")
SEARCH_METRICS = ("c_index",)
#: Model parameters set from the run's own top-level keys, never in ``model.params``.
RUN_LEVEL_PARAMS = ("seed", "device")
#: Model parameters naming a file (resnet_fusion's weights); relative ones resolve like other paths.
PATH_PARAMS = ("pretrained",)
DEFAULT_HORIZONS = (365.0, 730.0, 1095.0)
DEFAULT_TRIALS = 20
#: The largest run seed: numpy takes seeds below 2**32, and the folds are seeded with the run's
#: seed plus offsets (repeat, fold, patient), which must stay below that too.
MAX_SEED = 2**31 - 1

_CUDA = re.compile(r"cuda:\d+")
_TOP_KEYS = (
    *("name", "description", "cohort", "features", "model", "reduction", "protocol"),
    *("risk_groups", "horizons", "bootstrap", "seed", "device", "engine"),
)
#: Sections: unknown keys are refused, instances are read-only (and hashable).
_SECTION = ConfigDict(extra="forbid")


class FrozenDict(Mapping[str, Any]):
    """A read-only, hashable, picklable mapping: model parameters inside a frozen config."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        """Validated as a mapping with text keys (null: empty), dumped as a plain dict."""
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.nullable_schema(handler.generate_schema(dict[str, Any])),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: {k: _dump(v) for k, v in value.items()}
            ),
        )


# -- error messages and value types ---------------------------------------------------------------
def _problem(message: str, *at: str | int) -> PydanticCustomError:
    """A config error; ``at`` extends the path pydantic reports (keys checked together)."""
    return PydanticCustomError("config", "{problem}", {"problem": message, "at": at})


def _show(value: Any) -> str:
    import json

    plain = value if isinstance(value, float) else json_ready(value)  # NaN shown as NaN
    text = repr(value) if isinstance(value, str) else json.dumps(plain)
    return text if len(text) <= 60 else text[:57] + "..."


def _wrong(expected: str, value: Any, *at: str | int) -> PydanticCustomError:
    """'expected X, got Y', with a hint when a number was written as text (in quotes)."""
    note = ""
    if isinstance(value, str) and _finite_number(value):
        note = " (a number in quotes is text: write it without the quotes)"
    return _problem(f"expected {expected}, got {_show(value)}{note}", *at)


def _finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _expect(what: str) -> WrapValidator:
    """Replace pydantic's wording for a bad value by 'expected ``what``, got ...'."""

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise _wrong(what, value) from None

    return WrapValidator(check)


def _one_of(choices: Callable[[], Sequence[str] | Mapping[str, Any]]) -> PlainValidator:
    """Text among ``choices()`` (a registry read when checked, so imports stay lazy)."""

    def check(value: Any) -> str:
        allowed = choices()
        if not isinstance(value, str) or value not in allowed:
            raise _problem(f"expected one of {', '.join(allowed)}, got {_show(value)}")
        return value

    return PlainValidator(check, json_schema_input_type=str)


def _models() -> Mapping[str, Any]:
    # The registry imports torch; importing it here keeps `import config` light for forms.
    from survival_core.models import MODELS

    return MODELS


def _base(info: ValidationInfo) -> Path:
    return (info.context or {}).get("base") or Path.cwd()


def _place(keywords: Sequence[str]) -> PlainValidator:
    """Non-empty text: a keyword kept as is, else a path resolved against the base folder."""

    def check(value: Any, info: ValidationInfo) -> str | Path:
        if isinstance(value, Path):  # already resolved (a config rebuilt by dataclasses.replace)
            return value
        if not isinstance(value, str) or not value.strip():
            raise _wrong("non-empty text", value)
        if value in keywords:
            return value
        return (_base(info) / Path(value).expanduser()).resolve()

    return PlainValidator(check, json_schema_input_type=str)


Text = Annotated[str, Field(strict=True, pattern=r"\S"), _expect("non-empty text")]
Place = Annotated[str | Path, _place(COHORT_KEYWORDS)]


def _at_least(minimum: int) -> Any:
    return Annotated[int, Field(strict=True, ge=minimum), _expect(f"a whole number >= {minimum}")]


def _between(low: int, high: int) -> Any:
    return Annotated[
        int, Field(strict=True, ge=low, le=high), _expect(f"a whole number from {low} to {high}")
    ]


def _above(low: float) -> Any:
    return Annotated[
        float, Field(strict=True, gt=low, allow_inf_nan=False), _expect(f"a number > {low:g}")
    ]


def _among(choices: Sequence[str]) -> Any:
    return Annotated[Literal[tuple(choices)], _expect(f"one of {', '.join(choices)}")]


def _listed(what: str, empty: bool = False) -> BeforeValidator:
    """A YAML list (or a built config's tuple) as a tuple, else 'expected ``what``'."""

    def check(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or not (value or empty):
            raise _problem(f"expected {what}, got {_show(value)}")
        return tuple(value)

    return BeforeValidator(check)


def _section(cls: type) -> Any:
    """A nested section: null takes its defaults."""
    return Annotated[cls, BeforeValidator(lambda value: {} if value is None else value)]


# -- the config ----------------------------------------------------------------------------------
@dataclass(frozen=True, config=_SECTION)
class DeepFeatures:
    """Deep features (Han 2020): activations of ``layer`` (None: the embedding before the risk
    head) of ``network``, a saved RadSurv image model folder or a local ResNet weights file."""

    network: Annotated[str | Path, _place(NETWORK_KEYWORDS)]
    layer: Text | None = None


@dataclass(frozen=True, config=_SECTION)
class DSFRFeatures:
    """Segmentation-feature radiomics (Wang 2022): U-Net training ``epochs`` on slices of
    ``slice_size`` x ``slice_size`` voxels (a size the U-Net accepts)."""

    epochs: _at_least(1) = 30
    slice_size: _at_least(1) = 128

    @field_validator("slice_size")
    @classmethod
    def _unet_accepts(cls, value: int) -> int:
        from survival_core.features.segmentation import UNetConfig

        try:
            UNetConfig(slice_size=value)
        except ConfigError as err:
            raise _problem(str(err)) from err
        return value


@dataclass(frozen=True, config=_SECTION)
class FeatureConfig:
    """The model's table columns: clinical.csv variables, radiomics presets, deep and DSFR
    features, optionally narrowed by ``select`` (a regex searched in each column name)."""

    clinical: Annotated[bool, Field(strict=True), _expect("true or false")] = True
    radiomics: Annotated[
        tuple[Annotated[str, _one_of(lambda: PRESETS)], ...],
        _listed("a list of presets such as [wei2021]", empty=True),
    ] = ()
    #: The radiomics presets also on each case's images of these names beside its own (a CT
    #: cohort's PETs: ``[PT]``; an MR cohort's other sequences: ``[FLAIR]``), their features
    #: named after the image (a PET/CT or multi-sequence model).
    companions: Annotated[
        tuple[Annotated[str, _one_of(lambda: COMPANION_NAMES)], ...],
        _listed("a list of images such as [PT] or [FLAIR]", empty=True),
    ] = ()
    deep: DeepFeatures | None = None
    dsfr: DSFRFeatures | None = None
    select: Text | None = None
    #: Columns the study needs by name (a paper's clinical factors): a cohort's clinical table
    #: lacking any is refused before the run starts, where ``select`` alone kept the others.
    require: Annotated[
        tuple[Text, ...], _listed("a list of column names such as [mvi, afp]", empty=True)
    ] = ()

    @model_serializer(mode="wrap")
    def _said_keys(self, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """No ``companions`` or ``require`` key unless given: configs written before them keep
        their hashes."""
        data = handler(self)
        return {k: v for k, v in data.items() if k not in ("companions", "require") or v}

    @model_validator(mode="after")
    def _required_are_selected(self) -> FeatureConfig:
        unselected = [
            name for name in self.require if self.select and not re.search(self.select, name)
        ]
        if unselected:
            raise _problem(
                f"names {', '.join(unselected)}, which select ({self.select!r}) leaves out",
                "require",
            )
        return self

    @field_validator("radiomics", "companions")
    @classmethod
    def _once_each(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        what = "preset" if info.field_name == "radiomics" else "image"
        for i, value in enumerate(values):
            if value in values[:i]:
                raise _problem(f"{what} {value!r} is listed twice", i)
        return values

    @field_validator("select")
    @classmethod
    def _regex(cls, select: str | None) -> str | None:
        if select is not None:
            try:
                re.compile(select)
            except re.error as err:
                raise _problem(f"not a valid regular expression: {err}") from err
        return select


@dataclass(frozen=True, config=_SECTION)
class ParamRange:
    """One searched parameter: ``choice`` of ``values``, or ``uniform``/``loguniform``/``int``
    between ``values = (low, high)`` (both included)."""

    kind: str
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: json_ready(self.values)}


@dataclass(frozen=True, config=_SECTION)
class SearchConfig:
    """Hyper-parameter search: ``trials`` draws from ``space``, scored by ``metric`` on the inner
    validation rows."""

    space: FrozenDict
    trials: _at_least(1) = DEFAULT_TRIALS
    metric: _among(SEARCH_METRICS) = "c_index"

    @field_validator("space")
    @classmethod
    def _not_empty(cls, space: FrozenDict) -> FrozenDict:
        if not space:
            raise _problem("expected at least one parameter: range entry")
        return space


@dataclass(frozen=True, config=_SECTION)
class ModelConfig:
    """A model of :data:`survival_core.models.MODELS` with fixed ``params`` and an optional
    ``search`` over others, both checked against the constructor's declared parameter types."""

    name: Annotated[str, _one_of(_models)]
    params: FrozenDict = FrozenDict()
    search: SearchConfig | None = None

    @field_validator("params")
    @classmethod
    def _params(cls, given: FrozenDict, info: ValidationInfo) -> FrozenDict:
        if "name" not in info.data:  # an unknown model, already refused
            return given
        name = info.data["name"]
        hints, allowed = _signature(name)
        params = {}
        for key, value in given.items():
            _check_param_name(key, name, allowed, key)
            params[key] = _param(hints.get(key, Any), value, key)
            if key in PATH_PARAMS and isinstance(params[key], str):
                params[key] = str((_base(info) / Path(params[key]).expanduser()).resolve())
        _check_by_model(name, params)
        return _freeze(params)

    @field_validator("search")
    @classmethod
    def _space(cls, search: SearchConfig | None, info: ValidationInfo) -> SearchConfig | None:
        if search is None or "name" not in info.data:
            return search
        hints, allowed = _signature(info.data["name"])
        space = {}
        for param, spec in search.space.items():
            at = ("space", param)
            _check_param_name(param, info.data["name"], allowed, *at)
            if param in info.data.get("params", ()):
                raise _problem("also set in model.params; a parameter is fixed or searched", *at)
            space[param] = _param_range(spec, hints.get(param, Any), *at)
            _check_range_ends(info.data["name"], info.data.get("params", {}), param, space[param])
        return SearchConfig(FrozenDict(space), search.trials, search.metric)


@dataclass(frozen=True, config=_SECTION)
class ProtocolConfig:
    """Validation protocol; only the keys of :data:`PROTOCOL_KEYS` for ``name`` are used."""

    name: _among(tuple(PROTOCOL_KEYS)) = "nested_cv"
    repeats: _at_least(1) = 10
    folds: _at_least(2) = 5
    test_fraction: Annotated[
        float,
        Field(strict=True, gt=0, lt=1, allow_inf_nan=False),
        _expect("a number between 0 and 1 (exclusive)"),
    ] = 0.2
    external_cohort: Place | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys_used(cls, data: Any) -> Any:
        for key, problem in _unused_protocol_keys(data).items():
            raise _problem(problem, key)
        return data

    @model_validator(mode="after")
    def _external_given(self) -> ProtocolConfig:
        if self.name == "external" and self.external_cohort is None:
            raise _problem(
                "required by protocol 'external': the cohort folder (with manifest.csv) whose "
                "cases form the test set",
                "external_cohort",
            )
        return self

    @model_serializer(mode="wrap")
    def _used_keys(self, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        data = handler(self)
        return {"name": self.name, **{k: data[k] for k in PROTOCOL_KEYS[self.name]}}

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass(frozen=True, config=_SECTION)
class RiskGroupConfig:
    """High/low risk split: at the training ``median`` risk or the ``youden`` cut of the
    ``horizon`` (days)."""

    cut: _among(CUTS) = "median"
    horizon: _above(0) | None = 730.0

    @model_validator(mode="after")
    def _youden_horizon(self) -> RiskGroupConfig:
        if self.horizon is None and self.cut == "youden":
            raise _problem("the youden cut needs a horizon in days (> 0)", "horizon")
        return self


@dataclass(frozen=True, config=_SECTION)
class EngineConfig:
    """Where the work runs: ``local`` processes or ``ray`` (a cluster at ``address``, else a
    local Ray); ``workers``: parallel tasks (None: one per CPU)."""

    kind: _among(ENGINES) = "local"
    address: Text | None = None
    workers: _at_least(1) | None = None

    @model_validator(mode="after")
    def _address_for_ray(self) -> EngineConfig:
        if self.address is not None and self.kind != "ray":
            raise _problem("only used with engine.kind: ray", "address")
        return self


def _unused_protocol_keys(protocol: Any) -> dict[str, str]:
    """Key -> problem of each key of a protocol section that another protocol reads, not its
    own (``test_fraction`` under ``nested_cv``)."""
    name = protocol.get("name", "nested_cv") if isinstance(protocol, Mapping) else None
    if name not in PROTOCOL_KEYS:
        return {}
    unused = {}
    for key in protocol:
        users = [p for p, keys in PROTOCOL_KEYS.items() if key in keys]
        if users and key not in PROTOCOL_KEYS[name]:
            unused[key] = (
                f"not used by protocol {name!r} (only by {', '.join(users)}); remove it or "
                "change protocol.name"
            )
    return unused


def _run_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _wrong("non-empty text", value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise _problem(
            f"use letters, digits, '_', '.' and '-', starting with a letter or digit; got {value!r}"
        )
    if len(value) > MAX_NAME_LENGTH:  # it names folders (artifacts, registry copies)
        raise _problem(
            f"at most {MAX_NAME_LENGTH} characters (the run's folders are named after it); got "
            f"{len(value)}: shorten it"
        )
    return value


def _device(value: Any) -> str:
    if isinstance(value, str) and (value in DEVICES or _CUDA.fullmatch(value)):
        return value
    raise _problem(f"expected one of {', '.join(DEVICES)} or cuda:N, got {_show(value)}")


@dataclass(frozen=True, config=_SECTION)
class RunConfig:
    """One training run (see the module doc and ``assets/configs/README.md``)."""

    name: Annotated[str, PlainValidator(_run_name, json_schema_input_type=str)]
    cohort: Place
    model: _section(ModelConfig)
    description: Annotated[str, Field(strict=True), _expect("text")] = ""
    features: _section(FeatureConfig) = FeatureConfig()
    reduction: Annotated[str, _one_of(lambda: REDUCTIONS)] = "none"
    protocol: _section(ProtocolConfig) = ProtocolConfig()
    risk_groups: _section(RiskGroupConfig) = RiskGroupConfig()
    horizons: Annotated[tuple[_above(0), ...], _listed("a non-empty list of days")] = (
        DEFAULT_HORIZONS
    )
    bootstrap: _at_least(1) = 1000
    seed: _between(0, MAX_SEED) = 0
    device: Annotated[str, PlainValidator(_device, json_schema_input_type=str)] = "auto"
    engine: _section(EngineConfig) = EngineConfig()

    @field_validator("horizons")
    @classmethod
    def _increasing(cls, days: tuple[float, ...]) -> tuple[float, ...]:
        for i in range(1, len(days)):
            if days[i] <= days[i - 1]:
                raise _problem(f"expected increasing days; {days[i]:g} follows {days[i - 1]:g}", i)
        return days

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        """A model reading table columns needs a feature source; the external cohort differs."""
        features, model = self.features, self.model.name
        if features.companions and not features.radiomics:
            raise _problem(
                "companions name the images beside each case's own to extract the radiomics "
                "presets from; give the presets (radiomics: [...])",
                "features.companions",
            )
        has_inputs = features.clinical or features.radiomics or features.deep or features.dsfr
        if not has_inputs and getattr(_models()[model], "uses_tabular", True):
            raise _problem(
                f"no feature source: model {model!r} reads table columns; set clinical: true or "
                "give radiomics, deep or dsfr",
                "features",
            )
        external = self.protocol.external_cohort
        if external is not None and external == self.cohort:
            raise _problem(
                "is the training cohort itself; give another one", "protocol", "external_cohort"
            )
        tested = external if self.protocol.name == "external" else self.cohort
        if features.deep and str(features.deep.network) == "demo" and tested == "demo-external":
            network = "the demo network (models/demo-cnn3d)"
            said = seen_outcomes(network, "the demo's external cohort", self.protocol.name)
            raise _problem(said, "features", "deep", "network")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Every setting, defaults included, as plain JSON/YAML values (paths as text), keys in
        the order a config file lists them."""
        data = _dump(self)
        return {key: data[key] for key in _TOP_KEYS}

    def hash(self) -> str:
        """SHA-256 (hex) of what determines the results: every setting but ``description`` and
        ``engine`` (:func:`survival_core.runs.store.config_hash`, the hash runs are tagged with)."""
        from survival_core.runs.store import config_hash

        return config_hash(self.to_dict())

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments for ``make_model``: ``model.params`` as plain values plus the run's
        ``seed`` and ``device`` where the model takes them."""
        run_level = {key: getattr(self, key) for key in RUN_LEVEL_PARAMS}
        return with_run_params(self.model.name, json_ready(self.model.params), **run_level)


def seen_outcomes(network: str, cohort: str, protocol: str) -> str:
    """The refusal of deep features from ``network``, trained on the outcomes of ``cohort``,
    the patients that ``protocol`` tests."""
    return (
        f"{network} was trained on the outcomes of {cohort}, the patients protocol {protocol!r} "
        "tests: its features have seen their outcomes, so the c-index would be optimistic. Give "
        "a network trained on other patients (`fit --model cnn3d` on another cohort), or test "
        "on patients it has not seen (protocol external with another external_cohort)."
    )


def with_run_params(model: str, params: Mapping[str, Any], **run_level: Any) -> dict[str, Any]:
    """``params`` (checked against the model's declared types) plus each run-level value
    (``seed=``, ``device=``) that model ``model`` takes and ``params`` does not set: ``train``'s
    config and the ``cv`` and ``fit`` options (where an explicit ``--param seed=`` wins) seed a
    model alike."""
    taken = _models()[model].param_names()
    hints, _ = _signature(model)
    typed = {}
    for key, value in params.items():  # as the constructor types them: 'nan' is no number
        try:
            typed[key] = _param(hints[key], value, key) if key in hints else value
        except PydanticCustomError as err:
            raise ConfigError(
                f"Parameter {key} of model {model!r}: {err.context['problem']}."
            ) from None
    seed = typed.get("seed", 0) if "seed" in hints else 0  # (a model without one: refused later)
    if not 0 <= seed <= MAX_SEED:  # a `--param seed=` (numpy, torch: tracebacks)
        raise ConfigError(
            f"Parameter seed of model {model!r}: expected a whole number from 0 to {MAX_SEED}, "
            f"got {typed['seed']}."
        )
    return {**typed, **{k: v for k, v in run_level.items() if k in taken and k not in typed}}


def _dump(value: Any) -> Any:
    """A config section as plain JSON data (pydantic's serialisation: paths as text)."""
    if isinstance(value, ParamRange):
        return value.to_dict()
    if hasattr(type(value), "__pydantic_serializer__"):
        return type(value).__pydantic_serializer__.to_python(value, mode="json")
    return json_ready(value)


# -- model parameters against the constructor's declared types ---------------------------------
_NOUNS = {int: "whole numbers", float: "numbers", str: "texts"}


@functools.cache
def _signature(model: str) -> tuple[dict[str, Any], list[str]]:
    """Model ``model``'s constructor type hints and the parameters a config may set."""
    klass = _models()[model]
    allowed = [p for p in klass.param_names() if p not in RUN_LEVEL_PARAMS]
    return typing.get_type_hints(klass.__init__), allowed


@functools.cache
def _adapter(hint: Any) -> TypeAdapter:
    return TypeAdapter(hint, config=ConfigDict(strict=True, allow_inf_nan=False))


def _check_param_name(key: str, model: str, allowed: list[str], *at: str) -> None:
    if key in RUN_LEVEL_PARAMS:
        raise _problem(f"set by the run: use the top-level '{key}' key", *at)
    if key not in allowed:
        raise _problem(f"not a parameter of model {model!r}; allowed: {', '.join(allowed)}", *at)


def _param(hint: Any, value: Any, *at: str | int) -> Any:
    """``value`` as the parameter type ``hint`` takes it (a whole number becomes a float for a
    float parameter; YAML lists are read as tuples)."""
    try:
        return _adapter(hint).validate_python(_tuples(value))
    except ValidationError:
        raise _wrong(_describe(hint), value, *at) from None


def _check_by_model(name: str, params: Mapping[str, Any], said: str = "", *at: str) -> None:
    """The model's own checks of ``params`` (ranges, combinations; no network is trained), its
    refusal a problem at ``at`` after ``said``."""
    from survival_core.models import make_model

    try:
        make_model(name, **params)
    except ConfigError as err:
        raise _problem(f"{said}{err}", *at) from err


def _check_range_ends(
    name: str, params: Mapping[str, Any], param: str, searched: ParamRange
) -> None:
    """Refuse a searched range whose ends (or choices) the model itself refuses, as it refuses
    a fixed value: `l1_ratio: {uniform: [0.5, 3.0]}` was accepted, and most of its trials
    failed at run time on 'l1_ratio must be between 0 and 1' while `l1_ratio: 2.5` was
    refused before any work."""
    for value in searched.values:
        _check_by_model(
            name, {**params, param: value}, f"{value!r} is refused by {name}: ", "space", param,
            searched.kind,
        )  # fmt: skip


def _param_range(spec: Any, hint: Any, *at: str) -> ParamRange:
    if not isinstance(spec, Mapping):
        raise _problem(f"expected a mapping of key: value lines, got {_show(spec)}", *at)
    for kind in spec:
        if kind not in SEARCH_KINDS:
            raise _problem(f"unknown key; allowed: {', '.join(SEARCH_KINDS)}", *at, str(kind))
    if len(spec) != 1:
        raise _problem(f"give exactly one of {', '.join(SEARCH_KINDS)}", *at)
    kind, values = next(iter(spec.items()))
    at = (*at, kind)
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise _problem(f"expected a non-empty list of values, got {_show(values)}", *at)
        return ParamRange(kind, tuple(_param(hint, v, *at, i) for i, v in enumerate(values)))
    if not isinstance(values, list) or len(values) != 2:
        raise _problem(f"expected [low, high], got {_show(values)}", *at)
    if kind == "int":
        low, high = (_param(int, v, *at, i) for i, v in enumerate(values))
        if low > high:
            raise _problem(f"low must be <= high; got [{low}, {high}]", *at)
    else:
        low, high = (_param(float, v, *at, i) for i, v in enumerate(values))
        if low >= high:
            raise _problem(f"low must be < high; got [{low:g}, {high:g}]", *at)
        if kind == "loguniform" and low <= 0:
            raise _problem(f"a log-uniform range needs low > 0; got {low:g}", *at)
    try:
        _adapter(hint).validate_python(low if kind == "int" else (low + high) / 2)
    except ValidationError:
        draws = "whole numbers" if kind == "int" else "numbers with decimals"
        raise _problem(
            f"'{kind}' draws {draws} but the parameter takes {_describe(hint)}", *at
        ) from None
    return ParamRange(kind, (low, high))


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option) for option in typing.get_args(hint))
    if origin in (tuple, list, Sequence):
        args = typing.get_args(hint)
        return f"a list of {_NOUNS.get(args[0], 'values') if args else 'values'}"
    if origin in (dict, Mapping) or hint is dict:
        return "a mapping"
    names = {type(None): "null", bool: "true or false", int: "a whole number", float: "a number"}
    return names.get(hint, "text" if hint is str else "a value")


def _tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuples(v) for v in value)
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


# -- reading -------------------------------------------------------------------------------------
_MERGE_TAG = "tag:yaml.org,2002:merge"


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain YAML keeps the
    last one silently, so a pasted second ``model:`` block would quietly win). Merge keys
    (``<<: *anchor``) work as in ``yaml.safe_load``: a key written in the mapping overrides the
    merged one of the same name, which is not a duplicate.

    Numbers are read as YAML 1.2 (and JSON) write them, not as PyYAML's YAML 1.1: ``010`` is ten
    (it was octal eight: ``folds: 010`` ran 8 folds, ``horizon: 0730`` 472 days), ``1:30`` is no
    sexagesimal 90 but text, ``1e-5`` is a number (a JSON config from ``json.dumps`` was
    refused); a date stays text (``cohort: 2021-05-01``, a folder named by its export day,
    crashed): no setting is a date."""

    yaml_implicit_resolvers = {
        first: [
            (tag, regex)
            for tag, regex in resolvers
            if tag not in (_INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG)
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._refuse_duplicates(node)
        return super().construct_mapping(node, deep)  # merges the '<<' mappings in first

    def _refuse_duplicates(self, node: yaml.MappingNode) -> None:
        """ConstructorError at a key given twice in ``node`` or in a mapping it merges."""
        seen = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # a merge key is not constructed, its mappings are
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else []
                for mapping in merged or [value_node]:
                    if isinstance(mapping, yaml.MappingNode):
                        self._refuse_duplicates(mapping)
                key = "<<"
            else:
                key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A YAML 1.2 integer: decimal whatever its leading zeros, ``0o`` octal, ``0x`` hex."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    base = {"0o": 8, "0x": 16}.get(body[:2].lower(), 10)
    return sign * int(body[2:] if base != 10 else body, base)


_UniqueKeyLoader.add_implicit_resolver(
    _INT_TAG,
    re.compile(r"^[-+]?(?:[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_UniqueKeyLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_UniqueKeyLoader.add_constructor(_INT_TAG, _construct_int)


def read_yaml(text: str) -> Any:
    """YAML ``text`` read as a run config is (:class:`_UniqueKeyLoader`: numbers as YAML 1.2
    writes them, dates as text, a key given twice refused)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only


def load_config(path: str | Path) -> RunConfig:
    """Read and check the YAML run config ``path`` (relative paths inside are relative to it)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"Config file {path} not found.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read config file {path}: {err}") from err
    return loads_config(text, source=str(path), base_dir=path.resolve().parent)


def loads_config(
    text: str, source: str = "the config text", base_dir: str | Path | None = None
) -> RunConfig:
    """Check the YAML run config ``text`` (a file's, or a form's text area) from ``source``."""
    try:
        data = read_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}.") from err
    if data is None:
        raise ConfigError(f"{source} is empty; a run config needs at least name, cohort and model.")
    return parse_config(data, source=source, base_dir=base_dir)


def parse_config(data: Any, source: str = "", base_dir: str | Path | None = None) -> RunConfig:
    """Check the config mapping ``data`` and fill in defaults.

    ``source`` (e.g. the file name) is added to error messages; relative paths are resolved
    against ``base_dir`` (default: the working directory).
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    data = {} if data is None else data
    # a key of another protocol stops its section's checks: said beside the others, left out
    protocol = data.get("protocol") if isinstance(data, Mapping) else None
    unused = _unused_protocol_keys(protocol)
    if unused:
        kept = {k: v for k, v in protocol.items() if k not in unused}
        data = {**data, "protocol": kept}
    problems = [f"protocol.{key}: {problem}" for key, problem in unused.items()]
    error = None
    try:
        config = _reader().validate_python(data, context={"base": base})
    except ValidationError as err:
        error = err
        # unknown keys first (a misspelt key explains the missing one), then as read
        problems += [
            _message(e) for e in sorted(err.errors(), key=lambda e: e["type"] not in _UNKNOWN)
        ]
    if not problems:
        return config
    where = f" (in {source})" if source else ""
    problems = list(dict.fromkeys(problems))
    if len(problems) == 1:
        raise ConfigError(f"{problems[0]}{where}") from error
    listed = "\n".join(f"- {problem}" for problem in problems)
    raise ConfigError(f"The run config has {len(problems)} problems{where}:\n{listed}") from error


@functools.cache
def _reader() -> TypeAdapter:
    return TypeAdapter(RunConfig)


#: pydantic's error types for a key the section does not have.
_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument", "invalid_key")


def _message(error: Any) -> str:
    """'dotted.path[i]: problem' for one of pydantic's errors."""
    ctx = error.get("ctx") or {}
    loc = [*error["loc"], *ctx.get("at", ())]
    kind = error["type"]
    if "[key]" in loc:  # a mapping key that is not text
        loc = loc[: loc.index("[key]")]
        loc[-1], problem = str(loc[-1]), "unknown key"
    elif kind == "config":
        problem = ctx["problem"]
    elif kind == "missing":
        problem = "required but missing"
    elif kind in _UNKNOWN:
        problem = f"unknown key; allowed: {', '.join(_keys(loc[:-1]))}"
        loc[-1] = str(loc[-1])
    elif kind in ("dict_type", "dataclass_type"):
        problem = f"expected a mapping of key: value lines, got {_show(error['input'])}"
    else:
        problem = error["msg"]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return f"{path.lstrip('.') or 'config'}: {problem}"


def _keys(loc: Sequence[Any]) -> Sequence[str]:
    """The keys allowed in the section at ``loc``."""
    section: Any = RunConfig
    for part in loc:
        section = section.__pydantic_fields__[part].annotation
        section = next(t for t in typing.get_args(section) or (section,) if t is not type(None))
    return _TOP_KEYS if section is RunConfig else tuple(section.__pydantic_fields__)
