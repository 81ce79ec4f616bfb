"""One case's feature row in a saved model's input schema, rebuilt exactly as for its training table.

Clinical variables come from the case's validated clinical values, radiomics from the extraction
settings stored in the model card (computed once per case content:
:mod:`survival_core.features.case_cache`), DSFR and deep features from the networks bundled in the model
folder. A model whose inputs the case cannot provide is refused with the missing names. Clinical
values that are missing are left for the model's training-fitted preprocessing to impute and are
reported as such, never silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from survival_core.case import Case
from survival_core.errors import ClinicalValueError, InputError, MaskError, ValuesNeeded
from survival_core.io.clinical_schema import refuse_near_misses
from survival_core.models.scoring import LoadedModel
from survival_core.models.training_range import impossible_value, numeric_inputs
from survival_core.text import first_few

if TYPE_CHECKING:
    from survival_core.features.settings import ExtractionSettings


def radiomics_settings(loaded: LoadedModel) -> ExtractionSettings | None:
    """The extraction settings of the model's radiomics inputs; None when it takes none (no
    settings in its card, or clinical inputs only) or takes several modalities' radiomics."""
    clinical = set(loaded.card.clinical_columns)
    if not loaded.card.radiomics_settings or all(c in clinical for c in loaded.inputs):
        return None
    from survival_core.features.settings import ExtractionSettings

    return ExtractionSettings.from_json(loaded.card.radiomics_settings)


def _radiomics_sources(loaded: LoadedModel) -> list[tuple[str, str | None, ExtractionSettings]]:
    """(feature name prefix, the image: a modality or a companion's name, settings) of each
    radiomics source: one unprefixed, or one per image named 'IMAGE:' (a PET/CT model)."""
    from survival_core.features.settings import ExtractionSettings
    from survival_core.io.tables import IMAGE_SEPARATOR

    by_image = loaded.card.radiomics_by_modality
    if by_image:
        return [
            (name + IMAGE_SEPARATOR, name, ExtractionSettings.from_json(settings))
            for name, settings in by_image.items()
        ]
    settings = radiomics_settings(loaded)
    return [] if settings is None else [("", loaded.card.radiomics_modality, settings)]


def _check_radiomics_settings(loaded: LoadedModel) -> None:
    """InputError when the model reads radiomics but its card lacks the extraction settings
    they are computed with (a card written by hand or by an early RadSurv, a model fitted on a
    features table that did not record them): no case can be scored, which was blamed on the
    case ('needs 56 input(s) this case cannot provide')."""
    from survival_core.columns import DEEP_PREFIX, DSFR_PREFIX, is_image_feature
    from survival_core.models.card import CARD_FILE

    if _radiomics_sources(loaded):
        return
    clinical = set(loaded.card.clinical_columns)
    radiomics = [
        c
        for c in loaded.inputs
        if c not in clinical
        and is_image_feature(c)
        and not c.startswith((DEEP_PREFIX, DSFR_PREFIX))
    ]
    if radiomics:
        shown = first_few(radiomics, 3)
        raise InputError(
            f"Model {loaded.name} reads {len(radiomics)} radiomics feature(s) ({shown}), but its "
            f"card {loaded.folder / CARD_FILE} lacks the radiomics settings they are computed "
            "with (radiomics_settings), so no case can be scored by it. Train the model again "
            "on features extracted by RadSurv (`extract`, then `fit` or `train`)."
        )


def _check_masks(case: Case, loaded: LoadedModel, settings: ExtractionSettings) -> None:
    """MaskError naming the masks the model's ROIs need and the case lacks."""
    from survival_core.features.settings import required_masks

    lacking = [r for r in required_masks(settings.rois) if r not in case.masks]
    if lacking:
        raise MaskError(
            f"Model {loaded.name} computes its {settings.preset} features on "
            f"{', '.join(settings.rois)}, which need the {' and '.join(lacking)} mask; case "
            f"{case.case_id} has {', '.join(sorted(case.masks)) or 'no masks'}. Map the "
            "structure on the Case page, or use a model on the GTV alone."
        )


def _clinical_inputs(values: Mapping[str, Any], loaded: LoadedModel) -> dict[str, Any]:
    """The model's clinical inputs from validated ``values``; None where missing (the model's
    training-fitted preprocessing imputes it) or a no-value code (:func:`_without_codes`)."""
    clinical = set(loaded.card.clinical_columns)
    values = _without_codes(values, loaded)
    return {name: values.get(name) for name in loaded.inputs if name in clinical}


