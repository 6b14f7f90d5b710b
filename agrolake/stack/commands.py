"""``agrolake stack …``: the services profile on this machine, in one command.

Imports stay inside the commands: ``agrolake --help`` must not wait for them.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from agrolake.errors import UsageError

if TYPE_CHECKING:
    from agrolake.stack.lifecycle import ServiceStatus, Stack

app = typer.Typer(
    help="Run the services profile on this machine: S3, PostgreSQL, Prefect server and "
    "workers, MLflow, the S3 event receiver and the model server, kept by supervisord.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _stack() -> Stack:
    from agrolake.lake.settings import load_settings
    from agrolake.stack.lifecycle import Stack

    return Stack(load_settings())


def _say(line: str) -> None:
    err.print(f"stack: {line}", highlight=False)


@app.command()
def up(
    host: Annotated[
        str | None, typer.Option(help="Address every service listens on (default 127.0.0.1).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Prefect process workers (default 1).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every service to be healthy.")
    ] = 300.0,
) -> None:
    """Start every service that is not running and wait until all are healthy."""
    if timeout <= 0:
        raise UsageError(f"--timeout takes a number of seconds above 0, not {timeout:g}")
    stack = _stack()
    _print_table(stack.up(host=host, workers=workers, timeout=timeout, report=_say))
    out.print('clients: eval "$(agrolake stack env)"', highlight=False)


@app.command()
def down() -> None:
    """Stop every service and supervisord; nothing the stack started stays behind."""
    stack = _stack()
    stack.down(report=_say)
    out.print(f"stack: down (data kept in {stack.layout.root / 'data'})", highlight=False)


@app.command()
def status(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON.")
    ] = False,
) -> None:
    """Each service with its pid, URL and health."""
    stack = _stack()
    services = stack.status()
    if json_output:
        data = {"services": [s.as_json() for s in services], "home": str(stack.settings.home)}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not services:
        out.print(f"no stack under {stack.layout.root}: `agrolake stack up` starts one")
        return
    _print_table(services)


@app.command()
def env(
    role: Annotated[
        str,
        typer.Option(
            help="Whose S3 key: worker (runs the flows), uploader (puts into landing), "
            "reader (queries trusted and refined) or admin (creates buckets)."
        ),
    ] = "worker",
) -> None:
    """Print export lines for a client shell: eval "$(agrolake stack env)"."""
    from agrolake.stack.identities import ROLES

    if role not in ROLES:
        raise UsageError(f"--role is one of {', '.join(ROLES)}, not {role!r}")
    for name, value in _stack().env(role).items():
        sys.stdout.write(f"export {name}={shlex.quote(value)}\n")


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="A service name, as `stack status` shows.")],
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 50,
) -> None:
    """The last lines of a service's log."""
    from agrolake.stack.supervision import last_lines

    if lines < 1:
        raise UsageError(f"--lines takes a number from 1 up, not {lines}")
    for path in _stack().log_files(service):
        if not path.exists():
            raise UsageError(f"{service} has no log yet ({path})")
        err.print(f"==> {path} <==", highlight=False)
        sys.stdout.writelines(line + "\n" for line in last_lines(path, lines))


@app.command()
def prepare() -> None:
    """Create buckets, catalog, work pool and deployments for services run otherwise.

    For the compose file's init job and the systemd units; from the environment's settings.
    """
    from agrolake.lake.settings import load_settings
    from agrolake.stack.machine import project_root
    from agrolake.stack.preparation import deploy, init_lake

    buckets = init_lake(load_settings())
    out.print(f"prepare: buckets {', '.join(buckets)}; catalog up to date", highlight=False)
    deploy(dict(os.environ), project_root())
    out.print("prepare: work pool and every deployment of prefect.yaml deployed")


@app.command("s3-config")
def s3_config(
    path: Annotated[Path, typer.Argument(help="The file to write (SeaweedFS's -s3.config).")],
) -> None:
    """Write SeaweedFS's identities file (0600): a key per role, from the environment.

    S3_ADMIN_ACCESS_KEY_ID, S3_ADMIN_SECRET_ACCESS_KEY, the same for UPLOADER,
    WORKER and READER. For the compose file and the systemd units (`stack up`
    writes its own from stack.json).
    """
    from agrolake.lake.settings import load_settings
    from agrolake.stack.identities import bucket_names, keys_from_environment
    from agrolake.stack.identities import write_seaweedfs_config as write

    write(path, keys_from_environment(os.environ), bucket_names(load_settings()))
    out.print(f"s3-config: {path} (admin, uploader, worker, reader)", highlight=False)


def _print_table(services: list[ServiceStatus]) -> None:
    table = Table("service", "pid", "url", "healthy", "detail")
    for s in services:
        mark = "[green]yes[/]" if s.healthy else "[red]no[/]"
        table.add_row(s.name, str(s.pid or "-"), s.url or "", mark, s.detail)
    out.print(table)
