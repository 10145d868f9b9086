"""Charts drawn from plain data specs as PNG images, with Pillow, laid out as matplotlib would.

A message context describes each chart as JSON-able data, so the outbox row stays small and
deterministic and the picture is drawn at send time::

    {"cid": "overdue-by-agency", "title": "…", "kind": "barh", "labels": [...], "values": [...]}

``kind`` is ``barh`` (one horizontal bar per label, first at the top), ``bar`` or ``line``.
Every PNG is exactly ``WIDTH_PX`` × ``HEIGHT_PX`` pixels, meant to be shown ``DISPLAY_WIDTH_PX``
wide (twice the pixels for sharp phone screens), in DejaVu Sans (it has every Vietnamese
diacritic and ships with matplotlib; a character it lacks is warned about, as matplotlib does),
and the same spec always gives the same bytes: no timestamp, no software version.

The pictures are those of matplotlib's default style with the settings below (10-point text at
200 dpi, tick marks and padding of 3.5 points, left and bottom spines, a light grid, the plot
fitted to its labels as constrained layout does, ticks from matplotlib's ``MaxNLocator``), but
drawn straight onto an image: a matplotlib figure cost 100 to 200 ms a chart (two draws, one to
lay it out; about 25 text artists; the PNG encoder), which made the leaders' digests of one week
spend seconds on their charts. Upright shapes are snapped to whole pixels, as Agg snaps them; a
line chart is drawn at twice the size and reduced, for smooth slopes; text is drawn at the
final size, antialiased by FreeType.

A chart is drawn once per distinct spec (the Content-ID and the title are not drawn): leaders
in charge of the same sectors get the same charts, and the dispatcher builds their messages in
one run. The last ``CACHE_SIZE`` drawings are kept. Pillow and matplotlib are imported on first
use only, so messages without charts never pay for them.
"""

from __future__ import annotations

import functools
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notifications.filters import clip, vnnum
from notifications.model import InlineImage

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

WIDTH_PX, HEIGHT_PX = 1200, 600
DISPLAY_WIDTH_PX = 600
DPI = 200  # 10-point text is 28 px in the image, 14 px as displayed
KINDS = ("barh", "bar", "line")
LABEL_CHARS = 30  # longer labels are clipped with "…" so the plot keeps its room
COLOR = "#b42318"
CACHE_SIZE = 128  # drawings kept (about 50 KiB each)

# matplotlib's default style and the settings the charts were designed with, in pixels.
_PT = DPI / 72  # pixels per point
FONT_PX = 10 * _PT
TEXT_COLOR = "#000000"  # bar labels and annotations
TICK_COLOR = "#374151"  # tick marks and their labels
SPINE_COLOR = "#4b5563"
GRID_COLOR = "#e5e7eb"
SPINE_WIDTH = TICK_WIDTH = 0.8 * _PT
GRID_WIDTH = 0.6 * _PT
LINE_WIDTH = 1.6 * _PT
MARKER_PX = 4 * _PT  # the diameter of a point of the line
TICK_LENGTH = TICK_PAD = 3.5 * _PT
EDGE_PAD = 3 / 72 * DPI  # constrained layout's padding at the figure's edges
BAR_LABEL_PAD = {"barh": 3 * _PT, "bar": 2 * _PT}
ANNOTATION_OFFSET = 5 * _PT  # a line point's value, above it
MARGIN = 0.05  # the data limits' margin on an axis that is not set
LINE_SCALE = 2  # a line chart is drawn this many times larger, then reduced: smooth slopes
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
    return _drawn(kind, tuple(labels), tuple(values))


def clear_cache() -> None:
    """Forget the charts drawn so far (each is drawn again on its next use)."""
    _drawn.cache_clear()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _drawn(kind: str, labels: tuple[str, ...], values: tuple[float, ...]) -> bytes:
    _check_glyphs(labels)
    return _encode(_DRAW[kind](list(labels), list(values)))


