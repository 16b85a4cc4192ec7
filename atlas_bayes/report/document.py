"""The report as data: sections of blocks (text, tables, figures) that HTML and Markdown render.

Every string here is plain text (never markup): the HTML renderer escapes all of it, so a
language called ``<script>`` is shown, never run.
"""

from dataclasses import dataclass, field
from typing import Literal

#: Kinds of note: ``info`` (context), ``caution`` (read the numbers with care), ``warning``
#: (a failed check: do not trust the numbers yet).
NoteLevel = Literal["info", "caution", "warning"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str
    kind: Literal["paragraph"] = "paragraph"


@dataclass(frozen=True)
class Heading:
    """A subheading inside a section."""

    text: str
    kind: Literal["heading"] = "heading"


@dataclass(frozen=True)
class Note:
    """A highlighted remark: what a number means, or why to distrust it."""

    text: str
    level: NoteLevel = "info"
    kind: Literal["note"] = "note"


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    items: tuple[str, ...]
    kind: Literal["items"] = "items"


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    Attributes
    ----------
    columns : tuple of str
        Column headers.
    rows : tuple of tuple of str
        Cells, already formatted (numbers with their intervals).
    caption : str
        What the table shows, with the interval's probability and kind.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    kind: Literal["table"] = "table"


@dataclass(frozen=True)
class Figure:
    """An embedded PNG image.

    Attributes
    ----------
    uri : str
        ``data:image/png;base64,...``.
    alt : str
        Text alternative (what the figure shows).
    caption : str
        Caption, with the interval's probability and kind where the figure shows intervals.
    """

    uri: str
    alt: str
    caption: str
    kind: Literal["figure"] = "figure"


Block = Paragraph | Heading | Note | Items | Table | Figure


@dataclass(frozen=True)
class Section:
    """One numbered section of the report.

    Attributes
    ----------
    anchor : str
        HTML id (``"trust"``).
    title : str
        Heading.
    blocks : list of Block
        Content, in order.
    """

    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Banner:
    """A prominent warning shown above every section (a fit that failed its gate)."""

    title: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """The whole report.

    Attributes
    ----------
    title : str
        Page title.
    facts : list of str
        Lines under the title (when made, which intervals, which fits).
    banners : list of Banner
        Warnings shown before the first section.
    sections : list of Section
        Sections that some fit could fill, in order.
    intro : str
        What the fits are for, in a sentence or two, shown under the facts (empty: none).
    """

    title: str
    facts: list[str]
    banners: list[Banner]
    sections: list[Section]
    intro: str = ""


__all__ = [
    "Banner",
    "Block",
    "Document",
    "Figure",
    "Heading",
    "Items",
    "Note",
    "NoteLevel",
    "Paragraph",
    "Section",
    "Table",
]
