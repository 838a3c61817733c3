"""A revoke made effective at the broker without restarting it: the CRL copied where the
broker reads it (`[enrol] broker_crl`), the broker told to read it again (`[enrol]
broker_reload`, e.g. `systemctl reload mosquitto`: Mosquitto re-reads its CRL on SIGHUP,
so the next TLS handshake of the revoked certificate fails), then the terminal's current
connection ended: the host connects once with its own certificate and the terminal's
client id, and the broker closes the older connection of that id (MQTT 3.1.1, 3.1.4-2).
The terminal's reconnection is refused by the CRL read before."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError
from posterm.host.enrol.ca import write_file
from posterm.host.mqtt_client import broker_address, make_client
from posterm.protocol.errorcodes import ErrorCode

RELOAD_TIMEOUT_S = 30.0
KICK_TIMEOUT_S = 15.0


def publish_crl(config: HostConfig, crl: Path) -> Path | None:
    """The CRL copied to `broker_crl` (0644, atomically); its path, or None."""
    target = config.enrol.broker_crl
    if target is None:
        return None
    try:
        write_file(target, crl.read_bytes(), 0o644)
    except OSError as exc:
        raise EnrolError(
            f"{target}: the CRL cannot be written there: {exc.strerror}",
            status=503,
            code=ErrorCode.NO_CA,
        ) from None
    return target


def reload(config: HostConfig) -> str | None:
    """Run `broker_reload`; what ran, or None when nothing is configured."""
    argv = config.enrol.broker_reload
    if not argv:
        return None
    if shutil.which(argv[0]) is None:
        raise EnrolError(f"enrol.broker_reload: {argv[0]}: no such command", status=503)
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=RELOAD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise EnrolError(
            f"{' '.join(argv)}: no answer in {RELOAD_TIMEOUT_S:.0f} s", status=503
        ) from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise EnrolError(
            f"{' '.join(argv)}: exit {done.returncode}{': ' + said[-1] if said else ''}",
            status=503,
        )
    return " ".join(argv)


def kick(config: HostConfig, terminal: str) -> str:
    """End `terminal`'s connection to the broker; a sentence saying what happened."""
    client = make_client(config, terminal, clean=True)
    connected = threading.Event()
    outcome: list[str] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        outcome.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    host, port = broker_address(config)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        return f"the broker {host}:{port} could not be reached to disconnect it: {exc}"
    client.loop_start()
    try:
        if not connected.wait(KICK_TIMEOUT_S) or outcome != ["Success"]:
            return f"the broker did not let the host disconnect it ({', '.join(outcome)})"
    finally:
        client.disconnect()
        client.loop_stop()
    return "its connection to the broker was closed"
