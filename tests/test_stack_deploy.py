"""deploy/: the compose file is valid Compose (against the vendored JSON Schema, since no
container engine runs here) and, like the systemd units, runs every service of
`agrolake stack` with the same commands and settings."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from agrolake.stack.identities import ROLES, S3Key, key_variables
from agrolake.stack.layout import DEFAULT_PORTS
from agrolake.stack.programs import MEMORY_SETTINGS, Network, Program, StackConfig, plan

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SERVICE_HOSTS = ("postgres", "s3", "prefect", "mlflow", "receiver", "serve")
BUCKETS = {z: f"{z}-zone" for z in ("landing", "raw", "trusted", "refined")} | {"mlflow": "mlflow"}


def compose_file() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def schema() -> dict[str, Any]:
    loaded = json.loads((DEPLOY / "compose-spec" / "compose-spec.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def stack_plan(network: Network, home: str, data: str) -> list[Program]:
    """The stack's plan with compose's (or the units') addresses and the secrets as the
    `${NAME}` references the deploy files interpolate."""
    password = "${POSTGRES_PASSWORD}"
    database = f"postgres:{password}@{network.address('postgres')}"
    config = StackConfig(
        network=network,
        home=Path(home),
        data=Path(data),
        workers=1,
        s3_managed=True,
        postgres_managed=True,
        s3_endpoint_url=network.url("s3"),
        s3_keys={role: S3Key(*(f"${{{v}}}" for v in key_variables(role))) for role in ROLES},
        s3_region="us-east-1",
        catalog_url=f"postgresql+psycopg://{database}/agrolake",
        mlflow_backend_store_uri=f"postgresql+psycopg://{database}/mlflow",
        prefect_database_url=f"postgresql+asyncpg://{database}/prefect",
        webhook_token="${AGROLAKE_WEBHOOK_TOKEN}",
        mlflow_token="${AGROLAKE_MLFLOW_TOKEN}",
        serve_token="${AGROLAKE_SERVE_TOKEN}",
        buckets=BUCKETS,
    )
    return plan(config)


def compose_plan() -> list[Program]:
    network = Network("0.0.0.0", "127.0.0.1", DEFAULT_PORTS, {h: h for h in SERVICE_HOSTS})
    return stack_plan(network, "/var/lib/agrolake", "/data")


def interpolated(value: str) -> str:
    """``${NAME:?message}`` and ``${NAME:-default}`` read as ``${NAME}``."""
    return re.sub(r"\$\{(\w+)(?::[?-][^}]*)?\}", r"${\1}", value)


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(schema())
    found = validator.iter_errors(compose_file())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in found]
    assert errors == []
    # The schema does check: a misspelt key or a wrong type is refused.
    broken = compose_file()
    broken["services"]["worker"]["depends_onn"] = ["init"]
    broken["services"]["serve"]["ports"] = "5001:5001"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_compose_runs_every_service_of_the_stack_with_its_command_and_settings() -> None:
    services = compose_file()["services"]
    for program in compose_plan():
        assert program.name in services, f"{program.name} is missing from deploy/compose.yaml"
        service = services[program.name]
        if program.name == "postgres":
            # PostgreSQL's official image, with the contrib modules Prefect's schema needs,
            # and the plan's memory settings.
            assert service["image"] == "postgres:16"
            options = [
                a for k, v in MEMORY_SETTINGS["postgres"].items() for a in ("-c", f"{k}={v}")
            ]
            assert service["command"] == ["postgres", *options]
            assert program.argv[-len(options) :] == tuple(options)
            continue
        assert service["command"] == list(program.argv), program.name
        environment = {k: interpolated(str(v)) for k, v in service["environment"].items()}
        for name, value in program.env.items():
            assert environment.get(name) == value, f"{program.name}: {name}"
        if program.health == "http":
            [*_, url] = service["healthcheck"]["test"]
            assert url.endswith(f":{DEFAULT_PORTS[program.name]}{program.health_path}") or (
                program.name == "s3"
            )


def test_compose_gives_each_service_the_s3_key_the_stack_gives_it() -> None:
    """No key where the stack gives none, the administrator's to the init job only, and
    SeaweedFS's identities written where it reads them, from every role's key."""
    services = compose_file()["services"]
    for program in compose_plan():
        if program.name == "postgres":
            continue
        environment = services[program.name]["environment"]
        for name in (
            "AGROLAKE_S3_ACCESS_KEY_ID",
            "AGROLAKE_S3_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
        ):
            assert (name in environment) == (name in program.env), (program.name, name)
    init = services["init"]["environment"]
    admin_id, admin_secret = key_variables("admin")
    assert interpolated(init["AGROLAKE_S3_ACCESS_KEY_ID"]) == f"${{{admin_id}}}"
    assert interpolated(init["AGROLAKE_S3_SECRET_ACCESS_KEY"]) == f"${{{admin_secret}}}"

    [s3] = [p for p in compose_plan() if p.name == "s3"]
    [config_file] = [a.split("=", 1)[1] for a in s3.argv if a.startswith("-s3.config=")]
    writer = services["s3-config"]
    assert writer["command"] == ["agrolake", "stack", "s3-config", config_file]
    assert writer["volumes"] == services["s3"]["volumes"] == ["s3-data:/data/s3"]
    assert services["s3"]["depends_on"]["s3-config"]["condition"] == (
        "service_completed_successfully"
    )
    for role in ROLES:
        for variable in key_variables(role):
            assert interpolated(writer["environment"][variable]) == f"${{{variable}}}"
    others = [n for n, svc in services.items() if n not in ("s3", "s3-config")]
    assert not [n for n in others if "s3-data:/data/s3" in services[n].get("volumes", [])]


def test_compose_publishes_ports_on_this_host_only_unless_asked_and_keeps_secrets_out() -> None:
    compose = compose_file()
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("${AGROLAKE_PUBLISH_ADDRESS:-127.0.0.1}:"), (name, port)
    text = (DEPLOY / "compose.yaml").read_text()
    secrets = (
        "POSTGRES_PASSWORD", *(key_variables(role)[1] for role in ROLES),
        "AGROLAKE_WEBHOOK_TOKEN", "AGROLAKE_MLFLOW_TOKEN", "AGROLAKE_SERVE_TOKEN",
    )  # fmt: skip
    for secret in secrets:
        assert f"${{{secret}:?" in text  # from deploy/.env, never written in the file
        assert secret in (DEPLOY / "compose.env.example").read_text()
    assert set(compose["volumes"]) >= {"postgres-data", "s3-data", "prefect-data"}


UNITS = {
    "s3": "agrolake-s3.service",
    "prefect": "agrolake-prefect.service",
    "mlflow": "agrolake-mlflow.service",
    "worker": "agrolake-worker@.service",
    "receiver": "agrolake-receiver.service",
    "bridge": "agrolake-bridge.service",
    "serve": "agrolake-serve.service",
}


@pytest.mark.parametrize("program", [p for p in compose_plan() if p.name != "postgres"], ids=str)
def test_each_systemd_unit_runs_the_stack_command(program: Program) -> None:
    network = Network("127.0.0.1", "127.0.0.1", DEFAULT_PORTS)
    [expected] = [
        p for p in stack_plan(network, "/var/lib/agrolake", "/var/lib/agrolake/data")
        if p.name == program.name
    ]  # fmt: skip
    unit = (DEPLOY / "systemd" / UNITS[program.name]).read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    assert argv[0] == f"/opt/agrolake/app/.venv/bin/{expected.argv[0]}"
    assert argv[1:] == list(expected.argv[1:])
    # The plan's memory settings, as systemd's Environment= lines.
    environment = dict(
        pair.split("=", 1)
        for line in unit.splitlines()
        if line.startswith("Environment=")
        for pair in shlex.split(line.removeprefix("Environment="))
    )
    for kind in ("python", "go"):
        for name in MEMORY_SETTINGS[kind]:
            assert environment.get(name) == expected.env.get(name), name
    target = (DEPLOY / "systemd" / "agrolake.target").read_text()
    assert UNITS[program.name].replace("@.", "@1.") in target
