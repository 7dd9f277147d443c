"""`hyperbrick sim run | sweep`, registered under the `hyperbrick.commands` entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.errors import SimError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `sim` command with its `run` and `sweep` sub-commands."""
    sim = subparsers.add_parser("sim", help="simulate the network: scenarios, reports, sweeps")
    actions = sim.add_subparsers(dest="sim_action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run one scenario; write KPIs, summary and HTML report")
    _common(run)
    run.add_argument("--out", type=Path, default=None, help="output folder (default runs/NAME-...)")
    run.add_argument("--no-baseline", action="store_true", help="skip the baseline comparison run")
    run.add_argument("--check", action="store_true", help="exit 1 if a KPI bound is violated")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)
    sweep = actions.add_parser("sweep", help="run a parameter grid x seeds (processes or Dask)")
    _common(sweep)
    sweep.add_argument(
        "--grid",
        required=True,
        help="'field=v1,v2;other.field=v3' over scenario fields (dotted), or a YAML/JSON file",
    )
    sweep.add_argument("--seeds", type=int, default=3, help="seeds per grid point (default 3)")
    sweep.add_argument("--scheduler", default=None, help="Dask scheduler tcp://HOST:PORT")
    sweep.add_argument("--workers", type=int, default=2, help="local worker processes")
    sweep.add_argument("--out", type=Path, default=None, help="output folder")
    sweep.set_defaults(handler=_sweep)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario name (see scenarios/) or path to a YAML file")
    parser.add_argument("--engine", choices=("vector", "mesa"), default="vector")
    parser.add_argument("--nodes", type=_positive, default=None, help="override sizes.nodes")
    parser.add_argument("--steps", type=_positive, default=None, help="override sizes.steps")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--fast", action="store_true", help="use the scenario's fast (test) sizes")
    parser.add_argument("--policy", choices=("hyperbrick", "baseline"), default=None)


def _positive(text: str) -> int:
    value = int(float(text))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _run(args: argparse.Namespace) -> int:
    from sim.app import run_and_report

    result = run_and_report(
        args.scenario,
        engine=args.engine,
        nodes=args.nodes,
        steps=args.steps,
        seed=args.seed,
        fast=args.fast,
        policy=args.policy,
        out=args.out,
        baseline=not args.no_baseline,
        progress=not args.quiet,
    )
    if args.check and result.summary["bound_problems"]:
        return 1
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from sim.sweep import parse_grid, run_sweep

    if args.seeds < 1:
        raise SimError("--seeds: must be >= 1")
    out = run_sweep(
        args.scenario,
        grid=parse_grid(args.grid),
        seeds=args.seeds,
        engine=args.engine,
        nodes=args.nodes,
        steps=args.steps,
        fast=args.fast,
        scheduler=args.scheduler,
        workers=args.workers,
        out=args.out,
    )
    print(f"sweep results: {out}")
    return 0
