"""`[public]` of posterm-host's config, `posterm-host public init | link-key`, and the
enrolment reply's `refund_link`: the master key made once (0600), a terminal's link key
the one the host verifies with, bad input refused with the key named."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host.cli import main
from posterm.host.config import HostConfigError, load
from posterm.host.delivery.process import outboxes
from posterm.host.enrol import EnrolError, ca, codes, grant
from posterm.host.notify.templates import FactsError, Refund
from posterm.host.store import Store
from posterm.protocol import refundlink
from posterm.protocol.mqtt import commands
from tests.host.test_enrol import csr

HOST = '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'


def public(tmp_path: Path, extra: str = "") -> str:
    return (
        f'[public]\nurl = "https://refunds.example.net/"\nmerchant_name = "Café Beispiel"\n'
        f'merchant_contact = "+49 30 1234567"\nkey_file = "{tmp_path / "link.key"}"\n{extra}'
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_public_section_defaults_and_values(tmp_path: Path) -> None:
    """GIVEN [public] with url, merchant and key file WHEN loaded THEN the defaults are
    link_days 60, arrival_days (3, 10), refresh_s (20, 300), no listen; the URL loses its
    trailing slash; no [public]: None."""
    config = load(write(tmp_path, HOST + public(tmp_path, 'listen = "127.0.0.1:8090"\n')))
    assert config.public is not None
    assert config.public.url == "https://refunds.example.net"
    assert (config.public.link_days, config.public.arrival_days) == (60, (3, 10))
    assert config.public.listen == "127.0.0.1:8090"
    assert config.public.refresh_s == (20, 300)
    assert load(write(tmp_path, HOST)).public is None


@pytest.mark.parametrize(
    ("extra", "key", "why"),
    [
        ("arrival_days = [10, 3]\n", "public.arrival_days", "FROM <= TO"),
        ("arrival_days = [3]\n", "public.arrival_days", ""),
        ('listen = "nowhere"\n', "public.listen", "HOST:PORT"),
        ("link_days = 0\n", "public.link_days", "1-3650"),
        ("refresh_s = [1, 300]\n", "public.refresh_s[0]", "2-3600"),
        ("refresh_s = [20]\n", "public.refresh_s", ""),
        ("refresh_s = [5, 300]\n", "public.refresh_s", "rate_per_minute (30)"),
        ("rate_per_minute = 8\n", "public.refresh_s", "reload less often"),
        ('timezone = "Mars/Base"\n', "public.timezone", "IANA"),
        ('forwarded_allow_ips = ["proxy"]\n', "public.forwarded_allow_ips", "IP address"),
        ("colour = 1\n", "public.colour", "unknown key"),
    ],
)
def test_bad_public_values_are_refused_with_the_key(
    tmp_path: Path, extra: str, key: str, why: str
) -> None:
    """GIVEN a bad [public] value WHEN loaded THEN HostConfigError names the file and key."""
    with pytest.raises(HostConfigError) as err:
        load(write(tmp_path, HOST + public(tmp_path, extra)))
    assert err.value.key == key and why in err.value.why


def test_a_missing_url_is_refused(tmp_path: Path) -> None:
    """GIVEN [public] without url WHEN loaded THEN public.url is required."""
    text = HOST + '[public]\nmerchant_name = "S"\nmerchant_contact = "C"\n'
    with pytest.raises(HostConfigError) as err:
        load(write(tmp_path, text))
    assert err.value.key == "public.url"


def test_public_init_makes_the_key_once_and_link_key_prints_the_terminals_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN [public] WHEN `public init` runs THEN a 32-byte key 0600 is written; again: exit
    1, the key unchanged; `public link-key pos-7` prints terminal_key(master, pos-7) in hex;
    a bad terminal id exits 2."""
    argv = ["--config", str(write(tmp_path, HOST + public(tmp_path))), "public"]
    key_file = tmp_path / "link.key"
    assert main([*argv, "link-key", "pos-7"]) == 1  # no key yet
    assert "public init" in capsys.readouterr().err
    assert main([*argv, "init"]) == 0
    master = key_file.read_bytes()
    assert len(master) == 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert main([*argv, "init"]) == 1
    assert key_file.read_bytes() == master
    capsys.readouterr()
    assert main([*argv, "link-key", "pos-7"]) == 0
    assert capsys.readouterr().out.strip() == refundlink.terminal_key(master, "pos-7").hex()
    assert main([*argv, "link-key", "pos 7"]) == 2
    key_file.chmod(0o644)
    assert main([*argv, "link-key", "pos-7"]) == 1
    assert "chmod 600" in capsys.readouterr().err


