"""MODEL_CARD.md: the card rendered as Markdown, written into every artefact.

Markdown passes HTML through, so a ``<`` in the author's text (a model name, a note, a class
label) that could open a tag is written ``\\<``: a viewer that renders raw HTML shows it as
text, never as mark-up. Code spans are shown as written already.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from packager.artefact.card.blocks import Block, Card, Figure, Items, Table, Text
from packager.artefact.card.sections import build_card
from packager.artefact.manifest import Manifest

__all__ = ["model_card", "render_markdown"]

_CODE = re.compile(r"(`[^`]*`)")
# What can open HTML in Markdown: a tag, a closing tag, a comment or declaration, an autolink.
_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def model_card(manifest: Manifest, attachments: Iterable[str] | Mapping[str, bytes] = ()) -> str:
    """The Markdown model card for ``manifest``; images under plots/ are embedded by path.

    ``attachments`` are the artefact's extra files, by name or with their contents (then the
    edge cases are listed case by case).
    """
    return render_markdown(build_card(manifest, attachments))


def render_markdown(card: Card) -> str:
    """``card`` as Markdown: the warnings first, then each section under a ``##`` heading."""
    lines = [f"# {_md(card.title)}", "", _md(card.summary), ""]
    if card.alerts:
        lines += ["## Warnings", ""]
        for alert in card.alerts:
            lines += [f"> **Warning:** {_md(alert)}", ""]
    for section in card.sections:
        lines += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            lines += [*_block(block), ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """``text`` with each ``<`` that could open HTML (outside code spans) escaped; ``<=``
    stays as written."""
    parts = _CODE.split(text)
    return "".join(p if i % 2 else _TAG.sub(r"\\<", p) for i, p in enumerate(parts))


def _block(block: Block) -> list[str]:
    if isinstance(block, Text):
        text = _md(block.text)
        if block.tone == "note":
            return [f"_{text}_"]
        return [f"**{text}**" if block.tone == "alert" else text]
    if isinstance(block, Items):
        return [f"- {_md(item)}" for item in block.items]
    if isinstance(block, Figure):
        caption = _md(block.caption)
        return [f"![{caption}]({block.path})", "", f"*{caption}*"]
    return _table(block)


def _table(table: Table) -> list[str]:
    head = _row(table.head) if table.head else "| | |"
    lines = [head, "|" + "---|" * (len(table.head) or 2)]
    for i, row in enumerate(table.rows):
        cells = [f"**{c}**" if (i, j) in table.marked else c for j, c in enumerate(row)]
        # Markdown has no spanning cell: a short row is filled out with empty ones.
        lines.append(_row(cells + [""] * (len(table.head) - len(cells))))
    return lines


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(value: str) -> str:
    return _md(value).replace("|", "\\|").replace("\n", " ")
