"""Test-only crash points of posterm-host: `POSTERM_HOST_CRASH_AT=step[,step…]` makes
`posterm-host run` SIGKILL itself at those named steps (`before_commit`: a batch's
statements are all sent, its transaction not committed; `after_commit`: a batch is
committed, its acks are not sent yet; `notify.sent`: refund messages handed to the mail
server or SMS gateway, not yet recorded as sent; `notify.recorded`: recorded sent and the
contacts deleted, their old pages not yet out of the WAL), and a command-sending CLI such
as `posterm-host resolve` too (`command.recorded`: the command stored, not yet published;
`command.published`: the broker acknowledged it, its reply not yet read), so tests can
prove exactly-once (and the documented at-least-once) across real process deaths. Unset
(production), every call is a set lookup that finds nothing.

(The terminal's own is `posterm.daemon.crash`; the host imports only `posterm.protocol`.)
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("posterm.host.crash")

_STEPS = frozenset(s for s in os.environ.get("POSTERM_HOST_CRASH_AT", "").split(",") if s)


def crashpoint(step: str) -> None:
    """Die here, at once and without cleanup, if this step was named."""
    if step in _STEPS:
        log.critical("crash point %s: SIGKILL", step)
        os.kill(os.getpid(), signal.SIGKILL)
