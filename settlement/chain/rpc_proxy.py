"""A fault-injecting JSON-RPC proxy on 127.0.0.1 for reliability tests of the settlement sender.

Faults (each with its own rate, drawn from a seeded generator): a timeout (the reply is held past
the client's deadline; the request still reaches the node), an error (a JSON-RPC error, nothing
forwarded), a dropped send (`eth_sendRawTransaction` answered with the hash but never forwarded),
and a send reported failed but mined (forwarded, then answered with an error). `overrides` answer
chosen methods locally (e.g. `zks_getBlockDetails`, which anvil lacks).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx
from eth_utils.crypto import keccak

Override = Callable[[list[Any]], Any]


@dataclass
class FaultPlan:
    """Fault rates in [0, 1] per request and the seed that makes a run repeatable."""

    timeout_rate: float = 0.0
    error_rate: float = 0.0
    drop_send_rate: float = 0.0
    fail_but_mined_rate: float = 0.0
    hold_s: float = 1.0
    seed: int = 0
    overrides: dict[str, Override] = field(default_factory=dict)


class FaultProxy:
    """A threaded HTTP proxy in front of one JSON-RPC node; use as a context manager."""

    def __init__(self, upstream_url: str, plan: FaultPlan) -> None:
        self.upstream_url = upstream_url
        self.plan = plan
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(plan.seed)  # noqa: S311 - fault injection, not cryptography
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the proxy's HTTP address."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the upstream connection."""
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    def _forward(self, body: bytes) -> bytes:
        reply = self._http.post(
            self.upstream_url, content=body, headers={"content-type": "application/json"}
        )
        return reply.content

    def handle(self, body: bytes) -> tuple[bytes | None, float]:
        """Return (reply or None to hang up, seconds to hold it) for one request body."""
        request = json.loads(body)
        single = request if isinstance(request, dict) else None
        method = single.get("method", "") if single else "batch"
        if single and method in self.plan.overrides:
            result = self.plan.overrides[method](single.get("params", []))
            return _reply(single, result), 0.0
        if self._draw(self.plan.error_rate):
            self.injected["error"] += 1
            return _error(single, "injected fault: internal error"), 0.0
        if single and method == "eth_sendRawTransaction":
            if self._draw(self.plan.drop_send_rate):
                self.injected["dropped_send"] += 1
                raw = bytes.fromhex(str(single["params"][0]).removeprefix("0x"))
                return _reply(single, "0x" + keccak(raw).hex()), 0.0
            if self._draw(self.plan.fail_but_mined_rate):
                self.injected["failed_but_mined"] += 1
                self._forward(body)
                return _error(single, "injected fault: send failed"), 0.0
        if self._draw(self.plan.timeout_rate):
            self.injected["timeout"] += 1
            return self._forward(body), self.plan.hold_s
        return self._forward(body), 0.0

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                reply, hold_s = proxy.handle(body)
                if hold_s:
                    time.sleep(hold_s)  # the client gives up first; the node already has it
                if reply is None:
                    return
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                # The client may have timed out and hung up.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: tests read `injected`, not logs

        return Handler


def _reply(request: dict[str, Any], result: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode()


def _error(request: dict[str, Any] | None, message: str) -> bytes:
    body = {"jsonrpc": "2.0", "id": request.get("id") if request else None,
            "error": {"code": -32603, "message": message}}  # fmt: skip
    return json.dumps(body).encode()