# ------------------------------------------------------------------------------------------------
# Scales, ticks, text


@dataclass(frozen=True)
class _Axis:
    """A linear map from data limits to pixel limits (``start`` is where ``lo`` goes)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


@functools.cache
def _font() -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_path()), size=FONT_PX)


@functools.cache
def _font_path() -> str:
    import matplotlib

    return f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf"


@functools.cache
def _charmap() -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(_font_path()).get_charmap())


def _check_glyphs(texts: Iterable[str]) -> None:
    """Warn, as matplotlib does, for every character the font cannot draw."""
    have = _charmap()
    missing = {ch for text in texts for ch in text if ord(ch) not in have and ch.isprintable()}
    for ch in sorted(missing):
        warnings.warn(
            f"Glyph {ord(ch)} ({ch!r}) missing from font(s) DejaVu Sans.", UserWarning, stacklevel=4
        )


def _ticks(lo: float, hi: float) -> list[float]:
    """matplotlib's ticks for the limits: at most 5 intervals of a round, whole step."""
    from matplotlib.ticker import MaxNLocator

    tolerance = (hi - lo) * 1e-10
    return [
        float(t)
        for t in MaxNLocator(integer=True, nbins=5).tick_values(lo, hi)
        if lo - tolerance <= t <= hi + tolerance
    ]


def _width(text: str) -> float:
    return float(_font().getlength(text))


@functools.cache
def _lp() -> tuple[float, float]:
    """The ascent and descent of a line of text as matplotlib lays it out: those of "lp"."""
    _, top, _, bottom = _font().getbbox("lp", anchor="ls")
    return float(-top), float(bottom)


def _height() -> float:
    ascent, descent = _lp()
    return ascent + descent


def _padded(lo: float, hi: float) -> tuple[float, float]:
    """Data limits widened by the default margin on each side."""
    span = hi - lo
    return lo - MARGIN * span, hi + MARGIN * span


# ------------------------------------------------------------------------------------------------
# Drawing


class _Canvas:
    """Shapes on an image ``scale`` times larger, reduced before the text is written.

    Bars, grid lines, ticks and spines are upright, snapped to whole pixels as matplotlib's
    Agg snaps them: only a line chart's slopes and dots need the larger image.
    """

    def __init__(self, scale: int = 1) -> None:
        from PIL import Image, ImageDraw

        self.scale = scale
        self.image = Image.new("RGB", (WIDTH_PX * scale, HEIGHT_PX * scale), "white")
        self.draw = ImageDraw.Draw(self.image)

    def line(self, points: Sequence[tuple[float, float]], color: str, width: float) -> None:
        k = self.scale
        xy = [(round(x * k), round(y * k)) for x, y in points]
        self.draw.line(xy, fill=color, width=max(1, round(width * k)), joint="curve")

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        k = self.scale
        xs, ys = sorted((round(x0 * k), round(x1 * k))), sorted((round(y0 * k), round(y1 * k)))
        if xs[1] - xs[0] < 1 or ys[1] - ys[0] < 1:
            return  # under a pixel: nothing to see (a zero, or a one among thousands)
        right, bottom = max(xs[0], xs[1] - 1), max(ys[0], ys[1] - 1)  # PIL includes the last
        self.draw.rectangle((xs[0], ys[0], right, bottom), fill=color)

    def dot(self, x: float, y: float, diameter: float, color: str) -> None:
        k, r = self.scale, diameter * self.scale / 2
        self.draw.ellipse((x * k - r, y * k - r, x * k + r, y * k + r), fill=color)

    def text(self) -> ImageDraw.ImageDraw:
        """The image at its final size, to write on."""
        from PIL import ImageDraw

        self.image = self.image.reduce(self.scale) if self.scale > 1 else self.image
        assert self.image.size == (WIDTH_PX, HEIGHT_PX)
        return ImageDraw.Draw(self.image)


