"""The lineage graph drawn as SVG on the server: one column per kind of node (files,
ingests, trusted versions, refined versions, models), edges left to right, every
node a link. No JavaScript: the page works offline and prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 200, 48, 44, 14, 12
LABEL_CHARS = 27

#: Column of each kind; tables go by zone.
RANKS = {"file": 0, "ingest": 1, "more": 1, "trusted": 2, "refined": 3, "model": 4}
CAPTIONS = {
    "file": "file",
    "ingest": "ingest",
    "more": "files",
    "trusted": "trusted table",
    "refined": "refined table",
    "model": "model version",
}


def _rank(node: dict[str, Any]) -> str:
    return str(node.get("zone") or node["kind"]) if node["kind"] == "table" else node["kind"]


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def lineage_svg(
    graph: dict[str, Any], href: Callable[[dict[str, Any]], str | None], focus: str | None = None
) -> Markup:
    """The graph as an ``<svg>`` element; ``href`` gives each node's link (or None)."""
    ranks = sorted({RANKS.get(_rank(n), 2) for n in graph["nodes"]})
    column = {rank: i for i, rank in enumerate(ranks)}
    rows: dict[int, int] = {}
    where: dict[str, tuple[float, float]] = {}
    for node in graph["nodes"]:
        col = column[RANKS.get(_rank(node), 2)]
        row = rows.get(col, 0)
        rows[col] = row + 1
        where[node["id"]] = (PAD + col * (BOX_W + GAP_X), PAD + 22 + row * (BOX_H + GAP_Y))
    width = PAD * 2 + max(1, len(ranks)) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + 22 + max(rows.values(), default=1) * (BOX_H + GAP_Y)
    parts = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="lineage graph">'
    ]
    for rank, col in column.items():
        name = next(k for k, v in RANKS.items() if v == rank and k != "more")
        x = PAD + col * (BOX_W + GAP_X)
        parts.append(f'<text class="col" x="{x}" y="{PAD + 8}">{escape(CAPTIONS[name])}s</text>')
    for edge in graph["edges"]:
        if edge["from"] not in where or edge["to"] not in where:
            continue
        (x1, y1), (x2, y2) = where[edge["from"]], where[edge["to"]]
        x1, y1, y2 = x1 + BOX_W, y1 + BOX_H / 2, y2 + BOX_H / 2
        bend = (x2 - x1) / 2
        parts.append(
            f'<path class="edge" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"/>'
        )
    for node in graph["nodes"]:
        parts.append(_node(node, where[node["id"]], href(node), node["id"] == focus))
    parts.append("</svg>")
    return Markup("".join(parts))


def _node(node: dict[str, Any], at: tuple[float, float], link: str | None, focus: bool) -> str:
    x, y = at
    kind = _rank(node)
    label = str(node["label"])
    caption = CAPTIONS.get(kind, kind)
    if node.get("status"):
        caption += f" · {node['status']}"
    if node.get("aliases"):
        caption = "@" + ", @".join(node["aliases"])
    box = (
        f'<g class="node {escape(kind)}{" focus" if focus else ""}">'
        f"<title>{escape(label)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
        f'<text class="label" x="{x + 10}" y="{y + 20}">{escape(_short(label))}</text>'
        f'<text class="caption" x="{x + 10}" y="{y + 37}">{escape(caption)}</text></g>'
    )
    return f'<a href="{escape(link)}">{box}</a>' if link else box
