"""The cohorts and networks a run reads, found and checked before anything is computed: a
cohort folder (the bundled demo prepared on first use), what of a config reads its images, and
the cheap checks of :func:`check_cohorts` (columns, modalities, folds, a network that saw the
tested patients), which the runner makes first and :func:`.jobs.start_job` before it starts a
job (a config certain to fail was 'Started' on the Training page)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from survival_core.errors import ConfigError, InputError
from survival_core.io.hashing import file_sha256
from survival_core.text import them

if TYPE_CHECKING:
    from survival_core.models.image_set import ImageSet

Progress = Callable[[str], None]


def resolve_cohort(
    cohort: str | Path, progress: Progress, image_inputs: Iterable[str] = ()
) -> Path:
    """A cohort folder; ``"demo"`` is the bundled demo cohort and ``"demo-external"`` its external
    validation cohort, both prepared on first use. A table-only cohort (``clinical.csv`` without
    ``manifest.csv``, as ``cohort import --clinical`` makes from a spreadsheet) is refused when
    ``image_inputs`` (what of the config reads images, see :func:`image_inputs`) is not empty."""
    if str(cohort) == "demo-external":
        from survival_core.workflows.demo import prepare_external

        return prepare_external(progress)
    if str(cohort) == "demo":
        from survival_core.paths import demo_cohort_dir
        from survival_core.workflows.demo import demo_ready, prepare_demo

        if not demo_ready():
            prepare_demo(progress)
        return demo_cohort_dir()
    folder = Path(cohort)
    if (folder / "manifest.csv").is_file():
        return folder
    if folder.is_file():  # a table given as the cohort: it exists, so "does not exist" misled
        raise InputError(
            f"Cohort {folder} is a file, not a cohort folder: give the folder holding its "
            "clinical.csv (and manifest.csv where it has images); `python -m survival_core "
            "cohort import --clinical TABLE` makes one from a clinical table."
        )
    if not folder.is_dir():
        literal = any(mark in str(cohort) for mark in ("$", "%", "\\"))
        raise InputError(
            f"Cohort folder {folder} does not exist"
            + (
                " (a config's path is taken as written: no $VARIABLE or %VARIABLE% is expanded "
                "and '\\' separates no folders here; '~' is expanded, and a relative path is "
                "the config file's)"
                if literal
                else ""
            )
            + "."
        )
    if not (folder / "clinical.csv").is_file():
        raise InputError(
            f"Cohort folder {folder} has neither manifest.csv (images) nor clinical.csv (a table)."
        )
    needs = list(image_inputs)
    if needs:
        raise ConfigError(
            f"Cohort folder {folder} is table-only (clinical.csv without a manifest.csv of "
            f"images); images are needed by {' and '.join(needs)}: train a model on its clinical "
            "variables, or import the images into the cohort (cohort import --images)."
        )
    return folder


def image_inputs(config: Any) -> list[str]:
    """What of ``config`` reads the cohort's images: feature sources and an image model."""
    from survival_core.models import IMAGE_MODELS

    features = config.features
    needs = [
        f"features.{name}" for name in ("radiomics", "deep", "dsfr") if getattr(features, name)
    ]
    if config.model.name in IMAGE_MODELS:
        needs.append(f"model {config.model.name}")
    return needs


def cohort_images(cohort: Path, prefix: str = "") -> ImageSet:
    """The cohort's case folders and their modalities, case ids prefixed by ``prefix`` (none for
    a table-only cohort)."""
    from survival_core.models.image_set import ImageSet

    if not (cohort / "manifest.csv").is_file():
        return ImageSet()
    return ImageSet.from_cohort(cohort, prefix)


def check_cohorts(config: Any) -> None:
    """Refuse, before a run starts, a cohort folder of ``config`` that it cannot read, whose
    modality its image model or U-Net cannot, whose clinical table lacks a column the config
    requires, or whose patients it tests with a deep-feature network trained on their outcomes.
    Cheap (clinical tables and manifests read, no feature extracted): the Training page runs it
    before starting a job (:func:`.jobs.start_job`). A bundled cohort not yet prepared, and the
    demo network, are prepared by :func:`prepare_data` (:func:`_prepared_later`)."""
    from survival_core.io.tables import load_model_table
    from survival_core.models import IMAGE_MODELS
    from survival_core.runs.config import NETWORK_KEYWORDS

    needs = image_inputs(config)
    unet_modalities: dict[str, set[str]] = {}
    development: Path | None = None
    external: Path | None = None
    tables: dict[Path, Any] = {}  # each cohort's clinical table, read once for every check

    def table(folder: Path) -> Any:
        if folder not in tables:
            tables[folder] = load_model_table([folder / "clinical.csv"])
        return tables[folder]

    for role, cohort in (
        ("development", config.cohort),
        ("external", getattr(config.protocol, "external_cohort", None)),
    ):
        if cohort is None or _prepared_later(cohort):
            continue
        folder = resolve_cohort(cohort, lambda _: None, needs)
        image_model = config.model.name in IMAGE_MODELS
        images = cohort_images(folder) if image_model or config.features.dsfr else None
        if image_model:  # an MR cohort cannot train a CT network
            images.check(images.case_ids)
        if config.features.dsfr is not None:
            unet_modalities[f"the {role} cohort {folder}"] = set(images.modalities.values())
        if role == "development":
            development = folder
        else:
            external = folder
        if config.features.require:
            columns = table(folder).X.columns
            lacking = [c for c in config.features.require if c not in columns]
            if lacking:
                raise ConfigError(
                    f"features.require: the {role} cohort's clinical table ({folder}) has no "
                    f"column {', '.join(lacking)}; the model would be fitted without "
                    f"{them(lacking)}. It has {', '.join(columns)}."
                )
        if config.features.select and not any(n.startswith("features.") for n in needs):
            _check_select(config.features.select, role, folder, table(folder).X.columns)
    _check_one_unet_modality(unet_modalities)
    tested = external if config.protocol.name == "external" else development
    deep = config.features.deep
    if deep is not None and str(deep.network) not in NETWORK_KEYWORDS and tested is not None:
        check_network_unseen(Path(deep.network), tested, config.protocol.name)
    if external is not None and (external / "clinical.csv").is_file():
        _check_external_events(external, table)
    if development is not None and external is not None:
        check_external_modality(needs, development, external)
    if development is not None:
        _check_folds(config, development, table)


def _prepared_later(cohort: str | Path) -> bool:
    """Whether ``cohort`` is a bundled cohort (:data:`.config.COHORT_KEYWORDS`) the run has yet to
    prepare, so :func:`check_cohorts` has nothing to read: the demo once prepared is checked as
    any folder (a column filter matching none of its columns started a run that then failed)."""
    from survival_core.runs.config import COHORT_KEYWORDS
    from survival_core.workflows.demo import demo_ready

    if str(cohort) == "demo":
        return not demo_ready()
    return str(cohort) in COHORT_KEYWORDS


def _check_select(select: str, role: str, folder: Path, columns: Iterable[str]) -> None:
    """Refuse a ``features.select`` matching none of the ``columns`` of the ``role`` cohort's
    clinical table, its only feature table: the run was created, then failed with 'No feature
    column matches', not naming the key nor the columns there are."""
    columns = [str(c) for c in columns]
    if any(re.search(select, c) for c in columns):
        return
    renamed = _imported_names(folder)
    raise ConfigError(
        f"features.select: {select!r} matches no column of the {role} cohort's clinical table "
        f"({folder / 'clinical.csv'}), so the model would have no input. It has "
        f"{', '.join(columns) or 'no feature column'}"
        + (f"; its import renamed the sheet's columns ({', '.join(renamed)})" if renamed else "")
        + ". Select among those names."
    )


