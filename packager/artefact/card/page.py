"""The card as one self-contained HTML page: inline CSS, plots as data: URIs, no script.

Every piece of text is escaped (names, notes and descriptions are the author's words). The
page loads nothing: it is meant to be served under ``default-src 'none'; img-src data:;
style-src 'unsafe-inline'`` and to work offline as a single file.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from html import escape

from packager.artefact.card.blocks import Block, Card, Figure, Items, Section, Table, Text
from packager.artefact.card.sections import build_card
from packager.artefact.manifest import Manifest

__all__ = ["card_page"]

_CODE = re.compile(r"`([^`]*)`")
_VERDICTS = {"PASS": "pass", "FAIL": "fail"}
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1b1f24;background:#f6f7f9;margin:0}
main,header,nav,footer{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:28px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:20px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid #d8dde3}
section{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:18px 22px;margin:16px 0}
.summary{font-size:17px;margin:4px 0 8px}
.hash{color:#4a5560;font-size:13px;overflow-wrap:anywhere}
.alerts{background:#fdecea;border:2px solid #c62828;color:#7f1d1d}
.alerts h2{border-color:#e8a5a5;color:#b71c1c}
.alerts li{font-weight:600;margin:4px 0}
.alert{color:#b71c1c;font-weight:600}
.good{color:#1b5e20;font-weight:600}
.note{color:#5f6b76;font-style:italic}
nav{font-size:14px}
nav a{color:#1f5fbf;margin-right:14px;text-decoration:none;white-space:nowrap}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border:1px solid #d8dde3;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#eef1f4}
tr:nth-child(even) td{background:#fafbfc}
td.marked{background:#fde2e1;color:#8a1111;font-weight:600}
td.pass{color:#1b5e20;font-weight:700}
td.fail{background:#fde2e1;color:#b71c1c;font-weight:700}
table.pairs th{width:190px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef1f4;
padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
td code{overflow-wrap:normal;white-space:nowrap}
figure{display:inline-block;vertical-align:top;margin:8px 16px 8px 0;max-width:100%}
figure img{max-width:100%;width:480px;height:auto;border:1px solid #d8dde3;border-radius:4px}
figcaption{font-size:13px;color:#4a5560;text-align:center}
footer{color:#5f6b76;font-size:13px;padding-bottom:32px}
"""


def card_page(
    manifest: Manifest, files: Mapping[str, bytes] | None = None, sha256: str | None = None
) -> str:
    """The HTML page of ``manifest``; ``files`` are the contents of the plots and edge cases
    (by name) to embed, ``sha256`` the artefact's hash (of its manifest.json)."""
    return render_page(build_card(manifest, files or {}, sha256), files or {})


def render_page(card: Card, files: Mapping[str, bytes]) -> str:
    """``card`` as one HTML document, embedding the plots found in ``files``."""
    title = _text(card.title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Model card: {title}</title><style>{STYLE}</style></head><body>",
        f'<header><h1>{title}</h1><p class="summary">{_text(card.summary)}</p>',
    ]
    if card.sha256:
        parts.append(f'<p class="hash">Artefact SHA-256 <code>{escape(card.sha256)}</code></p>')
    parts.append("</header>")
    links = " ".join(f'<a href="#{s.key}">{_text(s.title)}</a>' for s in card.sections if s.key)
    parts.append(f"<nav>{links}</nav><main>")
    if card.alerts:
        items = "".join(f"<li>{_text(a)}</li>" for a in card.alerts)
        heading = '<section class="alerts" id="warnings"><h2>Read this first</h2>'
        parts.append(f"{heading}<ul>{items}</ul></section>")
    parts += [_section(s, files) for s in card.sections]
    parts.append(
        "</main><footer>Made by deployml from this artefact's manifest.json; "
        "<code>deployml verify</code> checks every file against it.</footer></body></html>"
    )
    return "\n".join(parts) + "\n"


def _text(text: str) -> str:
    """Escaped text, with its code spans as ``<code>``."""
    return _CODE.sub(r"<code>\1</code>", escape(text))


def _section(section: Section, files: Mapping[str, bytes]) -> str:
    ident = f' id="{escape(section.key)}"' if section.key else ""
    body = "\n".join(_block(b, files) for b in section.blocks)
    return f"<section{ident}><h2>{_text(section.title)}</h2>\n{body}</section>"


def _block(block: Block, files: Mapping[str, bytes]) -> str:
    if isinstance(block, Text):
        tone = f' class="{block.tone}"' if block.tone != "plain" else ""
        return f"<p{tone}>{_text(block.text)}</p>"
    if isinstance(block, Items):
        tone = f' class="{block.tone}"' if block.tone != "plain" else ""
        return f"<ul{tone}>" + "".join(f"<li>{_text(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Figure):
        return _figure(block, files)
    return _table(block)


def _table(table: Table) -> str:
    if not table.head:
        rows = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in table.rows)
        return f'<table class="pairs">{rows}</table>'
    head = "".join(f'<th scope="col">{_text(h)}</th>' for h in table.head)
    body = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            kind = "marked" if (i, j) in table.marked else _VERDICTS.get(cell, "")
            attribute = f' class="{kind}"' if kind else ""
            span = len(table.head) - j if j == len(row) - 1 else 1
            attribute += f' colspan="{span}"' if span > 1 else ""
            cells.append(f"<td{attribute}>{_text(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    rows = "".join(body)
    whole = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="scroll">{whole}</div>'


def _figure(figure: Figure, files: Mapping[str, bytes]) -> str:
    data = files.get(figure.path)
    caption = _text(figure.caption)
    kind = _IMAGE_TYPES.get(figure.path[-4:].lower())
    if data is None or kind is None:
        return f'<p class="note">{caption}: {_text(figure.path)} is not embedded.</p>'
    uri = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return (
        f'<figure><img src="{uri}" alt="{escape(figure.caption)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )
