"""CNN3DSurv: output shapes for any input size, the embedding, gradients, Grad-CAM hooks, checks."""

from __future__ import annotations

import re

import pytest
import torch

from survival_core.errors import ConfigError
from survival_core.models.networks import CNN3DSurv


@pytest.fixture
def small_net() -> CNN3DSurv:
    torch.manual_seed(0)
    return CNN3DSurv(channels=(4, 8, 8, 8), fc=64)


@pytest.mark.parametrize("zyx", [(40, 80, 80), (12, 30, 17), (1, 5, 3), (8, 8, 8)])
def test_shapes_for_several_input_sizes(small_net: CNN3DSurv, zyx: tuple[int, ...]) -> None:
    x = torch.rand(3, 1, *zyx)
    assert small_net(x).shape == (3,)
    assert small_net.embed(x).shape == (3, 64)


def test_default_network_shapes_and_embedding() -> None:
    torch.manual_seed(0)
    net = CNN3DSurv().eval()
    x = torch.rand(2, 1, 20, 40, 40)
    risk, emb = net(x), net.embed(x)
    assert risk.shape == (2,) and emb.shape == (2, 64) and net.embedding_dim == 64
    assert (emb >= -0.2785).all()  # after SiLU, whose minimum is -0.2785
    assert (CNN3DSurv(activation="relu").eval().embed(x) >= 0).all()
    # the risk is the linear head of the embedding (dropout is off in eval mode)
    torch.testing.assert_close(risk, net.head(emb).squeeze(1))


def test_multichannel_input() -> None:
    net = CNN3DSurv(in_channels=2, channels=(4, 8), fc=16)
    assert net(torch.rand(2, 2, 6, 10, 10)).shape == (2,)
    assert net.embed(torch.rand(2, 2, 6, 10, 10)).shape == (2, 16)
    with pytest.raises(ConfigError, match="expects"):
        net(torch.rand(2, 1, 6, 10, 10))


def test_gradient_flows_to_every_parameter(small_net: CNN3DSurv) -> None:
    x = torch.rand(4, 1, 10, 16, 16, requires_grad=True)
    small_net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, param in small_net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_last_conv_is_hookable_for_gradcam(small_net: CNN3DSurv) -> None:
    assert isinstance(small_net.last_conv, torch.nn.Conv3d)
    assert small_net.last_conv is small_net.blocks[-1][0]
    store: dict[str, torch.Tensor] = {}
    small_net.last_block.register_forward_hook(lambda m, i, o: store.update(act=o))
    small_net.last_block.register_full_backward_hook(lambda m, gi, go: store.update(grad=go[0]))
    small_net.eval()
    x = torch.rand(1, 1, 16, 32, 32)
    small_net(x).sum().backward()
    assert store["act"].shape == store["grad"].shape
    assert store["act"].shape[:2] == (1, 8)
    cam = torch.relu((store["grad"].mean(dim=(2, 3, 4), keepdim=True) * store["act"]).sum(1))
    # the stem halves y and x, three pools halve every axis: 16 x 32 x 32 -> 2 x 2 x 2
    assert cam.shape == (1, 2, 2, 2) and torch.isfinite(cam).all()


def test_eval_mode_is_deterministic(small_net: CNN3DSurv) -> None:
    small_net.eval()
    x = torch.rand(2, 1, 8, 16, 16)
    torch.testing.assert_close(small_net(x), small_net(x))


@pytest.mark.parametrize(
    "kwargs",
    [{"channels": ()}, {"channels": (4, 0)}, {"fc": 0}, {"dropout": 1.0}, {"in_channels": 0}],
)
def test_invalid_settings_raise(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        CNN3DSurv(**kwargs)


def test_stem_stride_downsamples_in_plane_only_by_default() -> None:
    net = CNN3DSurv(channels=(4,), fc=8)
    assert net.blocks[0][0].stride == (1, 2, 2)
    assert CNN3DSurv(channels=(4,), fc=8, stem_stride=(1, 1, 1)).blocks[0][0].stride == (1, 1, 1)
    with pytest.raises(ConfigError, match="stem_stride"):
        CNN3DSurv(stem_stride=(2, 2))


@pytest.mark.parametrize(
    "options, expected",
    [
        ({}, (torch.nn.SiLU, "avg")),
        ({"activation": "relu", "pooling": "max"}, (torch.nn.ReLU, "max")),
    ],
)
def test_activation_and_pooling_choices(options, expected) -> None:
    net = CNN3DSurv(channels=(4, 8), fc=8, **options)
    assert isinstance(net.blocks[0][2], expected[0]) and net.pooling == expected[1]
    x = torch.rand(1, 1, 4, 8, 8)
    stage = net.blocks[0](x)
    pooled = (
        torch.nn.functional.avg_pool3d if expected[1] == "avg" else torch.nn.functional.max_pool3d
    )
    torch.testing.assert_close(net._pool(stage), pooled(stage, 2, 2))


@pytest.mark.parametrize("bad", [{"activation": "tanh"}, {"pooling": "median"}])
def test_unknown_activation_or_pooling(bad) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        CNN3DSurv(**bad)


#: How the README's model table names each activation and pooling.
_NAMED = {"silu": "SiLU", "relu": "ReLU", "avg": "average-pool", "max": "maxpool"}


def test_the_readmes_cnn3d_row_names_its_default_stages_and_the_params_for_the_papers() -> None:
    """The README's model table said cnn3d had 'conv-BN-ReLU-maxpool stages', where its default
    is SiLU and average pooling (model.json: "activation": "silu", "pooling": "avg"). The row
    names the default and the `--param`s giving Wei 2021's, which build that network."""
    import inspect

    from survival_core.cli.model_args import parse_params
    from survival_core.models import make_model
    from survival_core.models.cnn3d import CNN3DModel
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text().splitlines()
    (row,) = [r for r in readme if r.startswith("| `cnn3d` |") and "3-D CNN" in r]
    defaults = inspect.signature(CNN3DModel).parameters
    activation, pooling = defaults["activation"].default, defaults["pooling"].default
    assert f"conv-BN-{_NAMED[activation]}-{_NAMED[pooling]} stages" in row
    (params,) = re.findall(r"`(--param activation=\w+ --param pooling=\w+)`", row)
    model = make_model("cnn3d", **parse_params(params.replace("--param ", "").split()))
    net = model._build_network(0)
    assert isinstance(net.blocks[0][2], torch.nn.ReLU) and net.pooling == "max"
