"""Declaration files: each bad one is one clear problem naming file and key; the rest load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agrolake.datasets.declarations import parse_declaration, to_yaml
from agrolake.datasets.model import Dataset
from agrolake.datasets.registry import load_registry
from agrolake.lake.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
id: farm.pistachio_harvest
files: {formats: [csv], name_pattern: pistach}
tables:
  - key: [plot]
    fields:
      - {name: plot, source: Parcela, required: true}
      - {name: kg, source: "Peso (kg)", type: float, decimal: ",", checks: {min: 0}}
"""


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def declare(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "home" / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = {
    "unknown_type.yaml": (
        GOOD.replace("type: float", "type: decimal"),
        "tables[0].fields[1] (kg).type",
        "Input should be 'string'",
    ),
    "key_not_a_field.yaml": (
        GOOD.replace("key: [plot]", "key: [plot_id]"),
        "tables[0]",
        "key column 'plot_id' is not a field",
    ),
    "builtin_id.yaml": (GOOD.replace("farm.pistachio_harvest", "erp.activities"), "id", "built-in"),
    "broken.yaml": (GOOD.replace("files: {", "files: {{"), "line", "invalid YAML"),
    "bad_regex.yaml": (
        GOOD.replace("checks: {min: 0}", 'checks: {pattern: "(unclosed"}'),
        "tables[0].fields[1] (kg).checks",
        "does not compile",
    ),
    "bad_name_pattern.yaml": (
        GOOD.replace("name_pattern: pistach", 'name_pattern: "[a-"'),
        "files",
        "name_pattern does not compile",
    ),
    "typo.yaml": (
        GOOD.replace("required: true", "requried: true"),
        "tables[0].fields[0] (plot).requried",
        "unknown key",
    ),
    "not_a_mapping.yaml": ("- just\n- a list\n", "", "must be a mapping"),
    "key_optional.yaml": (
        GOOD.replace("required: true}", "optional: true}"),
        "tables[0]",
        "must be required",
    ),
}


def test_each_bad_declaration_is_one_problem_and_the_good_one_loads(tmp_path: Path) -> None:
    declare(tmp_path, "pistachio.yaml", GOOD)
    for name, (text, _, _) in BAD.items():
        declare(tmp_path, name, text.replace("farm.pistachio_harvest", f"farm.{name[:-5]}"))
    registry = load_registry(settings(tmp_path))
    assert registry.get("farm.pistachio_harvest") is not None
    assert registry.get("erp.activities") is not None and registry.get("erp.activities").builtin
    by_file = {Path(p.file).name: p for p in registry.problems}
    assert sorted(by_file) == sorted(BAD)
    for name, (_, key, message) in BAD.items():
        problem = by_file[name]
        assert problem.key.startswith(key), (name, problem)
        assert message in problem.message, (name, problem)
        assert "\n" not in problem.line() and problem.line().startswith(problem.file)


def test_a_duplicate_id_between_files_keeps_the_first(tmp_path: Path) -> None:
    declare(tmp_path, "a.yaml", GOOD)
    declare(tmp_path, "b.yml", GOOD)
    registry = load_registry(settings(tmp_path))
    [problem] = registry.problems
    assert Path(problem.file).name == "b.yml" and "declared in" in problem.message
    assert Path(registry.dataset("farm.pistachio_harvest").origin).name == "a.yaml"


def test_a_declaration_may_feed_a_table_only_with_the_same_types_and_key(tmp_path: Path) -> None:
    declare(tmp_path, "a.yaml", GOOD)
    other = GOOD.replace("farm.pistachio_harvest", "farm.second_scale").replace(
        "key: [plot]", "name: farm.pistachio_harvest\n    key: [plot]"
    )
    declare(tmp_path, "b.yaml", other)
    clash = other.replace("farm.second_scale", "farm.third").replace("type: float", "type: string")
    declare(tmp_path, "c.yaml", clash.replace(', decimal: ",", checks: {min: 0}', ""))
    registry = load_registry(settings(tmp_path))
    assert [d for d, _ in registry.feeds("trusted.farm_pistachio_harvest")] == [
        registry.dataset("farm.pistachio_harvest"),
        registry.dataset("farm.second_scale"),
    ]
    [problem] = registry.problems
    assert "kg is float there and string here" in problem.message


def test_a_declaration_round_trips_through_its_yaml() -> None:
    parsed = parse_declaration("x.yaml", GOOD.encode())
    assert isinstance(parsed, Dataset)
    again = parse_declaration("y.yaml", to_yaml(parsed).encode())
    assert isinstance(again, Dataset)
    assert again.model_dump(exclude={"origin"}) == parsed.model_dump(exclude={"origin"})


def test_the_documented_json_schema_is_the_models() -> None:
    """docs/dataset-declaration.schema.json is written from the model: keep it current."""
    documented = json.loads((ROOT / "docs" / "dataset-declaration.schema.json").read_text())
    assert documented == Dataset.model_json_schema()


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_no_declarations_means_the_builtins_only(tmp_path: Path, folder: str) -> None:
    if folder == "empty":
        (tmp_path / "home" / "datasets").mkdir(parents=True)
    registry = load_registry(settings(tmp_path))
    assert registry.problems == () and all(d.builtin for d in registry.datasets)
