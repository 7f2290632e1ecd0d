"""A throw-away HTTP server on 127.0.0.1 serving fixed responses, and a port where nothing listens."""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks.chroma_server import free_port  # noqa: F401  (the tests import it from here)

Route = tuple[int, str, bytes]   # status, Content-Type, body


@contextmanager
def serve(routes: Mapping[str, Route]) -> Iterator[str]:
    """Serve `routes` (path -> response; anything else is a 404) and yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            status, content_type, body = routes.get(self.path, (404, "text/html", b"<h1>Not Found</h1>"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
