"""`posterm enroll` and the refund status link (issue 24): an enrolment answer carrying
`refund_link: {key, url}` gives the terminal a 0640 key file and a `[refund_link]` that
postermd's loader accepts; none gives none; a malformed one is refused before anything is
written. The back office is an HTTP server in this process answering as
host/enrol/grant.py does (the real one: tests/host/test_enrol_e2e.py)."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.daemon import statuslink
from posterm.daemon.config import load_config
from posterm.daemon.control.cli import main
from posterm.protocol import refundlink

MASTER = bytes(range(32))
TID = "shop-0001"


def answer(**more: Any) -> dict[str, Any]:
    public = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "ok": True,
        "terminal": TID,
        "site": "shop",
        "tags": [],
        "client_cert": "-----BEGIN CERTIFICATE-----\n(test)\n-----END CERTIFICATE-----\n",
        "ca_cert": "-----BEGIN CERTIFICATE-----\n(test ca)\n-----END CERTIFICATE-----\n",
        "broker_url": "mqtts://broker.shop.test:8883",
        "host_public_key": public,
        **more,
    }


class BackOffice:
    """POST /api/enroll answers `reply` (as JSON, 200)."""

    def __init__(self) -> None:
        self.reply: dict[str, Any] = answer()
        office = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                body = json.dumps(office.reply).encode()
                self.send_response(200 if self.path == "/api/enroll" else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def office() -> Iterator[BackOffice]:
    served = BackOffice()
    yield served
    served.server.shutdown()
    served.server.server_close()


def enroll(office: BackOffice, etc: Path) -> int:
    return main(["enroll", office.url, "CODE", "--config-dir", str(etc), "--json"])


def test_an_answer_with_a_refund_link_configures_it(tmp_path: Path, office: BackOffice) -> None:
    """GIVEN a back office whose answer carries refund_link {key: terminal key of MASTER,
    url} WHEN `posterm enroll` runs THEN exit 0; DIR/refund-link.key is 0640 and holds the
    key; posterm.toml loads with [refund_link] url and that key file (link_days 60), and a
    link minted from it verifies under MASTER for this terminal."""
    key = refundlink.terminal_key(MASTER, TID)
    office.reply = answer(refund_link={"key": key.hex(), "url": "https://refunds.shop.test"})
    etc = tmp_path / "etc"
    assert enroll(office, etc) == 0
    key_file = etc / "refund-link.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o640
    config = load_config(etc / "posterm.toml")
    assert config.refund_link is not None
    assert (config.refund_link.url, config.refund_link.key_file) == (
        "https://refunds.shop.test",
        key_file,
    )
    assert config.refund_link.link_days == 60
    links = statuslink.from_config(config)
    assert links is not None
    link = links.for_refund("TREFUND0001", "2026-03-01T10:00:00.000Z")
    token = link.removeprefix("https://refunds.shop.test/r/")
    claim = refundlink.verify(MASTER, token, now=1772359200)
    assert (claim.terminal_id, claim.txn_id) == (TID, "TREFUND0001")


def test_enrolling_again_keeps_the_links_lifetime(tmp_path: Path, office: BackOffice) -> None:
    """GIVEN a posterm.toml whose [refund_link] has link_days = 30 WHEN enrolled again with
    a refund_link THEN the URL and key file are the answer's, link_days stays 30."""
    etc = tmp_path / "etc"
    office.reply = answer(refund_link={"key": "ab" * 32, "url": "https://old.shop.test"})
    assert enroll(office, etc) == 0
    toml = etc / "posterm.toml"
    toml.write_text(toml.read_text().replace('"https://old.shop.test"', '"x"\nlink_days = 30'))
    office.reply = answer(refund_link={"key": "cd" * 32, "url": "https://new.shop.test"})
    assert enroll(office, etc) == 0
    config = load_config(toml)
    assert config.refund_link is not None
    assert (config.refund_link.url, config.refund_link.link_days) == ("https://new.shop.test", 30)
    assert statuslink.read_key(config.refund_link.key_file) == bytes.fromhex("cd" * 32)


def test_an_answer_without_a_refund_link_configures_none(
    tmp_path: Path, office: BackOffice
) -> None:
    """GIVEN an answer without refund_link (the host serves no page) WHEN enrolled THEN
    no [refund_link] and no key file: vouchers without a link."""
    etc = tmp_path / "etc"
    assert enroll(office, etc) == 0
    assert load_config(etc / "posterm.toml").refund_link is None
    assert not (etc / "refund-link.key").exists()


@pytest.mark.parametrize(
    ("link", "said"),
    [
        ("https://r.shop.test", "not an object"),
        ({"key": "ab" * 31, "url": "https://r.shop.test"}, "refund_link.key"),
        ({"key": "xy" * 32, "url": "https://r.shop.test"}, "refund_link.key"),
        ({"key": "ab" * 32}, "refund_link.url"),
        ({"key": "ab" * 32, "url": "ftp://r.shop.test"}, "refund_link.url"),
    ],
)
def test_a_malformed_refund_link_is_refused_and_nothing_is_written(
    tmp_path: Path, office: BackOffice, capsys: pytest.CaptureFixture[str], link: Any, said: str
) -> None:
    """GIVEN an answer whose refund_link is no object, has a short or non-hex key, no URL
    or a non-http one WHEN `posterm enroll --json` runs THEN exit 1, the error names the
    field, and the config dir stays empty."""
    office.reply = answer(refund_link=link)
    etc = tmp_path / "etc"
    assert enroll(office, etc) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and said in out["error"]
    assert not etc.exists() or not any(etc.rglob("*"))


def test_a_refund_link_postermd_would_refuse_is_not_written(
    tmp_path: Path, office: BackOffice, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a refund_link URL with a query (the loader refuses it) WHEN enrolled THEN exit
    1 saying the config would not load, naming refund_link.url; no posterm.toml."""
    office.reply = answer(refund_link={"key": "ab" * 32, "url": "https://r.shop.test/?a=1"})
    etc = tmp_path / "etc"
    assert enroll(office, etc) == 1
    assert "refund_link.url" in json.loads(capsys.readouterr().out)["error"]
    assert not (etc / "posterm.toml").exists()
