"""Fleet operations from posterm-host against a real Mosquitto and the real postermd:
`resolve` settles an in-doubt sale remotely, signed, with the effect of the terminal's own
`posterm resolve`; bad input is refused before anything is sent (exit 65); `eod --site`
closes the day on every terminal of a site at once, with each one's progress."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess

import pytest

from tests.host.test_host import TID, Host, host, rig, unacked  # noqa: F401 (fixtures)
from tests.support import money_rules
from tests.support.broker import Broker, wait_for
from tests.support.fleet import Fleet
from tests.support.rig import Rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def in_doubt_sale(rig: Rig, amount: str) -> str:
    """A sale the PT kept (04 0F acknowledged) whose completion never came, on a PT that
    will not repeat its receipt: in doubt, waiting for the operator."""
    rig.pt.fault("refuse_repeat_receipt")
    rig.pt.fault("drop_before_completion")
    code, error = rig.cli("sale", amount)
    assert code == 1 and error["code"] == "in_doubt", error
    rig.wait_operator()
    return str(error["txn_id"])


def host_in_doubt(host: Host) -> list[str]:
    """The in-doubt transactions the host's fleet view lists for the terminal."""
    code, fleet = host.cli("fleet", "--json")
    assert code == 0
    return [t for row in fleet if row["terminal"] == TID for t in row.get("in_doubt_txns") or []]


def commands_sent(host: Host) -> int:
    db = sqlite3.connect(host.db)
    try:
        return int(db.execute("SELECT COUNT(*) FROM commands").fetchone()[0])
    finally:
        db.close()


def test_resolve_from_the_host_settles_an_in_doubt_sale_as_the_terminal_would(
    rig: Rig, host: Host
) -> None:
    """GIVEN a sale in doubt on a terminal, the PT's journal saying it was charged
    WHEN the back office runs `posterm-host resolve TID TXN charged --by alice`
    THEN the terminal journals it approved (resolved by the host for alice), prints the
    RECOVERED receipt, sells again, and the host sees the outcome; a second resolve, an
    unknown txn and a bad verdict are refused, the last one (exit 65) before anything is
    sent."""
    txn_id = in_doubt_sale(rig, "25.00")
    wait_for(lambda: unacked(rig) == 0, "the in-doubt sale at the host")
    before = commands_sent(host)

    code, bad = host.cli("resolve", TID, txn_id, "maybe", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request" and "charged" in bad["error"]
    code, bad = host.cli("resolve", "pos/+", txn_id, "charged", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request"
    code, bad = host.cli("resolve", TID, "T/../x", "charged", "--by", "alice", "--json")
    assert code == 65 and bad["code"] == "bad_request"
    assert commands_sent(host) == before  # nothing went out
    assert [t["state"] for t in rig.txns()] == ["approved_unconfirmed"]

    code, unknown = host.cli("resolve", TID, "TNOSUCH", "charged", "--by", "alice", "--json")
    assert code == 65 and unknown["code"] == "unknown_txn", unknown

    code, reply = host.cli("resolve", TID, txn_id, "charged", "--by", "alice", "--json")
    assert code == 0 and reply["ok"] and reply["result"]["state"] == "approved", reply
    rig.wait_state("ready")
    (sale,) = rig.txns()
    assert sale["state"] == "approved"
    assert [e["state"] for e in rig.ledger()] == ["booked"]
    (receipt,) = money_rules.receipts_for(rig, txn_id)
    assert "** RECOVERED **" in receipt and "25.00 EUR" in receipt
    recovered = [e for e in rig.events() if e["type"] == "sale.recovered"]
    assert recovered[-1]["data"]["resolved_by"] == "host (alice)"
    wait_for(lambda: not host_in_doubt(host), "the host's fleet without the in-doubt sale")

    code, again = host.cli("resolve", TID, txn_id, "not-charged", "--by", "bob", "--json")
    assert code == 1 and again["code"] == "not_in_doubt", again
    assert rig.cli("sale", "3.00")[0] == 0
    money_rules.check(rig)


def test_resolve_not_charged_from_the_host_writes_the_sale_off_without_a_receipt(
    rig: Rig, host: Host
) -> None:
    """GIVEN a sale in doubt WHEN the host resolves it not-charged THEN the terminal
    journals not_charged, prints nothing for it, and sells again."""
    txn_id = in_doubt_sale(rig, "12.00")
    printed = len(rig.printer.printed())
    code, reply = host.cli("resolve", TID, txn_id, "not-charged", "--by", "bob", "--json")
    assert code == 0 and reply["result"]["state"] == "not_charged", reply
    rig.wait_state("ready")
    assert [t["state"] for t in rig.txns()] == ["not_charged"]
    assert money_rules.receipts_for(rig, txn_id) == []
    assert len(rig.printer.printed()) == printed
    (lost,) = [e for e in rig.events() if e["type"] == "sale.recovered"]
    assert lost["data"]["outcome"] == "not_charged" and lost["data"]["resolved_by"] == "host (bob)"


def fleet_states(host: Host) -> dict[str, str]:
    code, fleet = host.cli("fleet", "--json")
    assert code == 0
    return {row["terminal"]: row["state"] for row in fleet}


@pytest.mark.long
def test_eod_for_a_site_closes_every_terminal_of_it_and_tells_each_ones_progress(
    rig: Rig, host: Host, broker: Broker
) -> None:
    """GIVEN site north: the real terminal (a 12.00 sale today), one never online, one
    online that never answers; and site south's terminal
    WHEN the back office runs `posterm-host eod --site north`
    THEN the real terminal closes its day (its batch net 12.00 EUR in the output, an eod
    journaled), the offline one is not sent anything, the silent one is reported
    unanswered, south's gets nothing, and the exit code says not all closed (1); a site
    with no terminal, a bad site name and both a terminal and a site are refused, nothing
    sent."""
    for tid, site in ((TID, "north"), ("pos-gone", "north"), ("pos-mute", "north")):
        assert host.cli("enroll", "new", "--site", site, "--terminal", tid)[0] == 0
    assert host.cli("enroll", "new", "--site", "south", "--terminal", "pos-south")[0] == 0
    silent = Fleet(broker.port, ["pos-mute", "pos-south"], connections=1, name="silent")
    try:
        silent.birth()  # online, but they never answer a batch.close
        wait_for(
            lambda: (
                fleet_states(host).get("pos-mute") == "online"
                and fleet_states(host).get(TID) == "online"
            ),
            "pos-mute and the terminal online at the host",
        )
        assert rig.cli("sale", "12.00")[0] == 0
        before = commands_sent(host)
        code, bad = host.cli("eod", "--site", "nowhere", "--json")
        assert code == 1 and bad["code"] == "unknown_terminal" and "nowhere" in bad["error"]
        code, bad = host.cli("eod", "--site", "no/rth", "--json")
        assert code == 65 and bad["code"] == "bad_request"
        code, bad = host.cli("eod", TID, "--site", "north", "--json")
        assert code == 65 and bad["code"] == "bad_request"
        assert commands_sent(host) == before

        host.config.write_text(
            host.config.read_text().replace("reply_timeout_s = 20", "reply_timeout_s = 5")
        )
        code, out = host.cli("eod", "--site", "north")
        assert code == 1, out
        lines = out.splitlines()
        assert "pos-gone: offline, not sent: the terminal is offline" in lines
        assert f"{TID}: sent, waiting for its reply" in lines
        assert "pos-mute: sent, waiting for its reply" in lines
        (done,) = [line for line in lines if line.startswith(f"{TID}: done")]
        assert "batch net 12.00 EUR" in done
        (mute,) = [line for line in lines if line.startswith("pos-mute: no reply")]
        assert "did not answer within 5 s" in mute
        assert lines[-1] == "site north: 1 of 3 terminals closed their day"
        assert not any("pos-south" in line for line in lines)
        assert commands_sent(host) == before + 2  # the real one and the silent one
        eods = [t for t in rig.txns() if t["kind"] == "eod"]
        assert [t["state"] for t in eods] == ["approved"]
        assert eods[0]["txn_id"] in done

        code, out = host.cli("eod", "--site", "north", "--json")
        assert code == 1
        by_tid = {t["terminal"]: t for t in out["terminals"]}
        assert out["site"] == "north" and sorted(by_tid) == sorted([TID, "pos-gone", "pos-mute"])
        assert by_tid[TID]["status"] == "done" and by_tid[TID]["net"] == "0.00"
        assert by_tid["pos-gone"]["status"] == "offline"
        assert by_tid["pos-mute"]["status"] == "no_reply"
        assert host.cli("enroll", "new", "--site", "east", "--terminal", "pos-east")[0] == 0
        code, out = host.cli("eod", "--site", "east")  # all offline: nothing to send
        assert code == 1 and out.splitlines() == [
            "pos-east: offline, not sent: the terminal is offline",
            "site east: 0 of 1 terminals closed their day",
        ], out
        code, one = host.cli("eod", TID, "--json")  # one terminal, as before
        assert code == 0 and one["ok"] and one["result"]["kind"] == "eod", one
    finally:
        silent.close()


def _resolve_killed_at(host: Host, step: str, txn_id: str) -> subprocess.CompletedProcess[str]:
    resolve = ["resolve", TID, txn_id, "charged", "--by", "alice", "--json"]
    return subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(host.config), *resolve],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "POSTERM_HOST_CRASH_AT": step},
    )


