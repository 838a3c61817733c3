"""The status page's rate limit: at most N requests per client in any 60 seconds (a
sliding window per client address; an IPv6 client is its /64, the least a host is given);
the table of clients is bounded."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_S = 60.0
MAX_CLIENTS = 10_000  # the least recently seen client is forgotten beyond this


def client_key(address: str) -> str:
    """The client a request is counted against: an IPv4 address as it is, an IPv6 one by
    its /64 (one host can use any of its 2^64 addresses), anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Throttle:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str) -> float:
        """0 when `client` may go on (counted), else the seconds until it may."""
        now = self.clock()
        with self._lock:
            times = self._seen.pop(client, None) or deque()
            while times and times[0] <= now - WINDOW_S:
                times.popleft()
            self._seen[client] = times
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
            if len(times) >= self.per_minute:
                return max(0.0, times[0] + WINDOW_S - now)
            times.append(now)
            return 0.0
