"""`posterm`: the operator and installer command line.

Each command group lives in its own module and registers itself here: the operator
commands (`sale`, `refund`, …) talk to `postermd` over its control socket;
`posterm zvt …` talks straight to a payment terminal (installers, support),
`posterm printer …` straight to a receipt printer; `posterm debug` writes a support
bundle.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from posterm.daemon.control import cli_debug, cli_enroll, cli_printer, cli_terminal, cli_zvt
from posterm.protocol.clitext import Parser, quiet_on_broken_pipe


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="posterm", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--socket",
        default=os.environ.get("POSTERM_SOCKET", cli_terminal.DEFAULT_SOCKET),
        help="postermd's control socket (default $POSTERM_SOCKET or %(default)s)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    sub = parser.add_subparsers(dest="group", required=True)
    cli_terminal.register(sub)
    cli_zvt.register(sub)
    cli_printer.register(sub)
    cli_debug.register(sub)
    cli_enroll.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code of the command; 141 when stdout's reader went away (`| head`)."""

    def run() -> int:
        args = build_parser().parse_args(argv)
        return int(args.run(args))

    return quiet_on_broken_pipe(run)


if __name__ == "__main__":
    sys.exit(main())