def _frame(c: _Canvas, box: tuple[float, float, float, float]) -> None:
    """The left and bottom spines, over everything else."""
    left, top, right, bottom = box
    c.line([(left, top), (left, bottom + SPINE_WIDTH / 2)], SPINE_COLOR, SPINE_WIDTH)
    c.line([(left - SPINE_WIDTH / 2, bottom), (right, bottom)], SPINE_COLOR, SPINE_WIDTH)


def _x_ticks(c: _Canvas, xs: Iterable[float], bottom: float) -> None:
    for x in xs:
        c.line([(x, bottom), (x, bottom + TICK_LENGTH)], TICK_COLOR, TICK_WIDTH)


def _y_ticks(c: _Canvas, ys: Iterable[float], left: float) -> None:
    for y in ys:
        c.line([(left - TICK_LENGTH, y), (left, y)], TICK_COLOR, TICK_WIDTH)


def _layout(
    left_labels: Sequence[str], bottom_labels: Sequence[str], extra_right: float = 0.0
) -> tuple[float, float, float, float]:
    """The plot's box (left, top, right, bottom) that fits its tick labels inside the image."""
    widest = max((_width(t) for t in left_labels), default=0.0)
    left = EDGE_PAD + widest + TICK_PAD + TICK_LENGTH
    half_first = _width(bottom_labels[0]) / 2 if bottom_labels else 0.0
    left = max(left, EDGE_PAD + half_first)
    bottom = HEIGHT_PX - EDGE_PAD - _height() - TICK_PAD - TICK_LENGTH
    right = WIDTH_PX - EDGE_PAD - extra_right
    return left, EDGE_PAD, right, bottom


def _barh(labels: list[str], values: list[float]) -> Any:
    n = len(values)
    x_hi = max(max(values), 1) * 1.15
    ticks = _ticks(0, x_hi)
    tick_labels = [vnnum(t) for t in ticks]
    left, top, right, bottom = _layout(labels, tick_labels)
    # The values' labels and the last tick's label stay inside the image: the plot narrows.
    for _ in range(2):
        x = _Axis(0, x_hi, left, right)
        overflow = max(
            [x(v) + BAR_LABEL_PAD["barh"] + _width(vnnum(v)) for v in values]
            + [x(ticks[-1]) + _width(tick_labels[-1]) / 2 if ticks else 0.0]
        ) - (WIDTH_PX - EDGE_PAD)
        if overflow <= 0.5:
            break
        right -= overflow
    lo, hi = _padded(-0.325, n - 1 + 0.325)
    x, y = _Axis(0, x_hi, left, right), _Axis(lo, hi, top, bottom)  # the first label on top
    c = _Canvas()
    for t in ticks:
        c.line([(x(t), top), (x(t), bottom)], GRID_COLOR, GRID_WIDTH)
    for i, v in enumerate(values):
        c.rect(x(0), y(i - 0.325), x(min(max(v, 0), x_hi)), y(i + 0.325), COLOR)
    _x_ticks(c, (x(t) for t in ticks), bottom)
    _y_ticks(c, (y(i) for i in range(n)), left)
    _frame(c, (left, top, right, bottom))
    d = c.text()
    font = _font()
    ascent, descent = _lp()
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        d.text((left - TICK_LENGTH - TICK_PAD, y(i) + ascent / 2), label, TICK_COLOR, font, "rs")
        at = (x(max(v, 0)) + BAR_LABEL_PAD["barh"], y(i) + (ascent - descent) / 2)
        d.text(at, vnnum(v), TEXT_COLOR, font, "ls")
    for t, label in zip(ticks, tick_labels, strict=True):
        d.text((x(t), bottom + TICK_LENGTH + TICK_PAD + ascent), label, TICK_COLOR, font, "ms")
    return c.image


