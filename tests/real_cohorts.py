"""Cohort folders of real CT scans for the image pipelines: pyradiomics' lung1 and lung2 (CT with
their tumour labels) and their left-right mirror images, as a manifest and clinical.csv name them,
with outcomes made up per case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

#: Case id -> (pyradiomics sample, mirrored left-right).
LUNG_CASES = {
    "lung1": ("lung1", False),
    "lung2": ("lung2", False),
    "lung1_mirror": ("lung1", True),
    "lung2_mirror": ("lung2", True),
}


#: Scan kept around the tumour, mm: more than the networks' margin around the GTV box, whose
#: input is then the whole scan's (and the files a tenth of its size).
KEPT_MM = 40.0


def _write_case(folder: Path, image: sitk.Image, gtv: sitk.Image) -> None:
    """The scan and GTV cropped to the tumour's box plus :data:`KEPT_MM`, written uncompressed."""
    z, y, x = np.nonzero(sitk.GetArrayViewFromImage(gtv))
    pad = np.ceil(KEPT_MM / np.array(image.GetSpacing())).astype(int)
    low = np.maximum([x.min(), y.min(), z.min()] - pad, 0)
    high = np.minimum(np.array([x.max(), y.max(), z.max()]) + pad + 1, image.GetSize())
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))
    folder.mkdir(parents=True)
    sitk.WriteImage(image[box], str(folder / "image.nii"))
    sitk.WriteImage(gtv[box], str(folder / "gtv.nii"))


def lung_cohort(
    shared_data: Path,
    folder: Path,
    outcomes: Mapping[str, tuple[float, int]],
    gtvs: Mapping[str, tuple[str, np.ndarray]] | None = None,
) -> Path:
    """A cohort folder of the :data:`LUNG_CASES` named in ``outcomes`` (case id -> (time in
    days, event)), plus the cases of ``gtvs`` (case id -> (sample, GTV array on its grid)): a
    sample's scan with a GTV of one's own. clinical.csv holds time, event and age alone."""
    samples = shared_data / "pyradiomics"
    read = {name: (sitk.ReadImage(str(samples / f"{name}_image.nrrd")),
                   sitk.ReadImage(str(samples / f"{name}_label.nrrd")) != 0)
            for name in ("lung1", "lung2")}  # fmt: skip
    rows = []
    for case_id in outcomes:
        if case_id in LUNG_CASES:
            sample, mirrored = LUNG_CASES[case_id]
            image, label = read[sample]
            if mirrored:
                image, label = (
                    sitk.Flip(image, [True, False, False]),
                    sitk.Flip(label, [True, False, False]),
                )
        else:
            sample, array = (gtvs or {})[case_id]
            image = read[sample][0]
            label = sitk.GetImageFromArray(array.astype(np.uint8))
            label.CopyInformation(image)
        _write_case(folder / "cases" / case_id, image, sitk.Cast(label, sitk.sitkUInt8))
        rows.append(
            {"case_id": case_id, "format": "nifti", "site": "lung", "modality": "CT",
             "image": f"cases/{case_id}/image.nii", "organ_mask": "",
             "gtv_mask": f"cases/{case_id}/gtv.nii", "rtstruct": ""}
        )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    ages = np.linspace(50, 75, len(outcomes)).round()
    clinical = pd.DataFrame(
        [(c, t, e, a) for (c, (t, e)), a in zip(outcomes.items(), ages, strict=True)],
        columns=["case_id", "time", "event", "age"],
    )
    clinical.to_csv(folder / "clinical.csv", index=False)
    return folder


#: The GTV file of case ``nodes`` of :func:`lungs_with_nodes` holds label 2 alone, which loading
#: takes as the GTV with this warning.
NODES_TAKEN = "gtv.nii:2 is the only label of gtv.nii, named as the GTV, and not label 1"


def lungs_with_nodes(shared_data: Path, folder: Path) -> Path:
    """The four :data:`LUNG_CASES` and ``nodes``: lung2's scan whose GTV file holds its tumour as
    label 2 alone (HECKTOR's nodes without a primary), loaded with a warning
    (:data:`NODES_TAKEN`)."""
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung2_label.nrrd"))
    nodes = (sitk.GetArrayFromImage(label) != 0) * 2
    outcomes = {"lung1": (200, 1), "lung1_mirror": (300, 1), "lung2": (900, 0),
                "lung2_mirror": (1200, 1), "nodes": (500, 1)}  # fmt: skip
    return lung_cohort(shared_data, folder, outcomes, {"nodes": ("lung2", nodes)})
