"""What the stack runs: one :class:`Program` per service, with its command and settings.

The same plan describes the stack on one machine (every service on the loopback
address, or ``--host``) and the compose file in ``deploy/`` (each service found by its
name); a test builds it for compose and checks that ``deploy/compose.yaml`` runs the same
commands with the same settings. Commands name their executable (``agrolake``,
``prefect``, ``weed``, ``python``, ``postgres``); supervisord's configuration resolves
those to this installation's files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from agrolake.stack.identities import Role, S3Key

#: The work pool every deployment of prefect.yaml runs on.
WORK_POOL = "local-work"
#: What workers poll at (Prefect's default is 10 s: too slow for "uploads reach trusted").
WORKER_QUERY_SECONDS = "2"

Health = Literal["postgres", "s3", "http", "running"]

#: Memory settings for a small host, per kind of service, measured with and without by
#: ``bench/stack.py --compare`` (docs/BENCHMARKS.md, "The stack"); ``deploy/`` carries the
#: same. Python services: glibc's malloc makes an arena per thread that allocates (up to
#: 8 per core), each kept at its high-water mark; two are enough for servers that mostly
#: wait. ``weed``: Go's collector runs when the heap has doubled (``GOGC=100``) and gives
#: freed pages back slowly; after 100 uploads ``weed mini`` held twice its idle memory. A
#: lower target and a soft limit (past it, Go collects more often; it never refuses
#: memory) keep it near what it uses. PostgreSQL: buffers for a catalog and MLflow's
#: tables, not the 128 MB default.
MEMORY_SETTINGS: dict[str, dict[str, str]] = {
    "python": {"MALLOC_ARENA_MAX": "2"},
    "go": {"GOGC": "50", "GOMEMLIMIT": "96MiB"},
    "postgres": {"shared_buffers": "32MB"},
}


@dataclass(frozen=True)
class Program:
    """One supervised service.

    ``wave``: services of a wave start together, after every service of the waves before
    is healthy. ``health``: how to tell it works (``http``: ``GET url + health_path``
    answers; ``running``: the process stays up). ``run_as``: a system user to run it as
    (PostgreSQL refuses to run as root); ``cwd``: its working folder instead of the
    project's (one that user can enter).
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    wave: int
    health: Health = "running"
    url: str | None = None
    health_path: str = "/health"
    numprocs: int = 1
    stop_signal: str = "TERM"
    run_as: str | None = None
    cwd: str | None = None

    def process_names(self) -> list[str]:
        """supervisord's names for its processes (``worker-1``, ``worker-2``, ...)."""
        if self.numprocs == 1 and self.name != "worker":
            return [self.name]
        return [f"{self.name}-{i}" for i in range(1, self.numprocs + 1)]


@dataclass(frozen=True)
class Network:
    """How services find each other: ``bind`` is what servers listen on; a service is
    reached at ``hosts[name]`` (compose: the service's name) or ``connect_host``."""

    bind: str
    connect_host: str
    ports: Mapping[str, int]
    hosts: Mapping[str, str] = field(default_factory=dict)

    def host(self, service: str) -> str:
        return self.hosts.get(service, self.connect_host)

    def address(self, service: str, port_name: str | None = None) -> str:
        host = self.host(service)
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{self.ports[port_name or service]}"

    def url(self, service: str, path: str = "") -> str:
        return f"http://{self.address(service)}{path}"


