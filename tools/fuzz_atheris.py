"""Coverage-guided fuzzing with atheris (libFuzzer) of the byte-level decoders, beside the
hypothesis fuzzers of tests/fuzz: `make fuzz-atheris` (x86_64 Linux; atheris has no wheel
for the Pi's aarch64). Each target raises only the protocol's own errors; anything else is
a crash, written to build/atheris/ for a regression example.

    python tools/fuzz_atheris.py TARGET [libFuzzer flags, e.g. -max_total_time=60]

TARGET: zvt (APDU reassembly, message decoder, BMP, TLV), frame (serial framing),
escpos (the printer simulator's parser), command (MQTT command and ack parsing),
control (a control socket request line).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from posterm.daemon.control import api
    from posterm.daemon.control.server import ControlServer, _encode
    from posterm.hwsim.printer.parser import EscPosParser
    from posterm.protocol.mqtt import commands
    from posterm.protocol.zvt import apdu, bmp, framing, messages, tlv
    from posterm.protocol.zvt.errors import ZvtError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.zvt import spec_vectors  # noqa: E402 (the seeds)


def zvt(data: bytes) -> None:
    try:
        for unit in apdu.ApduReader().feed(data):
            for answering in (None, 0x0501):
                with contextlib.suppress(ZvtError):
                    messages.decode(unit, answering=answering)
    except ZvtError:
        pass
    for decode in (bmp.decode_all, tlv.decode):
        with contextlib.suppress(ZvtError):
            decode(data)


def frame(data: bytes) -> None:
    parser = framing.FrameParser(max_apdu=512)
    half = len(data) // 2
    parser.feed(data[:half], 0.0)
    parser.feed(data[half:], 0.1)
    parser.check_timeout(1.0)


def escpos(data: bytes) -> None:
    lines: list[object] = []
    parser = EscPosParser(lines.append, lambda: None, lambda n: b"\x00")
    half = len(data) // 2
    parser.feed(data[:half])
    parser.feed(data[half:])


def command(data: bytes) -> None:
    with contextlib.suppress(commands.CommandError):
        commands.parse(data, terminal="pos-1", host_key=None)
    with contextlib.suppress(commands.AckError):
        commands.parse_ack(data)


class _Terminal:
    class mode:
        mode = "ready"

    def __getattr__(self, name: str) -> Callable[..., dict[str, str]]:
        return lambda *args, **kwargs: {"called": name}


_SERVER = ControlServer("/nonexistent/atheris.sock", lambda r: api.handle(_Terminal(), r))


def control(data: bytes) -> None:
    _encode(_SERVER._answer(data))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "zvt": zvt,
    "frame": frame,
    "escpos": escpos,
    "command": command,
    "control": control,
}


def seeds(target: str) -> list[bytes]:
    if target == "zvt":
        return [bytes.fromhex(v.apdu) for v in spec_vectors.APDU_VECTORS]
    if target == "frame":
        return [bytes.fromhex(v.frame) for v in spec_vectors.FRAME_VECTORS]
    if target == "escpos":
        return [b"\x1b@\x1bt\x13Caf\xe9 \xd5 12,50\n\x1ba\x01\x1dV\x00", b"\x1d(k\x04\x001A2\x00"]
    if target == "command":
        return [b'{"v": 1, "cmd_id": "c1", "terminal": "pos-1", "name": "ping", "args": {}}']
    return [b'{"cmd": "sale", "amount": "12.50"}\n']


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer flags]")
    target = sys.argv.pop(1)
    out = ROOT / "build" / "atheris"
    corpus = out / f"corpus-{target}"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds(target)):
        (corpus / f"seed-{i}").write_bytes(seed)
    argv = [sys.argv[0], f"-artifact_prefix={out}/{target}-", *sys.argv[1:], str(corpus)]
    atheris.Setup(argv, TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
