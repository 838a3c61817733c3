"""postermd renews its own client certificate: a thread that looks at the certificate
`[mqtt] cert_file` names, and when less than `renew_before_days` (default a third of its
lifetime) are left asks `[mqtt] renew_url` for a new one (certfiles.renew). An unreachable
back office is asked again with back-off (daemon/backoff.py, capped at an hour); a refusal is
logged and asked again at the next check. After a renewal the relay reconnects with the
new files."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from posterm.daemon.backoff import Backoff
from posterm.daemon.config import MqttSection
from posterm.daemon.sync import certfiles

log = logging.getLogger("posterm.mqtt")

CHECK_SECONDS = 3600.0  # how often the certificate's remaining life is looked at
RETRY_CAP_SECONDS = 3600.0


class Renewer:
    def __init__(
        self,
        config: MqttSection,
        terminal: str,
        on_renewed: Callable[[str], None],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        assert config.renew_url is not None and config.cert_file and config.key_file
        self.url = config.renew_url
        self.pair = certfiles.Pair(config.key_file, config.cert_file, config.ca_file)
        self.before_days = config.renew_before_days
        self.terminal = terminal
        self.on_renewed = on_renewed
        self.clock = clock
        self.backoff = Backoff("renew", initial=5.0, cap=RETRY_CAP_SECONDS, jitter=5.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cert-renewal", daemon=True)

    def start(self) -> None:
        done = certfiles.repair(self.pair)  # before the relay's first connection
        if done:
            log.warning("renew: %s (%s)", done, self.pair.cert)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(certfiles.TIMEOUT_S + 2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.check())

    def check(self) -> float:
        """Renew if due; the seconds until the next check."""
        try:
            left = certfiles.due_in(
                certfiles.load_cert(self.pair.cert), self.before_days, self.clock()
            )
        except certfiles.RenewError as exc:
            log.error("renew: %s", exc)
            return CHECK_SECONDS
        if left > 0:
            return min(left, CHECK_SECONDS)
        if not self.backoff.due():
            return self.backoff.retry_in() or 1.0
        try:
            cert = certfiles.renew(self.url, self.pair, self.terminal)
        except certfiles.RenewError as exc:
            if exc.unreachable:
                return self.backoff.failed(exc.message)
            log.error("renew: %s: refused, asked again in %.0f s", exc.message, CHECK_SECONDS)
            return CHECK_SECONDS
        self.backoff.succeeded()
        serial = format(cert.serial_number, "x")
        log.info(
            "renew: new certificate %s valid until %s; reconnecting with it",
            serial,
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M}Z",
        )
        if certfiles.due_in(cert, self.before_days, self.clock()) <= 0:
            log.warning(
                "renew: the new certificate is due at once: renew_before_days is longer"
                " than the certificates the back office gives"
            )
        self.on_renewed(f"new client certificate {serial}")
        return CHECK_SECONDS
