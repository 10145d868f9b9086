"""Charts: data specs drawn as PNGs of one fixed size, the same bytes each time, sent inline."""

from __future__ import annotations

import email
import io
import json
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from notifications import build, charts, outgoing_from_json, outgoing_to_json
from notifications.charts import COLOR, HEIGHT_PX, WIDTH_PX, clear_cache, filename, images, png
from tests.test_messages import digest_context, outgoing

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BY_AGENCY = {
    "cid": "overdue-by-agency",
    "title": "Nhiệm vụ quá hạn theo đơn vị chủ trì",
    "kind": "barh",
    "labels": [
        "Sở Tài nguyên và Môi trường",
        "Ban Quản lý dự án đầu tư xây dựng các công trình giao thông",
        "UBND huyện Đông Sơn",
        "Các đơn vị khác",
    ],
    "values": [12, 5, 1, 1551],
}
WEEKLY = {
    "cid": "overdue-weekly",
    "title": "Nhiệm vụ quá hạn chưa hoàn thành qua 8 tuần",
    "kind": "line",
    "labels": ["05/10", "12/10", "19/10", "26/10", "02/11", "09/11", "16/11", "23/11"],
    "values": [3, 4, 4, 6, 9, 9, 8, 7],
}


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG, each CRC checked."""
    assert data[:8] == SIGNATURE
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        out.append((kind, body))
        at += 12 + length
    return out


def size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    kind, body = chunks(data)[0]
    assert kind == b"IHDR"
    width, height = struct.unpack(">II", body[:8])
    return width, height


@pytest.mark.parametrize("spec", [BY_AGENCY, WEEKLY, WEEKLY | {"kind": "bar"}])
def test_every_kind_is_a_valid_png_of_the_intended_size(spec: dict[str, Any]) -> None:
    data = png(spec)
    assert size(data) == (WIDTH_PX, HEIGHT_PX) == (1200, 600)
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds[-1] == b"IEND"
    assert b"IDAT" in kinds


def test_the_same_spec_gives_the_same_bytes_without_time_or_software() -> None:
    first, second = png(BY_AGENCY), png(json.loads(json.dumps(BY_AGENCY)))
    assert first == second
    kinds = {kind for kind, _ in chunks(first)}
    assert b"tIME" not in kinds
    assert all(b"Software" not in body for kind, body in chunks(first) if kind == b"tEXt")


def test_vietnamese_labels_draw_without_a_missing_glyph() -> None:
    # pytest turns warnings into errors: matplotlib warns for every glyph its font lacks.
    labels = ["Ủy ban nhân dân huyện Đắk Glong", "Sở Lao động – Thương binh và Xã hội", "ễ ỗ ự ỹ ậ"]
    assert size(png(BY_AGENCY | {"labels": labels, "values": [1, 2, 3]})) == (1200, 600)


def test_a_character_the_font_lacks_is_warned_about_as_matplotlib_did() -> None:
    clear_cache()
    with pytest.warns(UserWarning, match=r"Glyph 20013 \('中'\) missing from font"):
        png(BY_AGENCY | {"labels": ["Sở Nội vụ", "中", "UBND", "Khác"]})


def test_bars_are_drawn_in_the_chart_colour_on_white() -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png(BY_AGENCY))).convert("RGB")
    red = tuple(int(COLOR[i : i + 2], 16) for i in (1, 3, 5))
    corners = [(0, 0), (WIDTH_PX - 1, 0), (0, HEIGHT_PX - 1), (WIDTH_PX - 1, HEIGHT_PX - 1)]
    assert {image.getpixel(xy) for xy in corners} == {(255, 255, 255)}
    # "Các đơn vị khác" (1,551) fills most of the width of the lowest quarter; 12 is a sliver
    row = [image.getpixel((x, HEIGHT_PX * 3 // 4)) for x in range(WIDTH_PX)]
    assert WIDTH_PX // 3 < row.count(red) < WIDTH_PX * 3 // 4


def test_each_distinct_chart_is_drawn_once_whatever_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[int] = []
    encode = charts._encode

    def counted(image: Any) -> bytes:
        encoded.append(1)
        return encode(image)

    monkeypatch.setattr(charts, "_encode", counted)
    clear_cache()
    first = png(BY_AGENCY)
    assert png(json.loads(json.dumps(BY_AGENCY))) == first
    assert png(BY_AGENCY | {"cid": "pct21-overdue", "title": "Khác"}) == first  # neither drawn
    assert len(encoded) == 1
    png(WEEKLY)
    png(BY_AGENCY | {"values": [12, 5, 1, 1552]})
    assert len(encoded) == 3
    clear_cache()
    assert png(BY_AGENCY) == first
    assert len(encoded) == 4


def test_a_single_point_and_zeros_still_draw() -> None:
    assert size(png(WEEKLY | {"labels": ["23/11"], "values": [0]})) == (1200, 600)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "pie"}, "kind 'pie'"),
        ({"values": []}, "non-empty"),
        ({"values": [1, 2]}, "8 labels for 2 values"),
        ({"values": ["3"] * 8}, "numbers, got '3'"),
        ({"values": [True] * 8}, "numbers, got True"),
        ({"cid": ""}, "Content-ID"),
    ],
)
def test_a_bad_spec_is_a_value_error_naming_the_chart_and_key(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        png(WEEKLY | change)


def test_images_skip_specs_without_data_and_name_their_files() -> None:
    drawn = images([BY_AGENCY, {"cid": "grid.1@x.vn", "title": "Ảnh có sẵn"}, WEEKLY])
    assert [(i.cid, i.filename, i.subtype) for i in drawn] == [
        ("overdue-by-agency", "overdue-by-agency.png", "png"),
        ("overdue-weekly", "overdue-weekly.png", "png"),
    ]
    assert filename("grid.20261126@directives.binhan.gov.vn") == "grid.20261126.png"


def test_charts_travel_as_data_and_come_back_as_inline_images() -> None:
    ctx = digest_context() | {"charts": [BY_AGENCY, WEEKLY]}
    stored = json.loads(json.dumps(outgoing_to_json(outgoing("weekly_digest", ctx, images=()))))
    assert "values" in json.dumps(stored)  # the outbox row holds numbers, not pictures
    assert len(json.dumps(stored)) < 20_000
    back = outgoing_from_json(stored)
    assert [i.cid for i in back.images] == ["overdue-by-agency", "overdue-weekly"]
    data = bytes(build(back, date=datetime(2026, 11, 23, tzinfo=UTC)))
    msg = email.message_from_bytes(data, policy=default)
    assert isinstance(msg, EmailMessage)
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    parts = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert [p["Content-ID"] for p in parts] == ["<overdue-by-agency>", "<overdue-weekly>"]
    for part in parts:
        assert f"cid:{part['Content-ID'][1:-1]}" in html
        assert size(part.get_content()) == (WIDTH_PX, HEIGHT_PX)
    assert 'width="600"' in html  # shown at half its pixels: sharp on a phone
    text_part = msg.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert "NHIỆM VỤ QUÁ HẠN CHƯA HOÀN THÀNH QUA 8 TUẦN" in text
    assert "- Các đơn vị khác: 1.551" in text  # plain-text readers get the figures


def test_a_message_without_charts_never_imports_matplotlib() -> None:
    code = (
        "import json, sys\n"
        "from notifications import build, outgoing_from_json, outgoing_to_json\n"
        "from tests.test_messages import outgoing\n"
        "for kind in ('overdue', 'weekly_digest'):\n"
        "    o = outgoing_from_json(json.loads(json.dumps(outgoing_to_json(outgoing(kind)))))\n"
        "    bytes(build(o))\n"
        "assert not any(m.startswith('matplotlib') for m in sys.modules), 'matplotlib loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
