"""This machine's network, as kubelab asks about it before it listens somewhere."""
from __future__ import annotations

import socket


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether `port` on `host` (an IPv4 or IPv6 address) can be listened on now. A port
    left in TIME_WAIT counts as free: servers kubelab starts bind it with SO_REUSEADDR."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
