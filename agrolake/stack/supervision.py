"""supervisord, the stack's process manager: its configuration, its start, its API.

Each service is a supervisord program that restarts when it exits (``autorestart``);
none starts by itself (``autostart=false``): ``agrolake stack up`` starts them wave by
wave, each wave once the one before is healthy. Programs run in their own process
group and are stopped as a group, so a service's children go with it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agrolake.errors import ConfigError
from agrolake.lake.private_files import write_private
from agrolake.stack.layout import StackLayout
from agrolake.stack.machine import executable
from agrolake.stack.programs import Program

#: Every supervised process (and any child it starts) carries this variable, so that
#: ``down`` can find what the stack started even if a service left an orphan behind.
STACK_MARKER = "AGROLAKE_STACK_ROOT"
#: supervisord's environment keeps only these from the caller's: a service must not
#: pick up a shell's AGROLAKE_*, PREFECT_* or AWS_* settings by accident.
_KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "USER", "LOGNAME")
_STOP_WAIT_SECONDS = 30


def render_config(layout: StackLayout, programs: Iterable[Program], workdir: Path) -> str:
    """supervisord.conf for ``programs``; services run in ``workdir`` (the project)."""
    sections = [
        f"""[unix_http_server]
file={_escape(str(layout.socket))}
chmod=0700

[supervisord]
logfile={_escape(str(layout.log("supervisord")))}
logfile_maxbytes=10MB
logfile_backups=2
pidfile={_escape(str(layout.pid_file))}
childlogdir={_escape(str(layout.logs))}
directory={_escape(str(workdir))}
identifier=agrolake-stack

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{_escape(str(layout.socket))}
"""
    ]
    for program in programs:
        argv = [executable(program.argv[0]), *program.argv[1:]]
        env = {**program.env, STACK_MARKER: str(layout.root)}
        several = program.process_names() != [program.name]
        log_name = "%(program_name)s-%(process_num)d" if several else program.name
        lines = [
            f"[program:{program.name}]",
            f"command={_escape(shlex.join(argv))}",
            f"directory={_escape(program.cwd or str(workdir))}",
            f"environment={_environment(env)}",
            f"priority={program.wave * 100}",
            "autostart=false",
            "autorestart=true",
            "startsecs=3",
            "startretries=10",
            f"stopsignal={program.stop_signal}",
            f"stopwaitsecs={_STOP_WAIT_SECONDS}",
            # The group: a worker's flow runs, a bridge's tail process stop with it.
            f"stopasgroup={'false' if program.name == 'postgres' else 'true'}",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(str(layout.logs))}/{log_name}.log",
            "stdout_logfile_maxbytes=10MB",
            "stdout_logfile_backups=2",
        ]
        if several:
            lines += [
                f"numprocs={program.numprocs}",
                "numprocs_start=1",
                "process_name=%(program_name)s-%(process_num)d",
            ]
        if program.run_as:
            lines.append(f"user={program.run_as}")
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s`` in values: a literal % is written %%."""
    if "\n" in value:
        raise ConfigError(f"a stack setting cannot hold a line break: {value!r}")
    return value.replace("%", "%%")


def _environment(env: Mapping[str, str]) -> str:
    pairs = []
    for name, value in env.items():
        quote = "'" if '"' in value else '"'
        if quote in value and "'" in value:
            raise ConfigError(f"{name} cannot hold both kinds of quotes in a stack setting")
        pairs.append(f"{name}={quote}{_escape(value)}{quote}")
    return ",".join(pairs)


def write_config(layout: StackLayout, text: str) -> None:
    write_private(layout.config_file, text)


class Supervisor:
    """supervisord's XML-RPC API on the stack's unix socket."""

    def __init__(self, layout: StackLayout) -> None:
        from supervisor.xmlrpc import SupervisorTransport

        self.layout = layout
        transport = SupervisorTransport(None, None, f"unix://{layout.socket}")
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def call(self, method: str, *args: Any) -> Any:
        namespace, _, name = method.partition(".")
        return getattr(getattr(self._proxy, namespace), name)(*args)

    def running(self) -> bool:
        """Whether supervisord answers on its socket."""
        if not self.layout.socket.exists():
            return False
        try:
            return bool(self.call("supervisor.getState")["statename"] == "RUNNING")
        except (OSError, xmlrpc.client.Error):
            return False

    def processes(self) -> dict[str, dict[str, Any]]:
        """supervisord's facts about each process, by process name."""
        return {info["name"]: info for info in self.call("supervisor.getAllProcessInfo")}

    def start(self, process: str) -> None:
        """Start a process unless it runs or is starting (no wait: health tells)."""
        try:
            self.call("supervisor.startProcess", process, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    def apply_config(self) -> list[str]:
        """Re-read the configuration and replace the programs whose section changed
        (what ``supervisorctl update`` does); the names of those replaced or removed."""
        [[added, changed, removed]] = self.call("supervisor.reloadConfig")
        for name in [*changed, *removed]:
            with contextlib.suppress(xmlrpc.client.Fault):
                self.call("supervisor.stopProcessGroup", name, True)
            self.call("supervisor.removeProcessGroup", name)
        for name in [*changed, *added]:
            self.call("supervisor.addProcessGroup", name)
        return [*changed, *removed]

    def shutdown(self) -> None:
        """Stop every process (each gets its stop signal, then SIGKILL), then supervisord."""
        with contextlib.suppress(xmlrpc.client.Fault):
            self.call("supervisor.stopAllProcesses", True)
        with contextlib.suppress(OSError, xmlrpc.client.Error):
            self.call("supervisor.shutdown")


def start_supervisord(layout: StackLayout, timeout: float = 30.0) -> Supervisor:
    """Start supervisord (it daemonizes: it outlives this command) and wait for its API."""
    layout.socket.unlink(missing_ok=True)
    env = {name: os.environ[name] for name in _KEPT_ENVIRONMENT if name in os.environ}
    log = layout.log("supervisord-start")
    with log.open("ab") as output:
        done = subprocess.run(
            [executable("supervisord"), "--configuration", str(layout.config_file)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    supervisor = Supervisor(layout)
    deadline = time.monotonic() + timeout
    while done.returncode == 0 and time.monotonic() < deadline:
        if supervisor.running():
            return supervisor
        time.sleep(0.1)
    raise ConfigError(
        f"supervisord did not start (exit code {done.returncode}); "
        f"{log}:\n{tail(log)}\n{layout.log('supervisord')}:\n{tail(layout.log('supervisord'))}"
    )


def supervisord_pid(layout: StackLayout) -> int | None:
    """The pid in supervisord's pid file, if that process is alive."""
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of a log file (read from its end: logs grow to 10 MB)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 256 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    return text.splitlines()[-count:]


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, indented (or why there are none)."""
    try:
        return "\n".join("  " + line for line in last_lines(path, lines))
    except OSError as exc:
        return f"  (no log: {exc.strerror or exc})"
