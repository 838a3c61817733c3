"""`postermd --check`: the config and its devices checked without starting (exit 0 and a
summary, or the problems and 78), and the packaged example refused until edited."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.daemon import check
from posterm.daemon.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "posterm.toml.example"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port that accepts connections (the printer's 9100, in a test)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port: int = server.getsockname()[1]
    return port


def edited(tmp_path: Path, printer_url: str, **replace: str) -> Path:
    """The packaged example as an installer edits it: a real id, real hosts, a TCP PT."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in {
        'id = "CHANGE-ME"': 'id = "pos-0042"',
        "mqtts://backoffice.example:8883": "mqtts://backoffice.shop.test:8883",
        "https://backoffice.example/": "https://backoffice.shop.test/",
        "serial:///dev/posterm-pt?baud=9600": "tcp://192.0.2.50:20007",
        "tcp://192.168.1.60:9100": printer_url,
        **replace,
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "posterm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_packaged_example_is_refused_with_how_to_enrol(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN the example config as the package installs it WHEN postermd starts with it
    THEN it exits 2 before opening anything, naming the placeholders and how to enrol."""
    assert main(["--config", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert 'terminal.id = "CHANGE-ME"' in err
    assert "mqtt.url names backoffice.example" in err
    assert "mqtt.page_url names backoffice.example" in err
    assert "posterm enroll https://BACKOFFICE/ CODE" in err and "docs/install.md" in err


def test_check_refuses_the_packaged_example_with_ex_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN the unedited example WHEN `postermd --check` THEN exit 78, the reason on stderr."""
    assert main(["--check", "--config", str(EXAMPLE)]) == check.EX_CONFIG == 78
    out, err = capsys.readouterr()
    assert out == "" and "still the packaged example" in err


def test_check_accepts_an_edited_example_with_a_one_line_summary(
    tmp_path: Path, listener: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN the example edited (id, hosts, PT) and a printer accepting connections WHEN
    `postermd --check` THEN exit 0 and one "ok" line naming the terminal and devices."""
    port = listener.getsockname()[1]
    path = edited(tmp_path, f"tcp://127.0.0.1:{port}")
    assert main(["--check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"postermd: ok: {path}: terminal pos-0042 (EUR), PT tcp://192.0.2.50:20007 (zvt),"
        f" printer tcp://127.0.0.1:{port}, host mqtts://backoffice.shop.test:8883"
    ]


def test_check_names_a_printer_that_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a printer URL nobody listens on WHEN `--check` THEN 78 naming printer.url."""
    port = closed_port()
    path = edited(tmp_path, f"tcp://127.0.0.1:{port}")
    assert main(["--check", "--config", str(path)]) == 78
    err = capsys.readouterr().err
    assert f"printer.url: 127.0.0.1:{port} does not accept a connection" in err


def test_check_serial_devices_without_opening_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN serial URLs: a character device, a missing one, a plain file WHEN `--check`
    THEN only the character device passes; each other one is named with its key."""
    good = edited(tmp_path, "serial:///dev/null?baud=9600")
    assert main(["--check", "--config", str(good)]) == 0
    plain = tmp_path / "not-a-tty"
    plain.write_text("")
    bad = edited(
        tmp_path,
        f"serial://{plain}?baud=9600",
        **{"tcp://192.0.2.50:20007": f"serial://{tmp_path}/gone?baud=9600"},
    )
    capsys.readouterr()
    assert main(["--check", "--config", str(bad)]) == 78
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"postermd: {bad}: printer.url: {plain} is not a serial device",
        f"postermd: {bad}: payment.url: {tmp_path}/gone: No such file or directory",
    ]


def test_check_finds_a_usb_printer_in_sysfs(tmp_path: Path) -> None:
    """GIVEN a sysfs holding one USB device WHEN a usb:// printer is checked THEN that
    VID:PID passes and another one is reported as not plugged in."""
    device = tmp_path / "sys" / "1-1"
    device.mkdir(parents=True)
    (device / "idVendor").write_text("04b8\n")
    (device / "idProduct").write_text("0202\n")
    (tmp_path / "sys" / "1-1:1.0").mkdir()  # an interface: no ids
    path = edited(tmp_path, "usb://04b8:0202")
    code, lines = check.run_check(path, tmp_path / "sys")
    assert (code, len(lines)) == (0, 1) and "printer usb://04b8:0202" in lines[0]
    other = edited(tmp_path, "usb://04b8:0e15")
    code, lines = check.run_check(other, tmp_path / "sys")
    assert (code, lines) == (78, [f"{other}: printer.url: no USB device 04b8:0e15 is plugged in"])


def test_check_reports_a_bad_key_with_ex_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a config with a value out of range WHEN `--check` THEN 78 naming the key."""
    path = edited(
        tmp_path,
        "tcp://127.0.0.1:9100",
        **{'encoding = "cp858"': 'encoding = "cp858"\ncolumns = 43'},
    )
    assert main(["--check", "--config", str(path)]) == 78
    assert "printer.columns" in capsys.readouterr().err


@pytest.mark.slow
def test_the_postermd_process_checks_and_exits(tmp_path: Path, listener: socket.socket) -> None:
    """GIVEN the installed `postermd` entry point WHEN run with --check on the example and
    on an edited copy THEN it exits 78 and 0 without starting (no journal is created)."""
    cmd = [sys.executable, "-m", "posterm.daemon.main", "--check", "--config"]
    refused = subprocess.run(
        [*cmd, str(EXAMPLE)], check=False, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 78 and "CHANGE-ME" in refused.stderr
    journal = tmp_path / "journal.db"
    path = edited(
        tmp_path,
        f"tcp://127.0.0.1:{listener.getsockname()[1]}",
        **{"/var/lib/posterm/journal.db": str(journal)},
    )
    ok = subprocess.run([*cmd, str(path)], check=False, capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stderr) == (0, "") and ok.stdout.startswith("postermd: ok: ")
    assert not journal.exists()


@pytest.mark.parametrize(
    ("edits", "said"),
    [
        (
            {
                'profile = "default"': 'profile = "ZJ-5870"',
                'encoding = "cp858"': 'encoding = "cp437"',
            },
            "printer.profile: profile 'ZJ-5870' has no cutter",
        ),
        (
            {
                'profile = "default"': 'profile = "TM-T88V"',
                'encoding = "cp858"': 'encoding = "gb18030"',
            },
            "printer.encoding: profile 'TM-T88V' cannot print GB18030",
        ),
    ],
)
def test_check_refuses_a_profile_that_cannot_print_as_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edits: dict[str, str], said: str
) -> None:
    """GIVEN a printer profile without what the config asks (a cutter, GB18030) WHEN
    `postermd --check` THEN 78 (EX_CONFIG), the key and the profile's name said."""
    path = edited(tmp_path, "tcp://127.0.0.1:9100", **edits)
    assert main(["--check", "--config", str(path)]) == 78
    assert said in capsys.readouterr().err
