"""`posterm-sim`: the simulated devices (ZVT payment terminal, ESC/POS printer)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from posterm.hwsim.printer import cli as printer_cli
from posterm.hwsim.pt import cli as pt_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posterm-sim",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="device", required=True)
    pt_cli.register(sub)
    printer_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
