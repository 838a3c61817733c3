"""posterm-host's loop without a broker (paho queues what it is asked to publish; the test
reads it off `publish`): a store that cannot reach its database is tried again and acks
only after its commit, a message the database refuses costs only itself, and a shared
process asks a gap back only when it is still in the database after the grace."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from posterm.host.config import load
from posterm.host.service import HostService
from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.support.fleet import txn_data

TID = "pos-a"
EVENTS = topics.terminal(TID, "events")


def service(tmp_path: Path, store_url: str, share_group: str | None = None) -> HostService:
    config = tmp_path / "host.toml"
    share = f'share_group = "{share_group}"\n' if share_group else ""
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n{share}'
        f'[store]\nurl = "{store_url}"\n'
    )
    svc = HostService(load(config), Store(store_url), instance="1" if share_group else None)
    svc.published = []  # type: ignore[attr-defined]
    svc.client.publish = lambda topic, payload, **kw: svc.published.append(  # type: ignore[method-assign, attr-defined]
        (topic, json.loads(payload))
    )
    return svc


def acked(svc: HostService) -> list[str]:
    return [
        i
        for t, p in svc.published
        if t.endswith("/ack")  # type: ignore[attr-defined]
        for i in p["event_ids"]
    ]


def resends(svc: HostService) -> list[int]:
    return [
        p["args"]["from_seq"]
        for t, p in svc.published  # type: ignore[attr-defined]
        if t.endswith("/cmd") and p["name"] == "resend"
    ]


def test_a_store_that_cannot_reach_its_database_is_tried_again_and_acks_after(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = service(tmp_path, store_url)
    ingest, fails = svc.store.ingest, [2]

    def flaky(*args: Any, **kw: Any) -> Any:
        if fails[0]:
            fails[0] -= 1
            assert acked(svc) == []  # nothing acked while the store fails
            raise StoreError("connection refused", transient=True)
        return ingest(*args, **kw)

    svc.store.ingest = flaky  # type: ignore[method-assign]
    evs = [envelope(TID, n, "sale.approved", txn_data(f"T{n}")) for n in (1, 2)]
    for env in evs:
        svc.inbox.put((EVENTS, json.dumps(env).encode()))
    with caplog.at_level(logging.INFO, logger="posterm.host"):
        svc._round()
    assert fails[0] == 0 and sorted(acked(svc)) == sorted(e["event_id"] for e in evs)
    logged = [r.getMessage() for r in caplog.records]
    assert sum("store failed" in m for m in logged) == 1  # once per error, not per try
    assert any("the store is back" in m for m in logged)
    svc.store.close()


def test_a_message_the_database_refuses_costs_only_itself(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    svc = service(tmp_path, store_url)
    saw_reply = svc.store.saw_reply

    def refusing(tid: str, reply: dict[str, Any]) -> None:
        if reply.get("cmd_id") == "poison":
            raise StoreError("value out of range", transient=False)
        saw_reply(tid, reply)

    svc.store.saw_reply = refusing  # type: ignore[method-assign]
    svc.store.sent_command("fine", TID, "ping")  # only replies to commands sent are kept
    evs = [envelope(TID, n, "sale.approved", txn_data(f"T{n}")) for n in (1, 2)]
    svc.inbox.put((EVENTS, json.dumps(evs[0]).encode()))
    svc.inbox.put((topics.terminal(TID, "reply"), b'{"cmd_id": "poison", "ok": true}'))
    svc.inbox.put((topics.terminal(TID, "reply"), b'{"cmd_id": "fine", "ok": true}'))
    svc.inbox.put((EVENTS, json.dumps(evs[1]).encode()))
    with caplog.at_level(logging.INFO, logger="posterm.host"):
        svc._round()
    assert sorted(acked(svc)) == sorted(e["event_id"] for e in evs)
    assert svc.store.reply("fine") is not None and svc.store.reply("poison") is None
    assert any("quarantined" in r.getMessage() for r in caplog.records)
    svc.store.close()


def test_a_shared_process_asks_a_gap_back_only_if_it_stays(tmp_path: Path, store_url: str) -> None:
    svc = service(tmp_path, store_url, share_group="posterm")
    evs = [envelope(TID, n, "sale.approved", txn_data(f"T{n}")) for n in range(1, 6)]
    for n in (0, 2):  # seq 1 and 3 here; seq 2 went to the other process
        svc.inbox.put((EVENTS, json.dumps(evs[n]).encode()))
    svc._round()
    assert resends(svc) == []  # seen, not asked yet
    other = Store(store_url)
    other.ingest([evs[1]])  # the other process commits seq 2
    svc.gaps.open = {t: (g, s - 5) for t, (g, s) in svc.gaps.open.items()}  # the grace is over
    svc._round()
    assert resends(svc) == [] and svc.gaps.open == {}
    for n in (4,):  # seq 5; seq 4 lost with a process that died
        svc.inbox.put((EVENTS, json.dumps(evs[n]).encode()))
    svc._round()
    assert resends(svc) == []
    svc.gaps.open = {t: (g, s - 5) for t, (g, s) in svc.gaps.open.items()}
    svc._round()
    assert resends(svc) == [4]
    other.close()
    svc.store.close()
