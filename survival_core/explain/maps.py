"""Voxel attribution maps of the 3-D CNN's risk: Grad-CAM and Integrated Gradients.

The network sees the case's image cropped to the organ box (else the GTV box; + margin), resized to a fixed shape and
windowed onto [0, 1] (:func:`survival_core.models.image_data.case_volume`). :func:`~survival_core.models.image_data.network_input`
returns that volume together with ``reference``, an empty-content SimpleITK image describing the
network grid in physical space (origin, spacing and direction of the resized crop), so a map
computed on the network grid can be put back on the case's CT grid with
:func:`to_original_geometry` (IG maps scaled by the voxel-volume ratio, so they still add up to
the attribution total) and saved as NIfTI (:func:`save_map`) for a viewer.

- :func:`gradcam_map`: Grad-CAM (``monai.visualize.GradCAM``) of the risk at ``net.last_block``
  (the last Conv-BN-ReLU stage before pooling), interpolated linearly to the input with each of
  its voxels at its receptive field's centre, ReLU, scaled to [0, 1]. Coarse (one value per
  last-stage voxel, e.g. 8 x 8 x 8 input voxels).
- :func:`integrated_gradients_map`: Integrated Gradients of the risk with respect to every
  input voxel, baseline the window floor (0 = air/fat), signed. The path integral is the midpoint
  rule (the same numbers as Captum's ``riemann_middle``, tested), with batched interpolation
  points; the step count triples from 12 until the completeness delta
  |sum(attr) - (f(x) - f(b))| / max(|f(x) - f(b)|, 1e-6) is <= 1 % (cap 324), and each tripling
  reuses every gradient already computed, so the check costs no repeated work;
  :func:`baseline_risk` is f(b), the risk the map's sum is measured from.
- :func:`enrichment`: how much more often the top voxels of a map fall in the tumour than chance,
  among candidate voxels the map covers (:func:`reference_box`: the crop box on the CT grid).

Both methods run the network in eval mode (dropout off, batch-norm running statistics), so the
attributed function is the risk the model reports; the mode is restored afterwards.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
from monai.visualize import GradCAM
from torch import nn

from survival_core.case import Case
from survival_core.errors import ConfigError, GeometryError, MaskError
from survival_core.preprocess.resample import Grid, as_pixel, check_same_grid

#: Automatic IG step search (tripling): first value, cap, target relative completeness delta,
#: delta floor.
START_STEPS = 12
MAX_STEPS = 324
TOLERANCE = 0.01
DELTA_FLOOR = 1e-6
#: nn.Module attributes holding the hooks MONAI's GradCAM registers (removed after each map).
_HOOK_DICTS = ("_forward_hooks", "_backward_hooks", "_forward_hooks_with_kwargs")


def _batch(volume: np.ndarray | torch.Tensor, net: nn.Module) -> torch.Tensor:
    """``volume`` ``(C, z, y, x)`` (or ``(1, C, z, y, x)``) as a float32 batch of one on the net's
    device."""
    x = torch.as_tensor(np.asarray(volume) if not torch.is_tensor(volume) else volume)
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or x.shape[0] != 1:
        raise ConfigError(
            f"Expected one volume of shape (C, z, y, x); got an array of shape {tuple(x.shape)}."
        )
    device = next(net.parameters(), torch.empty(0)).device
    return x.to(device=device, dtype=torch.float32)


class _RiskColumn(nn.Module):
    """``net`` with its ``(N,)`` risk as an ``(N, 1)`` 'class score' for MONAI's CAM classes."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0], 1)


