"""One real uvicorn process on 127.0.0.1 serving the stand-alone app; the benchmark smoke-runs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settlement.api.bench import _prepare, _wait_ready, measure_row
from settlement.chain.anvil import free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    env, token, _ = _prepare(tmp_path, addresses=4)
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "settlement.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=True)
    try:
        _wait_ready(port, token)
        yield port, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_balances_over_real_http(server: tuple[int, str]) -> None:
    port, token = server
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        ok = client.get(f"/v1/balances/0x{2:040x}", headers=auth)
        assert ok.status_code == 200
        body = ok.json()
        assert body["credit_wei"] == str(2 * 10**15)
        assert body["token_balance_wei"] is not None  # the simulated chain answers
        bad = client.get("/v1/balances/0xZZ", headers=auth)
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_address")
        anonymous = client.get(f"/v1/balances/0x{2:040x}")
        assert anonymous.status_code == 401
        schema = client.get("/openapi.json").json()
        assert "/v1/balances/{address}" in schema["paths"]
        assert "/v1/tokens/refresh" in schema["paths"]


@pytest.mark.slow
def test_bench_balances_row() -> None:
    args = argparse.Namespace(connections=4, duration_s=0.5, warmup_s=0.2, addresses=8)
    row = measure_row(1, args)
    assert row["errors"] == 0
    assert float(str(row["requests_per_s"])) > 0
    json.dumps(row)