@dataclass(frozen=True)
class StackConfig:
    """Everything the plan depends on, resolved: addresses, credentials, paths."""

    network: Network
    home: Path
    data: Path
    workers: int
    s3_managed: bool
    postgres_managed: bool
    s3_endpoint_url: str
    #: A key per role (:mod:`agrolake.stack.identities`); with an S3 the stack does not
    #: run, every role has the one key the settings gave.
    s3_keys: Mapping[Role, S3Key]
    s3_region: str
    catalog_url: str
    mlflow_backend_store_uri: str
    prefect_database_url: str
    webhook_token: str
    mlflow_token: str
    serve_token: str
    buckets: Mapping[str, str]
    postgres_user: str | None = None

    @property
    def s3_config_file(self) -> Path:
        """SeaweedFS's identities (``-s3.config``), beside its data: only it reads them."""
        return self.data / "s3" / "s3-config.json"

    def client_env(self, role: Role | None = "worker") -> dict[str, str]:
        """What a client (a shell, a worker, any service using the lake) needs, with
        ``role``'s S3 key; ``None``: no key, for a service that never opens a bucket."""
        key = {}
        if role is not None:
            found = self.s3_keys[role]
            key = {
                "AGROLAKE_S3_ACCESS_KEY_ID": found.access_key_id,
                "AGROLAKE_S3_SECRET_ACCESS_KEY": found.secret_access_key,
            }
        return {
            "AGROLAKE_HOME": str(self.home),
            "AGROLAKE_STORAGE_URL": "s3://",
            "AGROLAKE_S3_ENDPOINT_URL": self.s3_endpoint_url,
            **key,
            "AGROLAKE_S3_REGION": self.s3_region,
            **{f"AGROLAKE_BUCKET_{zone.upper()}": name for zone, name in self.buckets.items()},
            "AGROLAKE_CATALOG_URL": self.catalog_url,
            "AGROLAKE_MLFLOW_TRACKING_URI": self.network.url("mlflow"),
            "AGROLAKE_WEBHOOK_TOKEN": self.webhook_token,
            "AGROLAKE_MLFLOW_TOKEN": self.mlflow_token,
            "AGROLAKE_SERVE_TOKEN": self.serve_token,
            "PREFECT_API_URL": self.network.url("prefect", "/api"),
            "MLFLOW_TRACKING_URI": self.network.url("mlflow"),
            # Other MLflow clients (the mlflow CLI, a notebook) send it as a bearer token.
            "MLFLOW_TRACKING_TOKEN": self.mlflow_token,
        }