@contextlib.contextmanager
def _frozen(net: nn.Module, keep: nn.Module | None = None) -> Iterator[None]:
    """``net``'s parameters (except ``keep``'s) without gradients for the duration, so a backward
    pass computes only what the map needs (no weight gradients of the large early stages)."""
    kept = set() if keep is None else {id(p) for p in keep.parameters()}
    flags = [(p, p.requires_grad) for p in net.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(id(p) in kept)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _layer_name(net: nn.Module, layer: nn.Module) -> str:
    for name, module in net.named_modules():
        if module is layer and name:
            return name
    raise ConfigError(f"The Grad-CAM layer {type(layer).__name__} is not a submodule of the net.")


def spatial_layers(
    net: nn.Module, volume: np.ndarray | torch.Tensor, scope: nn.Module | None = None
) -> list[str]:
    """Names (relative to ``scope``, default ``net``) of ``scope``'s submodules that Grad-CAM can
    target: those a forward pass of ``net`` on ``volume`` calls once and whose output is a
    spatial map ``(N, C, z, y, x)``. Containers never called (a ``ModuleList``) and layers after
    the pooling (fully connected, head, their activation and dropout) are left out: their output
    has no voxels to map; so is a module called more than once (a ResNet block's activation,
    after each of its convolutions): Grad-CAM would pair one call's activation with another's
    gradient; and one whose output what follows changes in place (a ResNet's batch norm before
    its in-place activation or residual sum): its gradient cannot be read. One forward pass
    without gradients, in eval mode (the mode is restored)."""
    scope = net if scope is None else scope
    names = {module: name for name, module in scope.named_modules() if name}
    spatial: Counter[str] = Counter()
    changed: set[str] = set()
    alive: dict[str, tuple[weakref.ref, int]] = {}  # outputs not yet freed, and their versions

    def check() -> None:
        for name, (output, version) in list(alive.items()):
            tensor = output()
            if tensor is None or tensor._version != version:
                changed.update([name] if tensor is not None else [])
                del alive[name]

    def record(module: nn.Module, _inputs: Any, output: Any) -> None:
        check()  # a change in place happens before the next module's call, or at the end
        if torch.is_tensor(output) and output.ndim == 5:
            spatial[names[module]] += 1
            alive[names[module]] = (weakref.ref(output), output._version)

    handles = [module.register_forward_hook(record) for module in names]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            net(_batch(volume, net))
        check()
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return [name for name in names.values() if spatial[name] == 1 and name not in changed]


def _unit_range(values: np.ndarray) -> np.ndarray:
    """``values`` (>= 0) divided by their maximum; all zeros stays all zeros."""
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 and math.isfinite(top) else np.zeros_like(values)


class SignedGradCAM(GradCAM):
    """MONAI's Grad-CAM without the final ReLU: the channel-weighted activation map keeps its sign
    (positive where the features raise the output, negative where they lower it)."""

    def compute_map(self, x, class_idx=None, retain_graph=False, layer_idx=-1, **kwargs):  # type: ignore[override]
        _, acti, grad = self.nn_module(x, class_idx=class_idx, retain_graph=retain_graph, **kwargs)
        acti, grad = acti[layer_idx], grad[layer_idx]
        weights = grad.flatten(2).mean(2).view(*grad.shape[:2], *[1] * (grad.ndim - 2))
        return (weights * acti).sum(1, keepdim=True)


def gradcam_map(
    net: nn.Module,
    volume: np.ndarray | torch.Tensor,
    layer: nn.Module | None = None,
    signed: bool = False,
) -> np.ndarray:
    """Grad-CAM of ``net``'s risk for one ``volume`` ``(C, z, y, x)``: a float32 ``(z, y, x)`` map.

    ``layer`` defaults to ``net.last_block``; another must output a spatial map
    (:func:`spatial_layers`). The channel weights are the spatial means of the
    risk's gradient at the layer; the weighted sum of its activations is trilinearly upsampled to
    the input size. Classic Grad-CAM (``signed=False``) keeps the locations that raise the risk
    (ReLU) and divides by the maximum: a map in [0, 1], all zeros when nothing raises the risk —
    which for a low-risk patient is the common case. ``signed=True`` keeps both directions,
    divided by the largest magnitude: a map in [-1, 1], positive where the image raises the risk
    and negative where it lowers it.
    """
    if layer is None:
        layer = getattr(net, "last_block", None)
        if layer is None:
            raise ConfigError("The net has no 'last_block'; pass the Grad-CAM layer explicitly.")
    x = _batch(volume, net)
    wrapped = _RiskColumn(net)
    name = "net." + _layer_name(net, layer)
    # Backward only down to the layer: freeze the rest, unless the layer has no parameters (then
    # its output needs the earlier ones to carry a gradient).
    has_params = any(True for _ in layer.parameters())
    freeze = _frozen(net, keep=layer) if has_params else contextlib.nullcontext()
    was_training = net.training
    # MONAI registers hooks on the layer and keeps no handles: note what is there to remove them.
    hook_dicts = [getattr(layer, attr) for attr in _HOOK_DICTS if hasattr(layer, attr)]
    before = [set(hooks) for hooks in hook_dicts]
    inplace = getattr(layer, "inplace", None)  # MONAI turns an in-place activation's off
    try:
        # MONAI's default post-processing maps (min, max) to (1, 0); scale ourselves instead.
        klass = SignedGradCAM if signed else GradCAM
        grid = net.last_block_grid(x.shape[2:]) if _placed_by_grid(net, layer) else None
        keep = {} if grid is None else {"upsampler": lambda _: lambda m: m}  # placed below
        cam = klass(nn_module=wrapped, target_layers=name, postprocessing=lambda m: m, **keep)
        with freeze, warnings.catch_warnings():
            # Expected with the earlier stages frozen: the hook then sees the layer's output
            # gradient only, which is all Grad-CAM uses.
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            result = cam(x, class_idx=0)
    except RuntimeError as error:
        if "inplace" not in str(error):
            raise
        raise ConfigError(
            f"The Grad-CAM layer (a {type(layer).__name__}) has its output changed in place by "
            "what follows it (an in-place activation, a residual sum): its gradient cannot be "
            "read. Choose the block holding it, or its convolution."
        ) from None
    finally:
        if inplace is not None:
            layer.inplace = inplace
        net.train(was_training)
        net.zero_grad(set_to_none=True)
        for hooks, keys in zip(hook_dicts, before, strict=True):
            for key in set(hooks) - keys:
                del hooks[key]
    out = result.detach()[0, 0].double().cpu().numpy()
    if grid is not None:
        out = _on_input_grid(out, grid, tuple(x.shape[2:]))
    if signed:
        return (_unit_range(np.abs(out)) * np.sign(out)).astype(np.float32)
    return _unit_range(np.maximum(out, 0.0)).astype(np.float32)


def _placed_by_grid(net: nn.Module, layer: nn.Module) -> bool:
    """Whether ``layer`` is a :class:`CNN3DSurv`'s last block, whose voxels' input positions are
    known exactly (:meth:`CNN3DSurv.last_block_grid`); other layers are resized to the input."""
    from survival_core.models.networks import CNN3DSurv

    return isinstance(net, CNN3DSurv) and layer is net.last_block


def _on_input_grid(
    cam: np.ndarray, grid: tuple[tuple[float, float], ...], shape: tuple[int, ...]
) -> np.ndarray:
    """``cam`` (the last block's voxels) interpolated linearly at every input voxel, each of its
    voxels at its receptive field's centre (``grid``: offset, step per axis), constant beyond
    the outermost centres. A resize to the input's size put it half an input voxel off in-plane,
    and several voxels off where an axis did not divide by the poolings. Linear interpolation is
    separable: one small weight matrix per axis."""
    weights = []
    for n, m, (offset, step) in zip(shape, cam.shape, grid, strict=True):
        at = np.clip((np.arange(n, dtype=float) - offset) / step, 0, m - 1)
        low = np.minimum(np.floor(at).astype(int), max(m - 2, 0))
        frac = at - low
        matrix = np.zeros((n, m))
        matrix[np.arange(n), low] += 1 - frac
        matrix[np.arange(n), np.minimum(low + 1, m - 1)] += frac
        weights.append(matrix)
    return np.einsum("ai,bj,ck,ijk->abc", *weights, cam, optimize=True)


def _risk(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return net(x).reshape(-1)

    return forward


def _relative_delta(total: float, difference: float) -> float:
    return abs(total - difference) / max(abs(difference), DELTA_FLOOR)


def _gradient_sum(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    base: torch.Tensor,
    alphas: np.ndarray,
    weights: np.ndarray,
    batch: int,
) -> torch.Tensor:
    """sum_k weights[k] * grad f(base + alphas[k] (x - base)), in batches of ``batch`` points."""
    total = torch.zeros_like(x[0], dtype=torch.float64)
    for start in range(0, len(alphas), batch):
        a = torch.as_tensor(alphas[start : start + batch], dtype=x.dtype, device=x.device)
        w = torch.as_tensor(weights[start : start + batch], dtype=torch.float64, device=x.device)
        points = (base + a.view(-1, 1, 1, 1, 1) * (x - base)).requires_grad_(True)
        (grads,) = torch.autograd.grad(f(points).sum(), points)
        total += (grads.double() * w.view(-1, 1, 1, 1, 1)).sum(dim=0)
    return total


def _integrate(
    net: nn.Module,
    x: torch.Tensor,
    base: torch.Tensor,
    n_steps: int | None,
    internal_batch_size: int,
) -> tuple[np.ndarray, float, int]:
    """The IG map ``(z, y, x)`` (float64, summed over channels), its relative delta and steps.

    The path integral is the midpoint rule on ``steps`` equal intervals: it never evaluates the
    path's ends, where a zero baseline sits exactly on ReLU kinks. Tripling the steps keeps every
    old midpoint as a new one, so only the other two thirds are evaluated: reaching ``steps``
    costs ``steps`` gradients, however many times the completeness check asked for more.
    """
    f = _risk(net)
    with torch.no_grad():
        difference = float(f(x).double().item() - f(base).double().item())
    steps = int(n_steps) if n_steps is not None else START_STEPS
    grid_sum = _gradient_sum(
        f, x, base, (np.arange(steps) + 0.5) / steps, np.ones(steps), internal_batch_size
    )
    span = (x - base)[0].double()

    def attributions() -> tuple[np.ndarray, float]:
        attr = (span * grid_sum / steps).sum(dim=0).cpu().numpy()
        return attr, _relative_delta(float(attr.sum()), difference)

    attr, delta = attributions()
    while n_steps is None and delta > TOLERANCE and steps < MAX_STEPS:
        new = np.arange(3 * steps)
        new = new[new % 3 != 1]  # (3k + 1 + 0.5) / 3n = (k + 0.5) / n: already evaluated
        alphas = (new + 0.5) / (3 * steps)
        grid_sum += _gradient_sum(f, x, base, alphas, np.ones(len(alphas)), internal_batch_size)
        steps *= 3
        attr, delta = attributions()
    return attr, delta, steps


def _baseline_batch(
    x: torch.Tensor, baseline: np.ndarray | torch.Tensor | float | None, net: nn.Module
) -> torch.Tensor:
    """The IG baseline of the batch ``x`` (see :func:`integrated_gradients_map`)."""
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, int | float | np.integer | np.floating):
        return torch.full_like(x, float(baseline))
    base = _batch(baseline, net)
    if base.shape != x.shape:
        raise ConfigError(
            f"The IG baseline has shape {tuple(base.shape[1:])}; the volume {tuple(x.shape[1:])}."
        )
    return base


def baseline_risk(
    net: nn.Module,
    volume: np.ndarray | torch.Tensor,
    baseline: np.ndarray | torch.Tensor | float | None = None,
) -> float:
    """``net``'s risk at the Integrated Gradients baseline of ``volume`` (as
    :func:`integrated_gradients_map` takes it; None: the window floor): the f(b) its map's sum
    is measured from, so that the risk reads as f(b) + sum(map)."""
    x = _batch(volume, net)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return float(_risk(net)(_baseline_batch(x, baseline, net)).double().item())
    finally:
        net.train(was_training)


def integrated_gradients_map(
    net: nn.Module,
    volume: np.ndarray | torch.Tensor,
    baseline: np.ndarray | torch.Tensor | float | None = None,
    n_steps: int | None = None,
    internal_batch_size: int = 2,
) -> tuple[np.ndarray, float, int]:
    """Integrated Gradients of ``net``'s risk for one ``volume`` ``(C, z, y, x)``, per voxel.

    ``baseline``: None = zeros (the bottom of the [0, 1] window: air/fat), a number, or an array
    of the volume's shape. ``n_steps``: integration steps, or None to triple from 12 until the
    relative completeness delta is <= 1 % (cap 324; a warning names the delta if that does not
    do). ``internal_batch_size``: interpolated volumes per forward/backward pass (memory grows with it).

    Returns ``(map, completeness_delta, steps)``: the signed float32 ``(z, y, x)`` map (summed over
    input channels; its sum is f(x) - f(baseline) up to the delta), the relative delta
    |sum(map) - (f(x) - f(b))| / max(|f(x) - f(b)|, 1e-6) and the steps used.
    """
    if n_steps is not None and (not isinstance(n_steps, int | np.integer) or n_steps < 1):
        raise ConfigError(
            f"n_steps must be a positive integer or None (automatic); got {n_steps!r}."
        )
    if int(internal_batch_size) < 1:
        raise ConfigError(f"internal_batch_size must be >= 1; got {internal_batch_size!r}.")
    x = _batch(volume, net)
    base = _baseline_batch(x, baseline, net)
    was_training = net.training
    net.eval()
    try:
        with _frozen(net):  # input gradients only: no weight gradients
            attr, delta, steps = _integrate(net, x, base, n_steps, internal_batch_size)
    finally:
        net.train(was_training)
        net.zero_grad(set_to_none=True)
    if delta > TOLERANCE and n_steps is None:
        warnings.warn(
            f"Integrated Gradients reached {MAX_STEPS} steps with a completeness delta of "
            f"{delta:.2%} (target {TOLERANCE:.0%}); read the map with care.",
            stacklevel=2,
        )
    return attr.astype(np.float32), float(delta), steps


def reference_box(reference: sitk.Image, image: sitk.Image) -> tuple[slice, ...]:
    """(z, y, x) slices of ``image``'s voxels whose centres lie in ``reference``'s physical box:
    the CT voxels a map on the network grid covers once put on the CT grid (0 everywhere
    else)."""
    dim = reference.GetDimension()
    size = np.asarray(reference.GetSize(), dtype=float)
    lows, highs = np.full(dim, np.inf), np.full(dim, -np.inf)
    for corner in np.ndindex(*(2,) * dim):
        edge = tuple(float(-0.5 + c * n) for c, n in zip(corner, size, strict=True))
        point = reference.TransformContinuousIndexToPhysicalPoint(edge)
        index = np.asarray(image.TransformPhysicalPointToContinuousIndex(point))
        lows, highs = np.minimum(lows, index), np.maximum(highs, index)
    tol = 1e-3
    start = np.maximum(np.ceil(lows - tol), 0).astype(int)
    stop = np.minimum(np.floor(highs + tol), np.asarray(image.GetSize()) - 1).astype(int)
    return tuple(slice(a, b + 1) for a, b in zip(start[::-1], stop[::-1], strict=True))


def to_original_geometry(
    map_zyx: np.ndarray, reference: sitk.Image, case: Case, additive: bool = False
) -> sitk.Image:
    """A map on the network grid (``reference`` from :func:`~survival_core.models.image_data.network_input`) resampled (linear) onto
    the case's CT grid: a float32 image with the CT's size, spacing, origin and direction, 0
    outside the crop box.

    ``additive``: the map is a per-voxel quantity that adds up (Integrated Gradients), so it is
    also multiplied by (CT voxel volume / network voxel volume): interpolation copies a network
    voxel's value onto every CT voxel it covers, and without the factor the CT map's sum is the
    attribution total times that volume ratio (5.75 on the sarcoma CT). With the factor, the CT
    map's sum over the network map's, measured on a 96 x 96 x 24 grid: 0.999 (demo model) and
    1.007 (untrained tiny net) on the sarcoma CT, 1.008 and 1.021 on pyradiomics' lung1, 0.999
    and 1.002 on lung2. The remainder is sampling: linear interpolation samples a voxel-rough map
    (lung1's 5 mm slices are coarser than the network's 3.1 mm). Maps that are not additive
    (Grad-CAM, in [-1, 1]) keep their values.
    """
    values = np.asarray(map_zyx, dtype=np.float32)
    if values.ndim == 4 and values.shape[0] == 1:
        values = values[0]
    expected = tuple(reference.GetSize())[::-1]
    if values.shape != expected:
        raise GeometryError(
            f"The map has shape {values.shape} (z, y, x); the network grid is {expected}."
        )
    source = sitk.GetImageFromArray(values)
    source.CopyInformation(reference)
    grid = Grid.of(case.image)
    out = np.zeros(tuple(grid.size)[::-1], dtype=np.float32)
    # only the CT voxels of the crop box are resampled (the half-voxel border ITK extrapolates
    # into stays out): the whole grid's copies took 7.9 GB for a 512 x 512 x 900 CT
    box = reference_box(reference, case.image)
    start = [int(s.start) for s in box[::-1]]
    size = [int(s.stop - s.start) for s in box[::-1]]
    if min(size) > 0:
        resampler = sitk.ResampleImageFilter()
        resampler.SetSize(size)
        resampler.SetOutputSpacing(grid.spacing)
        resampler.SetOutputOrigin(case.image.TransformIndexToPhysicalPoint(start))
        resampler.SetOutputDirection(grid.direction)
        resampler.SetInterpolator(sitk.sitkLinear)
        resampler.SetDefaultPixelValue(0.0)
        resampler.SetOutputPixelType(sitk.sitkFloat32)
        out[box] = sitk.GetArrayFromImage(resampler.Execute(source))  # the box alone
        if additive:
            out[box] *= np.float32(np.prod(grid.spacing) / np.prod(reference.GetSpacing()))
    image = sitk.GetImageFromArray(out)
    image.CopyInformation(case.image)
    return image


def save_map(image: sitk.Image, path: str | Path, absolute: bool = False) -> Path:
    """Write ``image`` in the volume format its name says (NIfTI, NRRD, MetaImage; ``.nii.gz``
    is appended when the name has no volume extension); ``absolute`` writes |map| (IG maps are
    signed). Returns the path written."""
    from survival_core.io.volume import is_volume_file

    path = Path(path)
    if not is_volume_file(path):
        path = path.with_name(path.name + ".nii.gz")
    if absolute:
        image = sitk.Abs(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(as_pixel(image, sitk.sitkFloat32), str(path), True)
    return path


def _as_array(image: sitk.Image | np.ndarray) -> np.ndarray:
    return sitk.GetArrayFromImage(image) if isinstance(image, sitk.Image) else np.asarray(image)


def enrichment(
    map_img: sitk.Image | np.ndarray,
    gtv_mask: sitk.Image | np.ndarray,
    top_fraction: float = 0.05,
    organ_mask: sitk.Image | np.ndarray | None = None,
) -> float:
    """Tumour enrichment of a map's top voxels: (share of the top voxels in the GTV) / (share of
    the candidate voxels in the GTV); 1 = chance, above 1 = the map points at the tumour, the
    ceiling is 1 / (GTV share) when every top voxel is in the tumour.

    Candidates are the voxels of ``organ_mask`` when given (else all); the top voxels are the
    ``ceil(top_fraction x candidates)`` largest. Rank only voxels the map covers: a map put on the
    CT grid is 0 outside the network's crop box, and with every CT voxel a candidate the top 5 %
    can outnumber the box, so any map nonzero on the GTV scores the ceiling
    (:func:`~survival_core.explain.case.explain_case` ranks the organ and GTV within the box, or
    the whole box when there is no organ: :func:`reference_box`). Voxels tied at the threshold
    (e.g. the zeros of a map nonzero on fewer voxels than that) share the remaining places as
    under a random tie-break, counted by expectation, so voxel order never matters and a flat map
    scores exactly 1. Pass |map| for signed (IG) maps if both signs count. Images must share a
    grid; arrays a shape.
    """
    if not (isinstance(top_fraction, int | float) and 0 < top_fraction <= 1):
        raise ConfigError(f"top_fraction must be in (0, 1]; got {top_fraction!r}.")
    for other, what in ((gtv_mask, "The GTV mask"), (organ_mask, "The organ mask")):
        if isinstance(map_img, sitk.Image) and isinstance(other, sitk.Image):
            check_same_grid(map_img, other, what)
    values = _as_array(map_img).astype(np.float64)
    gtv = _as_array(gtv_mask).astype(bool)
    candidates = (
        np.ones(values.shape, bool) if organ_mask is None else _as_array(organ_mask).astype(bool)
    )
    if gtv.shape != values.shape or candidates.shape != values.shape:
        raise GeometryError(
            f"The map {values.shape} and masks (GTV {gtv.shape}, organ {candidates.shape}) "
            "must have the same shape."
        )
    pool, in_gtv = values[candidates], gtv[candidates]
    if not pool.size:
        raise MaskError("The candidate (organ) mask is empty: no voxels to rank.")
    if not in_gtv.any():
        raise MaskError("The GTV has no voxels among the ranked (candidate) voxels.")
    k = max(1, math.ceil(top_fraction * pool.size))
    threshold = np.partition(pool, pool.size - k)[pool.size - k]
    above, tied = pool > threshold, pool == threshold
    # Voxels tied at the threshold fill the remaining places at random: count them by expectation.
    tie_weight = (k - above.sum()) / tied.sum()
    hits = in_gtv[above].sum() + tie_weight * in_gtv[tied].sum()
    return float((hits / k) / in_gtv.mean())
