"""Close the day for a site (`host/sitebatch.py`) on a real store (SQLite and PostgreSQL)
with the broker played by the test: who is sent the command, and each terminal's
progress from its reply (done, failed and why) or its silence (no reply)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host import sitebatch
from posterm.host.config import HostConfig, load
from posterm.host.enrol import codes
from posterm.host.store import Store
from posterm.protocol.mqtt import commands
from tests.host.conftest import pg_cluster, pg_url, store_url  # noqa: F401 (fixtures)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def config(tmp_path: Path) -> HostConfig:
    path = tmp_path / "host.toml"
    path.write_text(
        '[host]\nid = "hq"\nreply_timeout_s = 0.5\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    return load(path)


def test_each_terminal_of_the_site_gets_its_own_progress(store: Store, tmp_path: Path) -> None:
    """GIVEN site north: one that closes its day, one whose PT refuses, one silent, one
    offline; and south's terminal, online
    WHEN the day is closed for north
    THEN the three online ones are each sent a signed batch.close (south's nothing) and
    end done (with the net total), failed (with the terminal's reason) and no reply (the
    command expired unanswered), the offline one is never sent it; every change is told."""
    key = Ed25519PrivateKey.generate()
    for tid in ("a-ok", "b-refuses", "c-silent", "d-offline"):
        codes.new(store, site="north", terminal=tid)
    codes.new(store, site="south", terminal="e-south")
    for tid in ("a-ok", "b-refuses", "c-silent", "e-south"):
        store.saw_status(tid, {"online": True, "session": 1})
    store.saw_status("d-offline", {"online": False, "session": 1})
    sent: dict[str, dict[str, Any]] = {}
    told: list[tuple[str, str]] = []

    def reply(cmd_id: str, tid: str) -> dict[str, Any] | None:
        assert sent[tid]["cmd_id"] == cmd_id
        if tid == "a-ok":
            result = {"txn_id": "E1", "kind": "eod", "amount": "42.50", "currency": "EUR"}
            return commands.reply(cmd_id, result=result)
        if tid == "b-refuses":
            return {"cmd_id": cmd_id, "ok": False, "code": "pt_refused", "error": "PT busy"}
        return None

    cfg = config(tmp_path)
    final = sitebatch.close_site(
        store,
        cfg,
        sitebatch.start(store, cfg, "north"),
        key=key,
        publish=sent.__setitem__,
        reply=reply,
        on_change=lambda p: told.append((p.terminal, p.status)),
    )
    assert sorted(sent) == ["a-ok", "b-refuses", "c-silent"]
    public = key.public_key()
    for tid, envelope in sent.items():  # each signed by the host's key, for that terminal
        issued = datetime.fromisoformat(envelope["issued_at"])
        cmd = commands.parse(
            json.dumps(envelope).encode(), terminal=tid, host_key=public, now=issued
        )
        assert cmd.name == "batch.close"
    by = {p.terminal: p for p in final}
    assert [p.terminal for p in final] == ["a-ok", "b-refuses", "c-silent", "d-offline"]
    assert (by["a-ok"].status, by["a-ok"].net, by["a-ok"].txn_id) == ("done", "42.50", "E1")
    assert by["a-ok"].sentence() == "a-ok: done, batch net 42.50 EUR (E1)"
    assert by["b-refuses"].status == "failed" and by["b-refuses"].why == "PT busy (pt_refused)"
    assert by["c-silent"].status == "no_reply" and "did not answer" in str(by["c-silent"].why)
    assert by["d-offline"].status == "offline" and by["d-offline"].cmd_id is None
    assert ("d-offline", "offline") in told and ("a-ok", "sent") in told
    assert told.index(("a-ok", "sent")) < told.index(("a-ok", "done"))


@pytest.mark.parametrize(
    ("site", "code"),
    [("nowhere", "unknown_terminal"), ("no/rth", "bad_request"), ("", "bad_request")],
)
def test_a_site_with_no_terminal_or_a_bad_name_is_refused(
    store: Store, tmp_path: Path, site: str, code: str
) -> None:
    """GIVEN a terminal at north WHEN another site, or a malformed name, is closed THEN it is
    refused with its code and nothing is planned."""
    codes.new(store, site="north", terminal="a-ok")
    with pytest.raises(sitebatch.SiteBatchError) as caught:
        sitebatch.start(store, config(tmp_path), site)
    assert caught.value.code == code
