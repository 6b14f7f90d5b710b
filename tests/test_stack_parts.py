"""The stack's parts without starting it: ports and secrets decided once and kept private,
supervisord's configuration as supervisord itself reads it, the model server's waiting
answer, and the command line's errors."""

from __future__ import annotations

import json
import shlex
import socket
import stat
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agrolake.errors import ConfigError
from agrolake.lake.settings import Settings
from agrolake.stack import layout as stack_layout
from agrolake.stack.health import _http
from agrolake.stack.identities import (
    ROLES,
    S3Key,
    bucket_names,
    key_variables,
    seaweedfs_config,
    write_seaweedfs_config,
)
from agrolake.stack.layout import StackLayout, StackState, choose_ports, load_state, save_state
from agrolake.stack.machine import stack_config
from agrolake.stack.programs import plan
from agrolake.stack.serve_champion import _waiting_handler, _WaitingServer
from agrolake.stack.supervision import STACK_MARKER, render_config, write_config
from tests.test_cli import cli


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_default_port_is_kept_when_free_and_replaced_when_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _free_port()
    monkeypatch.setitem(stack_layout.DEFAULT_PORTS, "serve", port)
    assert choose_ports("127.0.0.1", iter(["serve"])) == {"serve": port}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        assert choose_ports("127.0.0.1", iter(["serve"]))["serve"] != port


def test_seaweedfs_ports_come_with_a_free_grpc_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    """weed dials a component's port + 10000 for gRPC: a default whose twin is taken goes."""
    port = next(p for p in iter(_free_port, None) if p + 10000 < 65536)
    monkeypatch.setitem(stack_layout.DEFAULT_PORTS, "s3-filer", port)
    with socket.socket() as twin:
        twin.bind(("127.0.0.1", port + 10000))
        chosen = choose_ports("127.0.0.1")
    assert chosen["s3-filer"] != port
    assert len(set(chosen.values())) == len(chosen), "every service a port of its own"


