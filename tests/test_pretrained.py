"""Local ResNet weight files: safe reading, layout variants, name/shape checks, architecture."""

from __future__ import annotations

import warnings

import pytest
import torch

from survival_core.errors import ConfigError, InputError
from survival_core.models.pretrained import (
    load_weights,
    make_resnet,
    read_state_dict,
    resnet_architecture,
)

SMALL = {"depth": 18, "widen_factor": 0.25}
UNPICKLED = []


class Payload:
    """A pickled object whose unpickling would run code (appends to UNPICKLED)."""

    def __setstate__(self, state: dict) -> None:
        UNPICKLED.append(state)


def _net(seed: int, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    return make_resnet(**{**SMALL, **kwargs})


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sb = b.state_dict()
    return all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize(
    "layout", ["plain", "module_prefix", "wrapped", "extra_fc", "old_bn", "lightning"]
)
def test_state_dict_layouts_load(tmp_path, layout):
    source = _net(1)
    state = dict(source.state_dict())
    if layout == "module_prefix":
        state = {f"module.{k}": v for k, v in state.items()}
    elif layout == "wrapped":
        state = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}
    elif layout == "extra_fc":  # a classification layer the feature net does not have
        state.update({"fc.weight": torch.zeros(400, 128), "fc.bias": torch.zeros(400)})
    elif layout == "old_bn":  # checkpoints from before batch-norm counters existed
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    elif layout == "lightning":  # a LightningModule's self.model: refused as 'not a ResNet'
        state = {"state_dict": {f"model.{k}": v for k, v in state.items()}, "epoch": 3}
    torch.save(state, tmp_path / "w.pt")
    target = _net(2)
    assert not _same_weights(source, target)
    load_weights(target, tmp_path / "w.pt")
    assert torch.equal(target.conv1.weight, source.conv1.weight)
    assert torch.equal(target.layer4[1].bn2.running_var, source.layer4[1].bn2.running_var)
    if layout != "old_bn":
        assert _same_weights(source, target)


def test_wrong_shape_names_key_and_both_shapes(tmp_path):
    state = _net(1).state_dict()
    state["layer1.0.conv1.weight"] = torch.zeros(16, 16, 3, 3)
    path = tmp_path / "medicalnet.pth"
    torch.save(state, path)
    with pytest.raises(InputError) as info:
        load_weights(_net(2), path, "ResNet-18")
    message = str(info.value)
    assert "medicalnet.pth" in message and "ResNet-18" in message
    assert "layer1.0.conv1.weight: expected (16, 16, 3, 3, 3), found (16, 16, 3, 3)" in message


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    state = dict(_net(1).state_dict())
    del state["layer4.1.conv2.weight"]
    state["head.weight"] = torch.zeros(2, 2)
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(InputError, match=r"layer4\.1\.conv2\.weight missing") as info:
        load_weights(_net(2), tmp_path / "w.pt")
    assert "head.weight (2, 2) is not in the network" in str(info.value)


def test_shortcut_mismatch_gets_a_hint(tmp_path):
    torch.save(_net(1, shortcut_type="A").state_dict(), tmp_path / "w.pt")
    with pytest.raises(InputError, match="shortcut_type='A'"):
        load_weights(_net(2), tmp_path / "w.pt")


