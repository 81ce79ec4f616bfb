"""Run configs: one YAML file describes a training run, read into frozen dataclasses.

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
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from survival_core.errors import ConfigError
from survival_core.features.presets import PRESETS
from survival_core.models.reduction import REDUCTIONS

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

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CUDA = re.compile(r"cuda:\d+")
_TOP_KEYS = (
    *("name", "description", "cohort", "features", "model", "reduction", "protocol"),
    *("risk_groups", "horizons", "bootstrap", "seed", "device", "engine"),
)


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


# -- the config ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeepFeatures:
    """Deep features (Han 2020): activations of ``layer`` (None: the embedding before the risk
    head) of ``network``, a saved RadSurv image model folder or a local ResNet weights file."""

    network: Path | str
    layer: str | None = None


@dataclass(frozen=True)
class DSFRFeatures:
    """Segmentation-feature radiomics (Wang 2022): U-Net training ``epochs`` on slices of
    ``slice_size`` x ``slice_size`` voxels."""

    epochs: int = 30
    slice_size: int = 128


@dataclass(frozen=True)
class FeatureConfig:
    """The model's table columns: clinical.csv variables, radiomics presets, deep and DSFR
    features, optionally narrowed by ``select`` (a regex searched in each column name)."""

    clinical: bool = True
    radiomics: tuple[str, ...] = ()
    deep: DeepFeatures | None = None
    dsfr: DSFRFeatures | None = None
    select: str | None = None


@dataclass(frozen=True)
class ParamRange:
    """One searched parameter: ``choice`` of ``values``, or ``uniform``/``loguniform``/``int``
    between ``values = (low, high)`` (both included)."""

    kind: str
    values: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: _plain(self.values)}


@dataclass(frozen=True)
class SearchConfig:
    """Hyper-parameter search: ``trials`` draws from ``space``, scored by ``metric`` on the inner
    validation rows."""

    space: FrozenDict
    trials: int = DEFAULT_TRIALS
    metric: str = "c_index"


@dataclass(frozen=True)
class ModelConfig:
    """A model of :data:`survival_core.models.MODELS` with fixed ``params`` and an optional
    ``search`` over others."""

    name: str
    params: FrozenDict = FrozenDict()
    search: SearchConfig | None = None


@dataclass(frozen=True)
class ProtocolConfig:
    """Validation protocol; only the keys of :data:`PROTOCOL_KEYS` for ``name`` are used."""

    name: str = "nested_cv"
    repeats: int = 10
    folds: int = 5
    test_fraction: float = 0.2
    external_cohort: str | Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **{k: _plain(getattr(self, k)) for k in PROTOCOL_KEYS[self.name]},
        }


@dataclass(frozen=True)
class RiskGroupConfig:
    """High/low risk split: at the training ``median`` risk or the ``youden`` cut of the
    ``horizon`` (days)."""

    cut: str = "median"
    horizon: float | None = 730.0


@dataclass(frozen=True)
class EngineConfig:
    """Where the work runs: ``local`` processes or ``ray`` (a cluster at ``address``, else a
    local Ray); ``workers``: parallel tasks (None: one per CPU)."""

    kind: str = "local"
    address: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class RunConfig:
    """One training run (see the module doc and ``assets/configs/README.md``)."""

    name: str
    cohort: str | Path
    model: ModelConfig
    description: str = ""
    features: FeatureConfig = FeatureConfig()
    reduction: str = "none"
    protocol: ProtocolConfig = ProtocolConfig()
    risk_groups: RiskGroupConfig = RiskGroupConfig()
    horizons: tuple[float, ...] = DEFAULT_HORIZONS
    bootstrap: int = 1000
    seed: int = 0
    device: str = "auto"
    engine: EngineConfig = EngineConfig()

    def to_dict(self) -> dict[str, Any]:
        """Every setting, defaults included, as plain JSON/YAML values (paths as text), keys in
        the order a config file lists them."""
        data = _dataclass_dict(self)
        return {key: data[key] for key in _TOP_KEYS}

    def hash(self) -> str:
        """SHA-256 (hex) of what determines the results: every setting but ``description`` and
        ``engine`` (:func:`survival_core.runs.store.config_hash`, the hash runs are tagged with)."""
        from survival_core.runs.store import config_hash

        return config_hash(self.to_dict())

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments for ``make_model``: ``model.params`` as plain values plus the run's
        ``seed`` and ``device`` where the model takes them."""
        from survival_core.models import MODELS

        taken = MODELS[self.model.name].param_names()
        run_level = {key: getattr(self, key) for key in RUN_LEVEL_PARAMS if key in taken}
        return {**_plain(self.model.params), **run_level}


