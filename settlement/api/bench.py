"""`hyperbrick bench balances`: `GET /v1/balances/{address}` under uvicorn with a bounded load.

Sets up a SQLite ledger with funded addresses and a `balances:read` token, starts uvicorn on
127.0.0.1 (1 or 2 workers) with the stand-alone app, and drives it from a separate process
(`settlement.api.loadgen`: closed loop, fixed keep-alive connections). The chain port is the
simulated one (2 ms per read) or, with `--chain anvil`, web3 reads from a local anvil holding the
token and settlement contracts, behind the 5 s cache; ledger reads are real SQLite queries behind
the 1 s cache. Rows carry `workers`, `connections`, `requests_per_s`,
`p50_ms`, `p99_ms`, `errors`, and `requests_per_server_cpu_s` (what the server costs, a figure
that other load on the machine disturbs much less than req/s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RPS = 5_000
TARGET_P99_MS = 20.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench balances` (light: heavy imports happen in the handler)."""
    parser = subparsers.add_parser("balances", help="balance endpoint req/s and p50/p99 latency")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn workers")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--duration-s", type=float, default=5.0, help="measured seconds per row")
    parser.add_argument("--warmup-s", type=float, default=1.0)
    parser.add_argument("--addresses", type=int, default=256, help="distinct addresses queried")
    parser.add_argument(
        "--chain",
        choices=["simulated", "anvil"],
        default="simulated",
        help="simulated: 2 ms fake chain; anvil: a local anvil with the contracts, read via web3",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _prepare(workdir: Path, addresses: int) -> tuple[dict[str, str], str, Path]:
    """Create the ledger, fund addresses, issue a token; return (server env, token, paths file)."""
    from settlement.ledger.repository import open_ledger
    from settlement.tokens.settings import TokenSettings
    from settlement.tokens.store import create_tables
    from settlement.tokens.wiring import build_token_service

    url = f"sqlite:///{workdir / 'ledger.db'}"
    env = {
        "HYPERBRICK_LEDGER_DATABASE_URL": url,
        "HYPERBRICK_LEDGER_MIGRATE_ON_OPEN": "false",
        "HYPERBRICK_TOKENS_KEYS": json.dumps({"bench": os.urandom(32).hex()}),
        "HYPERBRICK_TOKENS_ACTIVE_KID": "bench",
        "HYPERBRICK_BALANCES_CHAIN": "simulated",
    }
    ledger = open_ledger(url)
    create_tables(ledger.engine)
    lines = []
    for i in range(addresses):
        address = f"0x{i + 1:040x}"
        ledger.credit(address, (i + 1) * 10**15, idempotency_key=f"bench:{i}", reason="deposit")
        lines.append(f"/v1/balances/{address}")
    settings = TokenSettings(keys=json.loads(env["HYPERBRICK_TOKENS_KEYS"]), active_kid="bench")
    token = build_token_service(settings, ledger).issue(lines[0][-42:], ["balances:read"]).token
    ledger.close()
    paths = workdir / "paths.txt"
    paths.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env, token, paths


def _wait_ready(port: int, token: str, timeout_s: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    url = f"http://127.0.0.1:{port}/v1/balances/0x{1:040x}"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn on port {port} did not answer within {timeout_s} s")


def _load(port: int, paths: Path, token: str, connections: int, duration_s: float) -> Any:
    argv = [
        sys.executable, "-m", "settlement.api.loadgen", "--port", str(port),
        "--paths-file", str(paths), "--token", token,
        "--connections", str(connections), "--duration-s", str(duration_s),
    ]  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True)  # noqa: S603
    return json.loads(out.stdout)


def _anvil_env(stack: contextlib.ExitStack) -> dict[str, str]:
    """Start anvil, deploy token and settlement contracts; return the chain settings for uvicorn."""
    from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
    from settlement.chain.client import JsonRpcChainClient
    from settlement.payouts.devnet import deploy_dev_contracts

    node = stack.enter_context(Anvil())
    client = JsonRpcChainClient(node.rpc_url)
    stack.callback(client.close)
    start = client.block_number()
    contracts = deploy_dev_contracts(
        client, DEV_PRIVATE_KEYS[0], DEV_PRIVATE_KEYS[1], mint_wei=10**24
    )
    return {
        "HYPERBRICK_BALANCES_CHAIN": "web3",
        "HYPERBRICK_BALANCES_RPC_URL": node.rpc_url,
        "HYPERBRICK_BALANCES_TOKEN_ADDRESS": contracts.token,
        "HYPERBRICK_BALANCES_ESCROW_ADDRESS": contracts.settlement,
        "HYPERBRICK_BALANCES_ESCROW_FROM_BLOCK": str(start),
    }


def measure_row(workers: int, args: argparse.Namespace) -> dict[str, object]:
    """Start uvicorn with `workers`, warm up, measure, stop; return one row."""
    from settlement.chain.anvil import free_port

    chain = getattr(args, "chain", "simulated")
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp, contextlib.ExitStack() as stack:
        env, token, paths = _prepare(Path(tmp), args.addresses)
        if chain == "anvil":
            env.update(_anvil_env(stack))
        port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "settlement.api.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        server = subprocess.Popen(  # noqa: S603
            argv, env={**os.environ, **env}, start_new_session=True
        )
        try:
            _wait_ready(port, token)
            _load(port, paths, token, args.connections, args.warmup_s)
            cpu_before_s = _tree_cpu_s(server.pid)
            summary = _load(port, paths, token, args.connections, args.duration_s)
            server_cpu_s = _tree_cpu_s(server.pid) - cpu_before_s
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # uvicorn and the workers it forked
            server.wait(timeout=30)
    return {
        "workers": workers,
        "connections": args.connections,
        "requests_per_s": summary["requests_per_s"],
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "errors": summary["errors"],
        "requests": summary["requests"],
        "server_cpu_s": round(server_cpu_s, 3),
        # Requests per CPU-second of the server processes: steadier than req/s on a shared machine.
        "requests_per_server_cpu_s": round(summary["ok"] / max(server_cpu_s, 1e-9)),
        "http": _http_impl(),
        "chain": chain,
    }


def _tree_cpu_s(pid: int) -> float:
    """Return the user + system CPU seconds of a process and its children so far."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _http_impl() -> str:
    import importlib.util

    fast = all(importlib.util.find_spec(name) for name in ("httptools", "uvloop"))
    return "httptools+uvloop" if fast else "h11+asyncio"


def run(args: argparse.Namespace) -> int:
    """Measure each worker count and print the rows."""
    rows = [measure_row(workers, args) for workers in args.workers]
    if args.json:
        targets = {"requests_per_s": TARGET_RPS, "p99_ms": TARGET_P99_MS}
        print(json.dumps({"benchmark": "balances", "targets": targets, "results": rows}))
        return 0
    header = f"{'workers':>7}{'conns':>7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header + f"{'req/server-CPU-s':>18}")
    for row in rows:
        print(
            f"{row['workers']:>7}{row['connections']:>7}{row['requests_per_s']:>10,.0f}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['errors']:>8}"
            f"{row['requests_per_server_cpu_s']:>18,}"
        )
    return 0
