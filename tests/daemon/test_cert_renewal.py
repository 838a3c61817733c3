"""The terminal's certificate renewal without a back office: when it is due, what an
unreachable back office does (back-off, nothing written), and a renewal a power cut
interrupted between its two renames (finished, never a key without its certificate).
Against a real posterm-host: tests/mqtt/test_enrol_renewal.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from posterm.daemon.config import MqttSection
from posterm.daemon.sync import certfiles
from posterm.daemon.sync.renewal import CHECK_SECONDS, Renewer
from tests.support.broker import free_port

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_for(key: ec.EllipticCurvePrivateKey, start: dt.datetime, days: float) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pos-a")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def pair_in(tmp: Path, days: float = 30, start: dt.datetime = NOW) -> certfiles.Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    pair = certfiles.Pair(tmp / "pos-a.key", tmp / "pos-a.pem")
    pair.key.write_bytes(key_pem(key))
    pair.cert.write_bytes(cert_for(key, start, days))
    return pair


def test_due_is_a_third_of_the_lifetime_unless_configured(tmp_path: Path) -> None:
    """GIVEN a 30-day certificate from NOW WHEN asked when it is due THEN 20 days from NOW
    by default, 25 with renew_before_days = 5, and overdue once past that."""
    cert = certfiles.load_cert(pair_in(tmp_path).cert)
    assert certfiles.due_in(cert, None, NOW) == 20 * 86400
    assert certfiles.due_in(cert, 5, NOW) == 25 * 86400
    assert certfiles.due_in(cert, None, NOW + dt.timedelta(days=21)) < 0


def test_an_unreachable_back_office_backs_off_and_changes_no_file(tmp_path: Path) -> None:
    """GIVEN a due certificate and nothing listening at renew_url WHEN the renewer checks
    twice THEN it waits a growing back-off (not the hourly check), and the key and
    certificate files are byte for byte the same, with no *.new or *.old left."""
    pair = pair_in(tmp_path, days=30, start=NOW - dt.timedelta(days=29))
    before = (pair.key.read_bytes(), pair.cert.read_bytes())
    config = MqttSection(
        url="mqtts://127.0.0.1:8883",
        cert_file=pair.cert,
        key_file=pair.key,
        renew_url=f"http://127.0.0.1:{free_port()}/",
    )
    renewer = Renewer(config, "pos-a", lambda why: None, clock=lambda: NOW)
    first = renewer.check()
    assert 0 < first < CHECK_SECONDS
    renewer.backoff.next_at = 0.0  # the back-off has passed
    second = renewer.check()
    assert renewer.backoff.failures == 2 and second < CHECK_SECONDS
    assert (pair.key.read_bytes(), pair.cert.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pos-a.key", "pos-a.pem"]


def test_a_renewal_cut_between_its_renames_is_finished_at_start(tmp_path: Path) -> None:
    """GIVEN the power cut after the new key was renamed into place but before the new
    certificate (pos-a.pem.new beside the old pos-a.pem) WHEN repair runs THEN pos-a.pem
    is the new certificate, matching the key in place."""
    pair = pair_in(tmp_path)
    new_key = ec.generate_private_key(ec.SECP256R1())
    pair.key.write_bytes(key_pem(new_key))
    new_cert = cert_for(new_key, NOW, 30)
    pair.side(pair.cert, ".new").write_bytes(new_cert)
    assert certfiles.repair(pair) == "finished a renewal a restart interrupted"
    assert pair.cert.read_bytes() == new_cert
    assert not pair.side(pair.cert, ".new").exists()


def test_a_renewal_cut_before_its_renames_is_dropped(tmp_path: Path) -> None:
    """GIVEN the power cut after both *.new files were written but before any rename
    WHEN repair runs THEN the working pair is untouched and the *.new files are gone."""
    pair = pair_in(tmp_path)
    before = (pair.key.read_bytes(), pair.cert.read_bytes())
    other = ec.generate_private_key(ec.SECP256R1())
    pair.side(pair.key, ".new").write_bytes(key_pem(other))
    pair.side(pair.cert, ".new").write_bytes(cert_for(other, NOW, 30))
    assert certfiles.repair(pair) == "dropped an unfinished renewal"
    assert (pair.key.read_bytes(), pair.cert.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pos-a.key", "pos-a.pem"]
