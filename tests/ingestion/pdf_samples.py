"""Generated PDFs laid out like real manuals: fonts by size and weight, running headers,
page numbers, a bookmark outline (or a broken one), all uncompressed and a few KB."""

from __future__ import annotations

from dataclasses import dataclass, field

FONTS = {"body": "Helvetica", "bold": "Helvetica-Bold", "mono": "Courier"}


@dataclass
class Text:
    """One line of text on a page: what, in which font and size, and where."""

    text: str
    y: float
    size: float = 11
    font: str = "body"
    x: float = 72


@dataclass
class Bookmark:
    title: str
    page: int
    """0-based page index; -1 makes a broken entry that points nowhere."""
    children: list[Bookmark] = field(default_factory=list)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def manual_pdf(pages: list[list[Text]], bookmarks: list[Bookmark] | None = None) -> bytes:
    """A portrait PDF of positioned text lines, with an optional bookmark outline."""
    objects: dict[int, bytes] = {}
    font_ids = {name: 3 + i for i, name in enumerate(FONTS)}
    for name, base in FONTS.items():
        objects[font_ids[name]] = (
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % base.encode()
        )
    next_id = 3 + len(FONTS)
    fonts = b" ".join(b"/%s %d 0 R" % (n.encode(), i) for n, i in font_ids.items())
    page_ids = []
    for lines in pages:
        ops = []
        for line in lines:
            ops.append(
                f"BT /{line.font} {line.size} Tf {line.x} {line.y} Td ({_escape(line.text)}) Tj ET"
            )
        stream = "\n".join(ops).encode("cp1252")
        content_id, page_id = next_id, next_id + 1
        next_id += 2
        objects[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << %s >> >> /Contents %d 0 R >>" % (fonts, content_id)
        )
        page_ids.append(page_id)
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    if bookmarks:
        outline_id = next_id
        next_id += 1
        next_id = _outline(objects, bookmarks, outline_id, next_id, page_ids)
        objects[outline_id] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (
            outline_id + 1, outline_id + len(bookmarks), len(bookmarks))  # fmt: skip
        catalog = b"<< /Type /Catalog /Pages 2 0 R /Outlines %d 0 R >>" % outline_id
    objects[1] = catalog
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in page_ids), len(page_ids))  # fmt: skip
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _outline(
    objects: dict[int, bytes], items: list[Bookmark], parent: int, next_id: int, pages: list[int]
) -> int:
    ids = list(range(next_id, next_id + len(items)))
    next_id += len(items)
    for position, (item, item_id) in enumerate(zip(items, ids, strict=True)):
        parts = [b"/Title (%s) /Parent %d 0 R" % (_escape(item.title).encode("cp1252"), parent)]
        if item.page >= 0:
            parts.append(b"/Dest [%d 0 R /XYZ 0 792 0]" % pages[item.page])
        if position > 0:
            parts.append(b"/Prev %d 0 R" % ids[position - 1])
        if position < len(items) - 1:
            parts.append(b"/Next %d 0 R" % ids[position + 1])
        if item.children:
            first = next_id
            next_id = _outline(objects, item.children, item_id, next_id, pages)
            parts.append(b"/First %d 0 R /Last %d 0 R /Count %d" % (
                first, first + len(item.children) - 1, len(item.children)))  # fmt: skip
        objects[item_id] = b"<< " + b" ".join(parts) + b" >>"
    return next_id
