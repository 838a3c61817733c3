"""The benchmarks' shared command-line option: `--only a,b` picks some of a bench's
setups; an unknown name stops the bench with the list of names it knows."""

from __future__ import annotations

from collections.abc import Sequence


def only(argv: Sequence[str], names: Sequence[str], doc: str | None = None) -> set[str]:
    """The names `--only a,b` gives (all of `names` without it); `--help` prints `doc`."""
    if "--help" in argv or "-h" in argv:
        print(doc or "")
        raise SystemExit(0)
    if "--only" not in argv:
        return set(names)
    at = list(argv).index("--only") + 1
    picked = set(argv[at].split(",")) if at < len(argv) else set()
    if not picked or not picked <= set(names):
        raise SystemExit(f"--only: a comma-separated list of {', '.join(names)}")
    return picked
