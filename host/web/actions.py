"""What an operator does from the dashboard: approve or reject a refund (signed by the
host's key), reprint a receipt, close the day, resolve an operation in doubt. Each command
goes to the service's own thread (`HostService.send`), the one that publishes; the
terminal's reply is awaited in the store's replies. Every action lands in the audit log
with its outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from posterm.host import expiry, lookup
from posterm.host.config import HostConfig, WebUser
from posterm.host.store import Store
from posterm.host.web import audit
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, topics

POLL_S = 0.05


class Commander:
    def __init__(
        self, config: HostConfig, store: Store, send: Callable[[str, dict[str, Any]], None]
    ) -> None:
        self.config, self.store, self.send = config, store, send

    def refund(self, user: WebUser, tid: str, txn: str, decision: str) -> dict[str, Any]:
        """`decision`: approve or reject the refund `txn` of terminal `tid` (only if that
        terminal told of it)."""
        try:
            lookup.refund_terminal(self.store, txn, tid)
        except lookup.LookupFailed as exc:
            return self._done(
                user,
                decision,
                f"{tid} {txn}",
                {"ok": False, "code": exc.code, "error": exc.message},
            )
        return self._command(
            user,
            decision,
            f"{tid} {txn}",
            tid,
            name=f"refund.{decision}",
            args={"txn": txn, "by": user.name},
        )

    def reprint(self, user: WebUser, tid: str, txn: str) -> dict[str, Any]:
        return self._command(
            user, "reprint", f"{tid} {txn}", tid, name="receipt.reprint", args={"txn": txn}
        )

    def close_day(self, user: WebUser, tid: str) -> dict[str, Any]:
        return self._command(user, "eod", tid, tid, name="batch.close", args={})

    def resolve(self, user: WebUser, tid: str, txn: str, outcome: str) -> dict[str, Any]:
        """Settle `txn`, in doubt on `tid`, as the PT's journal says (`outcome`: charged or
        not-charged): the signed `txn.resolve`, as `posterm-host resolve`, by this user."""
        return self._command(
            user,
            "resolve",
            f"{tid} {txn} {outcome}",
            tid,
            name="txn.resolve",
            args={"txn": txn, "outcome": outcome, "by": user.name},
        )

    def _command(
        self, user: WebUser, action: str, target: str, tid: str, *, name: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            topics.check_terminal(tid)
        except topics.TopicError as exc:
            return self._done(
                user,
                action,
                target,
                {"ok": False, "code": ErrorCode.BAD_REQUEST, "error": str(exc)},
            )
        if not self.store.knows_terminal(tid):
            return self._done(
                user,
                action,
                target,
                {"ok": False, "code": ErrorCode.UNKNOWN_TERMINAL, "error": f"no terminal {tid}"},
            )
        key = None
        if name in commands.SIGNED:
            path = self.config.private_key
            if path is None or not path.exists():
                return self._done(
                    user,
                    action,
                    target,
                    {
                        "ok": False,
                        "code": ErrorCode.NO_KEY,
                        "error": "signed commands need [keys] private_key (posterm-host keygen)",
                    },
                )
            key = commands.load_private_key(path.read_bytes())
        # the command expires when the dashboard stops waiting: a terminal that comes back
        # later refuses it (`expired`) instead of running what the operator was told failed
        envelope = expiry.build(tid, name, args, key=key, wait_s=self.config.reply_timeout_s)
        self.store.sent_command(envelope["cmd_id"], tid, name)  # only `tid`'s reply counts
        self.send(tid, envelope)
        reply = self._wait(envelope["cmd_id"], tid)
        if reply is None:
            out = {
                "ok": False,
                "code": ErrorCode.NO_REPLY,
                "cmd_id": envelope["cmd_id"],
                "error": expiry.unanswered(tid, envelope, self.config.reply_timeout_s),
            }
        else:
            out = {"ok": bool(reply.get("ok")), "cmd_id": envelope["cmd_id"], "reply": reply}
            if not reply.get("ok"):
                out["code"], out["error"] = reply.get("code"), reply.get("error")
        return self._done(user, action, target, out)

    def _wait(self, cmd_id: str, tid: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.config.reply_timeout_s
        while True:
            reply = self.store.reply(cmd_id, tid)
            if reply is not None or time.monotonic() >= deadline:
                return reply
            time.sleep(POLL_S)

    def _done(self, user: WebUser, action: str, target: str, out: dict[str, Any]) -> dict[str, Any]:
        audit.write(
            self.store,
            user=user.name,
            role=user.role,
            action=action,
            target=target,
            ok=bool(out["ok"]),
            result=out,
        )
        return out
