"""A renewed certificate the broker refuses: the pair before the renewal (*.old) goes back
in place (certfiles.fall_back), but only after FALL_BACK_AFTER refusals in a row since the
renewal, never on a refusal of a certificate the broker took before, and never with an old
certificate that is no longer valid. The renewal against a stand-in back office (an HTTP
server here signing the CSR); against a real posterm-host and Mosquitto:
tests/mqtt/test_enrol_renewal.py."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posterm.daemon.config import MqttSection
from posterm.daemon.sync import certfiles
from posterm.daemon.sync.renewal import FALL_BACK_AFTER, Renewer
from tests.daemon.test_cert_renewal import cert_for, key_pem, pair_in
from tests.support.broker import wait_for

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in fleet CA")])


class BackOffice(BaseHTTPRequestHandler):
    """POST /api/renew: the CSR's key certified for pos-a for a year (a stand-in for
    posterm-host's renewal, which checks the old certificate's signature too)."""

    asked = 0
    signed_with: list[str] = []  # the certificate each renewal was asked with

    def do_POST(self) -> None:
        type(self).asked += 1
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).signed_with.append(body["cert"])
        csr = x509.load_pem_x509_csr(body["csr"].encode())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pos-a")]))
            .issuer_name(CA_NAME)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(hours=1))
            .not_valid_after(NOW + dt.timedelta(days=365))
            .sign(CA_KEY, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        answer = json.dumps({"ok": True, "client_cert": pem}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def back_office() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BackOffice)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    BackOffice.asked, BackOffice.signed_with = 0, []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def files(directory: Path) -> dict[str, bytes]:
    """Every file and its bytes: only once the renewer is still (it renames and removes)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def names(directory: Path) -> set[str]:
    """The files' names: safe to poll while the renewer's thread renames and removes."""
    return {p.name for p in directory.iterdir()}


def renewer_config(directory: Path, url: str) -> MqttSection:
    return MqttSection(
        url="mqtts://127.0.0.1:8883",
        cert_file=directory / "pos-a.pem",
        key_file=directory / "pos-a.key",
        renew_url=url,
    )


def renewed(tmp_path: Path, url: str) -> tuple[Renewer, list[str], dict[str, bytes]]:
    """A due 30-day certificate renewed by the renewer; (it, what it told the relay, the
    files before the renewal)."""
    pair_in(tmp_path, days=30, start=NOW - dt.timedelta(days=25))
    before = files(tmp_path)
    told: list[str] = []
    renewer = Renewer(renewer_config(tmp_path, url), "pos-a", told.append)
    renewer.check()
    assert told and told[0].startswith("new client certificate"), told
    return renewer, told, before


