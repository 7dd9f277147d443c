"""CLI commands `hyperbrick chain up` and `hyperbrick contracts deploy|compile` (entry points).

Kept light at import time: web3 and the deploy logic load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

from settlement.chain.toolchain import REPO_ROOT

DEFAULT_STATE_DIR = REPO_ROOT / ".chain"


def register_chain(commands: Any) -> None:
    """Add `chain up`: a local anvil on 127.0.0.1 with a state directory."""
    chain = commands.add_parser("chain", help="run a local dev chain (anvil)")
    sub = chain.add_subparsers(dest="chain_command", required=True, metavar="ACTION")
    up = sub.add_parser("up", help="start anvil on 127.0.0.1 and keep it running until Ctrl-C")
    up.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    up.add_argument("--chain-id", type=int, default=31337)
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    up.add_argument("--block-time", type=float, default=None, help="seconds (default: automine)")
    up.set_defaults(handler=_chain_up)


def register_contracts(commands: Any) -> None:
    """Add `contracts deploy` and `contracts compile`."""
    contracts = commands.add_parser("contracts", help="compile and deploy the Solidity contracts")
    sub = contracts.add_subparsers(dest="contracts_command", required=True, metavar="ACTION")
    deploy = sub.add_parser("deploy", help="deploy token + settlement and record them")
    target = deploy.add_mutually_exclusive_group(required=True)
    target.add_argument("--network", help="a network named in contracts/networks.toml")
    target.add_argument("--rpc-url", help="a JSON-RPC URL (with --key-env)")
    deploy.add_argument("--key-env", help="variable holding the deployer's private key")
    deploy.add_argument("--chain-id", type=int, help="with --rpc-url: the chain id to expect")
    deploy.add_argument("--confirmations", type=int, default=None)
    deploy.add_argument("--settler", help="address given SETTLER_ROLE (default: deployer)")
    deploy.add_argument(
        "--admin", help="address given the admin and minter roles (default: deployer)"
    )
    deploy.add_argument("--dry-run", action="store_true", help="check and estimate; send nothing")
    deploy.add_argument("--force", action="store_true", help="redeploy over an existing record")
    deploy.add_argument("--deployments-dir", type=Path, default=None)
    deploy.add_argument("--networks-file", type=Path, default=None)
    deploy.add_argument("--json", action="store_true", help="print the outcome as JSON")
    deploy.set_defaults(handler=_contracts_deploy)
    compile_ = sub.add_parser("compile", help="recompile through the solc shim into artifacts/")
    compile_.add_argument("--check", action="store_true", help="fail if artifacts are stale")
    compile_.set_defaults(handler=_contracts_compile)


def _chain_up(args: argparse.Namespace) -> int:
    from settlement.chain.anvil import Anvil

    stop = threading.Event()
    # Ctrl-C and SIGTERM both stop it cleanly, also when SIGINT was ignored at start-up (a job a
    # non-interactive shell started in the background inherits SIGINT ignored).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    node = Anvil(chain_id=args.chain_id, port=args.port, state_dir=args.state_dir)
    node.block_time_s = args.block_time
    url_file = args.state_dir / "rpc_url"
    with node:
        url_file.write_text(node.rpc_url + "\n", encoding="utf-8")
        print(f"anvil on {node.rpc_url} (chain {args.chain_id}, state in {args.state_dir})")
        print("deploy with: hyperbrick contracts deploy --network local", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        finally:
            url_file.unlink(missing_ok=True)
    print("anvil stopped; state saved", flush=True)
    return 0


def _contracts_deploy(args: argparse.Namespace) -> int:
    from settlement.chain import deploy_command as dc
    from settlement.chain.networks import NETWORKS_FILE

    options: dict[str, Any] = {
        "dry_run": args.dry_run,
        "force": args.force,
        "settler": args.settler,
        "admin": args.admin,
        "deployments_dir": args.deployments_dir or dc.DEPLOYMENTS_DIR,
    }
    if args.network:
        request = dc.request_for_network(
            args.network, args.networks_file or NETWORKS_FILE, key_env=args.key_env, **options
        )
    else:
        request = dc.DeployRequest(
            rpc_url=args.rpc_url,
            key_env=args.key_env or dc.DEFAULT_KEY_ENV,
            expected_chain_id=args.chain_id,
            **options,
        )
    if args.confirmations is not None:
        from dataclasses import replace

        request = replace(request, confirmations=args.confirmations)
    outcome = dc.run_deploy(request)
    _print_outcome(outcome, as_json=args.json)
    return 0


def _print_outcome(outcome: Any, *, as_json: bool) -> None:
    document: dict[str, Any] = {"status": str(outcome.status), "chain_id": outcome.chain_id}
    if outcome.deployment is not None:
        document["record"] = str(outcome.record_file)
        document["token"] = outcome.deployment.token_address
        document["settlement"] = outcome.deployment.settlement_address
    if outcome.plan is not None:
        document["gas"] = outcome.plan.gas
        document["max_cost_wei"] = str(outcome.plan.max_cost_wei)
        document["balance_wei"] = str(outcome.plan.balance_wei)
    if as_json:
        print(json.dumps(document, sort_keys=True))
        return
    for key, value in document.items():
        print(f"{key}: {value}")


def _contracts_compile(args: argparse.Namespace) -> int:
    from settlement.chain import compiler
    from settlement.chain.artifacts import artifacts_dir
    from settlement.chain.errors import ArtifactError

    if not args.check:
        for path in compiler.write_artifacts(artifacts_dir()):
            print(path)
        return 0
    fresh = compiler.build_artifacts()
    for name, document in fresh.items():
        committed = json.loads((artifacts_dir() / f"{name}.json").read_text(encoding="utf-8"))
        if committed != document:
            raise ArtifactError(f"{name}.json is stale; run `hyperbrick contracts compile`")
    print("artifacts are up to date")
    return 0
