"""A reminder letter as a .docx in the layout of Nghị định 30/2020/NĐ-CP (appendix I).

A4, margins 20/20/30/20 mm (top/bottom/left/right), Times New Roman: the header in 12–14 pt, the
text in 14 pt, the task table in 12 pt, the recipients in 12/11 pt. All python-docx code of the
engine lives here; the content comes from ``directives.services.letters`` as plain values.
"""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_ALIGN_VERTICAL
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Length, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from directives.services.letters import CriticalTask, ReminderLetter

FONT = "Times New Roman"
SUBJECT = "V/v đôn đốc thực hiện nhiệm vụ quá hạn"
NUMBER = "Số:      /VP-TH"
COLUMNS = (  # header, width in mm: 160 mm between the margins; a date fits on one line
    ("STT", 11),
    ("Mã nhiệm vụ", 24),
    ("Nội dung", 39),
    ("Văn bản giao", 30),
    ("Thời hạn", 22),
    ("Số ngày làm việc quá hạn", 14),
    ("Lãnh đạo phụ trách", 20),
)
CELL_PADDING = 57  # twips (1 mm) left and right in the task table, instead of Word's 1.9 mm
RECIPIENTS = ("Như trên;", "Lãnh đạo UBND tỉnh phụ trách (để b/c);", "Lưu: VT, TH.")
CENTER, JUSTIFY, LEFT = (
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
    WD_ALIGN_PARAGRAPH.LEFT,
)


def render_letter(letter: ReminderLetter) -> bytes:
    """The letter as the bytes of a .docx file."""
    doc = Document()
    _page_and_fonts(doc)
    _header(doc, letter)
    _text(doc, f"Kính gửi: {letter.agency_name}.", align=CENTER, space_before=12)
    _text(doc, opening(letter))
    _tasks_table(doc, letter.tasks)
    _text(doc, request(letter), space_before=6)
    _text(doc, f"{letter.sender.office} thông báo để {letter.agency_name} biết, thực hiện./.")
    _closing(doc, letter)
    props = doc.core_properties
    props.title, props.subject = SUBJECT, f"{letter.agency_name} — {letter.as_of:%d/%m/%Y}"
    props.author = props.last_modified_by = letter.sender.office
    props.language = "vi-VN"
    buffer = BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def opening(letter: ReminderLetter) -> str:
    """The paragraph before the table: the date, how many tasks, their codes."""
    committee, n = letter.sender.committee, len(letter.tasks)
    codes = ", ".join(t.code for t in letter.tasks)
    return (
        f"Qua theo dõi tình hình thực hiện các nhiệm vụ do {committee}, Chủ tịch {committee} "
        f"giao, tính đến ngày {letter.as_of:%d/%m/%Y}, {letter.agency_name} còn {n:02d} nhiệm vụ "
        f"(mã {codes}) đã quá thời hạn từ {letter.threshold} ngày làm việc trở lên nhưng chưa "
        "hoàn thành, chưa báo cáo kết quả, cụ thể như sau:"
    )


def request(letter: ReminderLetter) -> str:
    """The paragraph after the table: what the agency must do, and by when."""
    office, committee = letter.sender.office, letter.sender.committee
    return (
        f"Để bảo đảm việc thực hiện nghiêm các nhiệm vụ được giao, {office} đề nghị "
        f"{letter.agency_name} khẩn trương chỉ đạo hoàn thành các nhiệm vụ nêu trên; báo cáo "
        "kết quả thực hiện (trường hợp chưa hoàn thành, nêu rõ nguyên nhân, khó khăn, vướng mắc "
        f"và đề xuất thời hạn hoàn thành) về {committee} (qua {office}) trong thời hạn "
        f"{letter.respond_within:02d} ngày làm việc, chậm nhất ngày {letter.respond_by:%d/%m/%Y}, "
        f"để tổng hợp, báo cáo Lãnh đạo {committee}."
    )


def deadline_text(task: CriticalTask) -> list[str]:
    """The lines of the deadline cell: the effective deadline, then the original if extended."""
    lines = [f"{task.deadline:%d/%m/%Y}"]
    if task.extended and task.original_deadline is not None:
        lines.append(f"(gia hạn từ {task.original_deadline:%d/%m/%Y})")
    return lines


