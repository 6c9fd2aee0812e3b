"""What a page shows, read from its HTML: table cells and headers, and the main text (what a
reader sees without opening a "Details" or reading the small grey print)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Elements that hold no text for the reader.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
#: Elements whose text is not the page's main text.
HIDDEN = {"head", "script", "style", "template", "details"}


@dataclass
class Cell:
    attrs: dict[str, str]
    text: str = ""


@dataclass
class _Reader(HTMLParser):
    cells: list[Cell] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    main: list[str] = field(default_factory=list)
    _stack: list[tuple[str, bool]] = field(default_factory=list)  # (tag, hides its text)
    _cell: Cell | None = None
    _header: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "td":
            self._cell = Cell(values)
            self.cells.append(self._cell)
        if tag == "th":
            self._header = []
        if tag in VOID:
            return
        hides = tag in HIDDEN or "muted" in values.get("class", "").split()
        self._stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "th" and self._header is not None:
            self.headers.append("".join(self._header).strip())
            self._header = None
        if tag in VOID or all(open_tag != tag for open_tag, _ in self._stack):
            return
        while self._stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data
        if self._header is not None:
            self._header.append(data)
        if not any(hides for _, hides in self._stack):
            self.main.append(data)


def read(page: str) -> _Reader:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader


def unlabelled_cells(page: str) -> list[str]:
    """The text of each table cell that has no ``data-label`` (a row-wide note aside)."""
    return [
        " ".join(c.text.split())
        for c in read(page).cells
        if not c.attrs.get("data-label") and "colspan" not in c.attrs
    ]


def labels(page: str) -> list[str]:
    return [c.attrs["data-label"] for c in read(page).cells if c.attrs.get("data-label")]


def empty_headers(page: str) -> int:
    return sum(1 for text in read(page).headers if not text)


def main_text(page: str) -> str:
    """The words a reader sees at first: outside ``<details>``, muted print and the head."""
    return " ".join(" ".join(read(page).main).split())