def _without_codes(values: Mapping[str, Any], loaded: LoadedModel) -> dict[str, Any]:
    """``values`` with the no-value codes the model's training table held read as None (an age
    of -99 where its table wrote -99 for unknown): imputed, and said so, as at fit. Its
    preprocessing imputed them while the score said nothing was, cautioned a tsize of 999 as out
    of range, and the schema refused an age of -99."""
    coded = no_value_coded(values, loaded)
    return {k: None if k in coded else v for k, v in values.items()}


def model_values(values: Mapping[str, Any], loaded: LoadedModel) -> dict[str, Any]:
    """``values`` with each of the model's variables read as its schema reads a patient's values
    alone, under its name (a case's horTh 'yes' under a model trained on True/False was refused
    as a level it never saw, and left the nomogram's field empty, imputed); a value it cannot
    read, or a no-value code of the training table (:func:`no_value_coded`), is left as written
    for the checks that name it."""
    try:
        keys, _ = loaded.schema.keys(values)
    except ClinicalValueError:  # a variable given twice: the schema's validation says so
        return dict(values)
    coded = _coded(values, keys, training_codes(loaded))
    read = {k: v for k, v in values.items() if k not in keys.values()}
    for name, key in keys.items():
        try:
            read[name] = values[key] if key in coded else loaded.schema[name].read(values[key])
        except ClinicalValueError:
            read[name] = values[key]
    return read


def no_value_coded(values: Mapping[str, Any], loaded: LoadedModel) -> dict[str, float]:
    """The ``values`` that are a no-value code of the model's training table, by name (a tsize
    of -99 where its table wrote -99 for unknown): missing to its preprocessing, and so to
    whatever reads a patient's values for it (the score, the nomogram, which drew -99 mm as a
    tumour 40 points below the smallest), by key as ``values`` name them: a key read as its
    variable as the schema reads it ('Age (years)', 'AGE': the code was refused as out of range
    there, imputed under 'age')."""
    codes = training_codes(loaded)
    if not codes:
        return {}
    try:
        keys, _ = loaded.schema.keys(values)
    except ClinicalValueError:  # a variable given twice: the schema's validation says so
        keys = {}
    return _coded(values, keys, codes)


def _coded(
    values: Mapping[str, Any], keys: Mapping[str, str], codes: Mapping[str, list[float]]
) -> dict[str, float]:
    """:func:`no_value_coded` of ``values`` whose keys the schema matched as ``keys`` (variable:
    key), ``codes`` the training table's."""
    named = {key: name for name, key in keys.items()} | {k: k for k in values if k in codes}
    numbers = {k: _number(values[k]) for k, name in named.items() if name in codes}
    return {k: number for k, number in numbers.items() if number in codes[named[k]]}


def training_codes(loaded: LoadedModel) -> dict[str, list[float]]:
    """The no-value codes of the model's training table, by column (tsize: -99), which its
    preprocessing reads as missing; none for a model without a table preprocessing."""
    preprocessor = getattr(loaded.model, "preprocessor_", None)
    return preprocessor.no_value_codes() if preprocessor is not None else {}


