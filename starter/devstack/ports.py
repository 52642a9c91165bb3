"""Ports on the loopback interface every local process listens on."""

from __future__ import annotations

import os
import socket

from starter.devstack.process import StackFailed

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def listening(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def port_from_env(variable: str, default: int) -> int:
    value = os.environ.get(variable) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StackFailed(f"{variable}={value!r} is not a port number")
    return int(value)
