"""The `hyperbrick` command: a root parser whose sub-commands and benchmarks plug in by entry point.

The root lives in governance (the service is the network's primary process), but it imports neither
`sim` nor `settlement`: each package registers its own commands under the entry-point groups
`hyperbrick.commands` and `hyperbrick.benchmarks`, and names its user-facing error root under
`hyperbrick.errors`. A user mistake ends with one clear line on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

Handler = Callable[[argparse.Namespace], int | None]
USER_ERROR_EXIT = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the root parser with every registered command and benchmark."""
    parser = argparse.ArgumentParser(
        prog="hyperbrick",
        description="Hyperbrick: a self-governing microservice network.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bench = commands.add_parser("bench", help="run a benchmark and print its figures")
    targets = bench.add_subparsers(dest="target", required=True, metavar="TARGET")
    for entry in sorted(entry_points(group="hyperbrick.benchmarks"), key=lambda e: e.name):
        entry.load()(targets)
    for entry in sorted(entry_points(group="hyperbrick.commands"), key=lambda e: e.name):
        entry.load()(commands)
    return parser


def user_error_types() -> tuple[type[BaseException], ...]:
    """Return the error roots that packages declare as user-facing (printed, not traced)."""
    return tuple(entry.load() for entry in entry_points(group="hyperbrick.errors"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args) or 0
    except user_error_types() as error:
        print(f"hyperbrick: error: {error}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("hyperbrick: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
