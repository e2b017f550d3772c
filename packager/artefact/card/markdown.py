"""MODEL_CARD.md: the card rendered as Markdown, written into every artefact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packager.artefact.card.blocks import Block, Card, Figure, Items, Table, Text
from packager.artefact.card.sections import build_card
from packager.artefact.manifest import Manifest

__all__ = ["model_card", "render_markdown"]


def model_card(manifest: Manifest, attachments: Iterable[str] | Mapping[str, bytes] = ()) -> str:
    """The Markdown model card for ``manifest``; images under plots/ are embedded by path.

    ``attachments`` are the artefact's extra files, by name or with their contents (then the
    edge cases are listed case by case).
    """
    return render_markdown(build_card(manifest, attachments))


def render_markdown(card: Card) -> str:
    """``card`` as Markdown: the warnings first, then each section under a ``##`` heading."""
    lines = [f"# {card.title}", "", card.summary, ""]
    if card.alerts:
        lines += ["## Warnings", ""]
        for alert in card.alerts:
            lines += [f"> **Warning:** {alert}", ""]
    for section in card.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += [*_block(block), ""]
    return "\n".join(lines)


def _block(block: Block) -> list[str]:
    if isinstance(block, Text):
        if block.tone == "note":
            return [f"_{block.text}_"]
        return [f"**{block.text}**" if block.tone == "alert" else block.text]
    if isinstance(block, Items):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Figure):
        return [f"![{block.caption}]({block.path})", "", f"*{block.caption}*"]
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
    return value.replace("|", "\\|").replace("\n", " ")
