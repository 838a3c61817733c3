"""The simulated printer served on TCP (like port 9100), a pty and a control socket.

The control socket takes JSON lines, for faults at run time.

Each link's receiver answers real-time commands (DLE EOT, DLE ENQ) the moment they arrive,
as an Epson TM does, and hands the bytes to the print engine's receive buffer (engine.py).
When that buffer is full the receiver stops reading, so the host's writes block (and its
write timeout can fire), as with a real printer's flow control.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from posterm.hwsim.printer.device import SimPrinter
from posterm.hwsim.printer.engine import Engine
from posterm.protocol.escpos.realtime import RealtimeScanner

log = logging.getLogger("posterm.sim.printer")
CHUNK = 4096


class _Receiver:
    """One host link: answers real-time commands on arrival, buffers the rest."""

    def __init__(self, server: PrinterServer, send: Callable[[bytes], None]) -> None:
        self.server = server
        self._send = send
        self._send_lock = threading.Lock()
        self._scanner = RealtimeScanner()
        self.link = server.engine.link(self.send)

    def send(self, data: bytes) -> None:
        with self._send_lock, contextlib.suppress(OSError):
            self._send(data)
            self.server.bytes_out += len(data)

    def received(self, data: bytes) -> bool:
        """Every chunk from the host, in order; False once the server stops."""
        self.server.bytes_in += len(data)
        device = self.server.device
        for kind, n in self._scanner.feed(data):
            if kind == "status":
                answer = device.realtime(n)
                if answer:
                    self.send(answer)
            else:
                device.request(n)
        return self.server.engine.submit(self.link, data)

    def closed(self) -> None:
        self.server.engine.close(self.link)


class PrinterServer:
    def __init__(self, device: SimPrinter, bytes_per_second: int = 0) -> None:
        if bytes_per_second < 0:
            raise ValueError("bytes per second: 0 (no limit) or more")
        self.device = device
        self.engine = Engine(device, bytes_per_second)
        self.stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._links: list[tuple[Path, str]] = []
        self.bytes_in = 0
        self.bytes_out = 0

    def listen_tcp(self, host: str, port: int) -> int:
        return self._listen(host, port, self._serve_tcp)

    def listen_control(self, host: str, port: int) -> int:
        return self._listen(host, port, self._serve_control)

    def _listen(self, host: str, port: int, serve: Callable[[socket.socket], None]) -> int:
        sock = socket.create_server((host, port))
        self._sockets.append(sock)
        threading.Thread(target=self._accept, args=(sock, serve), daemon=True).start()
        return int(sock.getsockname()[1])

    def _accept(self, sock: socket.socket, serve: Callable[[socket.socket], None]) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def _serve_tcp(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        receiver = _Receiver(self, conn.sendall)
        with conn:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(CHUNK)
                except OSError:
                    break
                if not data or not receiver.received(data):
                    break
            receiver.closed()

    def open_pty(self, link: Path) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        tmp = link.with_name(link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(name)
        tmp.replace(link)
        self._links.append((link, name))
        threading.Thread(target=self._serve_pty, args=(master, slave), daemon=True).start()
        return name

    def _serve_pty(self, master: int, slave: int) -> None:
        """The pty stays open (the slave fd is kept), as a serial port stays plugged in."""
        receiver = _Receiver(self, lambda data: _write_all(master, data))
        while not self.stopping.is_set():
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, CHUNK)
            except OSError:  # no process has the slave open: wait for the next one
                time.sleep(0.01)
                continue
            receiver.received(data)
        os.close(slave)

    def _serve_control(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a request is a JSON object with an action")
                    state = self.device.control(str(request.get("action")))
                    reply = {
                        "ok": True,
                        **state,
                        "bytes_in": self.bytes_in,
                        "bytes_out": self.bytes_out,
                    }
                except ValueError as exc:
                    reply = {"ok": False, "error": str(exc)}
                stream.write(json.dumps(reply) + "\n")
                stream.flush()

    def stop(self) -> None:
        self.stopping.set()
        self.engine.stop()
        for link, name in self._links:  # the kernel may give the pty's name to another
            with contextlib.suppress(OSError):
                if os.readlink(link) == name:
                    link.unlink()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def wait(self) -> None:
        self.stopping.wait()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
