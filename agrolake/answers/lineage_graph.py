"""Lineage as a graph: landing files → ingests → table versions → model versions.

Built on the lineage answers of ``agrolake lineage`` (``provenance``), for a file
(or raw key, or ingest id), a table version or a model version. Nodes carry what
names them (an ingest id, a table and version, a model and version), not links:
the lake browser makes the links. Shape in docs/ui.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agrolake.answers import provenance
from agrolake.answers.registered_models import trained_versions
from agrolake.lake import Lake
from agrolake.lake.tables import QUARANTINE

#: More ingests than this behind one version are summarised in one node.
MAX_INGESTS = 30


@dataclass
class Graph:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def add(self, node_id: str, kind: str, label: str, **facts: Any) -> str:
        self.nodes.setdefault(node_id, {"id": node_id, "kind": kind, "label": label, **facts})
        return node_id

    def link(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))

    def file(self, facts: dict[str, Any]) -> str:
        """A file and its ingest, linked; the ingest's id."""
        name = facts.get("original_name") or facts["ingest_id"]
        file_id = self.add(f"file:{name}", "file", name, file=name)
        ingest_id = self.add(
            f"ingest:{facts['ingest_id']}", "ingest", _claimed_at(facts["ingest_id"]),
            ingest_id=facts["ingest_id"], status=facts.get("status"),
        )  # fmt: skip
        self.link(file_id, ingest_id)
        return ingest_id

    def table(self, name: str, version: int) -> str:
        return self.add(
            f"table:{name}@{version}", "table", f"{name} v{version}", table=name,
            version=version, zone=name.split(".", 1)[0],
        )  # fmt: skip

    def model(self, name: str, version: str, aliases: list[str]) -> str:
        return self.add(
            f"model:{name}/{version}", "model", f"{name} v{version}", model=name, version=version,
            aliases=aliases,
        )  # fmt: skip

    def as_dict(self, subject: dict[str, Any]) -> dict[str, Any]:
        return {
            "subject": subject,
            "nodes": list(self.nodes.values()),
            "edges": [{"from": s, "to": t} for s, t in self.edges],
        }


def _claimed_at(ingest_id: str) -> str:
    """An ingest's label: when it was claimed (``20261126T041458…`` → 2026-11-26 04:14:58)."""
    stamp = ingest_id.split("-", 1)[0]
    if len(stamp) < 15 or stamp[8] != "T":
        return ingest_id
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}"


def _sources(graph: Graph, target: str, ingests: list[dict[str, Any]]) -> None:
    """Files and ingests behind ``target`` (at most ``MAX_INGESTS``, then a summary)."""
    for facts in ingests[:MAX_INGESTS]:
        graph.link(graph.file(facts), target)
    if len(ingests) > MAX_INGESTS:
        more = graph.add(f"more:{target}", "more", f"{len(ingests) - MAX_INGESTS} more files")
        graph.link(more, target)


def _inputs(lake: Lake, graph: Graph, table: str, version: int, target: str) -> None:
    """The input table versions a refined version read, with their files."""
    recorded = lake.catalog.lineage.version(table, version)
    if recorded is None or not recorded.inputs:
        _sources(graph, target, provenance.of_table(lake, table, version)["ingests"])
        return
    for name, input_version in sorted(recorded.inputs.items()):
        node = graph.table(name, input_version)
        graph.link(node, target)
        _sources(graph, node, provenance.of_table(lake, name, input_version)["ingests"])


def of_file(lake: Lake, key: str) -> dict[str, Any]:
    """Every ingest of a file name, key or ingest id, the first table versions holding
    its rows, and the model versions trained on a table version holding them."""
    graph = Graph()
    found = provenance.of_key(lake, key)
    lineage = lake.catalog.lineage
    ingest_ids = {item["ingest_id"] for item in found}
    for item in found:
        ingest = graph.file(item)
        # The quarantine table records every ingest it was rewritten for, rows or not:
        # the ingest's page says what was quarantined, the graph stays on its tables.
        tables = [t for t in item["tables"] if t["table"] != QUARANTINE.sql_name]
        reached = {t["table"]: graph.table(t["table"], t["version"]) for t in tables}
        for t in tables:
            recorded = lineage.version(t["table"], t["version"])
            feeding = [reached[i] for i in (recorded.inputs if recorded else {}) if i in reached]
            for source in feeding or [ingest]:
                graph.link(source, reached[t["table"]])
    for trained in trained_versions(lake):
        table, version = trained["table"]["name"], trained["table"]["version"]
        held = lineage.contained(table, version) & ingest_ids
        if not held:
            continue
        node = graph.table(table, version)
        if not any(target == node for _, target in graph.edges):
            for ingest_id in sorted(held):
                graph.link(f"ingest:{ingest_id}", node)
        graph.link(node, graph.model(trained["model"], trained["version"], trained["aliases"]))
    return graph.as_dict({"file": key})


def of_table(lake: Lake, name: str, version: int | None = None) -> dict[str, Any]:
    """A table version, the input versions and files behind it, the models trained on it."""
    behind = provenance.of_table(lake, name, version)
    graph = Graph()
    table, number = behind["table"], behind["version"]
    node = graph.table(table, number)
    _inputs(lake, graph, table, number, node)
    for trained in trained_versions(lake):
        if trained["table"] == {"name": table, "version": number}:
            graph.link(node, graph.model(trained["model"], trained["version"], trained["aliases"]))
    return graph.as_dict({"table": table, "version": number})


def of_model(lake: Lake, reference: str) -> dict[str, Any]:
    """A model version, the table version it was trained on, and what that read."""
    behind = provenance.of_model(lake, reference)
    graph = Graph()
    model = graph.model(behind["model"], behind["version"], behind["aliases"])
    table, number = behind["table"]["name"], behind["table"]["version"]
    node = graph.table(table, number)
    graph.link(node, model)
    _inputs(lake, graph, table, number, node)
    return graph.as_dict({"model": reference})
