"""Serves the simulated printer on TCP (like port 9100) and a pty, plus a JSON-lines
control socket for faults at run time."""

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
from pathlib import Path

from posterm.hwsim.printer.device import SimPrinter

log = logging.getLogger("posterm.sim.printer")


class PrinterServer:
    def __init__(self, device: SimPrinter, bytes_per_second: int = 0) -> None:
        self.device = device
        self.bps = bytes_per_second
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self.bytes_in = 0
        self.bytes_out = 0

    def _throttle(self, n: int) -> None:
        self.bytes_in += n
        if self.bps:
            time.sleep(n / self.bps)

    def listen_tcp(self, host: str, port: int) -> int:
        sock = socket.create_server((host, port))
        self._sockets.append(sock)
        threading.Thread(target=self._accept, args=(sock, self._serve_tcp), daemon=True).start()
        return int(sock.getsockname()[1])

    def listen_control(self, host: str, port: int) -> int:
        sock = socket.create_server((host, port))
        self._sockets.append(sock)
        threading.Thread(target=self._accept, args=(sock, self._serve_control), daemon=True).start()
        return int(sock.getsockname()[1])

    def _accept(self, sock: socket.socket, serve: object) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()  # type: ignore[arg-type]

    def _serve_tcp(self, conn: socket.socket) -> None:
        parser = self.device.parser()
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                self._throttle(len(data))
                reply = self.device.feed(parser, data)
                if reply:
                    self.bytes_out += len(reply)
                    with contextlib.suppress(OSError):
                        conn.sendall(reply)

    def open_pty(self, link: Path) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)
        tmp = link.with_name(link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(link)
        threading.Thread(target=self._serve_pty, args=(master, slave), daemon=True).start()
        return os.ttyname(slave)

    def _serve_pty(self, master: int, slave: int) -> None:
        parser = self.device.parser()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            self._throttle(len(data))
            reply = self.device.feed(parser, data)
            if reply:
                self.bytes_out += len(reply)
                os.write(master, reply)
        del slave

    def _serve_control(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rw", encoding="utf-8") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                    state = self.device.control(str(request.get("action")))
                    reply = {"ok": True, **state, "bytes_in": self.bytes_in,
                             "bytes_out": self.bytes_out}  # fmt: skip
                except (ValueError, AttributeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                stream.write(json.dumps(reply) + "\n")
                stream.flush()

    def stop(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def wait(self) -> None:
        self._stop.wait()
