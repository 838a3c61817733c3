"""`posterm`: the operator and installer command line.

Each command group lives in its own module and registers itself here:
`posterm zvt …` talks straight to a payment terminal (installers, support),
`posterm printer …` straight to a receipt printer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from posterm.daemon import cli_printer, cli_zvt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="posterm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="group", required=True)
    cli_zvt.register(sub)
    cli_printer.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
