"""Plotly figures of slices: a gray-scale image in a window, structure contours, optional heat map.

The figures are drawn dark (black background, white text, thick contours) so they read on a
projector as on a reading-room monitor. An overlay's colours come from its volume-wide
:class:`~survival_core.viewer.slices.OverlayScale`: signed maps blue (lowers the risk) - white -
red (raises it), symmetric about 0; non-negative maps a sequential scale from 0. Voxels whose
|value| is below ``floor`` x the scale's limit are left transparent so the image shows through.

Any case is shown with every structure it has (:func:`display_layers`): the named structures of its
source (``Case.structures``; each labelled with the role it makes up: "GTV-1 · GTV",
"Lung-Left · Lung (organ)", :func:`structure_label`), else its role masks; each gets its own colour of a qualitative palette
(:func:`layer_colours`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import SimpleITK as sitk
from skimage.color import deltaE_ciede2000, rgb2lab

from survival_core.case import Case
from survival_core.io.intensity_scale import in_suv
from survival_core.io.label_maps import label_file
from survival_core.preprocess.window import has_hu
from survival_core.viewer.slices import OverlayScale, SliceView

#: Contour colours by role, chosen to stay distinct on gray CT, on the red/blue overlay and on a
#: projector (the GTV is yellow, not red, so it cannot be confused with a risk-raising overlay).
ROLE_COLOURS = {
    "gtv": "#ffd400",
    "organ": "#2ca02c",
    "organ_minus_gtv": "#17becf",
    "liver": "#2ca02c",
    "liver_minus_gtv": "#17becf",
    "ring": "#ff9900",
}
#: Qualitative palette of the viewer's structures, in the order they are listed (the GTV's first,
#: so a lone GTV stays yellow, then the organ's green); no pure red or blue, which the overlay uses.
STRUCTURE_PALETTE = (
    "#ffd400",
    "#2ca02c",
    "#17becf",
    "#ff9900",
    "#e377c2",
    "#9467bd",
    "#bcbd22",
    "#8c564b",
    "#98df8a",
    "#f7b6d2",
    "#c5b0d5",
    "#dbdb8d",
    "#9edae5",
    "#ffbb78",
    "#c49c94",
    "#c7c7c7",
)
#: The overlay's (:data:`SIGNED_COLOURS`) blues and reds from 40 % of its limit outwards, which
#: the colours added past the palette stay clear of.
OVERLAY_HUES = (
    "#053061",
    "#2166ac",
    "#4393c3",
    "#92c5de",
    "#f4a582",
    "#d6604d",
    "#b2182b",
    "#67001f",
)
_FALLBACK = ("#9467bd", "#e377c2", "#bcbd22", "#8c564b")
_VOLUME_SUFFIX = re.compile(r"\.(nii\.gz|nii|nrrd|nhdr|mha|mhd)$", re.IGNORECASE)
#: Overlay voxels below this fraction of the scale's limit are transparent.
OVERLAY_FLOOR = 0.1
SIGNED_COLOURS = "RdBu_r"
POSITIVE_COLOURS = "Hot"
FONT = {"size": 16, "color": "white"}


def role_colour(role: str, position: int = 0) -> str:
    """The display colour of a role (a fallback palette for unknown roles)."""
    return ROLE_COLOURS.get(role, _FALLBACK[position % len(_FALLBACK)])


def site_label(site: str | None) -> str | None:
    """A site as written in labels: 'head_and_neck' -> 'Head and neck'; None stays None."""
    return site.replace("_", " ").capitalize() if site else None


def role_label(role: str, site: str | None = None) -> str:
    """A role as shown in legends: 'GTV', 'Lung (organ)' (the organ named by the case's site, else
    'Organ'), 'Lung minus GTV'; legacy roles read alike ('Liver', 'Liver minus GTV')."""
    if role == "gtv":
        return "GTV"
    if role == "organ":
        return f"{site_label(site)} (organ)" if site else "Organ"
    if role.startswith("organ_"):
        role = (site or "organ") + role[len("organ") :]
    return role.replace("_", " ").capitalize().replace(" gtv", " GTV")


def intensity_unit(case: Case) -> str:
    """The unit of ``case``'s voxel values, which decides its windows and hover: 'HU' for CT,
    'SUVbw' for a PET read as SUV (:func:`~survival_core.io.intensity_scale.in_suv`), '' for an
    image without an absolute scale (MR, a PET in counts)."""
    if has_hu(case.modality):
        return "HU"
    return "SUVbw" if in_suv(case.image, case.modality) else ""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+|\d+", text.lower()))


def structure_label(name: str, role_labels: Sequence[str] = ()) -> str:
    """A structure as shown in legends: its name without a volume file's extension (a label map's
    too: 'labels.nrrd:7' -> 'labels:7'), followed by the roles it makes up unless the name already
    says it ('GTV-1 · GTV', 'Lung-Left · Lung (organ)'; 'gtv.nii.gz' -> 'GTV', 'Liver' -> 'Liver
    (organ)')."""
    file = label_file(name)
    shown = (_VOLUME_SUFFIX.sub("", file) or file) + name[len(file) :]
    if not role_labels:
        return shown
    tags = " + ".join(role_labels)
    return tags if _words(shown) <= _words(tags) else f"{shown} · {tags}"


def _lab(colours: Sequence[str]) -> np.ndarray:
    """CIELAB coordinates of '#rrggbb' colours, one row each."""
    rgb = [[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours]
    return rgb2lab(np.asarray(rgb, dtype=float)[None])[0]


@functools.cache
def _added_colours(count: int) -> tuple[str, ...]:
    """``count`` colours beyond :data:`STRUCTURE_PALETTE`, each in turn the one of a grid of light,
    saturated colours (L* 50-90, chroma >= 30: they read on gray and black) farthest (CIEDE2000)
    from the palette, the overlay's :data:`OVERLAY_HUES` and those added before. Golden-angle
    hues came within deltaE 2.4 of each other past 32 structures, and of the overlay's red."""
    levels = np.arange(0, 256, 15)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    candidates = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in grid]
    lab = _lab(candidates)
    usable = (lab[:, 0] >= 50) & (lab[:, 0] <= 90) & (np.hypot(lab[:, 1], lab[:, 2]) >= 30)
    candidates, lab = [c for c, ok in zip(candidates, usable, strict=True) if ok], lab[usable]
    nearest = np.full(len(lab), np.inf)
    for taken in _lab([*STRUCTURE_PALETTE, *OVERLAY_HUES]):
        nearest = np.minimum(nearest, deltaE_ciede2000(lab, taken[None]))
    added = []
    for _ in range(count):
        best = int(np.argmax(nearest))
        added.append(candidates[best])
        nearest = np.minimum(nearest, deltaE_ciede2000(lab, lab[best][None]))
    return tuple(added)


def layer_colours(keys: Sequence[str]) -> dict[str, str]:
    """One distinct colour per key, in order: :data:`STRUCTURE_PALETTE`, then, for cases with
    more structures (RT structure sets often have 30-50), colours as far from those before and
    from the overlay's reds and blues as can be (:func:`_added_colours`)."""
    added = _added_colours(max(0, len(keys) - len(STRUCTURE_PALETTE)))
    return dict(zip(keys, [*STRUCTURE_PALETTE, *added], strict=False))


@dataclass(frozen=True)
class Layer:
    """A contour the viewer draws: ``mask`` on the image grid, its legend ``label``, ``colour``, and
    the ``roles`` it makes up (empty for a structure that fills no role)."""

    label: str
    mask: sitk.Image
    colour: str
    roles: tuple[str, ...] = ()


def _role_order(roles: Sequence[str]) -> list[str]:
    """The GTV first, the organ second, derived roles after."""
    first = [r for r in ("gtv", "organ", "liver") if r in roles]
    return first + [r for r in roles if r not in first]


def _span(flags: np.ndarray) -> slice:
    where = np.flatnonzero(flags)
    return slice(int(where[0]), int(where[-1]) + 1)


def _extents(structures: Mapping[str, sitk.Image]) -> dict[str, tuple[slice, ...]]:
    """Each non-empty structure's bounding box as (z, y, x) slices (empty structures left out)."""
    boxes: dict[str, tuple[slice, ...]] = {}
    for name, mask in structures.items():
        voxels = sitk.GetArrayViewFromImage(mask)
        slices = voxels.any(axis=(1, 2))
        if not slices.any():
            continue
        z = _span(slices)
        slab = voxels[z]
        boxes[name] = (z, _span(slab.any(axis=(0, 2))), _span(slab.any(axis=(0, 1))))
    return boxes


def _members(case: Case) -> dict[str, list[str]]:
    """Role -> the structures whose union is exactly that role's mask (structures taken by an earlier
    role are used again only when needed: a GTV inside the liver contour is not the liver).

    Works within each structure's bounding box, so a case with many structures on a large grid
    costs one full-size array per role, not one per structure.
    """
    boxes = _extents(case.structures)
    crops = {
        name: sitk.GetArrayViewFromImage(case.structures[name])[box] != 0
        for name, box in boxes.items()
    }
    members: dict[str, list[str]] = {}
    taken: set[str] = set()
    for role in _role_order(list(case.masks)):
        if case.masks[role].GetSize() != case.image.GetSize():
            continue
        target = case.mask_array(role)
        inside = [n for n, crop in crops.items() if not (crop & ~target[boxes[n]]).any()]
        for candidates in ([n for n in inside if n not in taken], inside):
            if not candidates:
                continue
            union = np.zeros_like(target)
            for name in candidates:
                union[boxes[name]] |= crops[name]
            if np.array_equal(union, target):
                members[role] = candidates
                taken.update(candidates)
                break
    return members


def display_layers(case: Case) -> dict[str, Layer]:
    """What the viewer can draw of ``case``, by key, in legend order with distinct colours.

    With named structures (``case.structures``), one layer per structure, keyed by its name and
    labelled with the role it makes up; a role no set of structures makes up exactly (e.g. a
    derived ``organ_minus_gtv``) is added as a layer of its own. Without structures, the role masks.
    """
    entries: list[tuple[str, str, sitk.Image, tuple[str, ...]]] = []
    if case.structures:
        members = _members(case)
        roles_of: dict[str, list[str]] = {}
        for role, names in members.items():
            for name in names:
                roles_of.setdefault(name, []).append(role)
        ordered = [n for names in members.values() for n in names]
        ordered = list(dict.fromkeys(ordered + list(case.structures)))
        for name in ordered:
            roles = tuple(roles_of.get(name, ()))
            label = structure_label(name, [role_label(r, case.site) for r in roles])
            entries.append((name, label, case.structures[name], roles))
        for role in _role_order(list(case.masks)):
            if role not in members:
                key = role if role not in case.structures else f"{role} (role)"
                entries.append((key, role_label(role, case.site), case.masks[role], (role,)))
    else:
        for role in _role_order(list(case.masks)):
            entries.append((role, role_label(role, case.site), case.masks[role], (role,)))
    colours = layer_colours([key for key, *_ in entries])
    return {key: Layer(label, mask, colours[key], roles) for key, label, mask, roles in entries}


def overlay_range(scale: OverlayScale) -> tuple[float, float]:
    """(zmin, zmax) of an overlay's colours: symmetric about 0 for signed maps, from 0 else."""
    return (-scale.limit if scale.signed else 0.0), scale.limit


def visible_overlay(
    values: np.ndarray, scale: OverlayScale, floor: float = OVERLAY_FLOOR
) -> np.ndarray:
    """``values`` as float32 with NaN (transparent in plotly) where |value| < floor x limit."""
    values = np.asarray(values, dtype=np.float32)
    return np.where(np.abs(values) >= floor * scale.limit, values, np.nan)


def _colour_bar(scale: OverlayScale) -> dict:
    low, high = overlay_range(scale)
    if scale.signed:
        ticks = [low, 0.0, high]
        labels = [f"{low:.2g} lowers risk", "0", f"{high:.2g} raises risk"]
    else:
        ticks, labels = [0.0, high], ["0", f"{high:.2g}"]
    return {
        "title": {"text": scale.label, "font": FONT},
        "tickvals": ticks,
        "ticktext": labels,
        "tickfont": FONT,
        "thickness": 16,
        "len": 0.8,
    }


def slice_figure(
    view: SliceView,
    low: float,
    high: float,
    *,
    overlay_opacity: float = 0.5,
    overlay_floor: float = OVERLAY_FLOOR,
    line_width: float = 3.0,
    height: int = 560,
    title: str | None = None,
    colour_bar: bool = True,
    crosshair: tuple[float, float] | None = None,
    colours: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    modality: str = "CT",
    unit: str | None = None,
) -> go.Figure:
    """A slice shown between ``low`` and ``high`` (HU for CT, the image's units otherwise) with
    contours and, if any, an overlay. The hover gives each voxel's value in ``unit``
    (:func:`intensity_unit`; by default HU for CT, none for other modalities).

    Axes are in mm with equal scale, so anisotropic voxels look physically right; the patient
    direction (R/L, A/P, S/I) is marked at each edge (:attr:`SliceView.edges`). ``colour_bar``
    can be turned off when several planes share one overlay scale. ``crosshair`` (col_mm,
    row_mm) marks where the other planes' slices cross this one (thin dashed lines).
    Each contour key of the view is drawn in ``colours[key]`` and listed as ``labels[key]`` (by
    default the role's colour and label); a key with no outline on this slice still has its legend
    entry, so the legend lists every structure shown whichever the slice.
    """
    unit = ("HU" if has_hu(modality) else "") if unit is None else unit
    value = "%{z:.0f} HU" if unit == "HU" else "%{z:.4g}" + (f" {unit}" if unit else "")
    fig = go.Figure(
        go.Heatmap(
            z=view.pixels,
            x=view.col_mm,
            y=view.row_mm,
            colorscale="gray",
            zmin=low,
            zmax=high,
            showscale=False,
            name=modality,
            hovertemplate="%{x:.1f} mm, %{y:.1f} mm: " + value + "<extra></extra>",
        )
    )
    if view.overlay is not None and view.overlay_scale is not None:
        zmin, zmax = overlay_range(view.overlay_scale)
        fig.add_trace(
            go.Heatmap(
                z=visible_overlay(view.overlay, view.overlay_scale, overlay_floor),
                x=view.col_mm,
                y=view.row_mm,
                colorscale=SIGNED_COLOURS if view.overlay_scale.signed else POSITIVE_COLOURS,
                zmin=zmin,
                zmax=zmax,
                opacity=overlay_opacity,
                showscale=colour_bar,
                colorbar=_colour_bar(view.overlay_scale),
                name=view.overlay_scale.label,
                hoverinfo="skip",
            )
        )
    for position, (role, outlines) in enumerate(view.contours.items()):
        colour = (colours or {}).get(role) or role_colour(role, position)
        name = (labels or {}).get(role) or role_label(role)
        for n, points in enumerate(outlines or [np.full((1, 2), np.nan)]):
            fig.add_trace(
                go.Scatter(
                    x=points[:, 0],
                    y=points[:, 1],
                    mode="lines",
                    line={"color": colour, "width": line_width},
                    name=name if outlines else f"{name} (not on this slice)",
                    legendgroup=role,
                    showlegend=n == 0,
                    hoverinfo="name" if outlines else "skip",
                )
            )
    for text, x, y in zip(view.edges or (), (0, 1, 0.5, 0.5), (0.5, 0.5, 1, 0), strict=False):
        fig.add_annotation(  # the patient direction at each edge, inside the image
            text=f"<b>{text}</b>",
            x=x,
            y=y,
            xref="x domain",
            yref="y domain",
            xanchor={0: "left", 1: "right"}.get(x, "center"),
            yanchor={0: "bottom", 1: "top"}.get(y, "middle"),
            showarrow=False,
            font={**FONT, "color": "#ffd54f"},
        )
    if crosshair is not None:
        line = {"color": "rgba(255, 255, 255, 0.6)", "width": 1, "dash": "dash"}
        fig.add_vline(x=crosshair[0], line=line)
        fig.add_hline(y=crosshair[1], line=line)
    fig.update_xaxes(showgrid=False, zeroline=False, title="mm", constrain="domain", color="white")
    fig.update_yaxes(
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
        autorange=True if view.row_up else "reversed",
        title="mm",
        color="white",
    )
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 50},
        title={"text": title, "font": FONT} if title else None,
        font=FONT,
        plot_bgcolor="black",
        paper_bgcolor="black",
        legend={"orientation": "h", "yanchor": "top", "y": -0.24, "font": FONT},
    )
    return fig
