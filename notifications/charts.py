"""Charts drawn from plain data specs as PNG images, with matplotlib's Agg backend.

A message context describes each chart as JSON-able data, so the outbox row stays small and
deterministic and the picture is drawn at send time::

    {"cid": "overdue-by-agency", "title": "…", "kind": "barh", "labels": [...], "values": [...]}

``kind`` is ``barh`` (one horizontal bar per label, first at the top), ``bar`` or ``line``.
Every PNG is exactly ``WIDTH_PX`` × ``HEIGHT_PX`` pixels, meant to be shown ``DISPLAY_WIDTH_PX``
wide (twice the pixels for sharp phone screens), in DejaVu Sans (it has every Vietnamese
diacritic and ships with matplotlib), and the same spec always gives the same bytes: no
timestamp, no software version. matplotlib is imported on first use only, so messages
without charts never pay for it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from notifications.filters import clip, vnnum
from notifications.model import InlineImage

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

WIDTH_PX, HEIGHT_PX = 1200, 600
DISPLAY_WIDTH_PX = 600
DPI = 200  # 10-point text is 28 px in the image, 14 px as displayed
KINDS = ("barh", "bar", "line")
LABEL_CHARS = 30  # longer labels are clipped with "…" so the plot keeps its room
COLOR = "#b42318"
_RC: dict[RcKeyType, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#4b5563",
    "axes.labelcolor": "#111827",
    "xtick.color": "#374151",
    "ytick.color": "#374151",
    "savefig.bbox": "standard",  # never "tight": it would change the pixel size
    "savefig.facecolor": "white",
    "path.simplify": False,
}
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def is_data_spec(spec: Mapping[str, Any]) -> bool:
    """True for a spec that carries its data; one without ``values`` names a supplied image."""
    return "values" in spec


def check_spec(spec: Mapping[str, Any]) -> tuple[str, list[str], list[float]]:
    """The kind, labels and values of ``spec``; a ValueError naming the chart and the bad key."""
    cid = spec.get("cid")
    if not isinstance(cid, str) or not cid:
        raise ValueError(f"chart spec without a Content-ID: cid={cid!r}")
    kind, labels, values = spec.get("kind"), spec.get("labels"), spec.get("values")
    if kind not in KINDS:
        raise ValueError(f"chart {cid!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(labels, Sequence) or isinstance(labels, str):
        raise ValueError(f"chart {cid!r}: labels must be a list, got {labels!r}")
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ValueError(f"chart {cid!r}: values must be a non-empty list, got {values!r}")
    if len(labels) != len(values):
        raise ValueError(f"chart {cid!r}: {len(labels)} labels for {len(values)} values")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise ValueError(f"chart {cid!r}: values must be numbers, got {bad[0]!r}")
    return str(kind), [clip(label, LABEL_CHARS) for label in labels], [float(v) for v in values]


def png(spec: Mapping[str, Any]) -> bytes:
    """The PNG of one data spec, ``WIDTH_PX`` × ``HEIGHT_PX``, byte-for-byte reproducible."""
    kind, labels, values = check_spec(spec)
    import matplotlib.style
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    buffer = io.BytesIO()
    # The default style first: a matplotlibrc on the host must not change size or look.
    with matplotlib.style.context("default"), rc_context(_RC):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)  # attaches itself: Agg, whatever backend pyplot would pick
        ax = figure.add_subplot()
        axis = ax.xaxis if kind == "barh" else ax.yaxis
        axis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: vnnum(v)))
        _DRAW[kind](ax, labels, values)
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _barh(ax: Any, labels: list[str], values: list[float]) -> None:
    bars = ax.barh(range(len(values)), values, color=COLOR, height=0.65)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()  # the first label on top, as a list reads
    ax.bar_label(bars, labels=[vnnum(v) for v in values], padding=3)
    ax.set_xlim(0, max(max(values), 1) * 1.15)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)


def _bar(ax: Any, labels: list[str], values: list[float]) -> None:
    bars = ax.bar(range(len(values)), values, color=COLOR, width=0.65)
    ax.set_xticks(range(len(labels)), labels)
    ax.bar_label(bars, labels=[vnnum(v) for v in values], padding=2)
    ax.set_ylim(0, max(max(values), 1) * 1.18)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)


def _line(ax: Any, labels: list[str], values: list[float]) -> None:
    xs = range(len(values))
    ax.plot(xs, values, color=COLOR, marker="o", linewidth=1.6, markersize=4)
    ax.set_xticks(xs, labels)
    for x, v in zip(xs, values, strict=True):
        ax.annotate(vnnum(v), (x, v), textcoords="offset points", xytext=(0, 5), ha="center")
    low = min(min(values), 0)
    ax.set_ylim(low, max(max(values), 1) * 1.2)
    ax.set_xlim(-0.4, len(values) - 0.6)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.6)


_DRAW = {"barh": _barh, "bar": _bar, "line": _line}


def filename(cid: str) -> str:
    """A plain file name for the chart ``cid``."""
    return (_FILENAME_UNSAFE.sub("-", cid.partition("@")[0]).strip("-.") or "bieu-do") + ".png"


def images(specs: Iterable[Mapping[str, Any]]) -> tuple[InlineImage, ...]:
    """The inline PNG of every data spec, in order; specs without data are skipped."""
    return tuple(
        InlineImage(cid=str(s["cid"]), data=png(s), filename=filename(str(s["cid"])))
        for s in specs
        if is_data_spec(s)
    )
