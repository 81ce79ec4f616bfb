"""Cohort extraction: table and failures, the content+settings cache, execution engines, Parquet
tables with their settings, and the ``extract`` command."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import SimpleITK as sitk
from case_builders import make_case

from survival_core.cli import extract as extract_command
from survival_core.engine import ProcessMapper, SerialMapper
from survival_core.errors import InputError
from survival_core.features.cohort import (
    CaseOutcome,
    cohort_key,
    extract_cases,
    extract_cohort,
    failures_path,
    warnings_path,
)
from survival_core.features.presets import get_preset
from survival_core.features.radiomics import feature_names
from survival_core.features.settings import Discretisation, ExtractionSettings, FeatureClass
from survival_core.features.table import (
    HASH_KEY,
    SETTINGS_KEY,
    read_feature_table,
    write_feature_table,
)
from survival_core.io.hashing import content_hash
from survival_core.io.manifest import cases_read_as
from tests.real_cohorts import lung_cohort

GOOD = ("C01", "C02", "C03")
BAD = "C04"  # its GTV mask is empty

#: A cheap setting: two ROIs, a few features of three classes, one discretisation, native grid.
SETTINGS = ExtractionSettings(
    "test",
    rois=("gtv", "liver_minus_gtv"),
    classes=(
        FeatureClass("firstorder", ("Mean", "Variance")),
        FeatureClass("glcm", ("Contrast",)),
        FeatureClass("glszm", ("SmallAreaEmphasis",)),
    ),
    discretisations=(Discretisation("equal_probability", levels=8),),
)


def _write_case(folder: Path, seed: int, empty_gtv: bool = False) -> None:
    """A NIfTI case folder in the cohort format (int16 HU image, uint8 masks)."""
    case = make_case(size=(32, 28, 10), spacing=(0.9, 0.9, 2.5))
    noise = np.random.default_rng(seed).normal(0, 25, (10, 28, 32))
    values = sitk.GetArrayFromImage(case.image) + noise
    image = sitk.GetImageFromArray(values.astype(np.int16))
    image.CopyInformation(case.image)
    folder.mkdir(parents=True)
    sitk.WriteImage(image, str(folder / "image.nii.gz"))
    sitk.WriteImage(case.masks["organ"], str(folder / "liver.nii.gz"))
    gtv = case.masks["gtv"] * 0 if empty_gtv else case.masks["gtv"]
    sitk.WriteImage(gtv, str(folder / "gtv.nii.gz"))


def _write_cohort(root: Path) -> Path:
    root.mkdir(parents=True)
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "format", "image", "liver_mask", "gtv_mask", "rtstruct"])
        for i, case_id in enumerate((*GOOD, BAD)):
            _write_case(root / "cases" / case_id, seed=i, empty_gtv=case_id == BAD)
            files = [f"cases/{case_id}/{name}.nii.gz" for name in ("image", "liver", "gtv")]
            writer.writerow([case_id, "nifti", *files, ""])
    return root


@pytest.fixture()
def cohort(tmp_path: Path) -> Path:
    return _write_cohort(tmp_path / "cohort")


@pytest.fixture()
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder per test, so cache counts do not leak between tests."""
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "cache" / "features"


def _cases(cohort: Path) -> list[tuple[str, Path]]:
    return [(case_id, cohort / "cases" / case_id) for case_id in (*GOOD, BAD)]


def test_table_has_good_cases_and_failures_are_listed(cohort: Path, cache_root: Path) -> None:
    result = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper())
    assert list(result.features.index) == list(GOOD)
    assert list(result.features.columns) == feature_names(SETTINGS, site="liver")
    assert result.site == "liver"  # from the organ mask's name (liver.nii.gz)
    assert np.isfinite(result.features.to_numpy()).all()
    assert result.failures["case_id"].tolist() == [BAD]
    error = result.failures["error"].iloc[0]
    assert (
        "gtv" in error and "C04" in error and "empty" in error
    )  # the loader's message, as written
    assert (result.n_cases, result.n_extracted, result.n_cached, result.n_failed) == (4, 3, 0, 1)


def test_cache_skips_unchanged_cases_and_redoes_changed_ones(
    cohort: Path, cache_root: Path
) -> None:
    first = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper())
    second = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper())
    assert (second.n_extracted, second.n_cached) == (0, 3)
    pd.testing.assert_frame_equal(first.features, second.features)
    assert (
        len(list((cache_root / SETTINGS.hash()).glob("*.json"))) == 3 + 1
    )  # cases + settings.json

    _write_case(cohort / "cases" / "C02x", seed=99)  # new content for C02
    (cohort / "cases" / "C02" / "image.nii.gz").write_bytes(
        (cohort / "cases" / "C02x" / "image.nii.gz").read_bytes()
    )
    third = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper())
    assert (third.n_extracted, third.n_cached) == (1, 2)
    changed = (third.features != first.features).any(axis=1)
    assert changed.tolist() == [False, True, False]


