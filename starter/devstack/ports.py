"""Ports on the loopback interface every local process listens on."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

from starter.devstack.process import StackFailed

HOST = "127.0.0.1"


LOWEST_PORT = 10_000
"""Below the ports other software on a developer's machine is configured with."""
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A port nothing listens on right now, below the kernel's ephemeral range.

    The port is handed to another process that binds it moments later. One
    from the ephemeral range (``bind(HOST, 0)``) can be handed out again
    meanwhile to anyone's ``bind(0)``: the dev server picks its internal
    services' ports that way and once picked ours, then crashed. Below that
    range only a fixed choice like ours can take it."""
    ephemeral_from = _ephemeral_range_start()
    for _ in range(200):
        port = random.randrange(LOWEST_PORT, ephemeral_from)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))  # a crowded machine: the kernel's choice after all
        return int(probe.getsockname()[1])


def _ephemeral_range_start() -> int:
    try:
        start = int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default
    return start if start > LOWEST_PORT + 1_000 else 32_768


def listening(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def port_from_env(variable: str, default: int) -> int:
    value = os.environ.get(variable) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StackFailed(f"{variable}={value!r} is not a port number")
    return int(value)
