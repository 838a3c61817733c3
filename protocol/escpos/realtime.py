"""Real-time commands (DLE EOT n, DLE ENQ n) found in a raw byte stream as a printer does.

An Epson TM acts on a real-time command the moment it arrives, ahead of the print data
queued before it, and wherever the three bytes appear, even inside the data of another
command (a bit image, say): the reference warns about exactly that. This scanner reports
them in arrival order, across chunk boundaries.
"""

from __future__ import annotations

DLE, EOT, ENQ = 0x10, 0x04, 0x05
STATUS_N = range(1, 5)  # DLE EOT 1..4
REQUEST_N = range(1, 3)  # DLE ENQ 1 (recover and go on), 2 (recover, clear buffers)


class RealtimeScanner:
    """Feed raw chunks; get back `(command, n)` pairs: ("status", 1..4) or ("request", 1..2)."""

    def __init__(self) -> None:
        self._tail = b""  # up to 2 bytes that may start a real-time command

    def feed(self, data: bytes) -> list[tuple[str, int]]:
        buf = self._tail + data
        found: list[tuple[str, int]] = []
        i = buf.find(DLE)
        while i >= 0:
            if i + 2 >= len(buf):
                break  # incomplete: keep it for the next chunk
            kind, n = buf[i + 1], buf[i + 2]
            if kind == EOT and n in STATUS_N:
                found.append(("status", n))
                i = buf.find(DLE, i + 3)
            elif kind == ENQ and n in REQUEST_N:
                found.append(("request", n))
                i = buf.find(DLE, i + 3)
            else:
                i = buf.find(DLE, i + 1)
        self._tail = bytes(buf[i:]) if i >= 0 else b""
        return found