def _imported_names(folder: Path) -> list[str]:
    """'<sheet label> as <column>' for each column of the cohort ``folder`` that its import
    renamed (its ``schema.yaml``: each variable's name and the sheet's label); [] without one."""
    import yaml

    from survival_core.io.clinical_schema import SCHEMA_FILE

    try:
        schema = yaml.safe_load((folder / SCHEMA_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    variables = schema.get("variables") if isinstance(schema, dict) else None
    return [
        f"{v['label']}{f' ({u})' if (u := v.get('unit')) else ''} as {v['name']}"
        for v in variables or []
        if isinstance(v, dict) and v.get("label") and v.get("label") != v.get("name")
    ]


def check_external_modality(needs: list[str], development: Path, external: Path) -> None:
    """Refuse an external cohort whose images are of another modality than the development
    cohort's where the model reads image features (``needs``, :func:`image_inputs`): features
    learned from CT intensities (HU) mean something else on MR, as scoring a case refuses; the
    external protocol ran and reported a c-index for them, the modalities said nowhere but in
    the tables' metadata."""
    from survival_core.features.cohort import cohort_modality

    if not needs:
        return
    mine, theirs = cohort_modality(development), cohort_modality(external)
    if mine != theirs:
        raise ConfigError(
            f"protocol.external_cohort: the external cohort {external} is {theirs} and the "
            f"development cohort {development} {mine}; the model reads image features "
            f"({' and '.join(needs)}) learned from {mine} images, whose intensities mean "
            f"something else on {theirs}, so its external metrics would measure nothing (its "
            f"scoring refuses such a case). Validate on a {mine} cohort, or develop on {theirs}."
        )


def _check_folds(config: Any, cohort: Path, table: Callable[[Path], Any]) -> None:
    """Refuse, before the run starts (it was left FAILED), a development cohort (its clinical
    ``table``) without an event, and nested CV with more folds than it has events (each fold
    needs one). Only nested CV reads ``protocol.folds``: the other protocols' configs hold its
    unused default (5), which refused leave-one-out on 4 events with 'give at most 4 folds'."""
    if not (cohort / "clinical.csv").is_file():
        return
    events = int(table(cohort).y["event"].sum())
    if not events:
        raise ConfigError(
            f"cohort: the development cohort ({cohort}) has 0 events: nothing to learn and no "
            "c-index to compute. Check its event column (coded otherwise? every death recorded?)."
        )
    folds = config.protocol.folds
    if config.protocol.name == "nested_cv" and events < folds:
        raise ConfigError(
            f"protocol.folds: {folds} folds need an event in each, and the development cohort "
            f"({cohort}) has {events} event(s): give at most {events} folds."
        )


def _check_external_events(cohort: Path, table: Callable[[Path], Any]) -> None:
    """Refuse an external cohort (its clinical ``table``) without an event before the run: no
    c-index, td-AUC or calibration is defined on it (290 patients all censored failed after
    the model was fitted, on 'No comparable patient pairs' alone)."""
    try:
        event = table(cohort).y["event"]
    except InputError as err:  # an event column coded otherwise, said of the external cohort
        raise InputError(f"The external cohort's clinical.csv: {err}") from err
    if not event.any():
        raise ConfigError(
            f"protocol.external_cohort: the external cohort {cohort} has 0 events in its "
            f"{event.size} patients; no c-index, td-AUC or calibration can be computed on it. "
            "Check its event column (coded otherwise? every death recorded?), or validate on a "
            "cohort with events."
        )


def _check_one_unet_modality(modalities: dict[str, set[str]]) -> None:
    """Refuse DSFR features over cohorts (description -> their modalities) of more than one
    modality: one U-Net, trained on the development cases, learns one."""
    found = sorted(set().union(*modalities.values())) if modalities else []
    if len(found) > 1:
        said = "; ".join(f"{who}: {', '.join(sorted(m))}" for who, m in modalities.items())
        raise ConfigError(
            f"features.dsfr: one U-Net learns one modality, and these cohorts hold "
            f"{' and '.join(found)} ({said}). Run the DSFR study on one modality's cases."
        )


def resolve_network(network: str | Path, progress: Progress) -> Path:
    """A deep-feature network: ``"demo"`` is the demo's image model (trained on first use)."""
    if str(network) == "demo":
        from survival_core.workflows.demo import prepare_image_model

        return prepare_image_model(progress)
    return Path(network)


#: A deep network's training patients among a cohort it tests refuse the run from this many
#: and this share of the cohort on; fewer may be chance. Centres' case ids restart at 001 (an
#: import pseudonymises each centre's '001' alike): of GBSG2, WHAS500, veterans and flchain
#: split in two such centres, 200 random splits each, at most 7 patients (0.2 % of flchain's
#: 3937) and at most 4.4 % of a cohort (3 of veterans' 68) had the other's id, time and event.
SEEN_PATIENTS = 5
SEEN_SHARE = 0.05


def check_network_unseen(network: Path, tested: Path, protocol: str) -> str | None:
    """Refuse deep features from a ``network`` trained on the outcomes of patients the run tests
    (the demo network on demo-external was validated 'externally' there; a network registered by
    an external validation run, its card's table the run's stacked copy, passed on its own
    cohort): its model card records the ``tested`` cohort's clinical.csv among its training
    tables or its sources (the cohort a training run fitted it on), the same sha256, or its
    training patients (:attr:`~survival_core.models.card.ModelCard.trained_patients`: case id
    and outcome) hold at least :data:`SEEN_PATIENTS` and :data:`SEEN_SHARE` of the cohort's.
    The sha256 alone missed a clinical.csv edited or rewritten by a withdrawal since; the ids
    alone would take another cohort's SYN-0001 for this one's. Fewer patients are a note, not a
    refusal: a cohort of other patients whose ids restart at 001 matches a few by chance (one of
    GBSG2's halves as two centres was refused). A card written before it kept its patients is
    checked by the sha256 alone; a network whose card cannot tell (a ResNet weights file, no
    card) is not checked."""
    from survival_core.models.card import ModelCard, patient_keys
    from survival_core.runs.config import seen_outcomes

    clinical = tested / "clinical.csv"
    try:
        card = ModelCard.load(network)
    except InputError:
        return None
    if not clinical.is_file():
        return None
    trained_on = card.tables_sha256  # a dict by table name in cards written before the list
    digest = file_sha256(clinical)
    if digest in (trained_on.values() if isinstance(trained_on, dict) else trained_on):
        how = f"its card's training table is this cohort's clinical.csv, the same sha256; {card.n}"
    elif digest in card.sources.values():
        how = f"its card's training cohort's clinical.csv is this one, the same sha256; {card.n}"
    elif card.trained_patients:  # the fast path above missed an edited or rewritten table
        from survival_core.io.tables import load_model_table

        table = load_model_table([clinical])
        seen = len(set(card.trained_patients) & set(patient_keys(table.case_ids, table.y)))
        if seen < SEEN_PATIENTS or seen < SEEN_SHARE * len(table.y):
            return _few_seen_note(network, tested, seen, len(table.y)) if seen else None
        how = f"the same case ids and outcomes: {seen} of its {len(table.y)}"
    else:
        return None
    raise ConfigError(
        "features.deep.network: "
        + seen_outcomes(f"the network {network}", f"{tested} ({how} patients)", protocol)
    )


def _few_seen_note(network: Path, tested: Path, seen: int, n: int) -> str:
    """The note on ``seen`` of the ``n`` patients of ``tested`` among ``network``'s training
    patients, too few to refuse the run (:data:`SEEN_PATIENTS`, :data:`SEEN_SHARE`)."""
    return (
        f"The deep network {network}'s training patients hold {seen} of the {n} patients of "
        f"{tested} (the same case id, time and event): so few may be chance, other centres' "
        "case ids restarting at 001 too, and the run goes on. If they are these patients, "
        "their deep features have seen their outcomes: leave them out of the cohort."
    )
