"""A terminal must not speak for another (issue 19): at the host a transaction is named by
(terminal, txn_id). Lookups, approvals, contacts and notifications keep two terminals'
same id apart; a command reply counts only from the terminal the command went to. Unit
tests on both databases; the CLI's approval through a real Mosquitto to fake terminals."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host import cli, lookup
from posterm.host.notify import queue
from posterm.host.notify.promote import promote
from posterm.host.store import Store
from posterm.protocol.mqtt import commands, topics
from posterm.protocol.mqtt.events import envelope, now_rfc3339
from tests.host.test_service import service
from tests.support.broker import Broker, wait_for

PAN = "476173******0119"
MONEY = {"currency": "EUR", "masked_pan": PAN, "card_name": "VISA"}


class Events:
    """Envelopes as terminals send them, seq per terminal, stored through `Store.ingest`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq: dict[str, int] = {}

    def make(self, tid: str, type_: str, **data: Any) -> dict[str, Any]:
        self.seq[tid] = self.seq.get(tid, 0) + 1
        return envelope(tid, self.seq[tid], type_, data)

    def __call__(self, tid: str, type_: str, **data: Any) -> None:
        self.store.ingest([self.make(tid, type_, **data)])


def two_terminals_one_id(store: Store) -> None:
    """pos-a's sale S1 (printed) and refund R7 awaiting approval; pos-b, a terminal that
    lies, tells of a refund R7 of its own and a `receipt.printed` for pos-a's S1."""
    ev = Events(store)
    ev("pos-a", "sale.approved", txn_id="S1", kind="sale", amount="90.00", **MONEY)
    ev(
        "pos-a",
        "receipt.printed",
        receipt_id=1,
        txn_id="S1",
        copy="customer",
        mark="original",
        lines=["SALE", "90.00 EUR"],
    )
    ev(
        "pos-a",
        "refund.requested",
        txn_id="R7",
        kind="refund",
        amount="70.00",
        currency="EUR",
        ref_txn="S1",
        reason="goods_returned",
        state="awaiting_approval",
    )
    ev(
        "pos-b",
        "receipt.printed",
        receipt_id=1,
        txn_id="S1",
        copy="customer",
        mark="original",
        lines=["FAKE", "0.01 EUR"],
    )
    ev(
        "pos-b",
        "refund.requested",
        txn_id="R7",
        kind="refund",
        amount="999.00",
        currency="EUR",
        ref_txn="S1",
        reason="other",
        state="awaiting_approval",
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    two_terminals_one_id(s)
    yield s
    s.close()


def test_a_receipt_another_terminal_told_of_is_not_the_transactions(store: Store) -> None:
    """GIVEN pos-b's fake `receipt.printed` for pos-a's sale S1 WHEN the sale is shown or
    found THEN its receipt is pos-a's, not pos-b's."""
    shown = lookup.show(store, "S1")
    assert shown["terminal"] == "pos-a" and shown["receipt"]["lines"] == ["SALE", "90.00 EUR"]
    (found,) = lookup.find(store, "pos-a", amount="90.00")
    assert found["receipt"]["lines"] == ["SALE", "90.00 EUR"]


def test_an_id_two_terminals_used_is_refused_without_the_terminal(store: Store) -> None:
    """GIVEN refund R7 told by pos-a and by pos-b WHEN it is looked up without a terminal
    THEN it is refused, naming both; with one, that terminal's; with a terminal that did
    not tell of it: unknown."""
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.refund_terminal(store, "R7")
    assert err.value.code == "ambiguous_txn" and err.value.status == 1
    assert "pos-a, pos-b" in err.value.message
    assert lookup.refund_terminal(store, "R7", "pos-a") == "pos-a"
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.refund_terminal(store, "R7", "pos-c")
    assert err.value.code == "unknown_txn"
    Events(store)("pos-b", "sale.approved", txn_id="S1", kind="sale", amount="0.01", **MONEY)
    with pytest.raises(lookup.LookupFailed) as err:
        lookup.show(store, "S1")
    assert err.value.code == "ambiguous_txn" and "pos-a, pos-b" in err.value.message
    assert lookup.show(store, "S1", "pos-a")["amount"] == "90.00"
    assert lookup.show(store, "S1", "pos-b")["receipt"]["lines"] == ["FAKE", "0.01 EUR"]


def test_the_cli_refuses_an_ambiguous_id_saying_which_terminals(
    store: Store, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN R7 of pos-a and pos-b WHEN `approve R7`, `reject R7`, `receipts show S1` run
    without --terminal (S1 of both too) THEN exit 65 (EX_DATAERR), naming both terminals;
    nothing sent."""
    Events(store)("pos-b", "sale.approved", txn_id="S1", kind="sale", amount="0.01", **MONEY)
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
    )
    for args in (
        ("approve", "R7"),
        ("reject", "R7"),
        ("receipts", "show", "S1"),
        ("approve", "R7", "--terminal", "pos-c"),
    ):
        code = cli.main(["--config", str(config), *args, "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 65 and out["ok"] is False, (args, out)
        if "pos-c" in args:
            assert out["code"] == "unknown_txn", out
        else:
            assert out["code"] == "ambiguous_txn" and "pos-a, pos-b" in out["error"], out
    code = cli.main(
        ["--config", str(config), "receipts", "show", "S1", "--terminal", "pos-a", "--json"]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["amount"] == "90.00"
    assert store.db.rows("SELECT cmd_id FROM commands") == []


def test_a_reply_counts_only_from_the_terminal_the_command_went_to(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a command sent to pos-a WHEN pos-b replies to its cmd_id on pos-b's reply topic,
    and a reply comes to a command the host never sent THEN neither is stored (the first
    logged as a warning); pos-a's own reply is."""
    svc = service(tmp_path, store_url)
    svc.store.sent_command("c-1", "pos-a", "refund.approve")
    hijack = {"cmd_id": "c-1", "ok": True, "result": {"state": "approved"}}
    svc.inbox.put((topics.terminal("pos-b", "reply"), json.dumps(hijack).encode()))
    svc.inbox.put((topics.terminal("pos-b", "reply"), b'{"cmd_id": "c-never", "ok": true}'))
    with caplog.at_level(logging.INFO, logger="posterm.host"):
        svc._round()
    assert svc.store.reply("c-1") is None and svc.store.reply("c-never") is None
    assert any(
        r.levelno == logging.WARNING
        and "pos-b replied to command c-1, which went to pos-a" in r.getMessage()
        for r in caplog.records
    )
    svc.inbox.put(
        (
            topics.terminal("pos-a", "reply"),
            b'{"cmd_id": "c-1", "ok": false, "code": "not_awaiting"}',
        )
    )
    svc._round()
    assert svc.store.reply("c-1", "pos-a") == {"cmd_id": "c-1", "ok": False, "code": "not_awaiting"}
    assert svc.store.reply("c-1", "pos-b") is None
    svc.store.close()


def test_two_terminals_refunds_of_one_id_each_keep_their_contact_and_notification(
    store_url: str,
) -> None:
    """GIVEN pos-a and pos-b each with a refund R5 and its customer's contact WHEN both
    complete THEN each terminal's refund has its own notification to its own customer (one
    id did not overwrite or drop the other's)."""
    s = Store(store_url)
    ev = Events(s)
    try:
        for tid, who in (("pos-a", "anna@example.org"), ("pos-b", "bert@example.org")):
            request = ev.make(
                tid,
                "refund.requested",
                txn_id="R5",
                kind="refund",
                amount="5.00",
                currency="EUR",
                reason="wrong_amount",
                state="in_doubt",
                notify={"email": who, "lang": "en"},
            )
            contacts, _ = queue.take_contacts([request])
            done = ev.make(
                tid,
                "refund.completed",
                txn_id="R5",
                kind="refund",
                amount="5.00",
                state="approved",
                **MONEY,
            )
            s.ingest(
                [request, done],
                on_new=lambda tx, envs, c=contacts: queue.on_new(  # type: ignore[misc]
                    tx, envs, c, now_rfc3339()
                ),
            )
        assert promote(s, now_rfc3339()) == 2  # the sender's, once final
        rows = s.db.rows("SELECT terminal, txn_id, contact FROM notifications ORDER BY terminal")
        assert [(r["terminal"], r["txn_id"], r["contact"]) for r in rows] == [
            ("pos-a", "R5", "anna@example.org"),
            ("pos-b", "R5", "bert@example.org"),
        ]
    finally:
        s.close()


class FakeTerminals:
    """Terminals on a real broker: each records the commands on its `cmd` topic and replies
    to them with `answer(tid, command)` (None: no reply)."""

    def __init__(self, broker: Broker, tids: list[str], answer: Any) -> None:
        self.got: dict[str, list[dict[str, Any]]] = {tid: [] for tid in tids}
        self.answer = answer
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="fake-terminals",
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(topics.terminal(tid, "cmd"), 1) for tid in tids]
        )
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.ready.wait(10), "the fake terminals subscribed"

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        tid, _ = topics.split(message.topic)
        command = json.loads(message.payload)
        with self.lock:
            self.got[tid].append(command)
        for replier, reply in self.answer(tid, command):
            client.publish(topics.terminal(replier, "reply"), json.dumps(reply), qos=1)

    def commands(self, tid: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.got[tid])

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.mark.slow
def test_the_cli_approval_goes_to_the_named_terminal_and_only_its_reply_counts(
    tmp_path: Path, broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN R7 of pos-a and of pos-b (pos-b lying) on a real broker WHEN `approve R7
    --terminal pos-a` THEN only pos-a gets the signed `refund.approve` and its reply is the
    answer; WHEN pos-b (reading pos-a's commands) answers one first on its own reply topic
    and pos-a stays silent THEN the CLI says no reply (exit 1); AND WHEN pos-a's only reply
    does not fit the reply schema (a field it does not declare) THEN it does not count."""
    url = f"sqlite://{tmp_path / 'host.db'}"
    store = Store(url)
    two_terminals_one_id(store)
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\nreply_timeout_s = 3\n[mqtt]\nurl = "{broker.url}"\n'
        f'[store]\nurl = "{url}"\n[keys]\nprivate_key = "{tmp_path / "k.key"}"\n'
    )
    assert cli.main(["--config", str(config), "keygen"]) == 0
    capsys.readouterr()
    silent = {"pos-a": False, "malformed": False}

    def answer(tid: str, cmd: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        reply = commands.reply(cmd["cmd_id"], result={"state": "approved"})
        if silent["malformed"]:
            return [(tid, {**reply, "redirect": "https://evil.example/"})]
        if silent["pos-a"]:  # pos-b answers for pos-a
            return [("pos-b", reply)]
        return [(tid, reply)]

    fake = FakeTerminals(broker, ["pos-a", "pos-b"], answer)
    try:
        code = cli.main(
            [
                "--config",
                str(config),
                "approve",
                "R7",
                "--terminal",
                "pos-a",
                "--by",
                "alice",
                "--json",
            ]
        )
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["ok"] is True and out["result"]["state"] == "approved", out
        (sent,) = fake.commands("pos-a")
        assert sent["name"] == "refund.approve" and sent["args"]["txn"] == "R7"
        assert "sig" in sent and fake.commands("pos-b") == []
        assert [
            (r["cmd_id"], r["terminal"])
            for r in store.db.rows("SELECT cmd_id, terminal FROM commands")
        ] == [(sent["cmd_id"], "pos-a")]

        silent["pos-a"] = True
        code = cli.main(["--config", str(config), "approve", "R7", "--terminal", "pos-a", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 1 and out["code"] == "no_reply", out
        wait_for(lambda: len(fake.commands("pos-a")) == 2, "the second command at pos-a")

        silent["malformed"] = True
        code = cli.main(["--config", str(config), "approve", "R7", "--terminal", "pos-a", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 1 and out["code"] == "no_reply", out
        wait_for(lambda: len(fake.commands("pos-a")) == 3, "the third command at pos-a")
    finally:
        fake.close()
        store.close()
