"""postermd renews its own client certificate: a thread that looks at the certificate
`[mqtt] cert_file` names, and when less than `renew_before_days` (default a third of its
lifetime) are left asks `[mqtt] renew_url` for a new one (certfiles.renew). An unreachable
back office is asked again with back-off (daemon/backoff.py, capped at an hour); a refusal is
logged and asked again at the next check. After a renewal the relay reconnects with the
new files; if the broker refuses the renewed certificate FALL_BACK_AFTER times in a row
before it ever took it, the pair before the renewal (*.old, while still valid) is put back
(certfiles.fall_back) and the relay reconnects with it: a terminal is not left offline by
a certificate its broker does not take. The probation outlives a restart (the renewed
serial in `*.probation` until the broker takes it). Every file is written on this thread."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from posterm.daemon.backoff import Backoff
from posterm.daemon.config import MqttSection
from posterm.daemon.sync import certfiles

log = logging.getLogger("posterm.mqtt")

CHECK_SECONDS = 3600.0  # how often the certificate's remaining life is looked at
RETRY_CAP_SECONDS = 3600.0
FALL_BACK_AFTER = 3  # refused connections in a row with a renewed certificate: the old one


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
        self._wake = threading.Event()  # stop, or a fall back asked by the relay
        self._lock = threading.Lock()
        self._on_probation = False  # renewed, not yet taken by the broker (certfiles)
        self._taken = False  # the broker took a renewal: this thread ends its probation file
        self._files = 0  # the generation of the files in place: +1 at each renewal, fall back
        self._refusals = 0
        self._fall_back_asked: str | None = None  # why, until this thread has done it
        self._hold_until = 0.0  # after a fall back: no renewal before (monotonic)
        self._thread = threading.Thread(target=self._run, name="cert-renewal", daemon=True)

    def start(self) -> None:
        done = certfiles.repair(self.pair)  # before the relay's first connection
        if done:
            log.warning("renew: %s (%s)", done, self.pair.cert)
        if certfiles.on_probation(self.pair):  # renewed before a restart, not yet taken
            log.info("renew: the renewed certificate in place is on probation")
            with self._lock:
                self._on_probation = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(certfiles.TIMEOUT_S + 2.0)

    def _run(self) -> None:
        check_at = 0.0  # monotonic: a wake-up (a fall back asked, a probation ended) does
        while not self._stop.is_set():  # not check sooner (a renewal due at once: hourly)
            if time.monotonic() >= check_at:
                check_at = time.monotonic() + self.check()
            self._wake.wait(max(0.0, check_at - time.monotonic()))
            self._wake.clear()
            self.fall_back_if_asked()
            self.end_probation_if_taken()

    # -- from the relay thread ---------------------------------------------------------
    @property
    def files(self) -> int:
        """The generation of the key and certificate files in place, read by the relay
        before it opens a connection with them (and given back with what the broker said):
        a connection opened before a renewal neither ends nor counts towards the renewed
        certificate's probation."""
        with self._lock:
            return self._files

    def link_up(self, files: int) -> None:
        """The broker took the certificate of generation `files`."""
        with self._lock:
            if files != self._files:  # opened with the files before a renewal or fall back
                return
            if self._on_probation:
                log.info("renew: the broker takes the new certificate")
                self._taken = True
                self._wake.set()
            self._on_probation, self._refusals = False, 0

    def link_refused(self, why: str, files: int) -> None:
        """The broker refused a connection opened with the files of generation `files`
        (its TLS handshake or CONNACK): after FALL_BACK_AFTER in a row with a renewal's,
        this thread puts the old pair back."""
        with self._lock:
            if not self._on_probation or files != self._files:
                return
            self._refusals += 1
            if self._refusals < FALL_BACK_AFTER:
                return
            self._on_probation, self._refusals = False, 0
            self._fall_back_asked = why
        self._wake.set()

    # -- the renewal thread ------------------------------------------------------------
    def end_probation_if_taken(self) -> None:
        """Remove the probation file once the broker took the renewed certificate."""
        with self._lock:
            taken, self._taken = self._taken, False
        if taken:
            certfiles.end_probation(self.pair)

    def fall_back_if_asked(self) -> bool:
        """Put the pair before the renewal back if the relay asked; True if it was."""
        with self._lock:
            why, self._fall_back_asked = self._fall_back_asked, None
        if why is None:
            return False
        self._hold_until = time.monotonic() + CHECK_SECONDS  # not renewed again at once
        try:
            cert = certfiles.fall_back(self.pair, self.clock())
        except certfiles.RenewError as exc:
            log.error(
                "renew: the broker refuses the renewed certificate (%s); no certificate to"
                " go back to: %s",
                why,
                exc.message,
            )
            return False
        with self._lock:
            self._files += 1
        log.error(
            "renew: the broker refused the renewed certificate %d times (%s): back on the"
            " one before it, %s, valid until %s (the refused one kept as *.refused);"
            " renewing again in %.0f s",
            FALL_BACK_AFTER,
            why,
            format(cert.serial_number, "x"),
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M}Z",
            CHECK_SECONDS,
        )
        self.on_renewed(f"back on certificate {format(cert.serial_number, 'x')}")
        return True

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
        if time.monotonic() < self._hold_until:  # fell back: the broker refused the last
            return self._hold_until - time.monotonic()
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
        with self._lock:
            self._on_probation, self._refusals = True, 0
            self._files += 1
        self.on_renewed(f"new client certificate {serial}")
        return CHECK_SECONDS
