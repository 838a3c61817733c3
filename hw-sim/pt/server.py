"""Runs the simulated PT on TCP and/or a pty, plus a JSON-lines control socket for faults."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from pathlib import Path
from typing import Any

from posterm.hwsim.pt.channels import LinkDown, PtyChannel, TcpChannel
from posterm.hwsim.pt.engine import PtEngine
from posterm.hwsim.pt.faults import FAULTS

log = logging.getLogger("posterm.sim.pt")


class PtServer:
    """One engine (one command at a time, like a real PT) behind every link."""

    def __init__(self, engine: PtEngine) -> None:
        self.engine = engine
        self._lock = threading.Lock()  # the PT runs one command at a time
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._pty: PtyChannel | None = None
        self._tcp: TcpChannel | None = None

    # -- links ----------------------------------------------------------------------------
    def listen_tcp(self, host: str, port: int) -> int:
        sock = socket.create_server((host, port), reuse_port=False)
        self._sockets.append(sock)
        self._spawn(self._accept_loop, sock)
        return int(sock.getsockname()[1])

    def open_pty(self, link: Path, baud: int = 0) -> str:
        self._pty = PtyChannel(link, self.engine.faults, baud)
        self._spawn(self._pty_loop, self._pty)
        return str(link.resolve())

    def listen_control(self, host: str, port: int) -> int:
        sock = socket.create_server((host, port))
        self._sockets.append(sock)
        self._spawn(self._control_loop, sock)
        return int(sock.getsockname()[1])

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            self._spawn(self._tcp_loop, TcpChannel(conn, self.engine.faults))

    def _tcp_loop(self, ch: TcpChannel) -> None:
        self._tcp = ch
        try:
            while not self._stop.is_set():
                apdu = ch.receive(None)
                if apdu is None:
                    continue
                with self._lock:
                    self.engine.handle(ch, apdu)
                ch.flush()
        except LinkDown as exc:
            log.info("sim pt: tcp link ended: %s", exc)
        finally:
            ch.close()

    def _pty_loop(self, ch: PtyChannel) -> None:
        while not self._stop.is_set():
            try:
                apdu = ch.receive(0.5)
                if apdu is None:
                    continue
                with self._lock:
                    self.engine.handle(ch, apdu)
            except LinkDown as exc:
                log.info("sim pt: serial link: %s", exc)

    # -- control ----------------------------------------------------------------------------
    def _control_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rw", encoding="utf-8") as stream:
                for line in stream:
                    stream.write(json.dumps(self.control(line)) + "\n")
                    stream.flush()

    def control(self, line: str) -> dict[str, Any]:
        """Requests: {"fault": NAME, "on": bool}, {"drop": 1}, {"faults": 1}, {"ledger": 1}."""
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            if "fault" in request:
                self.engine.faults.set(str(request["fault"]), bool(request.get("on", True)))
            elif request.get("drop"):
                self._drop()
            elif request.get("ledger"):
                return {"ok": True, "ledger": self.engine.ledger.to_json()}
            elif request.get("stats"):
                pty = self._pty
                return {
                    "ok": True,
                    "serial_bytes_in": pty.bytes_in if pty else 0,
                    "serial_bytes_out": pty.bytes_out if pty else 0,
                }
            elif not request.get("faults"):
                raise ValueError("unknown request; known: fault, drop, faults, ledger, stats")
            return {"ok": True, "faults": self.engine.faults.snapshot(), "known": sorted(FAULTS)}
        except (ValueError, TypeError) as exc:
            return {"ok": False, "error": str(exc)}

    def _drop(self) -> None:
        if self._pty is not None:
            with self._lock:
                self._pty.drop()
        if self._tcp is not None:
            self._tcp.drop()

    def stop(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        if self._pty is not None:
            self._pty.close()

    def wait(self) -> None:
        self._stop.wait()