@pytest.mark.parametrize("step", ["command.recorded", "command.published"])
def test_a_host_resolve_killed_at_each_step_settles_the_sale_once(
    rig: Rig, host: Host, step: str
) -> None:
    """GIVEN a sale in doubt, the PT's journal saying it was charged WHEN `posterm-host
    resolve TID TXN charged` is SIGKILLed at `step` (command stored but not published; or
    published, its reply not read) and the operator runs it again THEN the sale is settled
    once: killed before publishing, the terminal is still in doubt and the second resolve
    settles it; killed after, the terminal settles it anyway and the second resolve is
    refused as not_in_doubt. Either way: one approved sale, one booking, one RECOVERED
    receipt, the money rules hold."""
    txn_id = in_doubt_sale(rig, "25.00")
    wait_for(lambda: unacked(rig) == 0, "the in-doubt sale at the host")
    killed = _resolve_killed_at(host, step, txn_id)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if step == "command.recorded":
        assert [t["state"] for t in rig.txns()] == ["approved_unconfirmed"]
        code, reply = host.cli("resolve", TID, txn_id, "charged", "--by", "alice", "--json")
        assert code == 0 and reply["result"]["state"] == "approved", reply
    else:
        wait_for(lambda: [t["state"] for t in rig.txns()] == ["approved"], "settled anyway")
        code, again = host.cli("resolve", TID, txn_id, "charged", "--by", "alice", "--json")
        assert code == 1 and again["code"] == "not_in_doubt", again
    rig.wait_state("ready")
    assert [t["state"] for t in rig.txns()] == ["approved"]
    assert [e["state"] for e in rig.ledger()] == ["booked"]
    (receipt,) = money_rules.receipts_for(rig, txn_id)
    assert "** RECOVERED **" in receipt
    money_rules.check(rig)
