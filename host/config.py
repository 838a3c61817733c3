"""`posterm-host --config FILE`: TOML, checked at start-up; an unknown key or a bad value
stops it with the file and the dotted key named."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from posterm.host import webhooks as hooks
from posterm.host.alerts.rules import Limits
from posterm.host.notify import config as notify_config
from posterm.protocol.mqtt.topics import TID


class HostConfigError(Exception):
    """The host's configuration cannot be used; names the file and the key."""


ROLES = ("operator", "viewer")
USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
DEFAULT_BIND = "127.0.0.1:8080"


@dataclass(frozen=True)
class WebUser:
    name: str
    password_hash: str  # argon2 (posterm-host hash-password)
    role: str  # operator: may approve, reprint, close the day; viewer: reads only


@dataclass(frozen=True)
class WebConfig:
    """`[web]`: the dashboard of `run --http` (bound to localhost by default; TLS is the
    reverse proxy's)."""

    bind: str = DEFAULT_BIND
    session_secret_file: Path | None = None  # None: a new secret per process
    cookie_secure: bool = True  # false only for plain http on localhost
    users: tuple[WebUser, ...] = ()
    # the reverse proxies whose X-Forwarded-For names the client (addresses or networks);
    # none: the header is ignored and the connection's address is the client
    forwarded_allow_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostConfig:
    path: Path
    host_id: str
    mqtt_url: str
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    store_url: str  # sqlite:///ABSOLUTE/PATH or postgresql://…
    private_key: Path | None
    reply_timeout_s: float
    stale_after_s: float  # telemetry silent this long: the terminal is stale
    web: WebConfig = field(default_factory=WebConfig)
    mqtt_username: str | None = None  # a broker that wants one (the demo's amqtt); no password
    alerts: Limits = field(default_factory=Limits)
    webhooks: tuple[hooks.Webhook, ...] = ()
    notify: notify_config.NotifyConfig | None = None  # [notify]: refund notifications
    share_group: str | None = None  # several processes share $share/{group}/… subscriptions


SCHEMA: dict[str, dict[str, tuple[type, bool]]] = {
    # section -> key -> (type, required)
    "host": {"id": (str, True), "reply_timeout_s": (float, False),
             "stale_after_s": (float, False)},
    "mqtt": {"url": (str, True), "ca_file": (str, False), "cert_file": (str, False),
             "key_file": (str, False), "share_group": (str, False), "username": (str, False)},
    "store": {"url": (str, False)},
    "keys": {"private_key": (str, False)},
    "web": {"bind": (str, False), "session_secret_file": (str, False),
            "cookie_secure": (bool, False), "users": (list, False),
            "forwarded_allow_ips": (list, False)},
    "alerts": {f.name: (int if f.type == "int" else float, False) for f in fields(Limits)},
}  # fmt: skip
ALERT_RANGES = {"refunds_per_day": (0, 1_000_000), "refund_minor_per_day": (0, 10**15),
                "interval_s": (0.1, 3600), "stale_s": (0, 7 * 86400)}  # else 1 s - 7 days
MQTT_URL = re.compile(r"mqtts?://[^/:\s]+(:\d{1,5})?/?")
STORE_URL = re.compile(r"sqlite:///\S+|postgres(ql)?://\S*/[A-Za-z0-9_]+(\?\S*)?")
DEFAULT_STORE = "sqlite:///var/lib/posterm-host/host.db"