def test_other_settings_use_another_cache(cohort: Path, cache_root: Path) -> None:
    extract_cases(_cases(cohort)[:1], SETTINGS, mapper=SerialMapper())
    other = ExtractionSettings(
        SETTINGS.preset, ("gtv",), SETTINGS.classes, discretisations=SETTINGS.discretisations
    )
    assert extract_cases(_cases(cohort)[:1], other, mapper=SerialMapper()).n_extracted == 1


def test_worker_processes_give_the_serial_values(cohort: Path, cache_root: Path) -> None:
    serial = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper(), use_cache=False)
    parallel = extract_cases(_cases(cohort), SETTINGS, mapper=ProcessMapper(2), use_cache=False)
    pd.testing.assert_frame_equal(serial.features, parallel.features)
    pd.testing.assert_frame_equal(serial.failures, parallel.failures)


class _CrashingMapper:
    """An engine whose worker dies on the second case (what a killed process looks like)."""

    def map_unordered(self, fn: Callable, items: Sequence) -> Iterator[tuple[object, object]]:
        for i, item in enumerate(items):
            yield item, (RuntimeError("worker killed") if i == 1 else fn(item))


def test_engine_failures_become_failure_rows(cohort: Path, cache_root: Path) -> None:
    result = extract_cases(_cases(cohort)[:3], SETTINGS, mapper=_CrashingMapper(), use_cache=False)
    assert result.failures.to_dict("records") == [
        {"case_id": "C02", "error": "RuntimeError: worker killed"}
    ]
    assert list(result.features.index) == ["C01", "C03"]


def test_missing_case_folder_is_a_failure_not_a_crash(cohort: Path, cache_root: Path) -> None:
    result = extract_cases([("GONE", cohort / "cases" / "GONE")], SETTINGS, mapper=SerialMapper())
    assert "does not exist" in result.failures["error"].iloc[0]
    assert result.features.empty


def test_progress_reports_every_case_once(cohort: Path, cache_root: Path) -> None:
    seen: list[tuple[int, int, str, str]] = []
    extract_cases(
        _cases(cohort),
        SETTINGS,
        mapper=SerialMapper(),
        progress=lambda d, t, o, h: seen.append((d, t, o.case_id, h)),
    )
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert {(s[2], s[3]) for s in seen} == {
        ("C01", "extracted"),
        ("C02", "extracted"),
        ("C03", "extracted"),
        (BAD, "failed"),
    }


