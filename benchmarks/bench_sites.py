"""Real scans of other sites and modalities through the upload path, stage by stage.

    .venv/bin/python benchmarks/bench_sites.py [--data ../shared/data] [--json]

Each case is uploaded as a user would (zip or loose files, de-identified and stored), read with
its GTV mapped, and its ``han2020`` and ``full`` features extracted in the case's modality (MR:
N4 bias-field correction and Nyul standardisation first; the N4 share is timed apart). Cases:
TCIA STS_001 CT and T1 MR (RTSTRUCTs linked by frame of reference), pyradiomics' lung1 (CT) and
brain1 (MR). Each stage runs once, cold, as a new upload does.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survival_core.cli.output import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _zip(folder: Path) -> list[tuple[str, bytes]]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.dcm")):
            archive.write(path, path.relative_to(folder).as_posix())
    return [("case.zip", buffer.getvalue())]


def _volumes(folder: Path, sample: str) -> list[tuple[str, bytes]]:
    return [
        ("image.nrrd", (folder / f"{sample}_image.nrrd").read_bytes()),
        ("label.nrrd", (folder / f"{sample}_label.nrrd").read_bytes()),
    ]


def _timed(work):
    start = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - start, 2)


def bench_case(files: list[tuple[str, bytes]], roles: dict, modality: str | None) -> dict:
    """Seconds of each stage of one upload, and the feature counts."""
    from survival_core.features.presets import get_preset
    from survival_core.features.radiomics import extract_case
    from survival_core.io.upload_case import describe_upload, load_upload
    from survival_core.io.uploads import store_upload
    from survival_core.preprocess.intensity import n4_bias_correct
    from survival_core.preprocess.roi import body_mask

    contents, store_s = _timed(lambda: describe_upload(store_upload(files)))
    case, read_s = _timed(
        lambda: load_upload(contents, roles or contents.suggested_roles(), modality=modality)
    )
    row = {"modality": case.modality, "voxels": int(case.array().size), "store_s": store_s}
    row["read_s"] = read_s
    if case.modality != "CT":
        _, row["n4_s"] = _timed(
            lambda: n4_bias_correct(case.image, body_mask(case.image, case.modality))
        )
    for preset in ("han2020", "full"):
        features, seconds = _timed(
            lambda p=preset: extract_case(case, get_preset(p, case.modality))
        )
        row[f"{preset}_s"], row[f"{preset}_n"] = seconds, len(features)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    sts, samples = args.data / "sts_sarcoma" / "STS_001", args.data / "pyradiomics"
    cases = {
        "sarcoma_ct": (_zip(sts / "CT"), {}, None),
        "sarcoma_mr": (_zip(sts / "MR_T1"), {}, None),
        "lung1_ct": (_volumes(samples, "lung1"), {"gtv": "label.nrrd"}, "CT"),
        "brain1_mr": (_volumes(samples, "brain1"), {"gtv": "label.nrrd"}, "MR"),
    }
    results = {name: bench_case(*spec) for name, spec in cases.items()}
    for name, row in results.items():
        print(name, row, file=sys.stderr)
    report({"cases": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
