"""Network feature extractors a saved model carries, so that a new case gets its training columns.

A model trained on DSFR columns (Wang 2022) or deep features (Han 2020) cannot score a new case
from its CT alone unless the networks that made those columns travel with it. :func:`bundle`
copies them into the model folder (``extractors/`` plus ``extractors.json``) when the model is
registered; :func:`case_columns` recomputes the columns of one case with them at scoring time.
Radiomics need no network: their extraction settings are in the model card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from survival_core.case import Case
from survival_core.errors import InputError
from survival_core.io.atomic import copy_file, copy_tree, write_json

EXTRACTORS_FILE = "extractors.json"
FOLDER = "extractors"


def bundle(
    model_dir: Path,
    dsfr_unet: Path | None = None,
    deep_network: Path | None = None,
    deep_layer: str | None = None,
) -> dict[str, Any]:
    """Copy the DSFR U-Net folder and/or the deep-feature network (folder or weights file) into
    ``model_dir/extractors`` and describe them in ``extractors.json``; returns the description."""
    described: dict[str, Any] = {}
    target = Path(model_dir) / FOLDER
    if dsfr_unet is not None:
        copy_tree(dsfr_unet, target / "dsfr_unet")
        described["dsfr"] = {"unet": f"{FOLDER}/dsfr_unet"}
    if deep_network is not None:
        source = Path(deep_network)
        name = "deep_network" + ("" if source.is_dir() else source.suffix)
        (copy_tree if source.is_dir() else copy_file)(source, target / name)
        described["deep"] = {"network": f"{FOLDER}/{name}", "layer": deep_layer}
    if described:
        write_json(Path(model_dir) / EXTRACTORS_FILE, described)
    return described


def bundled(model_dir: Path) -> dict[str, Any]:
    """The extractors a model folder carries ({} when it carries none)."""
    path = Path(model_dir) / EXTRACTORS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path} is unreadable ({err}); register the model again.") from err


def case_columns(case: Case, model_dir: Path, wanted: list[str]) -> dict[str, float]:
    """The DSFR and deep-feature columns among ``wanted`` for ``case``, computed with the networks
    bundled in ``model_dir`` (columns no bundled network makes are left out)."""
    from survival_core.features import deep, dsfr

    described = bundled(model_dir)
    out: dict[str, float] = {}
    if "dsfr" in described and any(c.startswith(dsfr.PREFIX) for c in wanted):
        from survival_core.features.segmentation import SegmentationModel, segmentation_input

        unet = SegmentationModel.load(Path(model_dir) / described["dsfr"]["unet"], device="cpu")
        table = dsfr.dsfr_features(unet, [segmentation_input(case, unet.config)])
        out.update(table.features.iloc[0].to_dict())
    if "deep" in described and any(c.startswith(deep.PREFIX) for c in wanted):
        spec = described["deep"]
        result = deep.extract_deep_features(
            [case], Path(model_dir) / spec["network"], layer=spec["layer"]
        )
        if len(result.failures):
            raise InputError(
                f"Deep features of case {case.case_id}: {result.failures['error'].iloc[0]}"
            )
        out.update(result.features.iloc[0].to_dict())
    return {k: float(v) for k, v in out.items() if k in wanted}
