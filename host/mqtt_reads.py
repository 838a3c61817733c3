"""paho-mqtt with buffered reads, for posterm-host (issue 23).

paho reads a packet with one `recv` for its first byte, one per byte of its length and
one for its body, and reads one packet per pass of its loop (each pass a `select`): for a
host taking thousands of small events a second, those system calls are most of paho's
cost per message. Here paho's socket is wrapped so that a `recv` takes what the kernel
has (up to RECV_BYTES) into a buffer and paho's small reads are served from it, and each
pass of the loop reads every whole packet the buffer holds. paho's own contract for a
socket it does not make (its websocket wrapper's: `recv`, `send`, `pending`, `fileno`,
`setblocking`, `close`) is what the wrapper keeps; `pending` tells paho's loop not to wait
in `select` while bytes are buffered, as it does for TLS. And while the loop reads, the
packets queued meanwhile do not each wake it (`BufferedClient.loop_read`).
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

RECV_BYTES = 65_536  # one read of the kernel's buffer
PASSES = 256  # packets read in one pass of the loop at most, so its writes (PUBACKs) go too


class BufferedSocket:
    """A connected socket (plain or TLS) whose reads go through a buffer."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes: the buffer's, or one read of the socket's when it is empty
        (its BlockingIOError, SSLWantReadError or b"" at the peer's close passed on)."""
        if not self._buffer:
            data = self._sock.recv(max(size, RECV_BYTES))
            if len(data) <= size:
                return bytes(data)
            self._buffer += data
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def pending(self) -> int:
        """Bytes read but not yet taken (here, or decrypted in a TLS socket)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) + int(inner)

    def send(self, data: bytes | bytearray) -> int:
        return int(self._sock.send(data))

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:  # getpeercert, getpeername, ...
        return getattr(self._sock, name)


class _Asleep:
    """Stands for paho's wake-up socket while its loop reads (`BufferedClient.loop_read`)."""

    def send(self, data: bytes) -> int:
        return len(data)


_ASLEEP: Any = _Asleep()


class BufferedClient(mqtt.Client):
    """paho's client reading through a BufferedSocket, every buffered packet a pass."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        # paho wakes its own loop (a byte to a socket pair) for every packet it queues, the
        # PUBACKs this loop queues as it reads included: that is a system call per message
        # and a hand-over of the GIL to the host's other thread. While this thread reads,
        # its own wake-ups are not needed (its next pass writes whatever is queued: paho's
        # `want_write`), nor are other threads' (the same check sees their packets).
        wake, self._sockpairW = self._sockpairW, _ASLEEP if self._sockpairW else None
        try:
            rc = super().loop_read(max_packets)
            for _ in range(PASSES):
                if rc != mqtt.MQTT_ERR_SUCCESS or not self._buffered():
                    break
                rc = super().loop_read(max_packets)
            return rc
        finally:
            self._sockpairW = wake

    def _buffered(self) -> bool:
        sock = self._sock
        return isinstance(sock, BufferedSocket) and sock.pending() > 0
