"""The report document as HTML (jinja2, autoescaped) and as Markdown.

The HTML is one self-contained file: inline CSS, figures as ``data:`` URIs, no script and no
external resource. Every value is escaped by jinja2's autoescaping (on for every template
here, whatever its file name) and nothing is marked safe, so user-supplied names cannot
inject markup. The Markdown escapes the characters that could make links, tags or break
tables; its figures stay in the HTML (Markdown viewers rarely show ``data:`` images).
"""

from importlib.resources import files

import jinja2

from atlas_bayes.report.document import Block, Document, Table

TEMPLATE = "report.html.j2"
#: Characters escaped in Markdown text: no link, image, tag or entity can be formed.
_MARKDOWN_ESCAPES = {"\\": "\\\\", "&": "&amp;", "<": "&lt;", "[": "\\[", "]": "\\]"}


def _environment() -> jinja2.Environment:
    folder = files("atlas_bayes.report") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(document: Document) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    document
        The report.

    Returns
    -------
    str
        HTML5 text.
    """
    return _environment().get_template(TEMPLATE).render(document=document)


def markdown_text(text: object) -> str:
    """``text`` escaped for Markdown prose (no links, tags or entities can form)."""
    out = str(text)
    for char, escaped in _MARKDOWN_ESCAPES.items():
        out = out.replace(char, escaped)
    return " ".join(out.split())


def _cell(text: object) -> str:
    return markdown_text(text).replace("|", "\\|")


def _markdown_table(table: Table) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(c) for c in table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    if table.caption:
        lines += ["", f"*{markdown_text(table.caption)}*"]
    return lines


def _markdown_block(block: Block) -> list[str]:
    match block.kind:
        case "paragraph":
            return [markdown_text(block.text)]
        case "heading":
            return [f"### {markdown_text(block.text)}"]
        case "note":
            word = {"info": "Note", "caution": "Caution", "warning": "Warning"}[block.level]
            return [f"> **{word}:** {markdown_text(block.text)}"]
        case "items":
            return [f"- {markdown_text(item)}" for item in block.items]
        case "table":
            return _markdown_table(block)
        case "figure":
            return [f"*Figure (in the HTML report): {markdown_text(block.caption)}*"]
    raise ValueError(f"unknown block kind {block.kind!r}")


def render_markdown(document: Document) -> str:
    """The report as Markdown: the same text and tables, figures named by their captions.

    Parameters
    ----------
    document
        The report.

    Returns
    -------
    str
        Markdown text.
    """
    lines = [f"# {markdown_text(document.title)}", ""]
    lines += [f"- {markdown_text(fact)}" for fact in document.facts]
    if document.intro:
        lines += ["", markdown_text(document.intro)]
    for banner in document.banners:
        lines += ["", f"> **WARNING: {markdown_text(banner.title)}**"]
        lines += [f"> - {markdown_text(item)}" for item in banner.items]
    for section in document.sections:
        lines += ["", f"## {markdown_text(section.title)}"]
        for block in section.blocks:
            lines += ["", *_markdown_block(block)]
    return "\n".join(lines) + "\n"


__all__ = ["TEMPLATE", "markdown_text", "render_html", "render_markdown"]
