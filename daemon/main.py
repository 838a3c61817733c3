"""`postermd --config FILE`: the terminal daemon (systemd `Type=notify`).

The process itself is `Daemon` (daemon/process.py): built from the config, run until a
SIGTERM or SIGINT asks it to stop. Exit codes: 0 stopped, 1 could not start, 2 bad config.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from posterm.daemon import logsetup
from posterm.daemon.config import ConfigError, load_config
from posterm.daemon.process import Daemon, DaemonError, payment_options

__all__ = ["build_parser", "main", "payment_options"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postermd", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="TOML configuration file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"postermd: {exc}", file=sys.stderr)
        return 2
    logsetup.configure(config.logging.level)  # replaces any handlers a library set up
    try:
        daemon = Daemon.build(config)
        # from here a SIGTERM lets the work in progress finish (start-up recovery included)
        signal.signal(signal.SIGTERM, lambda signum, frame: daemon.stop())
        signal.signal(signal.SIGINT, lambda signum, frame: daemon.stop())
        daemon.run()
    except DaemonError as exc:
        print(f"postermd: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
