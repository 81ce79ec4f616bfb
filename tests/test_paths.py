"""The data folder honours RADSURV_DATA_DIR and creates its sub-folders."""

import pytest

from survival_core import paths


def test_data_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RADSURV_DATA_DIR", str(tmp_path / "elsewhere"))
    assert paths.data_dir() == (tmp_path / "elsewhere").resolve()
    assert paths.data_subdir("cache").is_dir()
    assert paths.demo_cohort_dir().parent == (tmp_path / "elsewhere" / "demo").resolve()


def test_unknown_subfolder_is_refused():
    with pytest.raises(ValueError, match="unknown data sub-folder"):
        paths.data_subdir("scratch")


def test_tests_never_write_to_repo_data(data_folder):
    assert paths.data_dir() == data_folder.resolve()
