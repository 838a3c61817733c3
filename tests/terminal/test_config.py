"""postermd's config: typed, ranged, unknown keys refused with the key and the file named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from posterm.daemon.config import ConfigError, load_config
from tests.daemon.test_config import MINIMAL
from tests.daemon.test_config import write as _write
from tests.support.sim import BIN

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    config = load_config(ROOT / "systemd" / "posterm.toml.example")
    assert config.terminal.currency == "EUR"
    assert config.refunds.approval_limit == 5000


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.printer.columns == 42 and config.sales.max_amount == 100000
    assert config.payment.password == "000000"


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[printer2]\nx = 1", "printer2"),
        ('[sales]\nmax_amout = "10.00"', "sales.max_amout"),
        ("[sales]\nmax_amount = 10", "sales.max_amount"),
        ('[sales]\nmax_amount = "1.234"', "sales.max_amount"),
        ("[refunds]\nwindow_days = 0", "refunds.window_days"),
        ("[panel]\nconfirm_pin = 40", "panel.confirm_pin"),
        ("[panel]\nconfirm_pin = 6", "panel"),
        ('[logging]\nlevel = "loud"', "logging.level"),
        ("[refunds]\nunreferenced = 1", "refunds.unreferenced"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path: Path, extra: str, key: str) -> None:
    path = _write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and f"{key}:" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('id = "pos-1"', 'id = "pos 1!"', "terminal.id"),
        ('url = "tcp://127.0.0.1:20007"', 'url = "http://x"', "payment.url"),
        ('url = "tcp://127.0.0.1:9100"', 'url = "lpt1"', "printer.url"),
        ('id = "pos-1"', 'id = "pos-1"\ncurrency = "XXX"', "terminal.currency"),
    ],
)
def test_bad_required_values(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(_write(tmp_path, MINIMAL.replace(old, new)))


def test_missing_section_and_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="payment: required"):
        load_config(_write(tmp_path, '[terminal]\nid = "a"\n[printer]\nurl = "tcp://h:1"\n'))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_postermd_refuses_a_bad_config_naming_key_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "[printer2]\n")
    proc = subprocess.run([str(BIN / "postermd"), "--config", str(path)],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and str(path) in proc.stderr and "printer2" in proc.stderr


def test_postermd_start_failure_is_a_clear_exit_not_a_traceback(tmp_path: Path) -> None:
    """A control socket path taken by a plain file: postermd says so and exits 1; the
    file is left alone and the journal it opened is closed cleanly (reopenable)."""
    taken = tmp_path / "control.sock"
    taken.write_text("not a socket")
    journal = tmp_path / "journal.db"
    text = MINIMAL + f'[journal]\npath = "{journal}"\n[control]\nsocket = "{taken}"\n'
    path = _write(tmp_path, text)
    proc = subprocess.run([str(BIN / "postermd"), "--config", str(path)],
                          capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "control socket" in proc.stderr and "Traceback" not in proc.stderr
    assert taken.read_text() == "not a socket"
    assert journal.exists() and not Path(f"{journal}-wal").exists()
