"""A closed-loop HTTP/1.1 load generator (keep-alive, fixed connections) run as its own process.

`python -m settlement.api.loadgen --port P ...` opens `--connections` keep-alive connections
to 127.0.0.1 and sends GETs back to back for `--duration-s`, each connection waiting for its
response before the next request (so the load is bounded by the connection count). It prints one
JSON object: requests, errors (non-2xx or broken connections), requests per second and latency
percentiles. Only Content-Length responses are understood (what uvicorn sends for these routes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    deadline: float,
    latencies_ns: list[int],
    counts: dict[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while time.perf_counter() < deadline:
            request = requests[i % len(requests)]
            i += 1
            start = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies_ns.append(time.perf_counter_ns() - start)
            status = int(head[9:12])
            counts["ok" if 200 <= status < 300 else "errors"] += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        counts["errors"] += 1
    finally:
        writer.close()


def _percentile_ms(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return 0.0
    index = min(len(sorted_ns) - 1, int(q * len(sorted_ns)))
    return round(sorted_ns[index] / 1e6, 3)


async def run_load(
    host: str, port: int, paths: list[str], token: str, connections: int, duration_s: float
) -> dict[str, object]:
    """Drive the server and return the summary."""
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: keep-alive\r\n\r\n"
        ).encode()
        for path in paths
    ]
    latencies_ns: list[int] = []
    counts = {"ok": 0, "errors": 0}
    start = time.perf_counter()
    deadline = start + duration_s
    await asyncio.gather(
        *(
            _worker(host, port, requests, k * 7919, deadline, latencies_ns, counts)
            for k in range(connections)
        )
    )
    elapsed = time.perf_counter() - start
    latencies_ns.sort()
    total = counts["ok"] + counts["errors"]
    return {
        "requests": total,
        "ok": counts["ok"],
        "errors": counts["errors"],
        "duration_s": round(elapsed, 3),
        "requests_per_s": round(counts["ok"] / elapsed, 1),
        "p50_ms": _percentile_ms(latencies_ns, 0.50),
        "p90_ms": _percentile_ms(latencies_ns, 0.90),
        "p99_ms": _percentile_ms(latencies_ns, 0.99),
        "max_ms": _percentile_ms(latencies_ns, 1.0),
        "connections": connections,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the load, print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m settlement.api.loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths-file", required=True, help="one request path per line")
    parser.add_argument("--token", required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    with open(args.paths_file, encoding="utf-8") as handle:
        paths = [line.strip() for line in handle if line.strip()]
    load = run_load("127.0.0.1", args.port, paths, args.token, args.connections, args.duration_s)
    try:
        import uvloop  # the client should cost as little CPU as it can on a shared machine

        summary = uvloop.run(load)
    except ImportError:
        summary = asyncio.run(load)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