def test_the_state_keeps_its_secrets_private_and_the_same(tmp_path: Path) -> None:
    layout = StackLayout.under(tmp_path / "home")
    layout.ensure()
    state = StackState("127.0.0.1", 2, {"prefect": 4200}, s3_managed=True, postgres_managed=True)
    save_state(layout, state)
    assert stat.S_IMODE(layout.state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(layout.root.stat().st_mode) == 0o700
    again = load_state(layout)
    assert again == state
    secrets = [state.s3_key(role).secret_access_key for role in ROLES]
    assert len({*secrets, state.postgres_password, state.webhook_token}) == len(ROLES) + 2
    assert len({state.s3_key(role).access_key_id for role in ROLES}) == len(ROLES)
    layout.state_file.write_text("{not json")
    with pytest.raises(ConfigError, match=r"stack\.json is damaged"):
        load_state(layout)


def test_a_stack_from_before_the_server_tokens_gets_them_once(tmp_path: Path) -> None:
    """An earlier version saved no MLflow or model server token: generated at the first
    read and saved, so `stack env` and the services see the same ones."""
    layout = StackLayout.under(tmp_path / "home")
    layout.ensure()
    ports = {name: 20000 + i for i, name in enumerate(stack_layout.DEFAULT_PORTS)}
    state = StackState("127.0.0.1", 1, ports, s3_managed=True, postgres_managed=True)
    older = {k: v for k, v in state.to_json().items() if k not in ("mlflow_token", "serve_token")}
    layout.state_file.write_text(json.dumps(older))
    first, second = load_state(layout), load_state(layout)
    assert first is not None and first == second
    assert first.webhook_token == state.webhook_token
    assert len({first.mlflow_token, first.serve_token, first.webhook_token}) == 3
    assert stat.S_IMODE(layout.state_file.stat().st_mode) == 0o600
    config = stack_config(Settings(home=tmp_path / "home"), layout, first)
    client = config.client_env()
    assert client["AGROLAKE_MLFLOW_TOKEN"] == client["MLFLOW_TRACKING_TOKEN"] == first.mlflow_token
    assert client["AGROLAKE_SERVE_TOKEN"] == first.serve_token


def test_a_stack_from_before_the_keys_per_role_keeps_its_key_as_the_admin_and_gets_the_others(
    tmp_path: Path,
) -> None:
    """An earlier version had one S3 key for everything: it becomes the administrator's
    (the buckets stay reachable), the other roles' keys are generated once and saved, and
    the services get theirs."""
    layout = StackLayout.under(tmp_path / "home")
    layout.ensure()
    ports = {name: 20000 + i for i, name in enumerate(stack_layout.DEFAULT_PORTS)}
    state = StackState("127.0.0.1", 1, ports, s3_managed=True, postgres_managed=True)
    older = {k: v for k, v in state.to_json().items() if k != "s3_role_keys"}
    layout.state_file.write_text(json.dumps(older))
    first = load_state(layout)
    assert first is not None and first == load_state(layout)
    assert first.s3_key("admin") == state.s3_key("admin")
    saved = json.loads(layout.state_file.read_text())["s3_role_keys"]
    assert set(saved) == {"uploader", "worker", "reader"}
    assert all(first.s3_key(role) == S3Key(**keys) for role, keys in saved.items())
    assert len({first.s3_key(role) for role in ROLES}) == len(ROLES)
    assert stat.S_IMODE(layout.state_file.stat().st_mode) == 0o600

    config = stack_config(Settings(home=tmp_path / "home"), layout, first)
    env = {p.name: dict(p.env) for p in plan(config)}
    worker = first.s3_key("worker")
    for name in ("worker", "mlflow"):
        assert env[name]["AGROLAKE_S3_ACCESS_KEY_ID"] == worker.access_key_id
        assert env[name]["AGROLAKE_S3_SECRET_ACCESS_KEY"] == worker.secret_access_key
    for name in ("receiver", "bridge", "serve", "prefect", "postgres", "s3"):
        assert not {"AGROLAKE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"} & set(env[name]), name


def test_seaweedfs_gets_an_identity_per_role_with_the_saved_keys(tmp_path: Path) -> None:
    """The -s3.config the stack writes (0600, beside SeaweedFS's data): the four roles with
    the keys of stack.json, the uploader put-only, rights on the settings' buckets."""
    home = tmp_path / "home"
    layout = StackLayout.under(home)
    layout.ensure()
    ports = {name: 20000 + i for i, name in enumerate(stack_layout.DEFAULT_PORTS)}
    state = StackState("127.0.0.1", 1, ports, s3_managed=True, postgres_managed=True)
    settings = Settings(home=home, bucket_raw="raw-of-the-farm")
    config = stack_config(settings, layout, state)
    write_seaweedfs_config(config.s3_config_file, config.s3_keys, config.buckets)
    [s3] = [p for p in plan(config) if p.name == "s3"]
    assert f"-s3.config={config.s3_config_file}" in s3.argv
    assert config.s3_config_file.parent == layout.root / "data" / "s3"
    assert stat.S_IMODE(config.s3_config_file.stat().st_mode) == 0o600

    written = json.loads(config.s3_config_file.read_text())
    identities = {i["name"]: i for i in written["identities"]}
    assert list(identities) == ["admin", "uploader", "worker", "reader"]
    for role, identity in identities.items():
        key = state.s3_key(role)  # type: ignore[arg-type]
        assert identity["credentials"] == [
            {"accessKey": key.access_key_id, "secretKey": key.secret_access_key}
        ]
    assert identities["admin"]["actions"] == ["Admin", "Read", "List", "Tagging", "Write"]
    assert identities["uploader"]["policyNames"] == ["agrolake-uploader"]
    [policy] = written["policies"]
    assert policy["document"]["Statement"][0]["Action"] == ["s3:PutObject"]
    assert policy["document"]["Statement"][0]["Resource"] == ["arn:aws:s3:::landing-zone/*"]
    assert "Write:raw-of-the-farm" in identities["worker"]["actions"]
    assert "Write:raw-zone" not in identities["worker"]["actions"]
    assert identities["reader"]["actions"] == [
        "Read:trusted-zone", "List:trusted-zone", "Read:refined-zone", "List:refined-zone",
    ]  # fmt: skip


def _saved_stack(home: Path, *, s3_managed: bool = True) -> StackState:
    layout = StackLayout.under(home)
    layout.ensure()
    ports = {name: 20000 + i for i, name in enumerate(stack_layout.DEFAULT_PORTS)}
    state = StackState("127.0.0.1", 1, ports, s3_managed=s3_managed, postgres_managed=True)
    save_state(layout, state)
    return state


def _exports(out: str) -> dict[str, str]:
    lines = out.splitlines()
    assert all(line.startswith("export ") for line in lines), out
    pairs = [shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines]
    return dict(pairs)


def test_stack_env_prints_the_workers_key_or_the_roles_with_only_what_the_role_needs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AGROLAKE_HOME", str(home))
    state = _saved_stack(home)
    found = {}
    for role in ROLES:
        code, out, err = cli(capsys, monkeypatch, "stack", "env", "--role", role)
        assert code == 0, err
        found[role] = _exports(out)
        key = state.s3_key(role)
        assert found[role]["AGROLAKE_S3_ACCESS_KEY_ID"] == key.access_key_id
        assert found[role]["AGROLAKE_S3_SECRET_ACCESS_KEY"] == key.secret_access_key
    code, out, _ = cli(capsys, monkeypatch, "stack", "env")
    assert code == 0 and _exports(out) == found["worker"]
    assert set(found["admin"]) == set(found["worker"])
    assert {"AGROLAKE_CATALOG_URL", "PREFECT_API_URL", "AGROLAKE_MLFLOW_TOKEN"} <= set(
        found["worker"]
    )
    # An uploader needs no catalog, no server and no token; a reader the catalog too.
    uploader = set(found["uploader"])
    assert "AGROLAKE_BUCKET_LANDING" in uploader and "AGROLAKE_S3_ENDPOINT_URL" in uploader
    assert not any("TOKEN" in n or "CATALOG" in n or "PREFECT" in n for n in uploader)
    assert set(found["reader"]) == uploader | {"AGROLAKE_CATALOG_URL"}

    code, _, err = cli(capsys, monkeypatch, "stack", "env", "--role", "root")
    assert code == 1 and err == (
        "error: --role is one of admin, uploader, worker, reader, not 'root'\n"
    )


def test_a_stack_on_an_external_s3_has_no_uploader_or_reader_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AGROLAKE_HOME", str(home))
    monkeypatch.setenv("AGROLAKE_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AGROLAKE_S3_ACCESS_KEY_ID", "given-key")
    monkeypatch.setenv("AGROLAKE_S3_SECRET_ACCESS_KEY", "given-secret")
    _saved_stack(home, s3_managed=False)
    code, out, _ = cli(capsys, monkeypatch, "stack", "env")
    assert code == 0 and _exports(out)["AGROLAKE_S3_ACCESS_KEY_ID"] == "given-key"
    code, out, err = cli(capsys, monkeypatch, "stack", "env", "--role", "uploader")
    assert code == 1 and out == ""
    assert err.startswith("error: this stack uses the S3 at http://127.0.0.1:9000 with the one")


def test_s3_config_writes_the_identities_of_the_keys_it_is_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`agrolake stack s3-config FILE`, for compose and systemd: the same file as the
    stack's, from S3_<ROLE>_* variables; a missing one is named."""
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    keys = {role: S3Key(f"{role}-id", f"{role}-secret") for role in ROLES}
    for role in ROLES:
        id_name, secret_name = key_variables(role)
        monkeypatch.setenv(id_name, keys[role].access_key_id)
        monkeypatch.setenv(secret_name, keys[role].secret_access_key)
    monkeypatch.delenv("S3_READER_SECRET_ACCESS_KEY")
    target = tmp_path / "s3" / "s3-config.json"
    code, _, err = cli(capsys, monkeypatch, "stack", "s3-config", str(target))
    assert code == 1 and err == (
        "error: set S3_READER_SECRET_ACCESS_KEY: SeaweedFS wants a key for every role\n"
    )
    monkeypatch.setenv("S3_READER_SECRET_ACCESS_KEY", "reader-secret")
    code, _, err = cli(capsys, monkeypatch, "stack", "s3-config", str(target))
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    default_buckets = bucket_names(Settings(home=tmp_path))
    assert json.loads(target.read_text()) == seaweedfs_config(keys, default_buckets)


def test_supervisord_reads_the_configuration_as_written(tmp_path: Path) -> None:
    """supervisord's own parser: commands, per-process names, environments with % and
    quotes survive, and each process carries the marker `down` looks for."""
    from supervisor.options import ServerOptions

    home = tmp_path / "home"
    layout = StackLayout.under(home)
    layout.ensure()
    state = StackState(
        "127.0.0.1", 3, choose_ports("127.0.0.1"), s3_managed=True, postgres_managed=True
    )
    state.webhook_token = 'to%ken"x'
    config = stack_config(Settings(home=home), layout, state)
    programs = plan(config)
    write_config(layout, render_config(layout, programs, tmp_path))
    assert stat.S_IMODE(layout.config_file.stat().st_mode) == 0o600
    options = ServerOptions()
    options.realize(args=["--configuration", str(layout.config_file)])
    found = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    assert set(found) == {
        "postgres", "s3", "prefect", "mlflow", "worker-1", "worker-2", "worker-3",
        "receiver", "bridge", "serve",
    }  # fmt: skip
    assert found["receiver"].environment["AGROLAKE_WEBHOOK_TOKEN"] == 'to%ken"x'
    assert found["worker-2"].environment[STACK_MARKER] == str(layout.root)
    worker = "prefect worker start --type process --pool local-work"
    assert found["worker-3"].command.endswith(worker)
    assert found["worker-1"].stdout_logfile == str(layout.log("worker-1"))
    assert found["postgres"].stopsignal == 2  # SIGINT: PostgreSQL's fast shutdown
    assert f"-s3.config={config.s3_config_file}" in found["s3"].command
    worker = state.s3_key("worker")
    assert found["worker-1"].environment["AGROLAKE_S3_ACCESS_KEY_ID"] == worker.access_key_id


def test_the_waiting_model_server_answers_503_waiting_and_counts_as_working() -> None:
    server = _WaitingServer(("127.0.0.1", 0), _waiting_handler("wine-quality@champion"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        request = urllib.request.Request(url + "/invocations", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 503
        body = json.loads(refused.value.read())
        assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
        health = _http(url + "/health")
        assert health.healthy and "wine-quality@champion" in health.detail
    finally:
        server.shutdown()
        server.server_close()


def test_commands_without_a_stack_say_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    code, out, err = cli(capsys, monkeypatch, "stack", "env")
    assert code == 1 and out == ""
    assert err.strip().startswith("error: no stack under") and len(err.strip().splitlines()) == 1
    code, out, _ = cli(capsys, monkeypatch, "stack", "status", "--json")
    assert code == 0 and json.loads(out) == {"services": [], "home": str(tmp_path / "home")}
    code, _, err = cli(capsys, monkeypatch, "stack", "logs", "nowhere")
    assert code == 1 and "run `agrolake stack up` first" in err
    code, _, err = cli(capsys, monkeypatch, "stack", "up", "--workers", "0")
    assert code == 1 and err == "error: --workers takes a number from 1 up, not 0\n"
    code, _, err = cli(capsys, monkeypatch, "stack", "up", "--timeout", "0")
    assert code == 1 and err.startswith("error: --timeout takes a number of seconds")
    assert not (tmp_path / "home" / "stack" / "stack.json").exists(), "refused before deciding"


def test_a_catalog_that_is_not_postgresql_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGROLAKE_CATALOG_URL", f"sqlite:///{tmp_path / 'c.db'}")
    code, _, err = cli(capsys, monkeypatch, "stack", "up")
    assert code == 1
    assert "error: AGROLAKE_CATALOG_URL names a catalog that is not PostgreSQL" in err
    assert not (tmp_path / "home" / "stack" / "supervisord.pid").exists()
