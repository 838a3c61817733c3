"""Enrolment codes and `POST /api/enroll`'s work (host/enrol/codes.py, grant.py) on SQLite
and PostgreSQL: a code gives one certificate to one key, once, before it expires; every
refusal leaves the code as it was."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from posterm.host.cli import main
from posterm.host.config import HostConfig, load
from posterm.host.enrol import EnrolError, ca, codes, grant, renew
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands


def setup(tmp_path: Path, store_url: str) -> HostConfig:
    key = tmp_path / "host.pem"
    key.write_bytes(commands.private_pem(Ed25519PrivateKey.generate()))
    path = tmp_path / "host.toml"
    path.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "{store_url}"\n[keys]\nprivate_key = "{key}"\n'
        f'[enrol]\nca_dir = "{tmp_path / "ca"}"\nbroker_url = "mqtts://broker.example:8883"\n'
    )
    config = load(path)
    ca.init(config.enrol.ca_dir)
    return config


def csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pi")])
    req = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return req.public_bytes(serialization.Encoding.PEM).decode()


def row(store: Store, terminal: str) -> dict[str, Any]:
    (found,) = [r for r in codes.listing(store) if r["terminal"] == terminal]
    return found


def test_a_code_gives_one_certificate_then_is_used(tmp_path: Path, store_url: str) -> None:
    """GIVEN a code for site shop1 with tags WHEN a terminal redeems it with its CSR THEN
    it gets a certificate CN shop1-0001 issued by the fleet CA, the CA, the broker URL and
    the host's public key; the row is used with the site and tags; the same code again
    (even with the same CSR) is refused 403 enrol_code and the row does not change."""
    config = setup(tmp_path, store_url)
    store = Store(config.store_url)
    try:
        made = codes.new(store, site="shop1", tags=("till", "front"))
        assert made.terminal == "shop1-0001" and len(codes.normalise(made.code)) == 16
        request = csr()
        answer = grant.enrol(config, store, {"code": made.code.lower(), "csr": request})
        cert = x509.load_pem_x509_certificate(answer["client_cert"].encode())
        fleet = x509.load_pem_x509_certificate(answer["ca_cert"].encode())
        cert.verify_directly_issued_by(fleet)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "shop1-0001"
        assert answer["terminal"] == "shop1-0001"
        assert answer["broker_url"] == "mqtts://broker.example:8883"
        assert answer["host_public_key"] == grant.host_public_key(config)
        assert answer["site"] == "shop1" and answer["tags"] == ["till", "front"]
        used = row(store, "shop1-0001")
        assert used["used_at"] and used["cert_serial"] == format(cert.serial_number, "x")
        with pytest.raises(EnrolError) as again:
            grant.enrol(config, store, {"code": made.code, "csr": request})
        assert (again.value.status, again.value.code) == (403, ErrorCode.ENROL_CODE)
        assert row(store, "shop1-0001") == used
        assert codes.new(store, site="shop1").terminal == "shop1-0002"
    finally:
        store.close()


def test_an_expired_or_unknown_code_is_refused(tmp_path: Path, store_url: str) -> None:
    """GIVEN a code made 2 hours ago that lived 1 hour WHEN it is redeemed THEN 403
    enrol_code and the row stays unused; an unknown code: the same refusal."""
    config = setup(tmp_path, store_url)
    store = Store(config.store_url)
    try:
        old = datetime.now(UTC) - timedelta(hours=2)
        made = codes.new(store, terminal="pos-9", expires_s=3600, now=old)
        for code in (made.code, "AAAA-BBBB-CCCC-DDDD"):
            with pytest.raises(EnrolError) as refused:
                grant.enrol(config, store, {"code": code, "csr": csr()})
            assert (refused.value.status, refused.value.code) == (403, ErrorCode.ENROL_CODE)
        assert row(store, "pos-9")["used_at"] is None
    finally:
        store.close()


def test_a_bad_csr_is_refused_and_the_code_stays_usable(tmp_path: Path, store_url: str) -> None:
    """GIVEN a code WHEN it comes with a CSR that is not one, or with no code THEN 400 and
    nothing changes: the same code with a good CSR is then accepted."""
    config = setup(tmp_path, store_url)
    store = Store(config.store_url)
    try:
        made = codes.new(store, terminal="pos-1")
        for body in ({"code": made.code, "csr": "-----BEGIN nothing"}, {"csr": csr()}, []):
            with pytest.raises(EnrolError) as refused:
                grant.enrol(config, store, body)
            assert refused.value.status == 400
        assert row(store, "pos-1")["used_at"] is None
        assert grant.enrol(config, store, {"code": made.code, "csr": csr()})["terminal"] == "pos-1"
    finally:
        store.close()


def test_a_host_without_a_tls_broker_url_refuses_and_keeps_the_code(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN a host whose only broker URL is mqtt:// (no [enrol] broker_url) WHEN a terminal
    redeems a code THEN 503 naming enrol.broker_url, and the code stays unused (a terminal
    certificate needs mqtts://, postermd would refuse the config)."""
    config = setup(tmp_path, store_url)
    path = config.path
    path.write_text(path.read_text().replace('broker_url = "mqtts://broker.example:8883"', ""))
    config = load(path)
    store = Store(config.store_url)
    try:
        made = codes.new(store, terminal="pos-2")
        with pytest.raises(EnrolError, match=r"enrol\.broker_url") as refused:
            grant.enrol(config, store, {"code": made.code, "csr": csr()})
        assert refused.value.status == 503
        assert row(store, "pos-2")["used_at"] is None
    finally:
        store.close()