def _page_and_fonts(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(20)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    r_pr = normal.element.get_or_add_rPr()
    # Word picks the East Asian slot for some characters; pin it too so nothing falls back.
    r_pr.get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    r_pr.append(lang)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(0), 1.0
    _page_numbers(section)


def _page_numbers(section: Section) -> None:
    """Page numbers at the top centre from the second page on, as the decree asks."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    paragraph._p.append(field)


def _header(doc: DocumentObject, letter: ReminderLetter) -> None:
    s = letter.sender
    table = _grid(doc, rows=2, widths=(58, 107), borders=False)
    left, right = table.cell(0, 0), table.cell(0, 1)
    if s.parent:
        _line(left, s.parent, size=13, first=True)
    _line(left, s.body, size=13, bold=True, underline=True, first=not s.parent)
    _line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=13, bold=True, first=True)
    _line(right, "Độc lập - Tự do - Hạnh phúc", size=14, bold=True, underline=True)
    number, place = table.cell(1, 0), table.cell(1, 1)
    _line(number, NUMBER, size=13, first=True, space_before=6)
    _line(number, SUBJECT, size=13, space_before=6)
    _line(
        place, f"{s.place}, ngày … tháng … năm …", size=14, italic=True, first=True, space_before=6
    )


def _tasks_table(doc: DocumentObject, tasks: tuple[CriticalTask, ...]) -> None:
    table = _grid(doc, rows=len(tasks) + 1, widths=tuple(w for _, w in COLUMNS), borders=True)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(CELL_PADDING))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    table._tbl.tblPr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )
    header = table.rows[0]
    repeat = OxmlElement("w:tblHeader")  # the header row again on every page the table spans
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    for cell, (title, _) in zip(header.cells, COLUMNS, strict=True):
        cell.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
        _line(cell, title, size=12, bold=True, first=True)
    for i, task in enumerate(tasks, start=1):
        values: list[list[str]] = [
            [str(i)],
            [task.code],
            [task.content],
            [task.directive, f"ngày {task.issued_on:%d/%m/%Y}"],
            deadline_text(task),
            [str(task.working_days_late)],
            [task.leader],
        ]
        for col, (cell, lines) in enumerate(zip(table.rows[i].cells, values, strict=True)):
            align = LEFT if col == 2 else CENTER  # justified text gapes in a narrow column
            for k, text in enumerate(lines):  # a date under a number: a size smaller
                _line(cell, text, size=12 if k == 0 else 11, align=align, first=k == 0)


def _closing(doc: DocumentObject, letter: ReminderLetter) -> None:
    who = letter.sender.signatory
    table = _grid(doc, rows=1, widths=(80, 80), borders=False)
    left, right = table.cell(0, 0), table.cell(0, 1)
    _line(left, "Nơi nhận:", size=12, bold=True, italic=True, align=LEFT, first=True)
    for entry in RECIPIENTS:
        _line(left, f"- {entry}", size=11, align=LEFT)
    first = True
    if who.on_behalf:
        _line(right, who.on_behalf, size=14, bold=True, first=True)
        first = False
    _line(right, who.title, size=14, bold=True, first=first)
    for _ in range(4):  # room for the signature and the seal
        _line(right, "", size=14)
    _line(right, who.name, size=14, bold=True)


def _grid(doc: DocumentObject, *, rows: int, widths: tuple[int, ...], borders: bool) -> Table:
    """A table of fixed column widths in mm (Word reads each cell's width, so set them all)."""
    table: Table = doc.add_table(rows=rows, cols=len(widths))
    if borders:
        table.style = doc.styles["Table Grid"]
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Mm(width)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
    return table


def _line(
    cell: _Cell,
    text: str,
    *,
    size: float,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    align: WD_ALIGN_PARAGRAPH = CENTER,
    first: bool = False,
    space_before: float = 0,
) -> Paragraph:
    """A paragraph in ``cell``; ``first`` fills the empty paragraph every new cell holds."""
    paragraph: Paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(space_before)
    run = paragraph.add_run(text)
    run.font.size, run.bold, run.italic, run.underline = Pt(size), bold, italic, underline
    return paragraph


def _text(
    doc: DocumentObject,
    text: str,
    *,
    align: WD_ALIGN_PARAGRAPH = JUSTIFY,
    space_before: float = 0,
) -> Paragraph:
    """A paragraph of the letter's body: 14 pt, justified, first line indented 1.27 cm."""
    paragraph: Paragraph = doc.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    first_line: Length = Cm(1.27) if align == JUSTIFY else Cm(0)
    fmt.first_line_indent = first_line
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(space_before), Pt(6), 1.15
    paragraph.add_run(text).font.size = Pt(14)
    return paragraph
