"""The front panel's GPIO pins, simulated, pressable from another process.

A gpiozero pin factory, `SimFactory`: gpiozero's own `MockFactory` (the one the panel's
tests use) plus a control channel on TCP (`posterm.hwsim.control`: one JSON object per
line each way) through which another process drives its button pins and reads its LED and
buzzer pins. It is registered as the gpiozero pin factory `posterm-sim`
(`[project.entry-points.gpiozero_pin_factories]`), so an unmodified postermd picks it the
way it picks lgpio on a Pi:

    GPIOZERO_PIN_FACTORY=posterm-sim POSTERM_SIM_PANEL=tcp://127.0.0.1:20098 postermd ...
    posterm-sim panel press supervisor

A press drives the button's pin low then high, as a finger on a button to ground with the
panel's pull-up does; gpiozero calls the panel's `when_pressed` on its own thread, exactly
as with a real pin. `POSTERM_SIM_PANEL_PINS` (JSON, name -> BCM pin) names the pins; the
default is postermd's default `[panel]` wiring.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socketserver
import sys
import threading
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from posterm.hwsim import control

log = logging.getLogger("posterm.hwsim.panel")

ENV_ADDR = "POSTERM_SIM_PANEL"  # tcp://HOST:PORT the factory listens on
ENV_PINS = "POSTERM_SIM_PANEL_PINS"  # {"supervisor": 19, ...}
DEFAULT_ADDR = "tcp://127.0.0.1:20098"
# postermd's default [panel] pins (deploy/posterm.toml.example)
DEFAULT_PINS = {
    "confirm": 5,
    "cancel": 6,
    "reprint": 13,
    "supervisor": 19,
    "ready": 17,
    "busy": 27,
    "fault": 22,
    "host": 23,
    "buzzer": 24,
}
BUTTONS = ("confirm", "cancel", "reprint", "supervisor")
OUTPUTS = ("ready", "busy", "fault", "host", "buzzer")


def environment(addr: str, pins: dict[str, int] | None = None) -> dict[str, str]:
    """What a process needs in its environment to have its panel on a `SimFactory`."""
    return {
        "GPIOZERO_PIN_FACTORY": "posterm-sim",
        ENV_ADDR: addr,
        ENV_PINS: json.dumps(pins or DEFAULT_PINS),
    }


class SimFactory(MockFactory):  # type: ignore[misc]
    """gpiozero's MockFactory, listening on $POSTERM_SIM_PANEL for presses."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, int] = json.loads(os.environ.get(ENV_PINS) or "null") or dict(
            DEFAULT_PINS
        )
        host, port = control.hostport(os.environ.get(ENV_ADDR) or DEFAULT_ADDR)
        factory = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    try:
                        reply = factory.handle(json.loads(line))
                    except (ValueError, KeyError, TypeError) as exc:
                        reply = {"ok": False, "error": str(exc)}
                    self.wfile.write((json.dumps(reply) + "\n").encode())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((host, port), Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, name="sim-panel", daemon=True)
        thread.start()
        log.info("simulated panel pins: control on tcp://%s:%d", *self.server.server_address)

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """{"action": "press", "button": NAME} | {"action": "state"}."""
        action = message.get("action")
        if action == "press":
            name = str(message["button"])
            if name not in BUTTONS:
                return {"ok": False, "error": f"no button {name!r} ({', '.join(BUTTONS)})"}
            pin: MockPin = self.pin(self.names[name])
            pin.drive_low()
            pin.drive_high()
            return {"ok": True, "pressed": name}
        if action == "state":
            return {
                "ok": True,
                "outputs": {
                    n: bool(self.pin(self.names[n]).state) for n in OUTPUTS if n in self.names
                },
            }
        return {"ok": False, "error": f"unknown action {action!r} (press, state)"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        super().close()


# -- `posterm-sim panel` ----------------------------------------------------------------------
def register(sub: Any) -> None:
    panel = sub.add_parser(
        "panel",
        help="press the simulated panel's buttons, read its LEDs",
        description="The front panel of a postermd started with GPIOZERO_PIN_FACTORY="
        "posterm-sim (as `make demo` starts it).",
    )
    panel.add_argument(
        "--control",
        type=control.hostport,
        default=os.environ.get(ENV_ADDR) or DEFAULT_ADDR,
        help=f"tcp://HOST:PORT (default ${ENV_ADDR}, else {DEFAULT_ADDR})",
    )
    what = panel.add_subparsers(dest="panel", required=True)
    press = what.add_parser("press", help="press and release a button")
    press.add_argument("button", choices=BUTTONS)
    what.add_parser("leds", help="the LEDs and the buzzer, on or off (JSON)")
    panel.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    message = (
        {"action": "press", "button": args.button} if args.panel == "press" else {"action": "state"}
    )
    try:
        reply = control.request(args.control, message)
    except OSError as exc:
        print(f"posterm-sim panel: {exc}: is postermd running on simulated pins?", file=sys.stderr)
        return 1
    print(json.dumps(reply.get("outputs", reply)))
    return 0 if reply.get("ok") else 1
