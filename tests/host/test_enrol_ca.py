"""The fleet CA (host/enrol/ca.py) and `posterm-host ca init | broker-cert`: the key 0600,
a CA certificate, a broker certificate that verifies against it, refusals that change
nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from posterm.host.cli import main
from posterm.host.enrol import ca
from posterm.protocol.errorcodes import ErrorCode


def host_config(tmp_path: Path) -> Path:
    path = tmp_path / "host.toml"
    path.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
        f'[enrol]\nca_dir = "{tmp_path / "ca"}"\n'
    )
    return path


def csr_for(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whatever")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def test_ca_init_writes_a_private_key_0600_and_a_ca_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a host config with [enrol] ca_dir WHEN `posterm-host ca init` runs THEN ca.key
    is 0600, ca.pem is a CA certificate signed by that key; a second init is refused (exit
    1) and leaves both files as they were."""
    config = host_config(tmp_path)
    assert main(["--config", str(config), "ca", "init"]) == 0
    key_path, cert_path = tmp_path / "ca" / "ca.key", tmp_path / "ca" / "ca.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    cert.verify_directly_issued_by(cert)  # self-signed
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert key.public_key() == cert.public_key()
    before = key_path.read_bytes(), cert_path.read_bytes()
    assert main(["--config", str(config), "ca", "init"]) == 1
    assert "already there" in capsys.readouterr().err
    assert (key_path.read_bytes(), cert_path.read_bytes()) == before


def test_broker_cert_verifies_against_the_ca_and_names_the_hosts(tmp_path: Path) -> None:
    """GIVEN a fleet CA WHEN `ca broker-cert --host broker.example --host 127.0.0.1` runs
    THEN broker.pem is a server certificate issued by the CA for both names, broker.key is
    0600 and matches it."""
    config = host_config(tmp_path)
    assert main(["--config", str(config), "ca", "init"]) == 0
    argv = ["--config", str(config), "ca", "broker-cert", "--host", "broker.example"]
    assert main([*argv, "--host", "127.0.0.1", "--out", str(tmp_path / "b")]) == 0
    fleet = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "b" / "broker.pem").read_bytes())
    cert.verify_directly_issued_by(fleet)
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.DNSName) == ["broker.example"]
    assert [str(a) for a in alt.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    key_path = tmp_path / "b" / "broker.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert key.public_key() == cert.public_key()


def test_broker_cert_without_a_ca_says_to_run_ca_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN no CA WHEN broker-cert runs THEN exit 1, the message names `ca init`, no file."""
    config = host_config(tmp_path)
    assert main(["--config", str(config), "ca", "broker-cert", "--host", "b"]) == 1
    assert "posterm-host ca init" in capsys.readouterr().err
    assert not (tmp_path / "ca").exists()


def test_the_ca_signs_a_client_csr_with_the_terminal_id_and_refuses_bad_ones(
    tmp_path: Path,
) -> None:
    """GIVEN a CA WHEN a P-256 CSR is signed for pos-7 THEN the certificate's CN is pos-7
    (not the CSR's), it carries the CSR's key and verifies against the CA; a CSR that is
    not PEM, or has an RSA key, is refused with a CaError."""
    fleet = ca.init(tmp_path / "ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = fleet.sign_client(csr_for(key), "pos-7")
    cert.verify_directly_issued_by(fleet.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "pos-7"
    assert cert.public_key() == key.public_key()
    with pytest.raises(ca.CaError, match="not a PEM"):
        fleet.sign_client(b"garbage", "pos-7")
    with pytest.raises(ca.CaError, match="P-256"):
        fleet.sign_client(csr_for(rsa.generate_private_key(65537, 2048)), "pos-7")
    with pytest.raises(ca.CaError) as missing:
        ca.load(tmp_path / "nothing")
    assert missing.value.code is ErrorCode.NO_CA