def plan(config: StackConfig) -> list[Program]:
    """The stack's services, in the order they start."""
    net = config.network
    # Each service gets the least S3 key its work needs (docs/security.md): the worker's
    # for the flows and MLflow's artifacts (its bucket); none for the receiver, the bridge
    # (it follows the filer, not S3) and the model server (it reads artifacts through
    # MLflow). The administrator's key stays with `agrolake stack` (init, health probe).
    client = config.client_env("worker")
    keyless = config.client_env(None)
    programs: list[Program] = []
    if config.postgres_managed:
        programs.append(_postgres(config))
    if config.s3_managed:
        programs.append(_seaweedfs(config))
    programs += [
        Program(
            name="prefect",
            argv=(
                "prefect",
                "server",
                "start",
                "--host",
                net.bind,
                "--port",
                _port(net, "prefect"),
            ),
            env={
                "PREFECT_API_DATABASE_CONNECTION_URL": config.prefect_database_url,
                "PREFECT_HOME": str(config.data / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_API_URL": client["PREFECT_API_URL"],
            },
            wave=2,
            health="http",
            url=net.url("prefect"),
            health_path="/api/health",
        ),
        Program(
            name="mlflow",
            argv=("agrolake", "mlflow-server", "--host", net.bind, "--port", _port(net, "mlflow")),
            env={**client, "AGROLAKE_MLFLOW_BACKEND_STORE_URI": config.mlflow_backend_store_uri},
            wave=2,
            health="http",
            url=net.url("mlflow"),
        ),
        Program(
            name="worker",
            argv=("prefect", "worker", "start", "--type", "process", "--pool", WORK_POOL),
            env={**client, "PREFECT_WORKER_QUERY_SECONDS": WORKER_QUERY_SECONDS},
            wave=3,
            numprocs=config.workers,
        ),
        Program(
            name="receiver",
            argv=("agrolake", "webhook", "--host", net.bind, "--port", _port(net, "receiver")),
            env=keyless,
            wave=3,
            health="http",
            url=net.url("receiver"),
        ),
    ]
    if config.s3_managed:
        programs.append(
            Program(
                name="bridge",
                argv=(
                    "python",
                    "-m",
                    "agrolake.stack.filer_bridge",
                    "--filer",
                    net.address("s3", "s3-filer"),
                    "--receiver",
                    net.url("receiver", "/s3-events"),
                ),
                env=keyless,
                wave=4,
            )
        )
    programs.append(
        Program(
            name="serve",
            argv=(
                "python",
                "-m",
                "agrolake.stack.serve_champion",
                "--host",
                net.bind,
                "--port",
                _port(net, "serve"),
            ),
            env=keyless,
            wave=4,
            health="http",
            url=net.url("serve"),
        )
    )
    return [_with_memory_settings(p) for p in programs]


def _with_memory_settings(program: Program) -> Program:
    """``program`` with :data:`MEMORY_SETTINGS`. The bridge is Python with a ``weed``
    child (``filer.meta.tail``) that inherits its environment: Go's target, not the S3
    server's limit."""
    python, go = MEMORY_SETTINGS.get("python", {}), MEMORY_SETTINGS.get("go", {})
    if program.name == "postgres":
        settings = MEMORY_SETTINGS.get("postgres", {})
        options = [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]
        return replace(program, argv=(*program.argv, *options))
    added = {
        "s3": go,
        "bridge": {**python, "GOGC": go["GOGC"]} if "GOGC" in go else python,
    }.get(program.name, python)
    return replace(program, env={**program.env, **added})


def _port(net: Network, name: str) -> str:
    return str(net.ports[name])


def _postgres(config: StackConfig) -> Program:
    net = config.network
    return Program(
        name="postgres",
        argv=(
            "postgres",
            "-D",
            str(config.data / "postgres"),
            "-p",
            _port(net, "postgres"),
            "-c",
            f"listen_addresses={net.bind}",
            # TCP only: a socket path under a deep home would pass the 107-byte limit.
            "-c",
            "unix_socket_directories=",
        ),
        env={},
        wave=1,
        health="postgres",
        url=f"postgresql://{net.address('postgres')}",
        stop_signal="INT",  # "fast" shutdown; TERM would wait for clients to leave
        run_as=config.postgres_user,
        cwd=str(config.data / "postgres"),
    )


def _seaweedfs(config: StackConfig) -> Program:
    """``weed mini`` with every port given (several default to fixed, common numbers)."""
    net = config.network
    argv = ["weed", "-logtostderr", "mini", f"-dir={config.data / 's3'}"]
    # The address components advertise to each other: the default guess is unreachable
    # when binding one address, and then every PutObject fails.
    argv += [f"-ip={net.host('s3')}", f"-ip.bind={net.bind}"]
    for component in ("master", "volume", "filer", "s3", "admin"):
        port = net.ports["s3" if component == "s3" else f"s3-{component}"]
        argv += [f"-{component}.port={port}", f"-{component}.port.grpc={port + 10000}"]
    argv += [
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        # Like AWS S3: no bucket made by a PUT, no non-empty bucket deleted.
        "-s3.autoCreateBucket=false",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-master.telemetry=false",
        # Every bucket is a collection with volumes of its own: small volumes and many
        # slots, or writes fail with "No writable volumes" after a few dozen buckets.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=2000",
        # An identity per role (agrolake.stack.identities); requests without one are refused.
        f"-s3.config={config.s3_config_file}",
    ]
    return Program(
        name="s3",
        argv=tuple(argv),
        # No AWS_* here: weed would add that key as one more administrator beside the
        # file's identities. It reads *.toml from cwd and $HOME.
        env={"HOME": str(config.data / "s3")},
        wave=1,
        health="s3",
        url=config.s3_endpoint_url,
    )