# -- reading -------------------------------------------------------------------------------------
class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain YAML keeps the
    last one silently, so a pasted second ``model:`` block would quietly win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


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
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data only
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
    try:
        return _run_config(data, base)
    except _Invalid as err:
        where = f" (in {source})" if source else ""
        raise ConfigError(f"{err.path or 'config'}: {err.problem}{where}") from err.__cause__


class _Invalid(Exception):
    """A bad value at a dotted path (turned into a ConfigError by :func:`parse_config`)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def _run_config(data: Any, base: Path) -> RunConfig:
    raw = _section("", data, _TOP_KEYS, required=("name", "cohort", "model"))
    name = _text("name", raw["name"])
    if not _NAME.fullmatch(name):
        raise _Invalid(
            "name",
            f"use letters, digits, '_', '.' and '-', starting with a letter or digit; got {name!r}",
        )
    model = _model(raw["model"], base)
    features = _features(raw.get("features"), base)
    _check_inputs(features, model.name)
    cohort = _cohort("cohort", raw["cohort"], base)
    protocol = _protocol(raw.get("protocol"), base)
    if protocol.external_cohort is not None and protocol.external_cohort == cohort:
        raise _Invalid(
            "protocol.external_cohort", "is the training cohort itself; give another one"
        )
    return RunConfig(
        name=name,
        cohort=cohort,
        model=model,
        description=_text("description", raw.get("description", ""), empty=True),
        features=features,
        reduction=_choice("reduction", raw.get("reduction", "none"), REDUCTIONS),
        protocol=protocol,
        risk_groups=_risk_groups(raw.get("risk_groups")),
        horizons=_horizons(raw.get("horizons", list(DEFAULT_HORIZONS))),
        bootstrap=_int("bootstrap", raw.get("bootstrap", 1000), minimum=0),
        seed=_int("seed", raw.get("seed", 0), minimum=0),
        device=_device(raw.get("device", "auto")),
        engine=_engine(raw.get("engine")),
    )


# -- sections ------------------------------------------------------------------------------------
def _features(raw: Any, base: Path) -> FeatureConfig:
    raw = _section("features", raw, ("clinical", "radiomics", "deep", "dsfr", "select"))
    presets = raw.get("radiomics", [])
    if not isinstance(presets, list):
        raise _Invalid(
            "features.radiomics",
            f"expected a list of presets such as [wei2021], got {_show(presets)}",
        )
    radiomics = tuple(
        _choice(f"features.radiomics[{i}]", p, PRESETS) for i, p in enumerate(presets)
    )
    for i, preset in enumerate(radiomics):
        if preset in radiomics[:i]:
            raise _Invalid(f"features.radiomics[{i}]", f"preset {preset!r} is listed twice")
    select = raw.get("select")
    if select is not None:
        select = _text("features.select", select)
        try:
            re.compile(select)
        except re.error as err:
            raise _Invalid("features.select", f"not a valid regular expression: {err}") from err
    return FeatureConfig(
        clinical=_bool("features.clinical", raw.get("clinical", True)),
        radiomics=radiomics,
        deep=None if raw.get("deep") is None else _deep(raw["deep"], base),
        dsfr=None if raw.get("dsfr") is None else _dsfr(raw["dsfr"]),
        select=select,
    )


def _deep(raw: Any, base: Path) -> DeepFeatures:
    raw = _section("features.deep", raw, ("network", "layer"), required=("network",))
    layer = raw.get("layer")
    network = _text("features.deep.network", raw["network"])
    return DeepFeatures(
        network=network if network in NETWORK_KEYWORDS else _path(base, network),
        layer=None if layer is None else _text("features.deep.layer", layer),
    )


def _dsfr(raw: Any) -> DSFRFeatures:
    from survival_core.features.segmentation import UNetConfig

    raw = _section("features.dsfr", raw, ("epochs", "slice_size"))
    slice_size = _int("features.dsfr.slice_size", raw.get("slice_size", 128), minimum=1)
    try:
        UNetConfig(slice_size=slice_size)
    except ConfigError as err:
        raise _Invalid("features.dsfr.slice_size", str(err)) from err
    return DSFRFeatures(
        epochs=_int("features.dsfr.epochs", raw.get("epochs", 30), minimum=1),
        slice_size=slice_size,
    )


def _model(raw: Any, base: Path) -> ModelConfig:
    # The registry imports torch; importing it here keeps `import config` light for forms.
    from survival_core.models import MODELS, make_model

    raw = _section("model", raw, ("name", "params", "search"), required=("name",))
    name = _choice("model.name", raw["name"], MODELS)
    klass = MODELS[name]
    hints = typing.get_type_hints(klass.__init__)
    allowed = [p for p in klass.param_names() if p not in RUN_LEVEL_PARAMS]
    given = _section("model.params", raw.get("params"), None)
    params = {}
    for key, value in given.items():
        path = f"model.params.{key}"
        _check_param_name(path, key, name, allowed)
        params[key] = _param(path, value, hints.get(key, Any))
        if key in PATH_PARAMS and isinstance(params[key], str):
            params[key] = str(_path(base, params[key]))
    search = raw.get("search")
    if search is not None:
        search = _search(search, name, allowed, hints, params)
    try:  # the model's own checks (ranges, combinations); no network is trained
        make_model(name, **params)
    except ConfigError as err:
        raise _Invalid("model.params", str(err)) from err
    return ModelConfig(name=name, params=_freeze(params), search=search)


def _check_param_name(path: str, key: str, model: str, allowed: list[str]) -> None:
    if key in RUN_LEVEL_PARAMS:
        raise _Invalid(path, f"set by the run: use the top-level '{key}' key")
    if key not in allowed:
        raise _Invalid(path, f"not a parameter of model {model!r}; allowed: {', '.join(allowed)}")


def _search(
    raw: Any, model: str, allowed: list[str], hints: dict[str, Any], params: dict[str, Any]
) -> SearchConfig:
    raw = _section("model.search", raw, ("space", "trials", "metric"), required=("space",))
    given = _section("model.search.space", raw["space"], None)
    if not given:
        raise _Invalid("model.search.space", "expected at least one parameter: range entry")
    space = {}
    for param, spec in given.items():
        path = f"model.search.space.{param}"
        _check_param_name(path, param, model, allowed)
        if param in params:
            raise _Invalid(path, "also set in model.params; a parameter is fixed or searched")
        space[param] = _param_range(path, spec, hints.get(param, Any))
    return SearchConfig(
        space=FrozenDict(space),
        trials=_int("model.search.trials", raw.get("trials", DEFAULT_TRIALS), minimum=1),
        metric=_choice("model.search.metric", raw.get("metric", "c_index"), SEARCH_METRICS),
    )


def _param_range(path: str, raw: Any, hint: Any) -> ParamRange:
    spec = _section(path, raw, SEARCH_KINDS)
    if len(spec) != 1:
        raise _Invalid(path, f"give exactly one of {', '.join(SEARCH_KINDS)}")
    kind, values = next(iter(spec.items()))
    path = f"{path}.{kind}"
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise _Invalid(path, f"expected a non-empty list of values, got {_show(values)}")
        return ParamRange(
            kind, tuple(_param(f"{path}[{i}]", v, hint) for i, v in enumerate(values))
        )
    if not isinstance(values, list) or len(values) != 2:
        raise _Invalid(path, f"expected [low, high], got {_show(values)}")
    if kind == "int":
        low, high = (_int(f"{path}[{i}]", v) for i, v in enumerate(values))
        if low > high:
            raise _Invalid(path, f"low must be <= high; got [{low}, {high}]")
    else:
        low, high = (_number(f"{path}[{i}]", v) for i, v in enumerate(values))
        if low >= high:
            raise _Invalid(path, f"low must be < high; got [{low:g}, {high:g}]")
        if kind == "loguniform" and low <= 0:
            raise _Invalid(path, f"a log-uniform range needs low > 0; got {low:g}")
    if _conform(hint, (low + high) / 2 if kind != "int" else low) is _NO:
        draws = "whole numbers" if kind == "int" else "numbers with decimals"
        raise _Invalid(path, f"'{kind}' draws {draws} but the parameter takes {_describe(hint)}")
    return ParamRange(kind, (low, high))


def _protocol(raw: Any, base: Path) -> ProtocolConfig:
    raw = _section(
        "protocol", raw, ("name", "repeats", "folds", "test_fraction", "external_cohort")
    )
    name = _choice("protocol.name", raw.get("name", "nested_cv"), PROTOCOL_KEYS)
    for key in raw:
        if key != "name" and key not in PROTOCOL_KEYS[name]:
            users = [p for p, keys in PROTOCOL_KEYS.items() if key in keys]
            raise _Invalid(
                f"protocol.{key}",
                f"not used by protocol {name!r} (only by {', '.join(users)}); remove it or change "
                "protocol.name",
            )
    external = None
    if name == "external":
        if raw.get("external_cohort") is None:
            raise _Invalid(
                "protocol.external_cohort",
                "required by protocol 'external': the cohort folder (with manifest.csv) whose "
                "cases form the test set",
            )
        external = _cohort("protocol.external_cohort", raw["external_cohort"], base)
    return ProtocolConfig(
        name=name,
        repeats=_int("protocol.repeats", raw.get("repeats", 10), minimum=1),
        folds=_int("protocol.folds", raw.get("folds", 5), minimum=2),
        test_fraction=_number(
            "protocol.test_fraction", raw.get("test_fraction", 0.2), above=0, below=1
        ),
        external_cohort=external,
    )


def _risk_groups(raw: Any) -> RiskGroupConfig:
    raw = _section("risk_groups", raw, ("cut", "horizon"))
    cut = _choice("risk_groups.cut", raw.get("cut", "median"), CUTS)
    horizon = raw.get("horizon", 730.0)
    if horizon is None and cut == "youden":
        raise _Invalid("risk_groups.horizon", "the youden cut needs a horizon in days (> 0)")
    if horizon is not None:
        horizon = _number("risk_groups.horizon", horizon, above=0)
    return RiskGroupConfig(cut=cut, horizon=horizon)


def _horizons(raw: Any) -> tuple[float, ...]:
    if not isinstance(raw, list) or not raw:
        raise _Invalid("horizons", f"expected a non-empty list of days, got {_show(raw)}")
    days = [_number(f"horizons[{i}]", v, above=0) for i, v in enumerate(raw)]
    for i in range(1, len(days)):
        if days[i] <= days[i - 1]:
            raise _Invalid(
                f"horizons[{i}]", f"expected increasing days; {days[i]:g} follows {days[i - 1]:g}"
            )
    return tuple(days)


def _device(raw: Any) -> str:
    if isinstance(raw, str) and (raw in DEVICES or _CUDA.fullmatch(raw)):
        return raw
    raise _Invalid("device", f"expected one of {', '.join(DEVICES)} or cuda:N, got {_show(raw)}")


def _engine(raw: Any) -> EngineConfig:
    raw = _section("engine", raw, ("kind", "address", "workers"))
    kind = _choice("engine.kind", raw.get("kind", "local"), ENGINES)
    address = raw.get("address")
    if address is not None:
        address = _text("engine.address", address)
        if kind != "ray":
            raise _Invalid("engine.address", "only used with engine.kind: ray")
    workers = raw.get("workers")
    return EngineConfig(
        kind=kind,
        address=address,
        workers=None if workers is None else _int("engine.workers", workers, minimum=1),
    )


def _check_inputs(features: FeatureConfig, model: str) -> None:
    """A model that reads table columns needs at least one feature source."""
    from survival_core.models import MODELS

    if features.clinical or features.radiomics or features.deep or features.dsfr:
        return
    if getattr(MODELS[model], "uses_tabular", True):
        raise _Invalid(
            "features",
            f"no feature source: model {model!r} reads table columns; set clinical: true or give "
            "radiomics, deep or dsfr",
        )


def _cohort(path: str, raw: Any, base: Path) -> str | Path:
    text = _text(path, raw)
    return text if text in COHORT_KEYWORDS else _path(base, text)


def _path(base: Path, text: str) -> Path:
    return (base / Path(text).expanduser()).resolve()


# -- values --------------------------------------------------------------------------------------
def _section(
    path: str, raw: Any, allowed: Sequence[str] | None, required: Sequence[str] = ()
) -> dict:
    """Mapping ``raw`` at ``path`` (null: empty) with only ``allowed`` keys (None: any text key)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _Invalid(path, f"expected a mapping of key: value lines, got {_show(raw)}")
    for key in raw:
        if not isinstance(key, str) or (allowed is not None and key not in allowed):
            hint = f"; allowed: {', '.join(allowed)}" if allowed is not None else ""
            raise _Invalid(_join(path, str(key)), f"unknown key{hint}")
    for key in required:
        if key not in raw:
            raise _Invalid(_join(path, key), "required but missing")
    return dict(raw)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(_plain(value))
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _wrong(path: str, expected: str, value: Any) -> _Invalid:
    """'expected X, got Y', with a hint when YAML read a number such as 1e-4 as text."""
    note = ""
    if isinstance(value, str):
        try:
            float(value)
            note = " (YAML reads exponents without a dot as text: write 1.0e-4, not 1e-4)"
        except ValueError:
            pass
    return _Invalid(path, f"expected {expected}, got {_show(value)}{note}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int(path: str, value: Any, minimum: int | None = None) -> int:
    if not _is_int(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise _wrong(path, f"a whole number{bound}", value)
    return value


def _number(path: str, value: Any, above: float | None = None, below: float | None = None) -> float:
    ok = _is_number(value)
    if ok and above is not None:
        ok = value > above
    if ok and below is not None:
        ok = value < below
    if not ok:
        if above is not None and below is not None:
            bound = f" between {above:g} and {below:g} (exclusive)"
        elif above is not None:
            bound = f" > {above:g}"
        else:
            bound = ""
        raise _wrong(path, f"a number{bound}", value)
    return float(value)


def _bool(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong(path, "true or false", value)
    return value


def _text(path: str, value: Any, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise _wrong(path, "text" if empty else "non-empty text", value)
    return value


def _choice(path: str, value: Any, choices: Sequence[str] | Mapping[str, Any]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _Invalid(path, f"expected one of {', '.join(choices)}, got {_show(value)}")
    return value


# -- model parameters against the constructor's type hints ---------------------------------------
_NO = object()
_NOUNS = {int: "whole numbers", float: "numbers", str: "texts"}


def _param(path: str, value: Any, hint: Any) -> Any:
    result = _conform(hint, value)
    if result is _NO:
        raise _wrong(path, _describe(hint), value)
    return result


def _conform(hint: Any, value: Any) -> Any:
    """``value`` as parameter type ``hint`` takes it (a whole number becomes a float for a float
    parameter, lists become tuples), or ``_NO``. Forms not listed here are left to the model."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            result = _conform(option, value)
            if result is not _NO:
                return result
        return _NO
    if hint is type(None):
        return value if value is None else _NO
    if hint is bool:
        return value if isinstance(value, bool) else _NO
    if hint is int:
        return value if _is_int(value) else _NO
    if hint is float:
        return float(value) if _is_number(value) else _NO
    if hint is str:
        return value if isinstance(value, str) else _NO
    if origin in (tuple, list, Sequence):
        if not isinstance(value, list | tuple):
            return _NO
        args = typing.get_args(hint)
        items = [_conform(args[0] if args else Any, v) for v in value]
        return _NO if any(item is _NO for item in items) else tuple(items)
    if origin in (dict, Mapping) or hint is dict:
        return value if isinstance(value, Mapping) else _NO
    return value


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


# -- plain values ----------------------------------------------------------------------------------
def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if is_dataclass(value):
        return _dataclass_dict(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
