"""TCP servers on 127.0.0.1 that misbehave on purpose: accept and never answer, or stall a proxied server."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StallingProxy:
    """Forwards to `target` (host, port) until `stalled` is set; then accepts and forwards nothing, never closing."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target = target
        self.stalled = threading.Event()
        if target is None:
            self.stalled.set()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._closing = threading.Event()
        self._held: list[socket.socket] = []
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._held.append(conn)
            if not self.stalled.is_set() and self.target is not None:
                upstream = socket.create_connection(self.target, timeout=10)
                self._held.append(upstream)
                for a, b in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, dest: socket.socket) -> None:
        try:
            source.settimeout(None)
            while not self._closing.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if self.stalled.is_set():   # swallow everything from now on
                    continue
                dest.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._closing.set()
        for s in [self._server, *self._held]:
            try:
                s.close()
            except OSError:
                pass


@contextmanager
def stalling_server(target: tuple[str, int] | None = None) -> Iterator[StallingProxy]:
    """A StallingProxy for the block (stalled from the start when there is no target)."""
    proxy = StallingProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()


@contextmanager
def trickling_server(*, every: float = 0.5, for_at_most: float = 30.0) -> Iterator[str]:
    """An HTTP server that sends its status line, then one header byte every `every` seconds (base URL)."""
    server = socket.create_server(("127.0.0.1", 0))
    closing = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                waited = 0.0
                while not closing.wait(every) and waited < for_at_most:
                    waited += every
                    conn.sendall(b"X")
            except OSError:
                pass

    def accept() -> None:
        while not closing.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        closing.set()
        server.close()
