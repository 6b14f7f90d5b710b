"""Where a stack keeps its files, and what it decided once: ports, secrets, host, workers.

Everything lives under ``<AGROLAKE_HOME>/stack/``. ``stack.json`` holds the decisions of
the first ``up`` (ports, generated credentials and tokens) so that every later ``up``,
``env`` and ``status`` reuses them; it and the supervisord configuration carry secrets
and are written with 0600 permissions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import secrets
import socket
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agrolake.errors import ConfigError
from agrolake.lake.private_files import private_folder, write_private
from agrolake.stack.identities import ROLES, Role, S3Key

#: Services' default ports, used when free at the first ``up`` (each SeaweedFS component
#: also takes its port + 10000 for gRPC). A taken one is replaced by a free random port.
DEFAULT_PORTS: dict[str, int] = {
    "postgres": 5432,
    "s3": 8333,
    "s3-master": 9333,
    "s3-volume": 8080,
    "s3-filer": 8888,
    "s3-admin": 23646,
    "prefect": 4200,
    "mlflow": 5000,
    "receiver": 8787,
    "serve": 5001,
}
#: SeaweedFS passes "host:port" around and derives a component's gRPC port as port +
#: 10000 (``weed mini``'s admin worker ignores -admin.port.grpc): both must be free.
GRPC_OFFSET = 10000
_PAIRED = frozenset(name for name in DEFAULT_PORTS if name.startswith("s3"))
_RANDOM_RANGE = (20000, 30000)  # a pair's gRPC twin stays below 65536
_STATE_VERSION = 1
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux


@dataclass(frozen=True)
class StackLayout:
    """The files of one stack, all under ``root`` (``<home>/stack``)."""

    root: Path

    @classmethod
    def under(cls, home: Path) -> StackLayout:
        return cls((home / "stack").resolve())

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def config_file(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def pid_file(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, program: str) -> Path:
        return self.logs / f"{program}.log"

    def data(self, service: str) -> Path:
        return self.root / "data" / service

    @property
    def socket(self) -> Path:
        """supervisord's control socket: in the stack folder unless that path is too
        long for a unix socket, then in the temporary folder under a name of its own."""
        beside = self.root / "supervisor.sock"
        if len(str(beside)) <= _MAX_SOCKET_PATH:
            return beside
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"agrolake-stack-{digest}.sock"

    def ensure(self) -> None:
        for folder in (self.root, self.logs, self.root / "data"):
            private_folder(folder)
        self.root.chmod(0o700)  # one made by an earlier version may be wider


@dataclass
class StackState:
    """The decisions of the first ``up``, reused by every later command.

    ``s3_managed``/``postgres_managed``: whether the stack runs SeaweedFS / PostgreSQL
    itself, or uses the endpoint and catalog URL the settings named at the first ``up``.
    """

    host: str
    workers: int
    ports: dict[str, int]
    s3_managed: bool
    postgres_managed: bool
    #: The administrator's S3 key (the only one of earlier versions, which gave it to
    #: every service): set-up steps only, see :meth:`s3_key`.
    s3_access_key_id: str = field(default_factory=lambda: S3Key.generate().access_key_id)
    s3_secret_access_key: str = field(default_factory=lambda: S3Key.generate().secret_access_key)
    #: The other roles' keys (uploader, worker, reader): ``{role: {"access_key_id": …,
    #: "secret_access_key": …}}``.
    s3_role_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    postgres_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    webhook_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    mlflow_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    serve_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        # A state saved before the keys per role (or before a role) gets them here, once:
        # load_state saves what changed.
        for role in ROLES:
            if role != "admin" and role not in self.s3_role_keys:
                self.s3_role_keys[role] = dataclasses.asdict(S3Key.generate())

    def s3_key(self, role: Role) -> S3Key:
        if role == "admin":
            return S3Key(self.s3_access_key_id, self.s3_secret_access_key)
        return S3Key(**self.s3_role_keys[role])

    @property
    def connect_host(self) -> str:
        """The address clients on this machine use (a wildcard bind is not one)."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)

    def to_json(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackState:
        if data.get("version") != _STATE_VERSION:
            raise ConfigError(f"stack state version {data.get('version')!r} is not supported")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def load_state(layout: StackLayout) -> StackState | None:
    """The stack's saved state, or None before the first ``up``.

    A secret an earlier version did not generate (a token, the keys per role) is
    generated now and saved at once, so every later command (``env``, ``status``) and
    every service sees the same one.
    """
    try:
        text = layout.state_file.read_text()
    except FileNotFoundError:
        return None
    try:
        saved = json.loads(text)
        state = StackState.from_json(saved)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{layout.state_file} is damaged ({exc}); `agrolake stack down`, then move it "
            "away to start a new stack (its data stays under stack/data)"
        ) from exc
    if state.to_json() != saved:
        save_state(layout, state)
    return state


def save_state(layout: StackLayout, state: StackState) -> None:
    write_private(layout.state_file, json.dumps(state.to_json(), indent=2) + "\n")


def choose_ports(host: str, wanted: Iterator[str] | None = None) -> dict[str, int]:
    """A port for each service: its default when free on ``host``, else a free random one
    (with its gRPC twin for SeaweedFS's components). All probes are held until the end,
    so no port is chosen twice."""
    held: list[socket.socket] = []
    rng = secrets.SystemRandom()
    chosen: dict[str, int] = {}
    try:
        for name in wanted or iter(DEFAULT_PORTS):
            candidates = [DEFAULT_PORTS[name]] + [rng.randrange(*_RANDOM_RANGE) for _ in range(200)]
            for port in candidates:
                probes = _hold(host, [port, port + GRPC_OFFSET] if name in _PAIRED else [port])
                if probes:
                    held += probes
                    chosen[name] = port
                    break
            else:
                raise ConfigError(f"no free port for {name} on {host}")
        return chosen
    finally:
        for probe in held:
            probe.close()


def _hold(host: str, ports: list[int]) -> list[socket.socket]:
    """Sockets bound to every port, or [] if one of them is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bound: list[socket.socket] = []
    for port in ports:
        probe = socket.socket(family, socket.SOCK_STREAM)
        try:
            probe.bind((host, port))
        except OSError:
            probe.close()
            for other in bound:
                other.close()
            return []
        bound.append(probe)
    return bound


def port_is_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False
