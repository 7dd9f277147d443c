"""`hyperbrick serve` runs a real uvicorn on 127.0.0.1 that registers a signed node end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from governance.service.identity import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignedRequest,
    sign_request,
)
from settlement.chain.anvil import free_port


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(f"{url}/v1/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the service did not come up")


def test_serve_registers_a_signed_node(tmp_path: Path, keys) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HYPERBRICK_GOV_ADMIN_TOKEN": "operator-token-for-tests-0001",
        "HYPERBRICK_GOV_DATABASE_URL": f"sqlite:///{tmp_path / 'gov.db'}",
    }
    command = [sys.executable, "-m", "governance.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-settlement"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        key = keys.new()
        body = json.dumps(
            {"region": 1, "failure_domain": 2, "capacity": {"cpu_millicores": 1, "memory_mib": 1}}
        ).encode()
        stamp = int(time.time() * 1000)
        signed = SignedRequest("POST", "/v1/nodes", stamp, body)
        headers = {
            ADDRESS_HEADER: key.address,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign_request(key.private_key, signed),
            "content-type": "application/json",
        }
        reply = httpx.post(f"{url}/v1/nodes", content=body, headers=headers, timeout=5)
        assert reply.status_code == 201, reply.text
        assert reply.json()["failure_domain"] == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_serve_refuses_the_default_admin_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERBRICK_GOV_")}
    done = subprocess.run(
        [sys.executable, "-m", "governance.cli", "serve", "--no-settlement"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "HYPERBRICK_GOV_ADMIN_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
