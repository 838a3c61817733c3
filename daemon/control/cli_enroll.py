"""`posterm enroll URL CODE [--config-dir DIR]`: enrol this Pi with the back office. The key
pair is made here and never leaves the Pi: a CSR and the one-time code go to
`URL/api/enroll`; the answer (client certificate, fleet CA, broker URL, host public key,
terminal id; the refund status link's key and URL when the back office has one) is written
0640 into DIR (default /etc/posterm) with a posterm.toml that postermd's loader accepts.
An existing posterm.toml keeps its other sections.
Exit 0 when enrolled, 1 when refused or unreachable, 2 on bad input."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from posterm.daemon.control import enroll_link

DEFAULT_DIR = Path("/etc/posterm")
DEFAULT_PT = "serial:///dev/posterm-pt?baud=9600"
DEFAULT_PRINTER = "serial:///dev/posterm-printer?baud=115200"
SERVICE_GROUP = "posterm"


class EnrolFailed(Exception):
    """The enrolment did not happen; `status` is the exit code."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def register(sub: Any) -> None:
    p = sub.add_parser(
        "enroll",
        help="enrol this terminal with the back office (one-time code)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="the back office, e.g. https://backoffice.example/")
    p.add_argument("code", help="the code of `posterm-host enroll new`")
    p.add_argument("--config-dir", type=Path, default=DEFAULT_DIR, help="default %(default)s")
    p.add_argument("--payment", default=DEFAULT_PT, help="[payment] url of a new posterm.toml")
    p.add_argument("--printer", default=DEFAULT_PRINTER, help="[printer] url of a new one")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)
    p = sub.add_parser(
        "renew",
        help="replace this terminal's client certificate before it expires",
        description="`posterm renew URL [--config-dir DIR]`: a new key pair made here, its"
        " CSR signed with the current key and sent to URL/api/renew; the new key and"
        " certificate replace the files named in posterm.toml's [mqtt] (the old ones kept"
        " as *.old). postermd renews by itself (its [mqtt] renew_url, written by `posterm"
        " enroll`); this renews now, and postermd uses the new files at its next"
        " connection (restart it to switch at once).",
    )
    p.add_argument("url", help="the back office, e.g. https://backoffice.example/")
    p.add_argument("--config-dir", type=Path, default=DEFAULT_DIR, help="default %(default)s")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_renew)


def run_renew(args: argparse.Namespace) -> int:
    try:
        done = renew(args.url, args.config_dir)
    except EnrolFailed as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": exc.message}))
        print(f"posterm: renew: {exc.message}", file=sys.stderr)
        return exc.status
    if args.json:
        print(json.dumps({"ok": True, **done}))
    else:
        print(
            f"renewed {done['terminal']}: {done['cert_file']} (serial {done['serial']});"
            " postermd uses it at its next connection"
        )
    return 0


def renew(url: str, directory: Path) -> dict[str, str]:
    from posterm.daemon.sync import certfiles  # noqa: PLC0415 (cryptography: heavy)

    if not url.startswith(("https://", "http://")):
        raise EnrolFailed(f"{url!r}: the back office's https:// URL", 2)
    path = directory / "posterm.toml"
    try:
        mqtt = tomllib.loads(path.read_text(encoding="utf-8")).get("mqtt", {})
        ca_file = mqtt.get("ca_file")
        pair = certfiles.Pair(
            Path(mqtt["key_file"]), Path(mqtt["cert_file"]), Path(ca_file) if ca_file else None
        )
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise EnrolFailed(f"{path}: no usable [mqtt] key_file and cert_file: {exc}", 2) from None
    try:
        cert = certfiles.renew(url, pair)
    except certfiles.RenewError as exc:
        raise EnrolFailed(exc.message) from None
    return {
        "terminal": certfiles.cn(cert),
        "cert_file": str(pair.cert),
        "serial": format(cert.serial_number, "x"),
    }


def run(args: argparse.Namespace) -> int:
    try:
        done = enrol(args.url, args.code, args.config_dir, args.payment, args.printer)
    except EnrolFailed as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": exc.message}))
        print(f"posterm: enroll: {exc.message}", file=sys.stderr)
        return exc.status
    if args.json:
        print(json.dumps({"ok": True, **done}))
    else:
        print(f"enrolled as {done['terminal']}; config {done['config']}")
        print("start it: sudo systemctl restart postermd")
    return 0


