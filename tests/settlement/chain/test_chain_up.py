"""`hyperbrick chain up` serves a local anvil that `contracts deploy --network local` reaches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

pytestmark = pytest.mark.chain


def _wait_for(path: Path, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.1)
    raise AssertionError(f"{path} did not appear")


def test_chain_up_then_deploy_local_then_stop(tmp_path: Path) -> None:
    state = tmp_path / "chain"
    cli = [sys.executable, "-m", "governance.cli"]
    node = subprocess.Popen(
        [*cli, "chain", "up", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a failed stop can take anvil down too
    )
    try:
        url = _wait_for(state / "rpc_url")
        assert url.startswith("http://127.0.0.1:")
        assert Web3(Web3.HTTPProvider(url)).eth.chain_id == 31337
        env = {**os.environ, "HYPERBRICK_LOCAL_RPC_URL": url}
        env.pop("HYPERBRICK_DEPLOYER_KEY", None)  # local falls back to anvil's dev key
        out_dir = str(tmp_path / "deployments")
        deploy = subprocess.run(
            [
                *cli,
                "contracts",
                "deploy",
                "--network",
                "local",
                "--json",
                "--deployments-dir",
                out_dir,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert deploy.returncode == 0, deploy.stderr
        assert json.loads(deploy.stdout)["status"] == "deployed"
        record = json.loads((tmp_path / "deployments" / "31337.json").read_text())
        assert record["network"] == "local"
    finally:
        node.send_signal(signal.SIGINT)
        try:
            out, err = node.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)  # no stray anvil left for the next tests
            node.communicate()
            raise
    assert node.returncode == 0, err
    assert "anvil stopped" in out
    assert (state / "state.json").is_file(), "anvil saves its state on a clean stop"
    assert not (state / "rpc_url").exists()
