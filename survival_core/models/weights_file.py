"""Reading tensor files safely: ``torch.load(weights_only=True)`` (tensors and plain containers,
never code), its refusals told in the user's terms.

torch's own text of a refusal advises loading again with ``weights_only=False``, which runs any
code the file holds: that advice is never passed on. A weights file from a training framework
(PyTorch Lightning's checkpoint: tensors under ``state_dict``, each name after ``model.``) or from
``nn.DataParallel`` (``module.``) is unwrapped to the network's own names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from survival_core.errors import InputError

#: How many missing, unexpected or mismatched tensor names a message lists.
SHOWN = 5


#: How a file written by ``torch.save`` begins: its zip archive, or a pickle (torch < 1.6).
TORCH_SAVE_STARTS = (b"PK\x03\x04", b"\x80")


def load_tensors(path: Path, map_location: Any, what: str = "weights file") -> Any:
    """The tensors ``path`` holds, read without running code; :class:`InputError` naming the
    ``what`` and why it cannot be read (missing, not a torch.save file, code or Python objects,
    damaged)."""
    try:
        with open(path, "rb") as file:
            start = file.read(64)
    except FileNotFoundError as err:
        raise InputError(f"The {what} {path} is missing.") from err
    except OSError as err:
        raise InputError(f"The {what} {path} cannot be read: {err.strerror or err}.") from err
    if not start.startswith(TORCH_SAVE_STARTS):
        raise InputError(not_torch_save(path, start))
    if _torchscript(path):  # torch.load would hand it to torch.jit.load, with a warning
        raise InputError(
            f"{path} is a TorchScript archive (torch.jit.save: code and weights), whose code "
            "RadSurv does not run; it reads state dicts only. Save the network's weights with "
            "torch.save(model.state_dict(), path) and give that file."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - UnpicklingError, EOFError, RuntimeError, OSError...
        raise InputError(unreadable(path, err)) from err


def not_torch_save(path: Path, start: bytes) -> str:
    """Why ``path``, beginning with ``start``, is no file of ``torch.save``: a table or other
    text was read as a pickle whose first letters looked like code ('case_id,...': code
    'ase_id')."""
    text = _text(start)
    if not start:
        seen = "it is empty"
    elif text is not None:
        seen = f"it holds text, beginning {text.splitlines()[0][:40]!r}"
    else:
        seen = "its first bytes are those of another format"
    return (
        f"{path} is not a PyTorch weights file ({seen}). Give the file of tensors saved by "
        "torch.save(model.state_dict(), path)."
    )


def _text(start: bytes) -> str | None:
    """``start``, a file's first bytes, as the text it holds (UTF-8, an Excel BOM aside; a
    character cut at its end left out), or None when it is no text."""
    for cut in range(4):  # a character of up to 4 bytes cut by the read
        try:
            text = start[: len(start) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        return text if text and all(c.isprintable() or c in "\t\r\n" for c in text) else None
    return None


def _zip_names(path: Path) -> list[str]:
    """The member names of the zip archive ``path``; none when it is no readable zip (a pickle,
    or a truncated torch.save file)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _other_zip(path: Path) -> bool:
    """Whether ``path`` is a whole zip archive without torch.save's pickle (numpy's .npz)."""
    names = _zip_names(path)
    return bool(names) and not any(name.endswith("data.pkl") for name in names)


def _torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive: its constants.pkl, as torch.load tells it."""
    return any(name.endswith("constants.pkl") for name in _zip_names(path))


def unreadable(path: Path, error: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` refused ``path``, without torch's advice to load it
    with ``weights_only=False``."""
    text = str(error)
    code = re.search(r"GLOBAL ([\w.]+)", text)
    if code or "This file can still be loaded" in text:
        named = f" ({code[1]})" if code else ""
        return (
            f"{path} holds Python objects or code besides tensors{named}, which could run when "
            "read: refused. Save the network's state_dict alone (torch.save(model.state_dict(), "
            "path)) and give that file."
        )
    if ("PytorchStreamReader" in text or "inline_container" in text) and _other_zip(path):
        return (
            f"{path} is a zip archive but no file of torch.save (numpy's .npz?). Give the file of "
            "tensors saved by torch.save(model.state_dict(), path)."
        )
    detail = text.rpartition("WeightsUnpickler error:")[2].strip() or type(error).__name__
    lines = [line for line in detail.splitlines() if line and "weights_only" not in line]
    first = (lines[0] if lines else type(error).__name__).split(". ")[0][:200]
    return (
        f"{path} cannot be read as a PyTorch weights file (empty, truncated, damaged or of "
        f"another format: {first}). Give the file of tensors saved by "
        "torch.save(model.state_dict(), path)."
    )


def unwrapped(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict's tensor names as the network's own: ``nn.DataParallel``'s ``module.`` cut
    from each; a Lightning module's ``model.`` cut where every name has it."""
    names = {re.sub(r"^module\.", "", str(k)): v for k, v in state.items()}
    if names and all(k.startswith("model.") for k in names):
        names = {k.removeprefix("model."): v for k, v in names.items()}
    return names


def check_finite(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """InputError naming the first floating-point tensor of ``state`` holding NaN or infinite
    values: a ResNet with one NaN weight gave every case NaN deep features, none failed."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise InputError(
                f"{path} holds non-finite weights: {bad} of the {tensor.numel()} values of its "
                f"tensor {name} are NaN or infinite (a training that diverged, or a damaged "
                "file): the features or risks of the network would be NaN. Give weights saved "
                "from a network of finite values."
            )


def mismatch(path: Path, error: Exception) -> str:
    """A ``load_state_dict`` refusal in short: the first missing and unexpected tensor names
    and size mismatches, not torch's whole list."""
    text = str(error)
    parts = []
    for label in ("Missing key(s)", "Unexpected key(s)"):
        found = re.search(rf'{re.escape(label)} in state_dict: ((?:"[^"]+",?\s*)+)', text)
        if found:
            keys = re.findall(r'"([^"]+)"', found[1])
            more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            parts.append(f"{label.lower()} {', '.join(keys[:SHOWN])}{more}")
    sizes = re.findall(r"size mismatch for ([\w.]+)", text)
    if sizes:
        parts.append(f"size mismatch for {', '.join(sizes[:SHOWN])}")
    said = "; ".join(parts) or text.splitlines()[0][:300]
    return f"{path} does not match the saved architecture ({said})."