def _vertical(labels: list[str], values: list[float], line: bool) -> Any:
    """A line (points joined, values above them) or bars (values on top), category labels under."""
    n = len(values)
    if line:
        y_lo, y_hi = min(min(values), 0), max(max(values), 1) * 1.2
        x_lo, x_hi = -0.4, n - 0.6
    else:
        y_lo, y_hi = 0, max(max(values), 1) * 1.18
        x_lo, x_hi = _padded(-0.325, n - 1 + 0.325)
    ticks = _ticks(y_lo, y_hi)
    tick_labels = [vnnum(t) for t in ticks]
    left, top, right, bottom = _layout(tick_labels, labels)
    # The last category's label stays inside the image; so do the top tick's and the values'.
    x = _Axis(x_lo, x_hi, left, right)
    overflow = x(n - 1) + _width(labels[-1]) / 2 - (WIDTH_PX - EDGE_PAD)
    if overflow > 0:
        right -= overflow
    h = _height()
    for _ in range(2):
        y = _Axis(y_lo, y_hi, bottom, top)
        highest = min(
            [y(t) + _lp()[0] / 2 - _lp()[0] for t in ticks]
            + [y(v) - ANNOTATION_OFFSET - _lp()[0] for v in values if line]
            + [y(v) - BAR_LABEL_PAD["bar"] - h for v in values if not line]
        )
        if highest >= EDGE_PAD - 0.5:
            break
        top += EDGE_PAD - highest
    x, y = _Axis(x_lo, x_hi, left, right), _Axis(y_lo, y_hi, bottom, top)
    c = _Canvas(LINE_SCALE if line else 1)
    for t in ticks:
        c.line([(left, y(t)), (right, y(t))], GRID_COLOR, GRID_WIDTH)
    if line:
        points = [(x(i), y(v)) for i, v in enumerate(values)]
        if n > 1:
            c.line(points, COLOR, LINE_WIDTH)
        for px, py in points:
            c.dot(px, py, MARKER_PX, COLOR)
    else:
        for i, v in enumerate(values):
            c.rect(x(i - 0.325), y(0), x(i + 0.325), y(min(max(v, 0), y_hi)), COLOR)
    _x_ticks(c, (x(i) for i in range(n)), bottom)
    _y_ticks(c, (y(t) for t in ticks), left)
    _frame(c, (left, top, right, bottom))
    d = c.text()
    font = _font()
    ascent, descent = _lp()
    for t, label in zip(ticks, tick_labels, strict=True):
        d.text((left - TICK_LENGTH - TICK_PAD, y(t) + ascent / 2), label, TICK_COLOR, font, "rs")
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        at = (x(i), bottom + TICK_LENGTH + TICK_PAD + ascent)
        d.text(at, label, TICK_COLOR, font, "ms")
        if line:
            d.text((x(i), y(v) - ANNOTATION_OFFSET), vnnum(v), TEXT_COLOR, font, "ms")
        else:
            at = (x(i), y(max(v, 0)) - BAR_LABEL_PAD["bar"] - descent)
            d.text(at, vnnum(v), TEXT_COLOR, font, "ms")
    return c.image


_DRAW: dict[str, Callable[[list[str], list[float]], Any]] = {
    "barh": _barh,
    "bar": lambda labels, values: _vertical(labels, values, line=False),
    "line": lambda labels, values: _vertical(labels, values, line=True),
}


# ------------------------------------------------------------------------------------------------
# PNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode(image: Any) -> bytes:
    """An RGB image as PNG: IHDR, the resolution (pHYs), the pixels, IEND; nothing dated.

    Rows unfiltered (the charts are mostly flat colour), deflated at level 3: about 40 KiB a
    chart, smaller than matplotlib's RGBA files, in about 8 ms where Pillow's encoder, which
    tries every filter on every row, takes about 30.
    """
    width, height = image.size
    raw = image.tobytes()
    stride = width * 3
    rows = b"".join(b"\0" + raw[i : i + stride] for i in range(0, len(raw), stride))
    per_metre = round(DPI / 0.0254)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(rows, 3)),
            _chunk(b"IEND", b""),
        )
    )


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