def test_enroll_new_prints_a_code_and_refuses_bad_input(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a host WHEN `enroll new --site s1 --tags a,b --expires 2h --json` runs THEN it
    prints the code, terminal s1-0001, the tags and an expiry ~2 h away, and `enroll list`
    shows it unused; bad tags, a bad duration or a taken terminal id exit 2/1 and add no
    row."""
    config = setup(tmp_path, store_url)
    argv = ["--config", str(config.path), "enroll"]
    assert main([*argv, "new", "--site", "s1", "--tags", "a,b", "--expires", "2h", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["terminal"] == "s1-0001" and made["tags"] == ["a", "b"]
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(minutes=119) < expires - datetime.now(UTC) <= timedelta(hours=2)
    for bad in (["--tags", "A B"], ["--expires", "2y"], ["--expires", "40d"], ["--site", "a/b"]):
        assert main([*argv, "new", *bad]) == 65
    assert main([*argv, "new", "--terminal", "s1-0001"]) == 1
    capsys.readouterr()
    assert main([*argv, "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["terminal"], r["site"], r["used_at"]) for r in rows] == [("s1-0001", "s1", None)]


def test_revoke_lists_the_certificate_in_the_crl_and_kills_an_unused_code(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN pos-1 enrolled and pos-2 with an unused code WHEN `terminals revoke` runs for
    both THEN the CA's crl.pem (signed by the CA) lists pos-1's serial, pos-2's code is
    refused; revoking again or an unknown terminal exits 1 and the CRL stays as it was."""
    config = setup(tmp_path, store_url)
    store = Store(config.store_url)
    try:
        one, two = codes.new(store, terminal="pos-1"), codes.new(store, terminal="pos-2")
        answer = grant.enrol(config, store, {"code": one.code, "csr": csr()})
    finally:
        store.close()
    serial = x509.load_pem_x509_certificate(answer["client_cert"].encode()).serial_number
    argv = ["--config", str(config.path), "terminals", "revoke"]
    crl_path = config.enrol.ca_dir / "crl.pem"
    assert (
        x509.load_pem_x509_crl(crl_path.read_bytes()).get_revoked_certificate_by_serial_number(
            serial
        )
        is None
    )  # ca init wrote an empty one
    assert main([*argv, "pos-1"]) == 0 and main([*argv, "pos-2"]) == 0
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    fleet = x509.load_pem_x509_certificate((config.enrol.ca_dir / "ca.pem").read_bytes())
    assert crl.is_signature_valid(fleet.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert len(list(crl)) == 1  # pos-2 never had a certificate
    before = crl_path.read_bytes()
    capsys.readouterr()
    assert main([*argv, "pos-1"]) == 1 and main([*argv, "nobody"]) == 1
    assert "no enrolment of terminal" in capsys.readouterr().err
    assert crl_path.read_bytes() == before
    store = Store(config.store_url)
    try:
        with pytest.raises(EnrolError) as refused:
            grant.enrol(config, store, {"code": two.code, "csr": csr()})
        assert refused.value.code == ErrorCode.ENROL_CODE
    finally:
        store.close()


def test_terminals_set_changes_site_and_tags_of_an_enrolled_terminal(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN pos-1 enrolled at site s1 with tag a WHEN `terminals set pos-1 --site s2` then
    `--tags b,c` run THEN `enroll list` shows s2 and b,c; a bad site, bad tags, nothing to
    change or an unknown terminal exit 2/1 and change nothing."""
    config = setup(tmp_path, store_url)
    argv = ["--config", str(config.path)]
    assert main([*argv, "enroll", "new", "--terminal", "pos-1", "--site", "s1", "--tags", "a"]) == 0
    assert main([*argv, "terminals", "set", "pos-1", "--site", "s2"]) == 0
    assert main([*argv, "terminals", "set", "pos-1", "--tags", "b,c", "--json"]) == 0
    assert main([*argv, "terminals", "set", "pos-1", "--site", "x/y"]) == 65
    assert main([*argv, "terminals", "set", "pos-1", "--tags", "B!"]) == 65
    assert main([*argv, "terminals", "set", "pos-1"]) == 65
    assert main([*argv, "terminals", "set", "nobody", "--site", "s3"]) == 1
    capsys.readouterr()
    assert main([*argv, "enroll", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["site"], row["tags"]) == ("s2", ["b", "c"])


def test_renew_replaces_the_certificate_once_and_revoke_lists_both(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN pos-1 enrolled WHEN it sends a new CSR signed with its current key and its
    current certificate THEN it gets a new certificate for pos-1 from the CA; the same old
    certificate again, or a CSR signed by another key, is refused 403 and changes nothing;
    a revoke then puts both the old and the new serial in the CRL."""
    config = setup(tmp_path, store_url)
    store = Store(config.store_url)
    try:
        made = codes.new(store, terminal="pos-1")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pi")])
        first_csr = (
            x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
        )
        first = grant.enrol(
            config,
            store,
            {"code": made.code, "csr": first_csr.public_bytes(serialization.Encoding.PEM).decode()},
        )["client_cert"]

        def body(cert: str, signer: ec.EllipticCurvePrivateKey) -> dict[str, str]:
            new_csr = csr()
            signature = signer.sign(new_csr.encode(), ec.ECDSA(hashes.SHA256()))
            return {"cert": cert, "csr": new_csr, "signature": base64.b64encode(signature).decode()}

        stranger = ec.generate_private_key(ec.SECP256R1())
        with pytest.raises(EnrolError) as refused:
            renew.renew(config, store, body(first, stranger))
        assert refused.value.status == 403
        assert row(store, "pos-1")["cert_serial"] == format(
            x509.load_pem_x509_certificate(first.encode()).serial_number, "x"
        )
        answer = renew.renew(config, store, body(first, key))
        second = x509.load_pem_x509_certificate(answer["client_cert"].encode())
        second.verify_directly_issued_by(ca.load(config.enrol.ca_dir).cert)
        assert second.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "pos-1"
        assert row(store, "pos-1")["cert_serial"] == format(second.serial_number, "x")
        with pytest.raises(EnrolError) as replaced:
            renew.renew(config, store, body(first, key))
        assert replaced.value.status == 403
        serials = codes.revoke(store, "pos-1")
        old = x509.load_pem_x509_certificate(first.encode()).serial_number
        assert sorted(serials) == sorted(format(s, "x") for s in (old, second.serial_number))
    finally:
        store.close()
