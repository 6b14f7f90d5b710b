"""``up``, ``down``, ``status`` and ``env`` of the stack under ``<AGROLAKE_HOME>/stack``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agrolake.errors import ConfigError, UsageError
from agrolake.lake.settings import Settings
from agrolake.stack.health import Health, check
from agrolake.stack.identities import Role, write_seaweedfs_config
from agrolake.stack.layout import (
    GRPC_OFFSET,
    StackLayout,
    StackState,
    choose_ports,
    load_state,
    save_state,
)
from agrolake.stack.machine import external_services, project_root, stack_config
from agrolake.stack.preparation import (
    client_process_env,
    client_settings,
    create_databases,
    deploy,
    init_lake,
    init_postgres,
)
from agrolake.stack.programs import Program, StackConfig, plan
from agrolake.stack.supervision import (
    STACK_MARKER,
    Supervisor,
    render_config,
    start_supervisord,
    supervisord_pid,
    tail,
    write_config,
)

Report = Callable[[str], None]
#: What an uploader's shell needs (`agrolake ingest` opens no catalog).
_UPLOADER_SETTINGS = ("AGROLAKE_HOME", "AGROLAKE_STORAGE_URL", "AGROLAKE_S3_", "AGROLAKE_BUCKET_")
#: supervisord states in which a process will not come back without help.
_GAVE_UP = {"FATAL", "STOPPED", "EXITED", "UNKNOWN"}


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    url: str | None
    healthy: bool
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid,
            "url": self.url,
            "healthy": self.healthy,
            "detail": self.detail,
        }


class Stack:
    """The services profile on this machine, kept by supervisord."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.layout = StackLayout.under(settings.home)

    # ------------------------------------------------------------------ reading

    def state(self) -> StackState:
        state = load_state(self.layout)
        if state is None:
            raise UsageError(f"no stack under {self.layout.root}: run `agrolake stack up` first")
        return state

    def config(self, state: StackState | None = None) -> StackConfig:
        return stack_config(self.settings, self.layout, state or self.state())

    def env(self, role: Role = "worker") -> dict[str, str]:
        """What a client shell of ``role`` needs: the lake's settings with the role's S3
        key; for a worker or an administrator Prefect's and MLflow's URLs and the tokens
        too. An uploader gets only what uploads need, a reader what queries need (the
        catalog), so a key handed to either carries no other secret."""
        config = self.config()
        if not config.s3_managed and role in ("uploader", "reader"):
            raise UsageError(
                f"this stack uses the S3 at {config.s3_endpoint_url} with the one key the "
                f"settings gave it: it has no {role} key (create one there, docs/security.md)"
            )
        env = config.client_env(role)
        if role in ("worker", "admin"):
            return env
        wanted = _UPLOADER_SETTINGS + (("AGROLAKE_CATALOG_URL",) if role == "reader" else ())
        return {name: value for name, value in env.items() if name.startswith(wanted)}

    def status(self) -> list[ServiceStatus]:
        """Every service with its pid, URL and health (all unhealthy when down)."""
        state = load_state(self.layout)
        if state is None:
            return []
        config = self.config(state)
        supervisor = Supervisor(self.layout)
        infos = supervisor.processes() if supervisor.running() else {}
        jobs = [(p, name) for p in plan(config) for name in p.process_names()]

        def one(job: tuple[Program, str]) -> ServiceStatus:
            program, name = job
            info = infos.get(name)
            if info is None:
                return ServiceStatus(name, None, program.url, False, "not running")
            health = check(program, config, info["statename"])
            return ServiceStatus(name, info["pid"] or None, program.url, *_fields(health))

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, jobs))

    def log_files(self, service: str) -> list[Path]:
        """The log files of a service (``worker``: every worker's)."""
        state = self.state()
        names = {n: [n] for p in plan(self.config(state)) for n in p.process_names()}
        names["worker"] = [n for n in names if n.startswith("worker-")]
        names["supervisord"] = ["supervisord"]
        if service not in names:
            raise UsageError(f"no service {service!r}; the stack runs {', '.join(sorted(names))}")
        return [self.layout.log(n) for n in names[service]]

    # ------------------------------------------------------------------ up

    def up(
        self,
        *,
        host: str | None = None,
        workers: int | None = None,
        timeout: float = 300.0,
        report: Report = lambda _: None,
    ) -> list[ServiceStatus]:
        """Start every service not yet running, wave by wave, and return once all are
        healthy; raises ConfigError naming the one that is not, with its log's tail.
        Running again changes nothing that runs (or what ``host``/``workers`` changed)."""
        if workers is not None and workers < 1:
            raise UsageError(f"--workers takes a number from 1 up, not {workers}")
        self.layout.ensure()
        with self._lock():
            state = self._decide(host, workers)
            config = self.config(state)
            programs = plan(config)
            if state.s3_managed:
                write_seaweedfs_config(config.s3_config_file, config.s3_keys, config.buckets)
            if state.postgres_managed:
                if config.postgres_user:
                    # PostgreSQL's own user must pass through to its data folder.
                    for folder in (self.layout.root, self.layout.root / "data"):
                        folder.chmod(0o711)
                if init_postgres(config, self.layout, state.postgres_password):
                    report("postgres: data folder initialised")
            write_config(self.layout, render_config(self.layout, programs, project_root()))
            supervisor = Supervisor(self.layout)
            if supervisor.running():
                if replaced := supervisor.apply_config():
                    report(f"supervisord: configuration changed for {', '.join(replaced)}")
            else:
                supervisor = start_supervisord(self.layout)
                report(f"supervisord: started (pid {supervisord_pid(self.layout)})")
            deadline = time.monotonic() + timeout
            for wave in sorted({p.wave for p in programs}):
                members = [p for p in programs if p.wave == wave]
                for program in members:
                    for name in program.process_names():
                        supervisor.start(f"{program.name}:{name}")
                for program in members:
                    self._wait_healthy(supervisor, program, config, deadline, report)
                    if program.name == "prefect":
                        self._deploy(config, report)
                if wave == 1:
                    self._prepare_data(config, report)
        return self.status()

    def _decide(self, host: str | None, workers: int | None) -> StackState:
        state = load_state(self.layout)
        if state is None:
            s3_managed, postgres_managed = external_services(self.settings)
            host = host or "127.0.0.1"
            state = StackState(
                host=host,
                workers=workers or 1,
                ports=choose_ports(host),
                s3_managed=s3_managed,
                postgres_managed=postgres_managed,
            )
        else:
            state.host = host or state.host
            state.workers = workers or state.workers
        save_state(self.layout, state)
        return state

    def _prepare_data(self, config: StackConfig, report: Report) -> None:
        if created := create_databases(config):
            report(f"postgres: created databases {', '.join(created)}")
        # The one service-side step with the administrator's key: it creates buckets.
        buckets = init_lake(client_settings(config, "admin"))
        report(f"lake: buckets {', '.join(buckets)}; catalog up to date")

    def _deploy(self, config: StackConfig, report: Report) -> None:
        env = client_process_env(config.client_env())
        if deploy(env, project_root(), marker=self.layout.root / "deployed.sha256"):
            report("prefect: work pool and every deployment of prefect.yaml deployed")

    def _wait_healthy(
        self,
        supervisor: Supervisor,
        program: Program,
        config: StackConfig,
        deadline: float,
        report: Report,
    ) -> None:
        started = time.monotonic()
        health = Health(False, "not started")
        name = program.name
        while time.monotonic() < deadline:
            infos = supervisor.processes()
            states = [infos[n]["statename"] for n in program.process_names()]
            if gave_up := [s for s in states if s in _GAVE_UP]:
                health = Health(False, gave_up[0].lower())
                break
            checks = [check(program, config, s) for s in states]
            health = next((h for h in checks if not h.healthy), checks[0])
            if health.healthy:
                waited = time.monotonic() - started
                report(f"{name}: healthy after {waited:.1f} s" + _detail(health))
                return
            time.sleep(0.3)
        log = self.layout.log(program.process_names()[0])
        raise ConfigError(
            f"{name} is not healthy ({health.detail or 'no answer'}); last lines of {log}:\n"
            f"{tail(log)}\nThe other services keep running: `agrolake stack logs {name}`, "
            "then `agrolake stack down`."
        )

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One ``up`` or ``down`` at a time per stack."""
        with (self.layout.root / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(
                    f"another `agrolake stack` command is working on {self.layout.root}"
                ) from None
            yield

    # ------------------------------------------------------------------ down

    def down(self, report: Report = lambda _: None, timeout: float = 90.0) -> int:
        """Stop every service and supervisord; then end any process the stack started
        that is still alive (found by the marker in its environment). Returns how many
        processes were left over and ended that way."""
        if not self.layout.root.is_dir():
            return 0
        with self._lock():
            supervisor = Supervisor(self.layout)
            pid = supervisord_pid(self.layout)
            if supervisor.running():
                supervisor.shutdown()
                report("supervisord: every service stopped")
            if pid is not None and not _wait_gone(pid, timeout):
                _signal(pid, signal.SIGKILL)
            leftovers = _end_marked_processes(self.layout.root)
            if leftovers:
                report(f"ended {leftovers} left-over processes of the stack")
            self.layout.socket.unlink(missing_ok=True)
            self._remove_weed_sockets()
            return leftovers

    def _remove_weed_sockets(self) -> None:
        """``weed`` leaves unix sockets named after its ports in /tmp; ours go."""
        state = load_state(self.layout)
        if state is None or not state.s3_managed:
            return
        for name, port in state.ports.items():
            if name.startswith("s3"):
                for number in (port, port + GRPC_OFFSET):
                    for leftover in Path("/tmp").glob(f"seaweedfs-*-{number}.sock"):
                        if leftover.is_socket():
                            leftover.unlink(missing_ok=True)


def _fields(health: Health) -> tuple[bool, str]:
    return health.healthy, health.detail


def _detail(health: Health) -> str:
    return f" ({health.detail})" if health.detail else ""


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def marked_processes(root: Path) -> list[Any]:
    """Live processes whose environment names this stack (what it started, and their
    children); zombies do not count."""
    import psutil

    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(STACK_MARKER) == str(root):
                found.append(process)
    return found


def _end_marked_processes(root: Path) -> int:
    import psutil

    leftovers = marked_processes(root)
    for process in leftovers:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(leftovers, timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=10)
    return len(leftovers)