def _number(value: Any) -> float | None:
    """``value`` as a number (a JSON's 999 or '999'), else None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _feature_frame(
    row: dict[str, Any], clinical: Iterable[str], case_id: str, loaded: LoadedModel
) -> tuple[pd.DataFrame, list[str]]:
    """``row`` as a one-row table in the model's input order, and the clinical inputs imputed
    that the score depends on (:attr:`~LoadedModel.used_inputs`: the missing value of an input
    its reduction dropped was called imputed); a category the model never saw is refused
    (:func:`_refuse_unseen_levels`), as is a value it cannot score (:func:`_refuse_impossible`)."""
    used = set(loaded.used_inputs)
    imputed = [name for name in clinical if row[name] is None and name in used]
    frame = pd.DataFrame([row], index=pd.Index([case_id], name="case_id"))[loaded.inputs]
    _refuse_unseen_levels(frame, loaded)
    _refuse_impossible(frame, loaded)
    return frame, imputed


def _refuse_impossible(frame: pd.DataFrame, loaded: LoadedModel) -> None:
    """ClinicalValueError for a numeric input's value the model cannot score
    (:func:`~survival_core.models.training_range.impossible_value`: a tsize of -25, a Karnofsky
    score of 600, scored with a range caution alone)."""
    for spec, value in numeric_inputs(frame, loaded):
        why = impossible_value(spec, value, loaded)
        if why is not None:
            raise ClinicalValueError(why)


def _refuse_unseen_levels(frame: pd.DataFrame, loaded: LoadedModel) -> None:
    """ClinicalValueError for a value of a categorical input the model uses that was none of its
    training levels: its preprocessing would encode it as the reference level (a Child-Pugh C
    scored as A, a BCLC D as 0, without a word), as the nomogram refuses it."""
    preprocessor = getattr(loaded.model, "preprocessor_", None)
    if preprocessor is None:
        return
    cells = preprocessor.unseen_cells(frame, getattr(loaded.model, "features_used_", None))
    if len(cells):
        name, value, levels = cells.iloc[0][["column", "value", "levels"]]
        label = loaded.schema[name].label if name in loaded.schema.names else name
        raise ClinicalValueError(
            f"{label}: {value!r} is none of the levels model "
            f"{loaded.name} was trained on ({', '.join(levels)}): it learned nothing about it, "
            f"and would score it as {levels[0]!r}. Use a model trained on patients with it."
        )


def reads_images(loaded: LoadedModel) -> bool:
    """Whether the model needs a case's images: an image network, or any input that is not one
    of its clinical variables (radiomics, DSFR or deep features)."""
    from survival_core.models.image_base import ImageSurvivalModel

    clinical = set(loaded.card.clinical_columns)
    return isinstance(loaded.model, ImageSurvivalModel) or any(
        c not in clinical for c in loaded.inputs
    )


def require_values(
    imputed: list[str], loaded: LoadedModel, case_id: str, ignored: list[str] | None = None
) -> None:
    """ValuesNeeded when every input the score of clinical model ``loaded`` depends on is
    ``imputed`` for case ``case_id`` (values given only for inputs its reduction dropped count as
    none): its score (or nomogram points) would be the training cohort's typical patient's, not
    this one's. Every page scoring a case asks it, so none shows such a score.
    The keys given that are none of its variables (``ignored``) are named: values nested under
    a 'clinical' key, or written as a table's headers ('Age (years)')."""
    if imputed and set(imputed) >= set(loaded.used_inputs) and not reads_images(loaded):
        shown = first_few(imputed, 6)
        raise ValuesNeeded(
            f"None of model {loaded.name}'s inputs came with case {case_id}: its "
            f"{len(imputed)} variable(s) ({shown}) are all missing, so its score would be the "
            "training cohort's typical patient's, not this patient's. Give the clinical values "
            "(the Case page's form, or clinical.json)."
            + "".join(f" {said}" for said in ignored_caution(ignored or [], loaded))
        )


def ignored_caution(ignored: list[str], loaded: LoadedModel) -> list[str]:
    """The caution naming the given keys that are none of ``loaded``'s variables (a misspelt
    variable would otherwise be imputed unnoticed); [] when there are none."""
    if not ignored:
        return []
    return [
        f"Not variables of model {loaded.name}, ignored: {', '.join(ignored)} (its variables: "
        f"{', '.join(loaded.schema.names)})."
    ]


def refuse_refused(values: Mapping[str, Any], refused: Mapping[str, str], case_id: str) -> None:
    """ClinicalValueError naming each value refused when the case's values were read
    (``refused``, its reason by variable) that no value in ``values`` replaces: left out, it
    was imputed (an uploaded CSV's horTh TRUE, refused, was scored as the training cohort's
    'no')."""
    still = [why for name, why in refused.items() if values.get(name) is None]
    if still:
        raise ClinicalValueError(
            f"Case {case_id} is not scored: {len(still)} of its clinical values were refused, "
            f"and a refused value is never imputed. {' '.join(still)} Correct the value, or "
            "leave it empty where it is not known."
        )


def values_features(
    values: Mapping[str, Any],
    loaded: LoadedModel,
    case_id: str,
    refused: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One-row feature table from a patient's clinical values alone (checked by the model's
    schema), the imputed variables and the keys that are none of its variables, for a model
    that reads no image; such a model is refused first, with what it reads. ``refused``: the
    values refused when ``values`` were read (an upload's), by variable: refused again here
    (:func:`refuse_refused`)."""
    _check_scorable(loaded)
    if reads_images(loaded):
        image_inputs = [c for c in loaded.inputs if c not in loaded.card.clinical_columns]
        shown = ", ".join(image_inputs[:3]) + (" ..." if len(image_inputs) > 3 else "")
        what = f"{len(image_inputs)} image feature(s) ({shown})" if image_inputs else "the CT"
        raise InputError(
            f"Model {loaded.name} reads {what}, so clinical values alone cannot be scored: give "
            "the case folder or zip with its images."
        )
    given = _without_codes(values, loaded)
    checked = loaded.schema.validate(given)
    refuse_refused(checked.values, refused or {}, case_id)
    refuse_near_misses(loaded.schema, checked, "The clinical values", given)
    row = _clinical_inputs(checked.values, loaded)
    return (*_feature_frame(row, row, case_id, loaded), checked.unknown)


def _check_scorable(loaded: LoadedModel) -> None:
    """InputError for a model written for a study's report alone (the ``dsfr`` command's Cox
    model), saying why and what to use: it was refused for its missing DSFR network, with the
    advice to retrain it by `train`, which cannot make its study's derived inputs."""
    if loaded.study_only:
        raise InputError(f"Model {loaded.name} cannot score a case: {loaded.study_only}")


