"""The command lines as an installer uses them, run as real processes: `posterm printer`,
`posterm-sim printer` and `posterm-sim ctl`, and the demo's receipt helper."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from posterm.hwsim.printer.demo import print_demo_receipt
from tests.support.sim import BIN, PrinterSim, start_printer

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def posterm_printer(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "posterm"), "printer", "--url", url, *args)


def test_status_test_and_receipt(psim: PrinterSim, tmp_path: Path) -> None:
    status = posterm_printer(psim.url, "status", "--json")
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert (data["ready"], data["known"], data["paper"], data["text"]) == (
        True,
        True,
        "ok",
        "online, paper ok",
    )
    assert posterm_printer(psim.url, "test").returncode == 0
    assert "Euro sign" in psim.printed()[-1] and "1.00 €" in psim.printed()[-1]
    assert (
        posterm_printer(
            psim.url, "--profile", "posterm-gb18030-80mm", "--encoding", "gb18030", "test"
        ).returncode
        == 0
    )
    assert "打印测试" in psim.printed()[-1]
    receipt = tmp_path / "r.json"
    receipt.write_text(
        json.dumps({"title": "HELLO", "body": ["one", "two"], "qr": "Q1", "banner": "DUPLICATE"})
    )
    assert posterm_printer(psim.url, "receipt", str(receipt)).returncode == 0
    text = psim.printed()[-1]
    assert "HELLO" in text and "[QR: Q1]" in text and text.startswith("** DUPLICATE **")


def test_a_printer_that_is_not_ready_fails_with_exit_1(psim: PrinterSim) -> None:
    psim.ctl("paper-out")
    failed = posterm_printer(psim.url, "test")
    assert failed.returncode == 1 and "paper out before the job" in failed.stderr
    status = posterm_printer(psim.url, "status")
    assert status.returncode == 1 and "paper out" in status.stdout and "NOT ready" in status.stdout
    as_json = posterm_printer(psim.url, "--json", "test")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"title": "X", "colour": "red"}', "unknown key"),
        ('{"body": ["no title"]}', "title is required"),
        ('["a list"]', "JSON object"),
        ('{"title": "X", "copy": "both"}', "copy is one of"),
    ],
)
def test_bad_receipt_files_exit_65_and_print_nothing(
    psim: PrinterSim, tmp_path: Path, content: str, message: str
) -> None:
    receipt = tmp_path / "bad.json"
    receipt.write_text(content)
    done = posterm_printer(psim.url, "receipt", str(receipt))
    assert done.returncode == 65 and message in done.stderr
    assert psim.printed() == [] and psim.ctl("status")["cuts"] == 0


def test_missing_receipt_file_and_bad_url_exit_65(psim: PrinterSim, tmp_path: Path) -> None:
    missing = posterm_printer(psim.url, "receipt", str(tmp_path / "nope.json"))
    assert missing.returncode == 65 and "cannot read" in missing.stderr
    no_file = posterm_printer(psim.url, "receipt")
    assert no_file.returncode == 65 and "give the receipt" in no_file.stderr
    bad_url = posterm_printer("lpt://1", "status")
    assert bad_url.returncode == 65 and "printer url" in bad_url.stderr
    bad_columns = posterm_printer(psim.url, "--columns", "forty", "status")
    assert bad_columns.returncode == 64  # argparse: not a number (EX_USAGE)
    too_wide = posterm_printer(psim.url, "--profile", "TM-T88V", "--columns", "48", "status")
    assert too_wide.returncode == 65 and "'TM-T88V' prints 42 columns" in too_wide.stderr
    no_cutter = posterm_printer(psim.url, "--profile", "POS-5890", "test")
    assert no_cutter.returncode == 65 and "'POS-5890' has no cutter" in no_cutter.stderr
    assert psim.printed() == []


def test_simulator_control_commands(psim: PrinterSim) -> None:
    def ctl(action: str) -> subprocess.CompletedProcess[str]:
        return run(str(BIN / "posterm-sim"), "ctl", "--control", psim.control, action)

    done = ctl("cover-open")
    assert done.returncode == 0 and json.loads(done.stdout)["cover_open"] is True
    assert json.loads(ctl("paper-out-after:7").stdout)["lines_left"] == 7
    unknown = ctl("explode")
    assert unknown.returncode == 1 and "unknown action" in unknown.stdout
    assert ctl("paper-out-after:0").returncode == 1
    assert json.loads(ctl("status").stdout)["cover_open"] is True  # nothing changed


def test_ctl_without_a_simulator_fails_cleanly(tmp_path: Path) -> None:
    done = run(str(BIN / "posterm-sim"), "ctl", "--control", "tcp://127.0.0.1:1", "status")
    assert done.returncode == 1 and "cannot reach" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--paper-out-after-lines", "0"),
        ("--bytes-per-second", "-5"),
        ("--width-dots", "500"),
        ("--listen", "udp://127.0.0.1:9100"),
    ],
)
def test_simulator_refuses_bad_flags(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = run(
        str(BIN / "posterm-sim"),
        "printer",
        "--out",
        str(tmp_path / "out"),
        "--listen",
        "tcp://127.0.0.1:0",
        *args,
    )
    assert done.returncode == 2 and "error" in done.stderr


@pytest.mark.parametrize("blocked", ["PIL", "qrcode"])
def test_simulator_without_the_sim_extra_fails_with_one_line(tmp_path: Path, blocked: str) -> None:
    """GIVEN Pillow or qrcode cannot be imported WHEN `posterm-sim printer` starts
    THEN it exits 2 with one line naming the extra, not a traceback, and prints nothing."""
    script = (
        f"import sys; sys.modules[{blocked!r}] = None; "
        "from posterm.hwsim.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = tmp_path / "out"
    done = run(
        sys.executable, "-c", script, "printer", "--out", str(out), "--listen", "tcp://127.0.0.1:0"
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install 'posterm[sim]'" in done.stderr
    assert done.stdout == "" and not out.exists()


def test_simulator_help_documents_flags_and_control_channel() -> None:
    helptext = run(str(BIN / "posterm-sim"), "printer", "--help").stdout
    for flag in (
        "--near-end",
        "--paper-out-after-lines",
        "--cover-open",
        "--offline",
        "--bytes-per-second",
        "--no-png",
        "JSON object per line",
        "refill",
    ):
        assert flag in helptext


def test_simulator_with_no_png_writes_the_text_only(tmp_path: Path) -> None:
    """GIVEN the printer simulator started with --no-png (benchmarks: no drawing)
    WHEN a test receipt is printed and cut
    THEN its text and index line are written, its PNG is not (the index says null)."""
    sim = start_printer(tmp_path, "--no-png")
    try:
        assert posterm_printer(sim.url, "test").returncode == 0
        assert "Euro sign" in sim.printed()[-1]
        index = [json.loads(line) for line in (sim.out / "index.jsonl").read_text().splitlines()]
        assert [entry["png"] for entry in index] == [None]
        assert list(sim.out.glob("*.png")) == []
    finally:
        sim.stop()


def test_demo_receipt_is_printed_and_its_png_returned(tmp_path: Path) -> None:
    lines = ["POSTERM SIMULATED PT", "VISA", "PAN 476173******0119", "APPROVED"]
    png = print_demo_receipt(tmp_path / "work", lines, "12.50", "EUR", "TDEMO0001")
    assert png.exists() and Image.open(png).width == 576
    text = png.with_suffix(".txt").read_text(encoding="utf-8")
    assert "12.50 EUR" in text and "[QR: TDEMO0001]" in text
    assert all(line in text for line in lines)


def test_profiles_lists_the_models_and_what_each_can_do() -> None:
    """GIVEN no printer WHEN `posterm printer profiles` THEN every profile with its columns,
    cutter, QR and GB18030 support; --json the same as data; status without --url is 64."""
    listed = run(str(BIN / "posterm"), "printer", "profiles")
    assert listed.returncode == 0
    tm = next(line for line in listed.stdout.splitlines() if line.startswith("TM-T20II "))
    assert tm.split()[:2] == ["TM-T20II", "Epson"] and " 48 " in tm
    as_json = run(str(BIN / "posterm"), "printer", "profiles", "--json")
    rows = {row["profile"]: row for row in json.loads(as_json.stdout)}
    assert rows["posterm-gb18030-80mm"]["gb18030"] is True
    assert (rows["ZJ-5870"]["cutter"], rows["ZJ-5870"]["columns"]) == (False, 32)
    assert rows["default"]["code_pages"] == ["cp437", "cp858"]
    no_url = run(str(BIN / "posterm"), "printer", "status")
    assert no_url.returncode == 64 and "--url is required" in no_url.stderr
