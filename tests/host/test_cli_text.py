"""`posterm-host`'s human output: every read command prints a table or sentences (never a
Python repr, a dict or `k=v`), an empty result says so, and the exit codes tell a wrong
command line (64) and wrong input (65) from a refusal (1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.host import cli
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from tests.host.test_alert_acks import pt_down
from tests.host.test_alerts import Clock
from tests.host.test_lookup import store  # noqa: F401 (fixture: a store with real envelopes)

LEAKS = ("{", "}", "'", "detail=", "None", "=")
READS = (
    ("fleet",),
    ("alerts",),
    ("alerts", "--open"),
    ("events",),
    ("quarantine",),
    ("webhooks",),
    ("refunds",),
    ("refunds", "--pending"),
    ("refunds", "--stats"),
    ("receipts", "find", "--terminal", "pos-a"),
    ("receipts", "show", "S1"),
)


def _config(tmp_path: Path, store_url: str) -> Path:
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
    )
    return config


def _run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_read_command_prints_tables_and_sentences(
    store: Store,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN a store with sales, refunds, receipts and an open pt_down alert WHEN each read
    command of posterm-host runs without --json THEN exit 0 and its output holds no `{`,
    quote, `detail=`, `None` or `k=v`; the alert's detail reads as words."""
    clock = Clock()
    pt_down(store, Alerter(store, Limits(), clock=clock), clock)
    config = _config(tmp_path, store_url)
    for args in READS:
        code, out, err = _run(config, capsys, *args)
        assert code == 0, (args, err)
        assert out.strip(), args
        leaked = [leak for leak in LEAKS if leak in out]
        assert leaked == [], (args, out)
    code, out, _ = _run(config, capsys, "alerts", "--open")
    assert "SEVERITY" in out.splitlines()[0] and "PT unreachable" in out
    code, out, _ = _run(config, capsys, "receipts", "find", "--terminal", "pos-a")
    assert "AMOUNT" in out and "90.00 EUR" in out and "..0119" in out
    code, out, _ = _run(
        config, capsys, "receipts", "find", "--terminal", "pos-a", "--amount", "1.23"
    )
    assert (code, out) == (0, "no receipts match\n")


def test_empty_results_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN an empty store WHEN each listing runs THEN exit 0 and one sentence that says
    nothing matched (not an empty screen)."""
    config = _config(tmp_path, f"sqlite://{tmp_path / 'empty.db'}")
    for args, sentence in (
        (("fleet",), "no terminals yet"),
        (("alerts",), "no alerts"),
        (("alerts", "--open"), "no open alerts"),
        (("events",), "no events match"),
        (("quarantine",), "no quarantined messages"),
        (("webhooks",), "no webhook deliveries"),
        (("refunds",), "no refunds yet"),
        (("refunds", "--pending"), "no refunds await approval"),
    ):
        assert _run(config, capsys, *args)[:2] == (0, sentence + "\n"), args


def test_exit_codes_usage_64_input_65(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN posterm-host WHEN the command line is wrong (unknown command, missing
    argument, bad choice) THEN exit 64 with the usage on stderr; WHEN its input is wrong
    (a bad amount, an unknown transaction) THEN exit 65 naming it; nothing is printed on
    stdout for either."""
    config = _config(tmp_path, f"sqlite://{tmp_path / 'h.db'}")
    for args in (("nosuch",), ("receipts", "show"), ("webhooks", "--state", "lost")):
        with pytest.raises(SystemExit) as done:
            cli.main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        assert (done.value.code, out) == (64, ""), args
        assert "usage:" in err
    code, out, err = _run(config, capsys, "receipts", "find", "--terminal", "a", "--amount", "x")
    assert (code, out) == (65, "") and "--amount" in err
    code, out, err = _run(config, capsys, "receipts", "show", "TNOSUCH")
    assert (code, out) == (65, "") and "unknown_txn" in err