def test_public_commands_without_public_section_exit_2(tmp_path: Path) -> None:
    """GIVEN no [public] WHEN `public init` runs THEN exit 2 and no key file."""
    assert main(["--config", str(write(tmp_path, HOST)), "public", "init"]) == 2


def test_the_enrolment_reply_carries_the_terminals_refund_link(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN [public] and its key WHEN a terminal enrols THEN the reply's refund_link has its
    link key (hex) and the base URL; a token it mints verifies with the master key. Without
    the key file: refused 503 and the code stays usable."""
    key = tmp_path / "host.pem"
    key.write_bytes(commands.private_pem(Ed25519PrivateKey.generate()))
    path = write(
        tmp_path,
        HOST
        + f'[store]\nurl = "{store_url}"\n[keys]\nprivate_key = "{key}"\n'
        + f'[enrol]\nca_dir = "{tmp_path / "ca"}"\nbroker_url = "mqtts://b.example:8883"\n'
        + public(tmp_path),
    )
    config = load(path)
    ca.init(config.enrol.ca_dir)
    store = Store(config.store_url)
    try:
        made = codes.new(store, site="shop1")
        with pytest.raises(EnrolError) as err:
            grant.enrol(config, store, {"code": made.code, "csr": csr()})
        assert err.value.status == 503
        assert main(["--config", str(path), "public", "init"]) == 0
        answer = grant.enrol(config, store, {"code": made.code, "csr": csr()})
        link = answer["refund_link"]
        assert link["url"] == "https://refunds.example.net"
        token = refundlink.mint(bytes.fromhex(link["key"]), "shop1-0001", "R-1", 2_000_000_000)
        master = (tmp_path / "link.key").read_bytes()
        assert refundlink.verify(master, token, 1_900_000_000).terminal_id == "shop1-0001"
    finally:
        store.close()


def test_the_refund_message_carries_the_status_link(tmp_path: Path) -> None:
    """GIVEN [notify] and [public] with its key, and a refund's notification queued WHEN the
    message is rendered THEN its text, HTML and SMS carry {url}/r/TOKEN, and the token
    verifies for that terminal and refund until link_days after the outcome; a link that is
    not a status link is refused as a fact."""
    text = HOST + public(tmp_path) + '[notify]\nmerchant_name = "S"\n[notify.sms]\n'
    text += 'url = "https://sms.example/x"\nbody = { to = "$to", text = "$text" }\n'
    config = load(write(tmp_path, text))
    assert main(["--config", str(config.path), "public", "init"]) == 0
    (box,) = outboxes(config, None)  # type: ignore[arg-type]
    facts = {
        "outcome": "completed",
        "amount": "12.50",
        "currency": "EUR",
        "reason": "other",
        "at": "2026-03-06T10:00:05+00:00",
        "card": "411111******1111",
        "reference": "R-1",
    }
    row = {"facts": json.dumps(facts), "lang": "en", "terminal": "pos-7"}
    message = box.message(row)  # type: ignore[attr-defined]
    link = message.sms.split()[-1]
    assert link.startswith("https://refunds.example.net/r/")
    assert link in message.text and f'href="{link}"' in message.html
    master = (tmp_path / "link.key").read_bytes()
    claim = refundlink.verify(master, link.rsplit("/", 1)[1], 1_772_791_205)
    assert (claim.terminal_id, claim.txn_id, claim.expires) == (
        "pos-7",
        "R-1",
        1_772_791_205 + 60 * 86400,
    )
    with pytest.raises(FactsError):
        Refund(**{**_refund_fields(), "link": "https://evil.example/claim"})


def _refund_fields() -> dict[str, object]:
    return {
        "outcome": "completed",
        "merchant": "S",
        "amount": "1.00",
        "currency": "EUR",
        "at": datetime(2026, 3, 6, tzinfo=UTC),
        "reason": "other",
        "card": "",
        "reference": "R-1",
    }
