"""Which adapter speaks to the payment terminal: the `[payment] protocol` key names one.

An adapter is a module with `check_url(url) -> None` and `open_port(PortOptions) ->
PaymentPort`, both raising `PaymentConfigError` for what they cannot use. Adding a
protocol is a new folder under drivers/ and one line here. The modules are imported only
when asked for, so the daemon's flows and config depend on the port, not on a protocol.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from posterm.drivers.payment.errors import PaymentConfigError
from posterm.drivers.payment.port import PaymentPort, PortOptions

DEFAULT_PROTOCOL = "zvt"
ADAPTERS: dict[str, str] = {
    "zvt": "posterm.drivers.zvt.port",
    "fake": "posterm.drivers.payment.fake",  # in-process, keeps its own ledger: tests, demos
}


class Adapter(Protocol):
    def check_url(self, url: str) -> None: ...
    def open_port(self, options: PortOptions) -> PaymentPort: ...


def protocols() -> tuple[str, ...]:
    return tuple(sorted(ADAPTERS))


def adapter(protocol: str) -> Adapter:
    if protocol not in ADAPTERS:
        raise PaymentConfigError(
            f"unknown payment protocol {protocol!r} (known: {', '.join(protocols())})"
        )
    return cast(Adapter, importlib.import_module(ADAPTERS[protocol]))


def check_url(protocol: str, url: str) -> None:
    """`PaymentConfigError` unless `protocol` is known and its adapter can use `url`."""
    adapter(protocol).check_url(url)


def open_port(protocol: str, options: PortOptions) -> PaymentPort:
    """The port of `protocol` at `options.url` (no I/O yet: `connect()` opens the link)."""
    return adapter(protocol).open_port(options)
