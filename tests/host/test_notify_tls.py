"""E-mail goes over TLS only: a real SMTP server (aiosmtpd) without STARTTLS gets neither
the password nor the customer's mail, and the notification ends failed with the reason;
one with STARTTLS and a certificate of a private CA named in `smtp_ca_file` gets it; the
certificate is verified; `smtp_security = "none"` is the only way to send in clear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host.notify import queue
from posterm.host.notify.channels import ChannelError
from posterm.host.notify.config import NotifyConfig, NotifyConfigError, parse
from posterm.host.notify.promote import promote
from posterm.host.notify.sender import Notifier
from posterm.host.notify.templates import render
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, now_rfc3339
from tests.host.test_notify_parts import BERLIN, REFUND
from tests.support.smtp import SmtpServer, private_ca

ADDRESS = "kunde@example.org"


def notify(smtp: SmtpServer, tmp_path: Path, **extra: str) -> NotifyConfig:
    password = tmp_path / "smtp-password"
    password.write_text("s3cret-pw\n")
    return parse(
        {
            "merchant_name": "Shop",
            "smtp_url": smtp.url,
            "from": "r@shop.example",
            "smtp_user": "refunds",
            "smtp_password_file": str(password),
            **extra,
        }
    )


def queued_refund(store: Store) -> None:
    """One completed refund whose customer gave an e-mail address: one notification due."""
    refund = {"txn_id": "R1", "amount": "12.00", "currency": "EUR", "reason": "goods_returned"}
    request = envelope("pos-a", 1, "refund.requested", {**refund, "state": "in_doubt"})
    contacts = {str(request["event_id"]): {"email": ADDRESS}}
    for env in (
        request,
        envelope("pos-a", 2, "refund.completed", {**refund, "state": "approved"}),
        envelope("pos-a", 3, "receipt.printed", {"txn_id": "R1", "copy": "customer"}),
    ):
        store.ingest([env])
        with store.db.tx() as tx:
            queue.on_new(tx, [env], contacts, now_rfc3339())
    assert promote(store, now_rfc3339()) == 1  # the sender's first step
    assert store.db.rows("SELECT state FROM notifications")[0]["state"] == "queued"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite://{tmp_path / 'host.db'}")
    yield s
    s.close()


@pytest.fixture
def clear_server() -> Iterator[SmtpServer]:
    server = SmtpServer(auth=True).start()  # AUTH offered, no STARTTLS
    yield server
    server.stop()


def test_a_server_without_starttls_gets_neither_password_nor_mail(
    clear_server: SmtpServer, store: Store, tmp_path: Path
) -> None:
    """GIVEN a server that offers AUTH but not STARTTLS and a notification due
    WHEN the sender runs THEN no login and no mail reached the server, and the notification
    is failed (not retried) with a reason that names STARTTLS."""
    queued_refund(store)
    Notifier(store, notify(clear_server, tmp_path)).run_due()
    assert clear_server.logins == [] and clear_server.mailbox.messages == []
    (row,) = store.db.rows("SELECT state, last_error FROM notifications")
    assert row["state"] == "failed" and "STARTTLS" in row["last_error"], row


def test_security_none_is_the_explicit_way_to_send_in_clear(
    clear_server: SmtpServer, tmp_path: Path
) -> None:
    """GIVEN the same server WHEN the config says smtp_security = "none" THEN it is sent."""
    config = notify(clear_server, tmp_path, smtp_security="none")
    assert config.smtp is not None
    config.smtp.send(ADDRESS, render(REFUND, "en", BERLIN), "n-1")
    assert clear_server.logins == [("refunds", "s3cret-pw")]
    assert len(clear_server.mailbox.messages) == 1


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    server = SmtpServer(tls=private_ca(tmp_path / "pki"), auth=True).start()
    yield server, tmp_path / "pki" / "ca.crt"
    server.stop()


@pytest.mark.slow
def test_starttls_with_a_private_ca_sends(
    tls_server: tuple[SmtpServer, Path], store: Store, tmp_path: Path
) -> None:
    """GIVEN a server with STARTTLS and a certificate of a private CA, the CA in
    smtp_ca_file WHEN the sender runs THEN the login and the mail went over TLS: sent."""
    server, ca = tls_server
    queued_refund(store)
    Notifier(store, notify(server, tmp_path, smtp_ca_file=str(ca))).run_due()
    (row,) = store.db.rows("SELECT state, last_error FROM notifications")
    assert row["state"] == "sent", row
    assert server.logins == [("refunds", "s3cret-pw")]
    (mail,) = server.mailbox.messages
    assert mail["To"] == ADDRESS


@pytest.mark.slow
def test_the_certificate_is_verified(tls_server: tuple[SmtpServer, Path], tmp_path: Path) -> None:
    """GIVEN the same server WHEN the config names no CA (the system's do not know it)
    THEN nothing is sent and the error says the certificate is not trusted."""
    server, _ = tls_server
    config = notify(server, tmp_path)
    assert config.smtp is not None
    with pytest.raises(ChannelError, match="certificate not trusted"):
        config.smtp.send(ADDRESS, render(REFUND, "en", BERLIN), "n-1")
    assert server.logins == [] and server.mailbox.messages == []


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"smtp_security": "starttls-if-offered"}, "notify.smtp_security"),
        ({"smtp_security": "none", "smtp_url": "smtps://mail:465"}, "notify.smtp_security"),
    ],
)
def test_smtp_security_is_checked(extra: dict[str, Any], key: str) -> None:
    good = {"merchant_name": "Shop", "smtp_url": "smtp://mail:587", "from": "r@shop.example"}
    assert parse(good).smtp.security == "tls"  # type: ignore[union-attr]
    with pytest.raises(NotifyConfigError) as err:
        parse({**good, **extra})
    assert err.value.key == key
