"""Commands from the host: checked (protocol.mqtt.commands), journaled before they run (a
cmd_id runs once, its first reply answers every copy, across restarts), refused while a
customer operation is in progress, and run on the terminal's owner thread."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from posterm.daemon.errors import TerminalError
from posterm.daemon.journal.store import Journal
from posterm.daemon.owner import OwnerStopped
from posterm.daemon.states import Mode
from posterm.daemon.sync import certfiles
from posterm.daemon.terminal import Terminal
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands as schema
from posterm.protocol.mqtt import keyring
from posterm.protocol.mqtt.commands import Command, CommandError
from posterm.protocol.mqtt.events import rfc3339
from posterm.protocol.mqtt.keyring import HostKey

log = logging.getLogger("posterm.mqtt")

ON_TERMINAL = frozenset(
    {"refund.approve", "refund.reject", "receipt.reprint", "batch.close", "txn.resolve"}
)
ON_LINK = frozenset({"ping", "rebirth", "resend"})  # the relay answers these itself


@dataclass
class PendingCommand:
    """A command handed to the owner thread; its reply once `future` is done."""

    cmd_id: str
    future: Future[dict[str, Any]]


@dataclass(frozen=True)
class Received:
    """What to do with one command message: reply now, wait for `pending`, or let the
    relay act (`link`: ping, rebirth, resend)."""

    reply: dict[str, Any] | None = None
    pending: PendingCommand | None = None
    link: Command | None = None


class CommandHandler:
    """Checks each command message, runs it on the owner thread or answers it, and
    remembers its reply so a repeated command gets the first reply again."""

    def __init__(
        self,
        terminal_id: str,
        journal: Journal,
        terminal: Terminal,
        host_key: Ed25519PublicKey | Sequence[HostKey] | None,
        *,
        key_file: Path | None = None,
    ) -> None:
        self.terminal_id = terminal_id
        self.journal = journal
        self.terminal = terminal
        if isinstance(host_key, Ed25519PublicKey):
            host_key = [HostKey(host_key, keyring.pem_of(host_key))]
        self.keys: list[HostKey] = list(host_key or [])
        self.key_file = key_file  # where keys.update writes the keys it names

    def receive(self, payload: bytes) -> Received:
        try:
            accepted = keyring.accepted(self.keys, datetime.now(UTC))
            cmd = schema.parse(payload, terminal=self.terminal_id, host_key=accepted)
        except CommandError as exc:
            log.warning("mqtt: command %s refused: %s (%s)", exc.cmd_id, exc.code, exc.message)
            return Received(reply=schema.reply(exc.cmd_id, error=exc))
        seen = self.journal.command_seen(cmd.cmd_id)
        if seen is not None:
            name, first = seen
            if first is not None:
                log.info("mqtt: %s %s seen before: its first reply again", name, cmd.cmd_id)
                return Received(reply=json.loads(first))
            return Received(
                reply=schema.reply(
                    cmd.cmd_id,
                    code=ErrorCode.INTERRUPTED,
                    message=f"{name} {cmd.cmd_id} was interrupted by a restart and is not run "
                    "again: the state of what it acted on tells the outcome",
                )
            )
        if cmd.name in ON_TERMINAL and self.terminal.mode.mode == Mode.BUSY:
            return Received(
                reply=schema.reply(
                    cmd.cmd_id,
                    code=ErrorCode.BUSY,
                    message=f"a customer operation is in progress ({self.terminal.mode.reason}); "
                    "send it again later",
                )
            )
        try:
            target = self._target(cmd)
        except CommandError as exc:
            return Received(reply=schema.reply(cmd.cmd_id, error=exc))
        if cmd.name in ON_TERMINAL and not self.terminal.owner.accepting:
            return Received(reply=_stopping(cmd.cmd_id))  # not journaled: a copy runs later
        self.journal.command_begin(cmd.cmd_id, cmd.name)
        if cmd.name == "keys.update":
            return Received(reply=self.done(cmd.cmd_id, self._update_keys(cmd)))
        if cmd.name in ON_LINK:
            return Received(link=cmd)
        log.info("mqtt: running %s %s", cmd.name, cmd.cmd_id)
        try:
            future = self.terminal.owner.submit(lambda: self._run(cmd, target))
        except OwnerStopped:  # stopped since the check above: journaled as begun, so a
            return Received(reply=_stopping(cmd.cmd_id))  # copy gets `interrupted`
        return Received(pending=PendingCommand(cmd.cmd_id, future))

    def done(self, cmd_id: str, reply: dict[str, Any]) -> dict[str, Any]:
        """Journal the reply (the answer to every later copy) and return it."""
        self.journal.command_done(cmd_id, reply)
        return reply

    def finish(self, pending: PendingCommand) -> dict[str, Any]:
        try:
            result = pending.future.result(0)
        except TerminalError as exc:
            reply = schema.reply(pending.cmd_id, code=exc.code, message=exc.message)
        except Exception as exc:  # the terminal said what went wrong in its own log
            reply = schema.reply(pending.cmd_id, code=ErrorCode.INTERNAL, message=str(exc))
        else:
            reply = schema.reply(pending.cmd_id, result=result)
        return self.done(pending.cmd_id, reply)

    def _update_keys(self, cmd: Command) -> dict[str, Any]:
        """The host keys `cmd` names written to the key file (atomically) and used from
        now on; the old key of a rotation is refused after its `until`."""
        try:
            keys = keyring.from_args(cmd.args)
        except ValueError as exc:
            return schema.reply(cmd.cmd_id, code=ErrorCode.BAD_COMMAND, message=str(exc))
        if self.key_file is None:
            return schema.reply(
                cmd.cmd_id,
                code=ErrorCode.BAD_COMMAND,
                message="this terminal has no [mqtt] host_public_key file to update",
            )
        try:
            certfiles.write(self.key_file, keyring.dump(keys))
        except OSError as exc:
            return schema.reply(
                cmd.cmd_id, code=ErrorCode.INTERNAL, message=f"{self.key_file}: {exc.strerror}"
            )
        self.keys = keys
        ends = [rfc3339(k.until) for k in keys if k.until]
        log.warning(
            "mqtt: host keys updated: %d key(s)%s",
            len(keys),
            f", the old one accepted until {', '.join(ends)}" if ends else "",
        )
        return schema.reply(cmd.cmd_id, result={"keys": len(keys), "until": ends})

    @staticmethod
    def _target(cmd: Command) -> str | None:
        if cmd.name == "txn.resolve" and cmd.args.get("outcome") is None:
            raise CommandError(ErrorCode.BAD_COMMAND, "txn.resolve needs args.outcome", cmd.cmd_id)
        if cmd.name in ("refund.approve", "refund.reject", "receipt.reprint", "txn.resolve"):
            txn = cmd.args.get("txn")
            if not isinstance(txn, str) or not 1 <= len(txn) <= 64:
                raise CommandError(ErrorCode.BAD_COMMAND, f"{cmd.name} needs args.txn", cmd.cmd_id)
            return txn
        return None

    def _run(self, cmd: Command, txn: str | None) -> dict[str, Any]:
        """On the owner thread."""
        by = cmd.args.get("by")
        who = f"host ({by})" if isinstance(by, str) and by.strip() else "host"
        t = self.terminal
        if cmd.name == "refund.approve" and txn is not None:
            return t.approve(txn, by=who)
        if cmd.name == "refund.reject" and txn is not None:
            return t.reject(txn, by=who)
        if cmd.name == "receipt.reprint" and txn is not None:
            return t.reprint(txn)
        if cmd.name == "batch.close":
            return t.end_of_day()
        if cmd.name == "txn.resolve" and txn is not None:  # as `posterm resolve` on the Pi
            return t.resolve(txn, str(cmd.args["outcome"]), by=who)
        raise TerminalError(ErrorCode.BAD_REQUEST, f"{cmd.name} is not run on the terminal")


def _stopping(cmd_id: str) -> dict[str, Any]:
    message = "postermd is stopping: send it again after its restart"
    return schema.reply(cmd_id, code=ErrorCode.SHUTTING_DOWN, message=message)