def test_content_hash_follows_bytes_and_names(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    (folder / "ct").mkdir(parents=True)
    (folder / "ct" / "a.dcm").write_bytes(b"abc")
    (folder / "b.json").write_bytes(b"{}")
    first = content_hash(folder)
    assert content_hash(folder) == first and len(first) == 64
    (folder / "ct" / "a.dcm").write_bytes(b"abd")
    assert content_hash(folder) != first
    (folder / "ct" / "a.dcm").write_bytes(b"abc")
    (folder / "ct" / "a.dcm").rename(folder / "ct" / "c.dcm")
    assert content_hash(folder) != first


def test_feature_table_round_trip_keeps_values_and_settings(tmp_path: Path) -> None:
    data = pd.DataFrame(
        {"gtv__lloydmax8__glcm__Correlation": [0.25, np.nan]},
        index=pd.Index(["A", "B"], name="case_id"),
    )
    settings = get_preset("wei2021")
    path = write_feature_table(data, tmp_path / "f.parquet", settings)
    table = read_feature_table(path)
    pd.testing.assert_frame_equal(table.data, data)
    assert table.settings == settings and table.settings_hash == settings.hash()
    metadata = pq.read_schema(path).metadata
    assert json.loads(metadata[SETTINGS_KEY]) == settings.to_dict()
    assert metadata[HASH_KEY].decode() == settings.hash()


def test_two_writers_of_one_table_each_write_a_whole_table(tmp_path: Path) -> None:
    """Two runs building one cohort table at once shared a '.partial' file: one failed (file
    not found when moving it into place), or said 'ok' while the table held the other's rows."""
    from concurrent.futures import ThreadPoolExecutor

    settings = get_preset("wei2021")
    path = tmp_path / "f.parquet"
    rng = np.random.default_rng(0)
    tables = [
        pd.DataFrame(
            rng.normal(size=(2000, 200)),
            index=pd.Index([f"{writer}{i}" for i in range(2000)], name="case_id"),
            columns=[f"f{j}" for j in range(200)],
        )
        for writer in "AB"
    ]
    for _ in range(4):
        with ThreadPoolExecutor(2) as pool:
            written = list(pool.map(lambda t: write_feature_table(t, path, settings), tables))
        assert written == [path, path]
        result = read_feature_table(path).data
        assert any(result.equals(t) for t in tables)
    assert [p.name for p in tmp_path.iterdir()] == ["f.parquet"]


def test_tables_of_earlier_versions_still_read(tmp_path: Path) -> None:
    """A wei2021 table written before sites existed (ROI "liver_minus_gtv" in its settings) reads
    as today's settings; its hash is checked against the JSON it was written with."""
    path = write_feature_table(
        pd.DataFrame({"x": [1.0]}, index=["A"]), tmp_path / "f.parquet", get_preset("wei2021")
    )
    table = pq.read_table(path)
    legacy = table.schema.metadata[SETTINGS_KEY].replace(b'"organ_minus_gtv"', b'"liver_minus_gtv"')
    legacy_hash = hashlib.sha256(legacy).hexdigest()[:16].encode()
    metadata = {**table.schema.metadata, SETTINGS_KEY: legacy, HASH_KEY: legacy_hash}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    assert read_feature_table(path).settings == get_preset("wei2021")


def test_tables_not_ours_or_altered_are_rejected(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1.0]}), plain)
    with pytest.raises(InputError, match="no extraction settings"):
        read_feature_table(plain)
    path = write_feature_table(
        pd.DataFrame({"x": [1.0]}, index=["A"]), tmp_path / "f.parquet", get_preset("wei2021")
    )
    table = pq.read_table(path)
    metadata = {**table.schema.metadata, HASH_KEY: b"0000000000000000"}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    with pytest.raises(InputError, match="altered"):
        read_feature_table(path)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="not a readable Parquet"):
        read_feature_table(tmp_path / "junk.parquet")


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    extract_command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_extract_command_writes_table_failures_and_json(
    cohort: Path, cache_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out" / "features.parquet"
    argv = f"extract --cohort {cohort} --preset wei2021 --out {out} --workers 1 --json".split()
    assert _run_cli(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("n_cases", "n_features", "n_failed")} == {
        "n_cases": 4,
        "n_features": 56,
        "n_failed": 1,
    }
    assert summary["seconds"] >= 0
    assert "[4/4]" in captured.err
    table = read_feature_table(out)
    assert list(table.data.index) == list(GOOD) and table.settings.preset == "wei2021"
    assert pd.read_csv(failures_path(out))["case_id"].tolist() == [BAD]

    assert _run_cli(argv) == 0  # cached now
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n_cached"] == 3


def test_extract_lists_each_cases_load_warnings_cached_or_not(
    shared_data: Path, cache_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A case whose GTV file holds label 2 alone (HECKTOR's nodes) is taken as the GTV with a
    warning, which extract wrote nowhere: a physicist could not tell which cases' features rest
    on a guess. OUT.warnings.csv lists it, not the clean case, and so do a cached re-run and a
    re-run over cache entries of a version that kept no warnings (those cases extracted again)."""
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung2_label.nrrd"))
    nodes = (sitk.GetArrayFromImage(label) != 0) * 2
    outcomes = {"lung1": (300.0, 1), "nodes": (200.0, 0)}
    cohort = lung_cohort(shared_data, tmp_path / "lungs", outcomes, {"nodes": ("lung2", nodes)})
    out = tmp_path / "out" / "features.parquet"
    argv = f"extract --cohort {cohort} --preset han2020 --out {out} --workers 1 --json".split()
    taken = "gtv.nii:2 is the only label of gtv.nii, named as the GTV, and not label 1"

    def run_and_check() -> dict:
        assert _run_cli(argv) == 0
        captured = capsys.readouterr()
        summary = json.loads(captured.out.strip().splitlines()[-1])
        assert summary["n_warned"] == 1 and summary["warnings"] == str(warnings_path(out))
        assert "1 case(s) loaded with warnings (their features" in captured.err
        assert f"see {warnings_path(out)}." in captured.err
        table = pd.read_csv(warnings_path(out))
        assert table["case_id"].tolist() == ["nodes"]
        assert table["warning"].iloc[0].startswith(taken)
        assert "it is taken as the GTV (tumour)" in table["warning"].iloc[0]
        return summary

    assert run_and_check()["n_extracted"] == 2
    assert run_and_check()["n_cached"] == 2
    for entry in cache_root.glob("*/*.json"):  # as an earlier version wrote them
        stored = json.loads(entry.read_text())
        if stored.pop("warnings", None) is not None:
            entry.write_text(json.dumps(stored))
    assert run_and_check()["n_extracted"] == 2


def test_extract_help_states_its_exit_status_with_failed_cases(capsys) -> None:
    """extract exits 0 with some cases failed (as the test above) where score exits 2 on any: a
    script that read its status as success missed the failures; its help says to check
    n_failed and when it exits 2."""
    from survival_core.cli.main import main

    with pytest.raises(SystemExit):
        main(["extract", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "Exit status 0 when any case was extracted, even if others failed" in said
    assert "OUT.failures.csv" in said and "a script checks n_failed" in said
    assert "2 when every case failed" in said


def test_an_extraction_where_every_case_failed_keeps_the_earlier_table(
    cohort: Path, cache_root: Path, tmp_path: Path
) -> None:
    """Every case failing lists them all and writes no table: an empty one replaced the good
    table of the earlier run (and a run reused it as its cache)."""
    out = tmp_path / "out" / "features.parquet"
    argv = f"extract --cohort {cohort} --preset wei2021 --out {out} --workers 1".split()
    assert _run_cli(argv) == 0
    for case_id in GOOD:  # each GTV emptied, as BAD's is
        shutil.copy(cohort / "cases" / BAD / "gtv.nii.gz", cohort / "cases" / case_id)
    with pytest.raises(InputError, match=r"All 4 cases failed.*no feature table.*left as it was"):
        _run_cli(argv)
    assert list(read_feature_table(out).data.index) == list(GOOD)
    assert sorted(pd.read_csv(failures_path(out))["case_id"]) == [*GOOD, BAD]

    fresh = tmp_path / "fresh" / "features.parquet"
    with pytest.raises(InputError, match=r"All 4 cases failed"):
        _run_cli([*argv[:-3], str(fresh), "--workers", "1"])
    assert not fresh.exists() and failures_path(fresh).is_file()


def test_a_liver_roi_name_on_a_lung_cohort_is_noted(
    cohort: Path, cache_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``--roi liver_minus_gtv`` (the name of earlier, liver-only versions) on a lung cohort
    became lung_minus_gtv columns without a word; the run now says so and what to give."""
    manifest = pd.read_csv(cohort / "manifest.csv").rename(columns={"liver_mask": "organ_mask"})
    manifest.assign(site="lung").to_csv(cohort / "manifest.csv", index=False)
    out = tmp_path / "lung.parquet"
    argv = f"extract --cohort {cohort} --preset full --out {out} --workers 1".split()
    assert _run_cli([*argv, "--roi", "gtv", "--roi", "liver_minus_gtv"]) == 0
    err = capsys.readouterr().err
    assert "Note: --roi liver_minus_gtv as organ_minus_gtv (lung_minus_gtv)" in err
    assert "give --roi organ_minus_gtv" in err
    assert any(c.startswith("lung_minus_gtv__") for c in read_feature_table(out).data.columns)
    assert _run_cli([*argv, "--roi", "gtv", "--roi", "organ_minus_gtv"]) == 0
    assert "Note: --roi" not in capsys.readouterr().err


def test_extract_command_rejects_a_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no manifest.csv"):
        _run_cli(f"extract --cohort {tmp_path} --preset wei2021 --out {tmp_path}/f.parquet".split())


def test_extract_cohort_reads_the_manifest(cohort: Path, cache_root: Path) -> None:
    result = extract_cohort(cohort, SETTINGS, workers=1)
    assert list(result.features.index) == list(GOOD)
    assert isinstance(result.outcomes[0], CaseOutcome)


def test_generated_cohort_with_dicom_and_nifti_cases_extracts(
    small_cohort: Path, cache_root: Path
) -> None:
    result = extract_cohort(small_cohort, SETTINGS, workers=1)
    assert result.n_failed == 0, result.failures.to_dict("records")
    assert len(result.features) == 6
    assert np.isfinite(result.features.to_numpy()).all()


def test_the_manifests_modality_is_not_overridden_or_mixed(cohort: Path, cache_root: Path) -> None:
    """`extract --modality MR` on a cohort whose manifest says CT computed the MR variant
    (bias-field correction, MR standardisation) on CT images and labelled the table MR; a
    manifest mixing CT and MR NIfTI cases read them all as one modality. Each case is now read
    as its row says and refused where that is not the settings' modality."""
    manifest = pd.read_csv(cohort / "manifest.csv").assign(modality="CT")
    manifest.to_csv(cohort / "manifest.csv", index=False)
    refused = extract_cohort(cohort, SETTINGS, workers=1, modality="MR")
    assert refused.features.empty and len(refused.failures) == len(GOOD) + 1
    errors = refused.failures.set_index("case_id")["error"]
    assert errors[list(GOOD)].str.startswith("The case is CT; the cohort's features are").all()
    manifest.loc[0, "modality"] = "MR"
    manifest.to_csv(cohort / "manifest.csv", index=False)
    mixed = extract_cohort(cohort, SETTINGS, workers=1, modality="CT")
    assert list(mixed.features.index) == list(GOOD[1:])
    first = mixed.failures.set_index("case_id").loc[GOOD[0], "error"]
    assert first.startswith("The case is MR")


def test_a_manifest_naming_each_patients_dicom_folder_reads_each_patient(
    small_cohort: Path, tmp_path: Path, cache_root: Path
) -> None:
    """Slices and RTSTRUCT together in cases/<id>/ (as PACS exports them), the manifest's image
    naming that folder: each case was read as cases/, every patient's series, and all failed
    with 'holds 3 CT series ... of 3 patients'."""
    import shutil

    rows = pd.read_csv(small_cohort / "manifest.csv").query("format == 'dicom'")
    flat = tmp_path / "flat"
    for case_id in rows["case_id"]:
        source = small_cohort / "cases" / case_id
        shutil.copytree(source / "ct", flat / "cases" / case_id)
        shutil.copy(source / "rtstruct.dcm", flat / "cases" / case_id / "rtstruct.dcm")
    rows.assign(
        image=[f"cases/{c}" for c in rows["case_id"]],
        rtstruct=[f"cases/{c}/rtstruct.dcm" for c in rows["case_id"]],
    ).to_csv(flat / "manifest.csv", index=False)
    result = extract_cohort(flat, SETTINGS, workers=1)
    assert result.n_failed == 0, result.failures.to_dict("records")
    reference = extract_cohort(small_cohort, SETTINGS, workers=1).features
    pd.testing.assert_frame_equal(result.features, reference.loc[result.features.index])


def test_a_site_the_manifest_contradicts_is_refused_per_case(
    cohort: Path, cache_root: Path
) -> None:
    """`extract --site lung` on a liver cohort read each NIfTI case's liver file as the lung and
    filled the lung columns with liver tissue (DICOM cases were refused: no lung contour)."""
    manifest = pd.read_csv(cohort / "manifest.csv").assign(site="liver")
    manifest.loc[0, "site"] = ""  # a row without a site is read at the one given
    manifest.to_csv(cohort / "manifest.csv", index=False)
    lung = extract_cohort(cohort, SETTINGS, workers=1, site="lung")
    assert list(lung.features.index) == list(GOOD[:1])
    errors = lung.failures.set_index("case_id")["error"]
    assert (
        errors[list(GOOD[1:])]
        .str.startswith(f"The manifest says case {GOOD[1]} is a liver case; read as a lung case")
        .iloc[:1]
        .all()
    )
    assert errors[list(GOOD[1:])].str.contains("Give --site liver").all()
    liver = extract_cohort(cohort, SETTINGS, workers=1, site="Liver")
    assert list(liver.features.index) == list(GOOD)


def test_a_case_file_changed_in_place_is_a_new_cohort_table(cohort: Path, cache_root: Path) -> None:
    """The cohort's radiomics table was keyed by its manifest alone: a run after GTVs were
    redrawn in place reused the old contours' features (and logged the same data hashes)."""
    import os

    from survival_core.features.cohort import cohort_key, feature_table_path

    before = feature_table_path(cohort, "wei2021", SETTINGS)
    assert feature_table_path(cohort, "wei2021", SETTINGS) == before
    gtv = cohort / "cases" / GOOD[0] / "gtv.nii.gz"
    mask = sitk.ReadImage(str(gtv))
    array = sitk.GetArrayFromImage(mask)
    array[: array.shape[0] // 2] = 0
    halved = sitk.GetImageFromArray(array)
    halved.CopyInformation(mask)
    sitk.WriteImage(halved, str(gtv))
    os.utime(gtv, ns=(gtv.stat().st_atime_ns, gtv.stat().st_mtime_ns + 10**9))
    assert feature_table_path(cohort, "wei2021", SETTINGS) != before
    assert cohort_key(cohort) == cohort_key(cohort)


def test_a_file_replaced_with_its_size_and_times_kept_is_a_new_cohort_table(
    cohort: Path, cache_root: Path, tmp_path: Path
) -> None:
    """A corrected mask of the same size copied in with its modification time kept (``cp -p``,
    ``rsync -a``, unzip) left the key unchanged: a run reused the old contours' radiomics. A
    cohort folder moved whole keeps its key (and its tables)."""
    import os
    import time

    from survival_core.features.cohort import cohort_key

    before = cohort_key(cohort)
    gtv = cohort / "cases" / GOOD[0] / "gtv.nii.gz"
    stat, data = gtv.stat(), bytearray(gtv.read_bytes())
    data[-1] ^= 0xFF
    time.sleep(0.01)
    gtv.write_bytes(bytes(data))
    os.utime(gtv, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert gtv.stat().st_size == stat.st_size and gtv.stat().st_mtime_ns == stat.st_mtime_ns
    changed = cohort_key(cohort)
    assert changed != before
    moved = cohort.rename(tmp_path / "moved")
    assert cohort_key(moved) == changed


def test_the_manifests_mask_files_are_the_cases_roles(cohort: Path, cache_root: Path) -> None:
    """A folder may hold more volumes than its manifest row lists: a nodal GTV beside the GTV
    was united with it by name (the row's gtv_mask ignored, the union warning never shown)."""
    before = extract_cohort(cohort, SETTINGS, workers=1, use_cache=False).features
    folder = cohort / "cases" / GOOD[0]
    gtv = sitk.ReadImage(str(folder / "gtv.nii.gz"))
    nodal = sitk.GetArrayFromImage(gtv) * 0
    nodal[0, :3, :3] = 1  # a small second lesion, apart from the first
    node = sitk.GetImageFromArray(nodal)
    node.CopyInformation(gtv)
    sitk.WriteImage(node, str(folder / "GTVn.nii.gz"))
    after = extract_cohort(cohort, SETTINGS, workers=1, use_cache=False).features
    pd.testing.assert_frame_equal(after, before)


def test_a_case_read_otherwise_is_not_served_from_the_cache(cohort: Path, cache_root: Path) -> None:
    """The per-case cache was keyed by the folder's content alone: after the manifest said the
    volumes are MR, their CT features came back from the cache, never checked."""
    first = extract_cohort(cohort, SETTINGS, workers=1)
    assert len(first.features) == len(GOOD)
    manifest = pd.read_csv(cohort / "manifest.csv").assign(modality="MR")
    manifest.to_csv(cohort / "manifest.csv", index=False)
    again = extract_cohort(cohort, SETTINGS, workers=1, modality="CT")
    assert again.features.empty
    errors = again.failures.set_index("case_id")["error"]
    assert errors[list(GOOD)].str.startswith("The case is MR").all()


def test_a_case_read_for_another_site_is_not_served_from_the_cache(
    cohort: Path, cache_root: Path
) -> None:
    """The cache key had no site: after a run for the organ's own site, a run for another site
    got the first run's features back (or, the other way round, its failures), unlike the same
    run without the cache."""
    extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper())
    cached = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper(), site="lung")
    fresh = extract_cases(
        _cases(cohort), SETTINGS, mapper=SerialMapper(), site="lung", use_cache=False
    )
    assert cached.n_cached == 0
    pd.testing.assert_frame_equal(cached.features, fresh.features)
    pd.testing.assert_frame_equal(cached.failures, fresh.failures)
    again = extract_cases(_cases(cohort), SETTINGS, mapper=SerialMapper(), site="lung")
    assert again.n_cached == cached.n_extracted


def _split_cohort(root: Path) -> Path:
    """The good cases laid out as a physicist's export: every image in images/, every mask in
    masks/, named by patient, and a manifest naming them."""
    source = _write_cohort(root / "source")
    for folder in ("images", "masks"):
        (root / "split" / folder).mkdir(parents=True)
    rows = []
    for case_id in GOOD:
        files = {
            "image": f"images/{case_id}.nii.gz",
            "liver_mask": f"masks/{case_id}_liver.nii.gz",
            "gtv_mask": f"masks/{case_id}_gtv.nii.gz",
        }
        for column, name in zip(files, ("image", "liver", "gtv"), strict=True):
            data = (source / "cases" / case_id / f"{name}.nii.gz").read_bytes()
            (root / "split" / files[column]).write_bytes(data)
        rows.append({"case_id": case_id, "format": "nifti", **files, "rtstruct": ""})
    pd.DataFrame(rows).to_csv(root / "split" / "manifest.csv", index=False)
    return root / "split"


def test_cases_of_shared_folders_are_keyed_by_their_own_files(tmp_path, cache_root):
    """Cases whose files share images/ and masks/ folders were each keyed by every patient's
    files: a feature table written into the cohort, or one patient's new mask, made every case
    new (and its tables' cohort key), extracting the whole cohort again."""
    cohort = _split_cohort(tmp_path)
    first = extract_cohort(cohort, SETTINGS, workers=1)
    assert list(first.features.index) == list(GOOD) and first.n_extracted == 3
    key = cohort_key(cohort)
    (cohort / "wei2021.parquet").write_bytes(b"a table written beside the folders")
    again = extract_cohort(cohort, SETTINGS, workers=1)
    assert (again.n_cached, again.n_extracted) == (3, 0) and cohort_key(cohort) == key
    mask = cohort / "masks" / "C02_gtv.nii.gz"
    mask.write_bytes((cohort / "masks" / "C02_liver.nii.gz").read_bytes())  # a new contour
    changed = extract_cohort(cohort, SETTINGS, workers=1)
    assert changed.n_cached == 2 and cohort_key(cohort) != key  # C02 read again (its GTV
    assert changed.failures["case_id"].tolist() == ["C02"]  # is now the whole liver: refused)


def _label_map_gtvs(cohort: Path) -> None:
    """Each case's GTV as label 2 of one label map per patient (label 1 the rest of its organ,
    as LiTS exports), the manifest naming it 'masks/<case>_labels.nii.gz:2'."""
    manifest = pd.read_csv(cohort / "manifest.csv")
    for case_id in GOOD:
        organ, gtv = (
            sitk.ReadImage(cohort / "masks" / f"{case_id}_{r}.nii.gz") for r in ("liver", "gtv")
        )
        labels = sitk.Cast(organ > 0, sitk.sitkUInt8) + sitk.Cast(gtv > 0, sitk.sitkUInt8)
        sitk.WriteImage(labels, cohort / "masks" / f"{case_id}_labels.nii.gz")
    manifest["gtv_mask"] = [f"masks/{case_id}_labels.nii.gz:2" for case_id in GOOD]
    manifest.to_csv(cohort / "manifest.csv", index=False)


def test_a_mask_named_by_its_label_keys_the_cache_by_its_file(tmp_path, cache_root):
    """A manifest naming a label of a label map ('masks/C02_labels.nii.gz:2') in shared images/
    and masks/ folders keyed the case by its image alone ('file:label' is no file): a corrected
    contour was served the old contour's features from the cache, under the same cohort key."""
    cohort = _split_cohort(tmp_path)
    _label_map_gtvs(cohort)
    first = extract_cohort(cohort, SETTINGS, workers=1)
    assert first.n_extracted == 3 and first.failures.empty
    key, reads = cohort_key(cohort), {r.case_id: r.key() for r in cases_read_as(cohort)}
    path = cohort / "masks" / "C02_labels.nii.gz"
    labels = sitk.ReadImage(path)
    eroded = sitk.BinaryErode(labels == 2, [1, 1, 0])
    sitk.WriteImage(sitk.Mask(labels, eroded | (labels != 2), 1), path)  # the GTV redrawn smaller
    changed = extract_cohort(cohort, SETTINGS, workers=1)
    fresh = extract_cohort(cohort, SETTINGS, workers=1, use_cache=False)
    assert (changed.n_cached, changed.n_extracted) == (2, 1) and cohort_key(cohort) != key
    pd.testing.assert_frame_equal(changed.features, fresh.features)
    assert not changed.features.loc["C02"].equals(first.features.loc["C02"])
    now = {r.case_id: r.key() for r in cases_read_as(cohort)}
    assert [c for c in GOOD if now[c] != reads[c]] == ["C02"]  # the volume cache's key too


def test_a_single_case_with_its_files_beside_the_manifest_is_keyed_by_them(tmp_path, cache_root):
    """One case of images/ and masks/ folders: its folder is the cohort's own, and a table
    written beside the manifest changed its key and the cohort's."""
    cohort = _split_cohort(tmp_path)
    manifest = pd.read_csv(cohort / "manifest.csv")
    manifest.iloc[:1].to_csv(cohort / "manifest.csv", index=False)
    key = cohort_key(cohort)
    first = extract_cohort(cohort, SETTINGS, workers=1)
    (cohort / "wei2021.parquet").write_bytes(b"a table written beside the manifest")
    again = extract_cohort(cohort, SETTINGS, workers=1)
    assert (first.n_extracted, again.n_cached) == (1, 1) and cohort_key(cohort) == key


def test_a_dicom_cases_structure_set_is_the_one_its_manifest_names(tmp_path, cache_root):
    """A DICOM case folder holding two structure sets (a planning and a research contour) was
    refused whatever the manifest's ``rtstruct`` column said. The named one is now read, and a
    row naming the other is another cache entry, not the first one's features."""
    from tests.dicom_fixtures import ct_slices, hu_volume, rtstruct, square, write

    spacing, z = (1.5, 1.5, 2.5), [k * 2.5 for k in range(8)]
    root = tmp_path / "cohort"
    sides = {"small": 6.0, "large": 12.0}
    for case_id in ("P1", "P2"):
        slices = ct_slices(hu_volume((8, 24, 24)), spacing=spacing, origin=(-18.0, -18.0, 0.0))
        for k, s in enumerate(slices):
            write(s, root / case_id / "ct" / f"{k}.dcm")
        for name, side in sides.items():
            gtv = [square((0.75, 0.75), side, h) for h in z[3:5]]  # edges between voxels
            write(rtstruct(slices, {"GTV": gtv}), root / case_id / f"{name}.dcm")
            # as TCIA names them: one file name in every series' folder
            folder = "planning" if name == "small" else "research"
            write(rtstruct(slices, {"GTV": gtv}), root / case_id / folder / "1-1.dcm")

    def manifest(named: dict[str, str]) -> None:
        rows = [
            {"case_id": c, "format": "dicom", "image": f"{c}/ct", "organ_mask": "", "gtv_mask": ""}
            | {"rtstruct": f"{c}/{n}.dcm"}
            for c, n in named.items()
        ]
        pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)

    settings = ExtractionSettings(
        "test-rtstruct",
        rois=("gtv",),
        classes=(FeatureClass("shape", ("VoxelVolume",)),),
        discretisations=(Discretisation("equal_probability", levels=8),),
    )
    volume = "gtv__original__shape__VoxelVolume"
    manifest({"P1": "large", "P2": "small"})
    first = extract_cohort(root, settings, mapper=SerialMapper())
    assert first.failures.empty
    # squares of 12 and 6 mm on 1.5 mm voxels, over two slices of 2.5 mm
    expected = {"P1": 8 * 8 * 2 * 1.5 * 1.5 * 2.5, "P2": 4 * 4 * 2 * 1.5 * 1.5 * 2.5}
    assert first.features[volume].to_dict() == pytest.approx(expected)
    manifest({"P1": "small", "P2": "small"})
    swapped = extract_cohort(root, settings, mapper=SerialMapper())
    assert swapped.features.loc["P1", volume] == pytest.approx(expected["P2"])
    for chosen, size in (("planning/1-1", "P2"), ("research/1-1", "P1")):  # one name, two files
        manifest({"P1": chosen})
        named = extract_cohort(root, settings, mapper=SerialMapper())
        assert named.features.loc["P1", volume] == pytest.approx(expected[size]), chosen
    unnamed_row = {
        "case_id": "P1",
        "format": "dicom",
        "image": "P1/ct",
        "organ_mask": "",
        "gtv_mask": "",
    }
    pd.DataFrame([unnamed_row | {"rtstruct": ""}]).to_csv(root / "manifest.csv", index=False)
    unnamed = extract_cohort(root, settings, mapper=SerialMapper())
    assert "holds several structure sets" in unnamed.failures["error"].iloc[0]
    manifest({"P1": "other"})
    missing = extract_cohort(root, settings, mapper=SerialMapper()).failures["error"].iloc[0]
    assert "P1/other.dcm is not one of the structure sets" in missing


def test_native_grid_features_of_mixed_voxel_sizes_are_noted(
    shared_data: Path, tmp_path: Path, cache_root: Path
) -> None:
    """pyradiomics' real lung CT read at its own 0.59 mm voxels and resampled to 1.2 mm: native
    grid features of the two are not comparable, and nothing said so (mixed MR weightings were
    noted); the note names the voxel sizes, read back from the cache too. A 1 mm preset, or one
    voxel size, says nothing."""
    from survival_core.features.cohort import mixed_spacing_note

    image = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_image.nrrd"))
    label = sitk.ReadImage(str(shared_data / "pyradiomics" / "lung1_label.nrrd"))
    box = sitk.LabelStatisticsImageFilter()
    box.Execute(label, label)
    x0, x1, y0, y1, z0, z1 = box.GetBoundingBox(1)
    low = [max(x0 - 8, 0), max(y0 - 8, 0), max(z0 - 2, 0)]
    size = [min(x1 + 9, image.GetSize()[0]) - low[0], min(y1 + 9, image.GetSize()[1]) - low[1],
            min(z1 + 3, image.GetSize()[2]) - low[2]]  # fmt: skip
    image, label = (sitk.RegionOfInterest(v, size, low) for v in (image, label))
    cases = []
    for case_id, factor in (("L1", 1.0), ("L2", 1.0), ("L3", 2.0)):
        folder = tmp_path / "cases" / case_id
        folder.mkdir(parents=True)
        spacing = [s * (factor if axis < 2 else 1.0) for axis, s in enumerate(image.GetSpacing())]
        shape = [round(n / (factor if axis < 2 else 1.0)) for axis, n in enumerate(image.GetSize())]
        grid = sitk.Image(shape, sitk.sitkInt16)
        grid.SetSpacing(spacing)
        grid.SetOrigin(image.GetOrigin())
        grid.SetDirection(image.GetDirection())
        resample = partial(sitk.Resample, referenceImage=grid, transform=sitk.Transform())
        sitk.WriteImage(resample(image, interpolator=sitk.sitkLinear), str(folder / "image.nrrd"))
        nearest = resample(label, interpolator=sitk.sitkNearestNeighbor)
        sitk.WriteImage(nearest, str(folder / "gtv.nrrd"))
        cases.append((case_id, folder))
    settings = ExtractionSettings(
        "test", rois=("gtv",), classes=(FeatureClass("glcm", ("Contrast",)),),
        discretisations=(Discretisation("equal_probability", levels=8),),
    )  # fmt: skip
    for run in ("extracted", "cached"):
        result = extract_cases(cases, settings, mapper=SerialMapper(), site="lung")
        assert result.n_cached == (3 if run == "cached" else 0)
        note = mixed_spacing_note(settings, result.voxel_sizes)
        assert note is not None and "2 voxel sizes" in note, note
        fine, coarse = (
            f"{s:.2f} x {s:.2f} x" for s in (image.GetSpacing()[0], image.GetSpacing()[0] * 2)
        )
        assert list(result.voxel_sizes.values()) == [2, 1] and fine in note and coarse in note
    one_size = extract_cases(cases[:2], settings, mapper=SerialMapper(), site="lung")
    assert mixed_spacing_note(settings, one_size.voxel_sizes) is None
    assert mixed_spacing_note(get_preset("wei2021", "CT"), result.voxel_sizes) is None  # 1 mm
    from survival_core.features.cohort import write_cohort_features
    from survival_core.features.table import read_voxel_sizes

    table, _ = write_cohort_features(result, tmp_path / "t.parquet", settings, "CT")
    assert read_voxel_sizes(table) == result.voxel_sizes  # a run reusing the table notes them


def test_a_new_way_of_reading_images_is_a_new_cohort_table(
    cohort: Path, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-case cache was stamped with how images are read (GRID_ANCHOR) but the cohort
    table was not: after an upgrade that reads NIfTI geometry or DICOM padding otherwise, a run
    reused the table of the earlier reading, training on features scoring no longer gives."""
    from survival_core.features import cohort as feature_cohort

    before = feature_cohort.feature_table_path(cohort, "wei2021", SETTINGS)
    monkeypatch.setattr(feature_cohort, "GRID_ANCHOR", "another reading")
    assert feature_cohort.feature_table_path(cohort, "wei2021", SETTINGS) != before
