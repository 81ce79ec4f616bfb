"""No code path can unpickle: every loader call in the source tree is a safe one.

The scan parses each Python file of the application (survival_core, ui, pages, app.py, benchmarks)
and fails on a call or import that could run code from a file: pickle-family modules, joblib,
``pd.read_pickle``, ``torch.load`` without ``weights_only=True``, ``np.load(allow_pickle=True)``,
``yaml.load`` with other than a safe loader, ``yaml.unsafe_load``/``full_load``, TorchScript and
MLflow model loaders. A future change that adds one fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [ROOT / "app.py"]
    + [
        p
        for folder in ("survival_core", "ui", "pages", "benchmarks")
        for p in (ROOT / folder).rglob("*.py")
    ]
)
UNSAFE_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "dill",
    "cloudpickle",
    "joblib",
    "shelve",
    "marshal",
}
#: yaml loaders that build plain data only (runs/config.py's and cohort/importer.py's loaders
#: subclass SafeLoader).
SAFE_YAML_LOADERS = {
    "SafeLoader",
    "CSafeLoader",
    "BaseLoader",
    "_UniqueKeyLoader",
    "_TextKeyLoader",
}


def _dotted(node: ast.expr) -> str:
    """'torch.load' for the call target ``torch.load`` (attribute chains and names)."""
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_calls(source: str) -> list[str]:
    """Descriptions ('line N: what') of the unsafe loader uses in Python ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for name in names:
                if name.split(".")[0] in UNSAFE_MODULES:
                    found.append(f"line {node.lineno}: import {name}")
            continue
        if not isinstance(node, ast.Call):
            continue
        target = _dotted(node.func)
        last = target.rsplit(".", 1)[-1]
        problem = None
        if target.endswith("torch.load") and not _is_true(_keyword(node, "weights_only")):
            problem = "torch.load without weights_only=True"
        elif last == "read_pickle" or target.endswith(
            ("jit.load", "unsafe_load", "yaml.full_load")
        ):
            problem = target
        elif (
            last == "load"
            and target.split(".")[0] in ("np", "numpy")
            and _is_true(_keyword(node, "allow_pickle"))
        ):
            problem = "np.load(allow_pickle=True)"
        elif target == "yaml.load":
            loader = _keyword(node, "Loader")
            name = _dotted(loader).rsplit(".", 1)[-1] if loader is not None else ""
            if name not in SAFE_YAML_LOADERS:
                problem = f"yaml.load with Loader={name or 'default'}"
        elif target.startswith("mlflow.") and last == "load_model":
            problem = target
        if problem:
            found.append(f"line {node.lineno}: {problem}")
    return found


def test_sources_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert {"app.py", "survival_core/models/base.py", "survival_core/runs/config.py"} <= names
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_unsafe_loader(path: Path) -> None:
    assert unsafe_calls(path.read_text()) == []


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("import pickle", "import pickle"),
        ("from joblib import load", "import joblib"),
        ("torch.load(p)", "torch.load without weights_only=True"),
        ("torch.load(p, weights_only=False)", "torch.load without weights_only=True"),
        ("np.load(p, allow_pickle=True)", "np.load(allow_pickle=True)"),
        ("pd.read_pickle(p)", "pd.read_pickle"),
        ("yaml.load(text)", "yaml.load with Loader=default"),
        ("yaml.load(text, Loader=yaml.Loader)", "yaml.load with Loader=Loader"),
        ("yaml.unsafe_load(text)", "yaml.unsafe_load"),
        ("torch.jit.load(p)", "torch.jit.load"),
        ("mlflow.pytorch.load_model(uri)", "mlflow.pytorch.load_model"),
    ],
)
def test_scanner_catches(snippet: str, expected: str) -> None:
    assert unsafe_calls(snippet) == [f"line 1: {expected}"]


@pytest.mark.parametrize(
    "snippet",
    [
        "torch.load(p, map_location='cpu', weights_only=True)",
        "np.load(p, allow_pickle=False)",
        "yaml.load(text, Loader=yaml.SafeLoader)",
        "yaml.safe_load(text)",
        "json.load(fh)",
    ],
)
def test_scanner_accepts_safe_calls(snippet: str) -> None:
    assert unsafe_calls(snippet) == []