def test_code_in_the_pickle_is_refused_not_run(tmp_path):
    torch.save({"conv1.weight": torch.zeros(1), "payload": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(InputError, match="evil.pt.*refused"):
        read_state_dict(tmp_path / "evil.pt")
    assert UNPICKLED == []


@pytest.mark.parametrize("content", [b"", b"garbage" * 100, "truncated"])
def test_a_damaged_file_is_named_so_without_torchs_unsafe_advice(tmp_path, content):
    """A corrupt file was 'refused' as unsafe with torch's advice to load it with
    weights_only=False (which runs its code); an empty one got a blank reason."""
    if content == "truncated":
        torch.save(_net(1).state_dict(), tmp_path / "w.pt")
        content = (tmp_path / "w.pt").read_bytes()[:1000]
    (tmp_path / "w.pt").write_bytes(content)
    said = r"(is not|cannot be read as) a PyTorch weights file \((it is empty|it holds text|empty)"
    with pytest.raises(InputError, match=said) as e:
        read_state_dict(tmp_path / "w.pt")
    assert "weights_only" not in str(e.value) and not str(e.value).endswith(": ")


def test_a_torchscript_archive_is_named_so_without_torchs_warning(tmp_path):
    """A TorchScript file was refused as 'empty, truncated, damaged or of another format:
    RuntimeError', after torch's 'dispatching to torch.jit.load' warning on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script's own deprecation
        torch.jit.script(torch.nn.Linear(2, 1)).save(str(tmp_path / "script.pt"))
    said = r"script.pt is a TorchScript archive \(torch.jit.save: code and weights\)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError, match=said + ".* reads state dicts only"):
            read_state_dict(tmp_path / "script.pt")
    assert [str(w.message) for w in caught] == []


def test_non_tensor_entries_are_refused(tmp_path):
    torch.save({"conv1.weight": torch.zeros(1), "note": "text"}, tmp_path / "w.pt")
    with pytest.raises(InputError, match="note are not tensors"):
        read_state_dict(tmp_path / "w.pt")


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path):
    """A ResNet-18 file with one NaN weight gave every case NaN deep features, none failed."""
    state = _net(1).state_dict()
    state["layer4.1.conv2.weight"][0, 0, 0, 0, 0] = float("nan")
    state["layer1.0.bn1.running_var"][:2] = float("inf")  # a later tensor: the first is named
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "w.pt")
    said = (
        r"w.pt holds non-finite weights: 2 of the 16 values of its tensor "
        r"layer1.0.bn1.running_var are NaN or infinite"
    )
    with pytest.raises(InputError, match=said):
        load_weights(_net(2), tmp_path / "w.pt")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nothere.pt does not exist"):
        load_weights(_net(1), tmp_path / "nothere.pt")


@pytest.mark.parametrize(
    "args",
    [
        {"depth": 18, "shortcut_type": "A"},
        {"depth": 18, "shortcut_type": "B", "bias_downsample": False},
        {"depth": 18, "spatial_dims": 2, "n_input_channels": 3},
        {"depth": 50, "shortcut_type": "B", "bias_downsample": False, "widen_factor": 0.125},
    ],
)
def test_architecture_is_read_back_from_the_weights(args):
    net = make_resnet(**{**SMALL, **args})
    architecture = resnet_architecture(net.state_dict())
    rebuilt = make_resnet(**architecture)
    assert {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()} == {
        k: tuple(v.shape) for k, v in net.state_dict().items()
    }
    for key, value in args.items():
        assert architecture[key] == value


def test_unknown_architectures_are_refused():
    with pytest.raises(InputError, match="not a ResNet"):
        resnet_architecture({"weight": torch.zeros(3, 3)})
    state = {k: v for k, v in _net(1).state_dict().items() if not k.startswith("layer4.1.")}
    with pytest.raises(InputError, match=r"basic blocks \[2, 2, 2, 1\]"):
        resnet_architecture(state)


@pytest.mark.parametrize(
    "kwargs",
    [{"depth": 34}, {"spatial_dims": 1}, {"shortcut_type": "C"}, {"stem_stride": (2, 2)}],
)
def test_invalid_architecture_settings(kwargs):
    with pytest.raises(ConfigError):
        make_resnet(**kwargs)


class _System:
    """Pickled as a call of os.system: what a malicious weights file holds."""

    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_a_file_calling_code_is_refused_as_code_not_as_damaged(tmp_path):
    """A pickle calling os.system was refused as 'damaged' (torch's reason dropped); a model
    folder's weights passed torch's whole text on, with its advice to load it with
    weights_only=False."""
    from survival_core.models.weights_file import load_tensors

    torch.save({"conv1.weight": torch.zeros(1), "x": _System()}, tmp_path / "evil.pt")
    for read in (read_state_dict, lambda p: load_tensors(p, "cpu", "model weights")):
        with pytest.raises(
            InputError, match=r"holds Python objects or code .*\(posix.system\)"
        ) as e:
            read(tmp_path / "evil.pt")
        assert "weights_only" not in str(e.value)


def test_a_network_of_several_images_is_refused(tmp_path):
    """A CT + PET network (2 input channels) was fed the CT in both, without a word."""
    with pytest.raises(InputError, match="takes 2 input channels"):
        resnet_architecture(_net(1, n_input_channels=2).state_dict())
    assert resnet_architecture(_net(1, n_input_channels=3).state_dict())["n_input_channels"] == 3