def load(path: str | Path) -> HostConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HostConfigError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:  # not UTF-8, not TOML, an integer past int()'s limit
        raise HostConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise HostConfigError(f"{path}: arrays or tables nested too deeply") from None

    def fail(key: str, why: str) -> HostConfigError:
        return HostConfigError(f"{path}: {key}: {why}")

    values: dict[str, Any] = {}
    try:
        webhooks = hooks.parse(data.pop("webhooks", []))
    except hooks.WebhookConfigError as exc:
        raise fail(exc.key, exc.why) from None
    try:
        notify = notify_config.parse(data.pop("notify")) if "notify" in data else None
    except notify_config.NotifyConfigError as exc:
        raise fail(exc.key, exc.why) from None
    for section, table in data.items():
        if section not in SCHEMA:
            raise fail(section, f"unknown section (known: {', '.join(SCHEMA)})")
        if not isinstance(table, dict):
            raise fail(section, f"must be a table: [{section}]")
        for key, raw in table.items():
            if key not in SCHEMA[section]:
                raise fail(f"{section}.{key}", f"unknown key (known: {', '.join(SCHEMA[section])})")
            kind = SCHEMA[section][key][0]
            try:
                value = float(raw) if kind is float and type(raw) is int else raw
            except OverflowError:  # an integer no float holds
                raise fail(f"{section}.{key}", "out of range") from None
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
                raise fail(f"{section}.{key}", f"must be a {kind.__name__}")
            values[f"{section}.{key}"] = value
    for section, keys in SCHEMA.items():
        for key, (_, required) in keys.items():
            if required and f"{section}.{key}" not in values:
                raise fail(f"{section}.{key}", "required key is missing")
    host_id = values["host.id"]
    if not TID.fullmatch(host_id):
        raise fail("host.id", "1-32 of A-Z a-z 0-9 _ -")
    url = values["mqtt.url"]
    if not MQTT_URL.fullmatch(url):
        raise fail("mqtt.url", "mqtt://HOST:PORT or mqtts://HOST:PORT")
    share_group = values.get("mqtt.share_group")
    if share_group is not None and not TID.fullmatch(share_group):
        raise fail("mqtt.share_group", "1-32 of A-Z a-z 0-9 _ -")
    store = values.get("store.url", DEFAULT_STORE)
    if not STORE_URL.fullmatch(store):
        raise fail("store.url", "sqlite:///ABSOLUTE/PATH or postgresql://[USER@]HOST[:PORT]/DB")
    files = {k: _file(values.get(k), k, fail) for k in
             ("mqtt.ca_file", "mqtt.cert_file", "mqtt.key_file", "keys.private_key")}  # fmt: skip
    timeouts = {}
    for key, default in (("host.reply_timeout_s", 30.0), ("host.stale_after_s", 180.0)):
        timeouts[key] = values.get(key, default)
        if not 0.5 <= timeouts[key] <= 86400:
            raise fail(key, "out of range 0.5-86400 s")
    limits = {}
    for key in SCHEMA["alerts"]:
        if f"alerts.{key}" in values:
            low, high = ALERT_RANGES.get(key, (1, 7 * 86400))
            limits[key] = values[f"alerts.{key}"]
            if not low <= limits[key] <= high:
                raise fail(f"alerts.{key}", f"out of range {low}-{high}")
    return HostConfig(
        path=path, host_id=host_id, mqtt_url=url, ca_file=files["mqtt.ca_file"],
        cert_file=files["mqtt.cert_file"], key_file=files["mqtt.key_file"],
        store_url=store, private_key=files["keys.private_key"],
        reply_timeout_s=timeouts["host.reply_timeout_s"],
        stale_after_s=timeouts["host.stale_after_s"], alerts=Limits(**limits),
        webhooks=webhooks, notify=notify, share_group=share_group, web=_web(values, fail),
        mqtt_username=values.get("mqtt.username"),
    )  # fmt: skip


def _web(values: dict[str, Any], fail: Any) -> WebConfig:
    bind = values.get("web.bind", DEFAULT_BIND)
    try:
        parse_bind(bind)
    except ValueError as exc:
        raise fail("web.bind", str(exc)) from None
    users: list[WebUser] = []
    for n, entry in enumerate(values.get("web.users", []), start=1):

        def bad(why: str, n: int = n) -> HostConfigError:  # the key named as the loader does
            return fail("web.users", f"user {n}: {why}")  # type: ignore[no-any-return]

        if not isinstance(entry, dict):
            raise bad("must be a table: [[web.users]]")
        for name in entry:
            if name not in ("name", "password_hash", "role"):
                raise bad(f"{name}: unknown key (known: name, password_hash, role)")
        for name in ("name", "password_hash", "role"):
            if not isinstance(entry.get(name), str):
                raise bad(f"{name}: required, a string")
        if not USER_NAME.fullmatch(entry["name"]):
            raise bad("name: 1-64 of A-Z a-z 0-9 _ . @ -")
        if any(u.name == entry["name"] for u in users):
            raise bad(f"name: {entry['name']!r} twice")
        if not entry["password_hash"].startswith("$argon2"):
            raise bad("password_hash: an argon2 hash (posterm-host hash-password)")
        if entry["role"] not in ROLES:
            raise bad(f"role: one of {', '.join(ROLES)}")
        users.append(WebUser(entry["name"], entry["password_hash"], entry["role"]))
    secret = _file(values.get("web.session_secret_file"), "web.session_secret_file", fail)
    proxies = []
    for entry in values.get("web.forwarded_allow_ips", []):
        try:
            if not isinstance(entry, str):
                raise TypeError(entry)
            proxies.append(str(ipaddress.ip_network(entry)))
        except (TypeError, ValueError):
            raise fail("web.forwarded_allow_ips", f"{entry!r}: an IP address or network like"
                       " 127.0.0.1 or 10.0.0.0/24 (the reverse proxy's)") from None
    return WebConfig(bind=bind, session_secret_file=secret,
                     cookie_secure=values.get("web.cookie_secure", True), users=tuple(users),
                     forwarded_allow_ips=tuple(proxies))  # fmt: skip


def parse_bind(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets); ValueError says what is wrong."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"HOST:PORT, e.g. {DEFAULT_BIND}, not {text!r}")
    return host, int(port)


def _file(value: str | None, key: str, fail: Any) -> Path | None:
    if value is None:
        return None
    if not value.startswith("/"):
        raise fail(key, "an absolute path")
    return Path(value)