def enrol(url: str, code: str, directory: Path, payment: str, printer: str) -> dict[str, str]:
    if not url.startswith(("https://", "http://")):
        raise EnrolFailed(f"{url!r}: the back office's https:// URL", 2)
    if not directory.is_absolute():
        raise EnrolFailed(f"--config-dir {directory}: an absolute path", 2)
    key_pem, csr_pem = _key_and_csr()
    answer = _post(url.rstrip("/") + "/api/enroll", {"code": code, "csr": csr_pem})
    tid = answer.get("terminal")
    if not isinstance(tid, str) or not tid or "/" in tid or tid.startswith("."):
        raise EnrolFailed("the back office's answer names no terminal")
    mqtt_dir = directory / "mqtt"
    paths = {
        "key_file": mqtt_dir / f"{tid}.key",
        "cert_file": mqtt_dir / f"{tid}.pem",
        "ca_file": mqtt_dir / "ca.pem",
        "host_public_key": directory / "host.pub",
    }
    config_path = directory / "posterm.toml"
    text = _config_text(config_path, tid, {**answer, "url": url}, paths, payment, printer)
    mqtt_dir.mkdir(parents=True, exist_ok=True)
    _write(paths["key_file"], key_pem)
    for name, field in (
        ("cert_file", "client_cert"),
        ("ca_file", "ca_cert"),
        ("host_public_key", "host_public_key"),
    ):
        value = answer.get(field)
        if not isinstance(value, str):
            raise EnrolFailed(f"the back office's answer has no {field}")
        _write(paths[name], value.encode())
    link = _link(answer)
    if link is not None:
        _write(directory / enroll_link.KEY_NAME, link[1])
    _check(config_path, text)  # the loader also checks that the files are there
    _write(config_path, text.encode())
    return {"terminal": tid, "config": str(config_path), "broker_url": str(answer["broker_url"])}


def _key_and_csr() -> tuple[bytes, str]:
    from cryptography import x509  # noqa: PLC0415 (only here: `posterm sale` starts fast)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "posterm enrolment")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode()


def _post(url: str, body: dict[str, str]) -> dict[str, Any]:
    """certfiles.post (the renewal's request), its refusal as the enrolment's."""
    from posterm.daemon.sync import certfiles  # noqa: PLC0415 (cryptography: heavy)

    try:
        return certfiles.post(url, body)
    except certfiles.RenewError as exc:
        raise EnrolFailed(str(exc)) from None


def _config_text(
    path: Path,
    tid: str,
    answer: dict[str, Any],
    paths: dict[str, Path],
    *devices: str,
) -> str:
    """The existing config with the terminal id and [mqtt] replaced, or a new one."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {"payment": {"url": devices[0]}, "printer": {"url": devices[1]}}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EnrolFailed(f"{path}: cannot be read: {exc}") from None
    data.setdefault("terminal", {})["id"] = tid
    mqtt = data.setdefault("mqtt", {})
    for stale in ("username", "password_file"):  # the certificate is the identity now
        mqtt.pop(stale, None)
    mqtt["url"] = answer.get("broker_url")
    mqtt["renew_url"] = answer["url"]  # postermd renews its certificate there by itself
    mqtt.update({name: str(p) for name, p in paths.items()})
    link = _link(answer)
    if link is not None:
        key_file = path.parent / enroll_link.KEY_NAME
        data["refund_link"] = enroll_link.section(data.get("refund_link"), link[0], key_file)
    lines = [f"# written by `posterm enroll` for {tid}"]
    for section, table in data.items():
        if not isinstance(table, dict):
            raise EnrolFailed(f"{path}: {section}: a section is expected")
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _link(answer: dict[str, Any]) -> tuple[str, bytes] | None:
    try:
        return enroll_link.parse(answer)
    except enroll_link.LinkRefused as exc:
        raise EnrolFailed(str(exc)) from None


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise EnrolFailed(f"cannot write {value!r} back to the config")


def _check(path: Path, text: str) -> None:
    """postermd's own loader on the text, before anything is written."""
    from posterm.daemon.config import ConfigError, load_config  # noqa: PLC0415 (heavy)

    path.parent.mkdir(parents=True, exist_ok=True)
    probe = path.with_name(f".{path.name}.check")
    probe.write_text(text, encoding="utf-8")
    try:
        load_config(probe)
    except ConfigError as exc:
        raise EnrolFailed(f"the config would not load: {exc}") from None
    finally:
        probe.unlink()


def _write(path: Path, data: bytes) -> None:
    """0640 from the start, group posterm when it exists and we may give it, then renamed
    into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o640)
    if os.geteuid() == 0:
        import grp  # noqa: PLC0415

        with contextlib.suppress(KeyError):  # no service group: root's
            os.chown(tmp, 0, grp.getgrnam(SERVICE_GROUP).gr_gid)
    os.replace(tmp, path)
