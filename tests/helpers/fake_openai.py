"""A local stand-in for an OpenAI-compatible chat server, speaking the real wire protocol.

    with fake_openai(lambda messages: "PAF-N is a partner framework [1].") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)   # http://127.0.0.1:PORT/v1
        ...
        server.requests[0]["messages"]     # every request body, as JSON, in order

It serves ``POST /v1/chat/completions``: a ``chat.completion`` object, or with ``"stream": true``
a ``text/event-stream`` of ``chat.completion.chunk`` events ending with ``data: [DONE]``
(one event per piece of the reply, sent and flushed one at a time). ``GET /v1/models`` lists the
requested model names. Anything else is an OpenAI-style 404 error, and is recorded in ``unexpected``.
The reply is chosen by a callback from the request's messages: a string (streamed word by word),
or a list of strings (streamed as exactly these pieces).
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[list[dict[str, Any]]], "str | list[str]"]


@dataclass
class FakeOpenAI:
    """What a test sees of the running server."""

    base_url: str                                  # what OPENAI_BASE_URL should be, ending in /v1
    reply: Reply
    requests: list[dict[str, Any]] = field(default_factory=list)     # chat-completions bodies, in order
    headers: list[dict[str, str]] = field(default_factory=list)      # their HTTP headers
    unexpected: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of anything else
    chunks_sent: list[float] = field(default_factory=list)          # monotonic time each stream event was flushed
    hold_after_first_piece: threading.Event | None = None            # streaming waits on it after the first piece
    hold_timeout: float = 10.0
    hold_released: list[bool] = field(default_factory=list)         # per held stream: was the event set in time?

    def messages(self, i: int = -1) -> list[dict[str, Any]]:
        return self.requests[i]["messages"]

def pieces_of(text: str) -> list[str]:
    """How a reply string is streamed: word by word, each word with the spaces after it."""
    return re.findall(r"\s*\S+\s*", text) or [text]


@contextmanager
def fake_openai(reply: Reply, *, hold_after_first_piece: threading.Event | None = None) -> Iterator[FakeOpenAI]:
    """Run the fake server on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    state = FakeOpenAI(base_url="", reply=reply, hold_after_first_piece=hold_after_first_piece)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"          # keep-alive, chunked streaming: what real servers do

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._unexpected()
            try:
                request = json.loads(body)
            except ValueError:
                return self._error(400, "invalid JSON body")
            with lock:
                state.requests.append(request)
                state.headers.append({k.lower(): v for k, v in self.headers.items()})
            answer = state.reply(request.get("messages", []))
            pieces = pieces_of(answer) if isinstance(answer, str) else list(answer)
            model = request.get("model", "fake-model")
            if request.get("stream"):
                self._stream(pieces, model, include_usage=bool((request.get("stream_options") or {}).get("include_usage")))
            else:
                self._json(200, _completion("".join(pieces), model))

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") == "/v1/models":
                with lock:
                    names = sorted({r.get("model", "fake-model") for r in state.requests} or {"fake-model"})
                return self._json(200, {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]})
            self._unexpected()

        def _stream(self, pieces: list[str], model: str, include_usage: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

            def event(delta: dict[str, Any], finish: str | None = None, usage: dict | None = None) -> None:
                chunk: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                                         "system_fingerprint": "fp_fake",
                                         "choices": [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
                if usage:
                    chunk["usage"] = usage
                self._send_chunk(f"data: {json.dumps(chunk)}\n\n")

            event({"role": "assistant", "content": "", "refusal": None})
            for i, piece in enumerate(pieces):
                event({"content": piece})
                if i == 0 and state.hold_after_first_piece is not None:
                    state.hold_released.append(state.hold_after_first_piece.wait(state.hold_timeout))
            event({}, finish="stop")
            if include_usage:
                event({}, usage=_usage(pieces))
            self._send_chunk("data: [DONE]\n\n")
            self._send_chunk("")                 # the zero-length chunk that ends the body

        def _send_chunk(self, text: str) -> None:
            data = text.encode("utf-8")
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            state.chunks_sent.append(time.monotonic())

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._json(status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}})

        def _unexpected(self) -> None:
            with lock:
                state.unexpected.append((self.command, self.path))
            self._error(404, f"fake server: no route for {self.command} {self.path}")

        def log_message(self, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if state.hold_after_first_piece is not None:
            state.hold_after_first_piece.set()      # never leave a handler waiting
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up (a timeout test, a closed keep-alive connection) is not a server failure
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _completion(text: str, model: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": _usage([text])}


def _usage(pieces: list[str]) -> dict[str, int]:
    completion = sum(len(p.split()) for p in pieces)
    return {"prompt_tokens": 100, "completion_tokens": completion, "total_tokens": 100 + completion}
