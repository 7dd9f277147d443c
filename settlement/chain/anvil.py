"""Start and stop a local anvil on 127.0.0.1 and a free port: the project's own dev chain."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from settlement.chain.toolchain import tool_path
from settlement.errors import FatalSettlementError, RetryableSettlementError

# anvil's default mnemonic ("test test ... junk"): well-known dev keys, never for real networks.
DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
)
# The per-transaction gas cap testnets enforce (EIP-7825); anvil enforces it with the flag below.
TX_GAS_CAP = 16_777_216


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Anvil:
    """A running anvil process; use as a context manager or call `start()` / `stop()`."""

    chain_id: int = 31337
    port: int = 0
    state_dir: Path | None = None
    block_time_s: float | None = None
    extra_args: tuple[str, ...] = ()
    startup_timeout_s: float = 20.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def rpc_url(self) -> str:
        """Return the HTTP JSON-RPC address."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """Return the argv that starts this anvil."""
        argv = [
            str(tool_path("anvil")),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--enable-tx-gas-limit",
            "--silent",
        ]  # fmt: skip
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            argv += ["--state", str(self.state_dir / "state.json")]
        if self.block_time_s is not None:
            argv += ["--block-time", str(self.block_time_s)]
        return argv + list(self.extra_args)

    def start(self) -> Anvil:
        """Spawn anvil and wait until it answers JSON-RPC."""
        if self.port == 0:
            self.port = free_port()
        self._process = subprocess.Popen(  # noqa: S603 - argv is built from a pinned local binary
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise FatalSettlementError(f"anvil exited at start: {stderr.strip()}")
            with contextlib.suppress(httpx.TransportError):
                if self.rpc("eth_chainId") == hex(self.chain_id):
                    return self
            time.sleep(0.05)
        self.stop()
        raise RetryableSettlementError(f"anvil did not answer on {self.rpc_url} in time")

    def rpc(self, method: str, *params: object) -> object:
        """Make one raw JSON-RPC call (for test-only methods such as evm_snapshot)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        reply = httpx.post(self.rpc_url, json=body, timeout=10.0).json()
        if "error" in reply:
            raise FatalSettlementError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def stop(self) -> None:
        """Terminate anvil (it writes its state file on a clean shutdown)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
