"""Enrolment end to end: a real `posterm-host run --http` (with Mosquitto), `enroll new`,
then the real `posterm enroll` into a fresh config dir; a reused and an expired code are
refused by the same endpoint and write nothing."""

from __future__ import annotations

import json
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from posterm.daemon.config import load_config
from posterm.host.enrol import codes
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from tests.support.broker import Broker
from tests.support.sim import BIN
from tests.web.conftest import WebHost

pytestmark = pytest.mark.slow  # posterm-host, Mosquitto, the posterm CLI


@pytest.fixture
def enrol_host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    enrol = (
        f'[enrol]\nca_dir = "{tmp_path / "ca"}"\nbroker_url = "mqtts://127.0.0.1:{broker.port}"\n'
    )
    host = WebHost(tmp_path, broker, web_extra=enrol)
    assert host.cli("keygen").returncode == 0
    assert host.cli("ca", "init").returncode == 0
    host.start()
    yield host
    host.stop()


def posterm_enroll(url: str, code: str, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "posterm"), "enroll", url, code, "--config-dir", str(directory), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_terminal_enrols_once_and_gets_a_working_config(
    tmp_path: Path, enrol_host: WebHost, broker: Broker
) -> None:
    """GIVEN a host with a fleet CA and a code from `enroll new --site shop` WHEN `posterm
    enroll URL CODE --config-dir DIR` runs THEN DIR holds a posterm.toml postermd's loader
    accepts (terminal shop-0001, [mqtt] with the cert, key, CA and host key), files 0640,
    a certificate with CN shop-0001 that the CA verifies and that matches the Pi's key, the
    host's public key; the same code again exits 1, says refused, and writes nothing."""
    made = enrol_host.cli("enroll", "new", "--site", "shop", "--tags", "till", "--json")
    assert made.returncode == 0, made.stderr
    code = json.loads(made.stdout)["code"]
    etc = tmp_path / "etc"
    done = posterm_enroll(enrol_host.url, code, etc)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["terminal"] == "shop-0001"
    config = load_config(etc / "posterm.toml")
    assert config.terminal.id == "shop-0001" and config.mqtt is not None
    assert config.mqtt.url == f"mqtts://127.0.0.1:{broker.port}"
    for path in (config.mqtt.key_file, config.mqtt.cert_file, config.mqtt.ca_file):
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert config.mqtt.cert_file and config.mqtt.ca_file and config.mqtt.key_file
    cert = x509.load_pem_x509_certificate(config.mqtt.cert_file.read_bytes())
    fleet = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.pem").read_bytes())
    assert config.mqtt.ca_file.read_bytes() == (tmp_path / "ca" / "ca.pem").read_bytes()
    cert.verify_directly_issued_by(fleet)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "shop-0001"
    key = serialization.load_pem_private_key(config.mqtt.key_file.read_bytes(), None)
    assert key.public_key() == cert.public_key()
    assert config.mqtt.host_public_key is not None
    assert (
        config.mqtt.host_public_key.read_bytes() == enrol_host.key.with_suffix(".pub").read_bytes()
    )

    again = posterm_enroll(enrol_host.url, code, tmp_path / "etc2")
    assert again.returncode == 1 and "refused" in again.stderr and "403" in again.stderr
    assert not (tmp_path / "etc2" / "posterm.toml").exists()


def test_an_expired_code_is_refused_over_http(tmp_path: Path, enrol_host: WebHost) -> None:
    """GIVEN a code that expired an hour ago WHEN the Pi enrols with it THEN exit 1, the
    answer says refused, no config is written and the code stays unused."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        old = datetime.now(UTC) - timedelta(hours=2)
        made = codes.new(store, terminal="late-1", expires_s=3600, now=old)
    finally:
        store.close()
    done = posterm_enroll(enrol_host.url, made.code, tmp_path / "etc")
    assert done.returncode == 1 and "refused" in done.stderr
    assert not (tmp_path / "etc" / "posterm.toml").exists()
    listed = json.loads(enrol_host.cli("enroll", "list", "--json").stdout)
    assert [(r["terminal"], r["used_at"]) for r in listed] == [("late-1", None)]


def test_malformed_requests_get_a_clear_4xx_and_change_nothing(
    tmp_path: Path, enrol_host: WebHost
) -> None:
    """GIVEN an unused code WHEN /api/enroll gets a body that is not JSON, JSON without a
    CSR, or one over 16 KiB THEN 400/400/413 with {ok: false, code, error}, and the code is
    still unused."""
    made = json.loads(enrol_host.cli("enroll", "new", "--terminal", "pos-5", "--json").stdout)
    for body, status in (
        (b"not json", 400),
        (json.dumps({"code": made["code"]}).encode(), 400),
        (json.dumps({"code": made["code"], "csr": "x" * 20000}).encode(), 413),
    ):
        request = urllib.request.Request(f"{enrol_host.url}/api/enroll", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        answer = json.loads(refused.value.read())
        assert refused.value.code == status and answer["ok"] is False, answer
        assert answer["code"] == ErrorCode.BAD_REQUEST and answer["error"]
    listed = json.loads(enrol_host.cli("enroll", "list", "--json").stdout)
    assert [(r["terminal"], r["used_at"]) for r in listed] == [("pos-5", None)]


def test_posterm_renew_replaces_key_and_certificate_until_revoked(
    tmp_path: Path, enrol_host: WebHost
) -> None:
    """GIVEN a Pi enrolled with `posterm enroll` WHEN `posterm renew URL` runs THEN its key
    and certificate files are new, the certificate is the CA's for the same id and matches
    the new key, modes stay 0640; after `terminals revoke` a renew exits 1 and leaves the
    files as they were."""
    made = json.loads(enrol_host.cli("enroll", "new", "--terminal", "pos-7", "--json").stdout)
    etc = tmp_path / "etc"
    assert posterm_enroll(enrol_host.url, made["code"], etc).returncode == 0
    key_path, cert_path = etc / "mqtt" / "pos-7.key", etc / "mqtt" / "pos-7.pem"
    before = key_path.read_bytes(), cert_path.read_bytes()

    def renew() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "posterm"), "renew", enrol_host.url, "--config-dir", str(etc), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = renew()
    assert done.returncode == 0, done.stderr
    after = key_path.read_bytes(), cert_path.read_bytes()
    assert after[0] != before[0] and after[1] != before[1]
    cert = x509.load_pem_x509_certificate(after[1])
    cert.verify_directly_issued_by(
        x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.pem").read_bytes())
    )
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "pos-7"
    assert serialization.load_pem_private_key(after[0], None).public_key() == cert.public_key()
    assert {stat.S_IMODE(p.stat().st_mode) for p in (key_path, cert_path)} == {0o640}
    assert enrol_host.cli("terminals", "revoke", "pos-7").returncode == 0
    refused = renew()
    assert refused.returncode == 1 and "403" in refused.stderr
    assert (key_path.read_bytes(), cert_path.read_bytes()) == after
