"""Who holds a claim: ``<host>:<pid>:<token>``, so a claim whose process is gone can be
taken over at once on the same host instead of after its lease."""

from __future__ import annotations

import os
import secrets
import socket


def worker_id() -> str:
    """This process's worker id; the token tells two lakes in one process apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def local_and_gone(worker: str) -> bool:
    """Whether ``worker`` ran on this host and its process no longer exists.

    Only a process on this host can be checked; another host's claims wait for
    their lease. A reused pid reads as alive: the claim then waits for its lease,
    which is the safe side.
    """
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False