def test_the_broker_refusing_the_renewed_certificate_puts_the_old_one_back(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a certificate just renewed (the old pair kept as *.old) WHEN the broker
    refuses FALL_BACK_AFTER connections in a row THEN the renewal thread puts the old key
    and certificate back in place, keeps the refused pair as *.refused, tells the relay to
    reconnect, and does not renew again at once (its next check waits an hour)."""
    renewer, told, before = renewed(tmp_path, back_office)
    refused = files(tmp_path)
    assert refused["pos-a.pem"] != before["pos-a.pem"]
    for _ in range(FALL_BACK_AFTER - 1):
        renewer.link_refused("certificate revoked", renewer.files)
    assert not renewer.fall_back_if_asked()  # not yet
    renewer.link_refused("certificate revoked", renewer.files)
    assert renewer.fall_back_if_asked()
    after = files(tmp_path)
    assert (after["pos-a.key"], after["pos-a.pem"]) == (before["pos-a.key"], before["pos-a.pem"])
    assert (after["pos-a.key.refused"], after["pos-a.pem.refused"]) == (
        refused["pos-a.key"],
        refused["pos-a.pem"],
    )
    assert not any(name.endswith(".new") for name in after)
    assert told[-1].startswith("back on certificate")
    asked = BackOffice.asked
    assert renewer.check() > 3000  # the old one is due, but not renewed again at once
    assert BackOffice.asked == asked and files(tmp_path) == after


def fallen_back(tmp_path: Path, url: str) -> certfiles.Pair:
    """A renewed certificate the broker refused FALL_BACK_AFTER times: the one before it
    back in place, the refused pair beside it. The pair in place."""
    renewer, _, _ = renewed(tmp_path, url)
    for _ in range(FALL_BACK_AFTER):
        renewer.link_refused("certificate revoked", renewer.files)
    assert renewer.fall_back_if_asked()
    return certfiles.Pair(tmp_path / "pos-a.key", tmp_path / "pos-a.pem")


def asked_with_the_pair_in_place(url: str, pair: certfiles.Pair, key: bytes, cert: bytes) -> bool:
    """With this refused pair (*.refused) beside `pair`, whether a renewal asks with the
    pair in place."""
    pair.side(pair.key, ".refused").write_bytes(key)
    pair.side(pair.cert, ".refused").write_bytes(cert)
    in_place = pair.cert.read_text()
    certfiles.renew(url, pair, "pos-a")
    return BackOffice.signed_with[-1] == in_place


def test_a_renewal_after_a_fall_back_is_asked_with_the_refused_certificate(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a renewed certificate the broker refused, the one before it back in place
    WHEN the terminal renews again THEN it asks with the refused certificate, signed with
    its key (posterm-host moved the enrolment to that serial and renews only from it: the
    one in place would be refused for ever), and once renewed the refused pair is gone;
    a refused pair no longer valid is not used."""
    pair = fallen_back(tmp_path, back_office)
    refused = files(tmp_path)["pos-a.pem.refused"].decode()
    certfiles.renew(back_office, pair, "pos-a")
    assert BackOffice.signed_with[-1] == refused
    assert not any(name.endswith(".refused") for name in files(tmp_path))

    stale = tmp_path / "stale"
    stale.mkdir()
    expired = ec.generate_private_key(ec.SECP256R1())
    old = cert_for(expired, NOW - dt.timedelta(days=40), 30)
    assert asked_with_the_pair_in_place(back_office, pair_in(stale), key_pem(expired), old)


def test_a_refused_pair_left_by_a_killed_renewal_is_not_asked_with(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a renewal from the refused pair that put its new pair in place but was killed
    before it removed the refused one WHEN the terminal renews again THEN it asks with the
    pair in place (the refused one is older: the back office has moved past it) and the
    leftover goes; AND a damaged refused pair is not asked with either."""
    pair = fallen_back(tmp_path, back_office)
    leftover = {n: b for n, b in files(tmp_path).items() if n.endswith(".refused")}
    certfiles.renew(back_office, pair, "pos-a")
    key, cert = leftover["pos-a.key.refused"], leftover["pos-a.pem.refused"]
    assert asked_with_the_pair_in_place(back_office, pair, key, cert)  # as a kill left them
    assert not any(name.endswith(".refused") for name in files(tmp_path))
    assert asked_with_the_pair_in_place(back_office, pair, b"not a key", cert)


def test_refusals_of_a_certificate_the_broker_took_change_nothing(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a renewed certificate the broker took once (link_up) WHEN it refuses later,
    many times (a broker restarting, a revoked terminal) THEN no file changes: only a
    renewal not yet taken is put back. AND without any renewal, refusals change nothing."""
    renewer, told, _ = renewed(tmp_path, back_office)
    renewer.link_refused("x", renewer.files)
    renewer.link_up(renewer.files)
    taken = files(tmp_path)
    for _ in range(FALL_BACK_AFTER * 2):
        renewer.link_refused("certificate revoked", renewer.files)
    assert not renewer.fall_back_if_asked()
    assert files(tmp_path) == taken and len(told) == 1

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    pair = pair_in(fresh, days=30, start=NOW)
    config = MqttSection(
        url="mqtts://127.0.0.1:8883", cert_file=pair.cert, key_file=pair.key, renew_url=back_office
    )
    idle = Renewer(config, "pos-a", told.append)
    before = files(fresh)
    for _ in range(FALL_BACK_AFTER * 2):
        idle.link_refused("certificate revoked", idle.files)
    assert not idle.fall_back_if_asked() and files(fresh) == before


def test_a_connection_opened_before_the_renewal_neither_ends_nor_counts_to_its_probation(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a connection the relay opened with the files before a renewal (their
    generation read then) WHEN its CONNACK, or its refusals, arrive after the renewal
    THEN the renewed certificate stays on probation: refused FALL_BACK_AFTER times on
    connections opened with it, the old one is put back."""
    pair = pair_in(tmp_path, days=30, start=NOW - dt.timedelta(days=25))
    config = MqttSection(
        url="mqtts://127.0.0.1:8883", cert_file=pair.cert, key_file=pair.key, renew_url=back_office
    )
    renewer = Renewer(config, "pos-a", lambda why: None)
    opened_before = renewer.files
    renewer.check()  # renewed
    assert renewer.files != opened_before
    renewer.link_up(opened_before)  # the old connection's CONNACK
    for _ in range(FALL_BACK_AFTER):
        renewer.link_refused("the old connection", opened_before)
    assert not renewer.fall_back_if_asked()
    for _ in range(FALL_BACK_AFTER):
        renewer.link_refused("certificate revoked", renewer.files)
    assert renewer.fall_back_if_asked()


def test_a_restart_keeps_the_probation_until_the_broker_takes_the_certificate(
    tmp_path: Path, back_office: str
) -> None:
    """GIVEN a certificate renewed just before postermd restarted WHEN the broker refuses
    it FALL_BACK_AFTER times after the restart THEN the old one is put back (the probation
    outlived the restart); AND once the broker took a renewed certificate, a restart is
    not on probation (its refusals change nothing)."""
    renewer, told, before = renewed(tmp_path, back_office)
    restarted = Renewer(renewer_config(tmp_path, back_office), "pos-a", told.append)
    restarted.start()
    try:
        for _ in range(FALL_BACK_AFTER):
            restarted.link_refused("certificate revoked", restarted.files)
        wait_for(
            lambda: (tmp_path / "pos-a.pem").read_bytes() == before["pos-a.pem"], "the fall back"
        )
    finally:
        restarted.stop()
    assert not certfiles.on_probation(
        certfiles.Pair(tmp_path / "pos-a.key", tmp_path / "pos-a.pem")
    )

    taken = tmp_path / "taken"
    taken.mkdir()
    renewer, _, _ = renewed(taken, back_office)
    renewer.start()
    try:
        renewer.link_up(renewer.files)
        wait_for(lambda: "pos-a.pem.probation" not in names(taken), "the probation's end")
    finally:
        renewer.stop()
    again = Renewer(renewer_config(taken, back_office), "pos-a", told.append)
    again.start()
    try:
        in_place = files(taken)
        for _ in range(FALL_BACK_AFTER * 2):
            again.link_refused("broker down", again.files)
        assert not again.fall_back_if_asked() and files(taken) == in_place
    finally:
        again.stop()


def test_an_old_certificate_no_longer_valid_is_not_put_back(tmp_path: Path) -> None:
    """GIVEN a pair in place and an *.old pair that expired yesterday WHEN fall_back is
    asked THEN RenewError names the old certificate and no file changes; AND with no *.old
    pair at all, likewise."""
    pair = pair_in(tmp_path, days=30, start=NOW)
    old = ec.generate_private_key(ec.SECP256R1())
    pair.side(pair.key, ".old").write_bytes(key_pem(old))
    pair.side(pair.cert, ".old").write_bytes(cert_for(old, NOW - dt.timedelta(days=31), 30))
    before = files(tmp_path)
    with pytest.raises(certfiles.RenewError, match="not valid now"):
        certfiles.fall_back(pair, NOW)
    assert files(tmp_path) == before
    for name in ("pos-a.key.old", "pos-a.pem.old"):
        (tmp_path / name).unlink()
    with pytest.raises(certfiles.RenewError, match="cannot be read"):
        certfiles.fall_back(pair, NOW)
    assert sorted(files(tmp_path)) == ["pos-a.key", "pos-a.pem"]


def test_an_old_key_that_is_not_the_old_certificates_is_not_put_back(tmp_path: Path) -> None:
    """GIVEN an *.old certificate beside an *.old key of another pair WHEN fall_back is
    asked THEN it is refused and nothing changes (never a key without its certificate)."""
    pair = pair_in(tmp_path, days=30, start=NOW)
    one, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    pair.side(pair.key, ".old").write_bytes(key_pem(other))
    pair.side(pair.cert, ".old").write_bytes(cert_for(one, NOW, 30))
    before = files(tmp_path)
    with pytest.raises(certfiles.RenewError, match="not the key of"):
        certfiles.fall_back(pair, NOW)
    assert files(tmp_path) == before


@pytest.mark.parametrize("content", [b"", b"\xff\xfe not a serial", b"0\n", b"x" * 10_000])
def test_a_damaged_probation_file_is_no_probation(
    tmp_path: Path, back_office: str, content: bytes
) -> None:
    """GIVEN a renewed certificate whose *.probation file was damaged (empty, not text, a
    serial that is not the one in place) WHEN postermd asks THEN it is not on probation,
    and nothing raises."""
    renewed(tmp_path, back_office)
    pair = certfiles.Pair(tmp_path / "pos-a.key", tmp_path / "pos-a.pem")
    assert certfiles.on_probation(pair)
    certfiles.probation_file(pair).write_bytes(content)
    assert not certfiles.on_probation(pair)