def case_features(case: Case, loaded: LoadedModel) -> tuple[pd.DataFrame, list[str]]:
    """One-row feature table of ``case`` in the model's input schema, and the imputed variables.
    A model on several modalities' radiomics reads each on the case's image of that modality
    (:func:`~survival_core.io.modality_view.modality_view`)."""
    _check_scorable(loaded)
    _check_radiomics_settings(loaded)
    refuse_refused(case.clinical, case.clinical_refused, case.case_id)
    row = _clinical_inputs(model_values(case.clinical, loaded), loaded)
    clinical = list(row)
    for prefix, image, settings in _radiomics_sources(loaded):
        from survival_core.features.case_cache import case_radiomics
        from survival_core.features.settings import roi_label
        from survival_core.io.modality_view import modality_view, read_as_note

        wanted = [c[len(prefix) :] for c in loaded.inputs if c not in row and c.startswith(prefix)]
        # only the ROIs of the features the model uses: a model left with GTV features alone
        # (its table had gtv and organ_minus_gtv) must not ask a sarcoma CT for an organ; an
        # organ ROI's columns carry the site's name (liver_minus_gtv), which the case's gives
        names = {r: (f"{r}__", f"{roi_label(r, case.site)}__") for r in settings.rois}
        used = tuple(r for r in settings.rois if any(w.startswith(names[r]) for w in wanted))
        if used and used != settings.rois:
            settings = settings.with_rois(used)
        _check_masks(case, loaded, settings)
        if prefix:
            view = modality_view(case, image)
        elif image and case.modality and case.modality.upper() != image.upper():
            raise InputError(
                f"Model {loaded.name} learned its {settings.preset} features from "
                f"{image} images; case {case.case_id} is {case.modality}, whose intensities "
                f"mean something else, so its features would not be comparable. Use a model "
                f"trained on {case.modality}.{read_as_note(case, image)}"
            )
        else:
            view = case
        features = case_radiomics(view, settings)
        row.update({prefix + name: features[name] for name in wanted if name in features})
    others = [c for c in loaded.inputs if c not in row]
    if others:
        from survival_core.features.extractors import case_columns

        row.update(case_columns(case, loaded.folder, others))
    missing = [c for c in loaded.inputs if c not in row]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise InputError(
            f"Model {loaded.name} needs {len(missing)} input(s) this case cannot provide: {shown}."
            + _other_organ(missing, case)
            + _no_network(missing, loaded)
        )
    return _feature_frame(row, clinical, case.case_id, loaded)


def _no_network(missing: list[str], loaded: LoadedModel) -> str:
    """Why network-made inputs (deep features, DSFR) are missing: the model does not carry the
    network that made them (``fit`` on such a table saves none; a run bundles it)."""
    from survival_core.features import deep, dsfr
    from survival_core.features.extractors import bundled

    carried = bundled(loaded.folder)
    kinds = [
        what
        for what, prefix, key in (
            ("deep-feature", deep.PREFIX, "deep"),
            ("DSFR", dsfr.PREFIX, "dsfr"),
        )
        if key not in carried and any(c.startswith(prefix) for c in missing)
    ]
    if not kinds:
        return ""
    return (
        f" They are {' and '.join(kinds)} columns, and the model does not carry the network that "
        "computes them (a model fitted with `fit` on such a table saves none): train it with "
        "`train` and features.deep / features.dsfr in the run config, which bundles the network."
    )


def _other_organ(missing: list[str], case: Case) -> str:
    """Why organ-ROI inputs are missing, when they are another organ's than the case's: ' The
    model reads radiomics of the liver; this case (sarcoma) has no liver contour...'."""
    from survival_core.features.settings import ORGAN_ROIS, roi_label
    from survival_core.io.structures import SITE_ORGANS

    organs = sorted(
        site
        for site in SITE_ORGANS
        if site != case.site
        and any(c.startswith(f"{roi_label(r, site)}__") for c in missing for r in ORGAN_ROIS)
    )
    if not organs:
        return ""
    organ = " and ".join(organs)
    if case.site is None and "organ" in case.masks:  # drawn, but by a name that says no organ
        return (
            f" The model reads radiomics of the {organ} (its organ around the tumour); this "
            "case's organ contour was given under a name that names no organ (a label map's "
            f"label): give the case's cancer site ({organ}) when loading it (the Case page's "
            "cancer site, or --site)."
        )
    here = f"this {case.site.replace('_', ' ')} case" if case.site else "this case"
    return (
        f" The model reads radiomics of the {organ} (its organ around the tumour); {here} has no "
        f"{organ} contour: score it with a model of its own site, or give its {organ} contour."
    )
