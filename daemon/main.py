"""`postermd [--config FILE] [--check]`: the terminal daemon (systemd `Type=notify`).

The process itself is `Daemon` (daemon/process.py): built from the config, run until a
SIGTERM or SIGINT asks it to stop. Exit codes: 0 stopped, 1 could not start, 2 bad config
(the packaged example, still unedited, included). `--check` validates the config and the
devices it names without starting (daemon/check.py): 0 and a one-line summary, or the
problems and 78 (sysexits EX_CONFIG).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from posterm.daemon import check, logsetup, placeholders
from posterm.daemon.config import ConfigError, load_config
from posterm.daemon.process import Daemon, DaemonError, payment_options

__all__ = ["DEFAULT_CONFIG", "build_parser", "main", "payment_options"]

DEFAULT_CONFIG = Path("/etc/posterm/posterm.toml")  # where the package installs it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postermd", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"TOML configuration file (default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the config and its devices, do not start (exit 0 ok, 78 not)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.check:
        code, lines = check.run_check(args.config)
        for line in lines:
            print(f"postermd: {line}", file=sys.stdout if code == check.EX_OK else sys.stderr)
        return code
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"postermd: {exc}", file=sys.stderr)
        return 2
    if (refused := placeholders.refusal(config)) is not None:
        print(f"postermd: {refused}", file=sys.stderr)
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
