"""`posterm-sim`: the simulated devices (ZVT payment terminal, ESC/POS printer, panel)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from posterm.hwsim import panel_pins
from posterm.hwsim.printer import cli as printer_cli
from posterm.hwsim.pt import cli as pt_cli

DEVICES = (pt_cli, printer_cli, panel_pins)  # each registers its own subcommands


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="posterm-sim",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    devices = parser.add_subparsers(dest="device", required=True)
    for device in DEVICES:
        device.register(devices)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
