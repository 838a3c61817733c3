"""`posterm-host --config FILE`: TOML, checked at start-up; an unknown key or a bad value
stops it with the file and the dotted key named."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec

from posterm.host import webhooks as hooks
from posterm.host.alerts.rules import Limits
from posterm.host.notify import config as notify_config
from posterm.host.public.config import PublicSection
from posterm.protocol import config as kit
from posterm.protocol.config import Refused, Section, between, one_of, seconds, text
from posterm.protocol.mqtt.topics import TID
from posterm.protocol.mqtt.url import MqttUrl


class HostConfigError(kit.ConfigError):
    """The host's configuration cannot be used; names the file and the key."""


ROLES = ("operator", "viewer")
DEFAULT_BIND = "127.0.0.1:8080"
DEFAULT_STORE = "sqlite:///var/lib/posterm-host/host.db"
Tid = Annotated[str, text(TID.pattern, "1-32 of A-Z a-z 0-9 _ -", 32)]


def parse_bind(text: str, *, any_port: bool = False) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets); ValueError says what is wrong. `any_port`
    also takes port 0: a port the kernel picks, which the server logs once bound."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    lowest = 0 if any_port else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) <= 65535:
        raise ValueError(f"HOST:PORT, e.g. {DEFAULT_BIND}, not {text!r}")
    return host, int(port)


class WebUser(Section, frozen=True):
    """A `[[web.users]]` entry."""

    name: Annotated[str, text(r"[A-Za-z0-9_.@-]{1,64}", "1-64 of A-Z a-z 0-9 _ . @ -", 64)]
    password_hash: Annotated[
        str, text(r"\$argon2\S*", "an argon2 hash (posterm-host hash-password)")
    ]
    # operator: may approve, reprint, close the day; viewer: reads only
    role: Annotated[str, one_of(*ROLES)]


class WebConfig(Section, frozen=True):
    """`[web]`: the dashboard of `run --http` (bound to localhost by default; TLS is the
    reverse proxy's)."""

    bind: Annotated[str, text(hint=f"HOST:PORT, e.g. {DEFAULT_BIND}")] = DEFAULT_BIND
    session_secret_file: Path | None = None  # None: a new secret per process
    cookie_secure: bool = True  # false only for plain http on localhost
    users: tuple[WebUser, ...] = ()
    # the reverse proxies whose X-Forwarded-For names the client (addresses or networks);
    # none: the header is ignored and the connection's address is the client
    forwarded_allow_ips: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            parse_bind(self.bind)
        except ValueError as exc:
            raise Refused(str(exc), "bind") from None
        for i, user in enumerate(self.users):
            if any(u.name == user.name for u in self.users[:i]):
                raise Refused(f"{user.name!r} twice", f"users[{i}].name")
        proxies = []
        for entry in self.forwarded_allow_ips:
            try:
                proxies.append(str(ipaddress.ip_network(entry)))
            except ValueError:
                raise Refused(
                    f"{entry!r}: an IP address or network like 127.0.0.1 or "
                    "10.0.0.0/24 (the reverse proxy's)",
                    "forwarded_allow_ips",
                ) from None
        msgspec.structs.force_setattr(self, "forwarded_allow_ips", tuple(proxies))


class HostSection(Section, frozen=True):
    id: Tid
    reply_timeout_s: Annotated[float, seconds(0.5, 86400)] = 30.0
    stale_after_s: Annotated[float, seconds(0.5, 86400)] = 180.0  # telemetry silent this long


class MqttSection(Section, frozen=True):
    url: MqttUrl
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    share_group: Tid | None = None  # several processes share $share/{group}/… subscriptions
    username: Annotated[str, text(r"[!-~]{1,64}", "1-64 printable characters", 64)] | None = None


class StoreSection(Section, frozen=True):
    url: Annotated[
        str,
        text(
            r"sqlite:///\S+|postgres(ql)?://\S*/[A-Za-z0-9_]+(\?\S*)?",
            "sqlite:///ABSOLUTE/PATH or postgresql://[USER@]HOST[:PORT]/DB",
            4096,
        ),
    ] = DEFAULT_STORE


class KeysSection(Section, frozen=True):
    private_key: Path | None = None


DEFAULT_CA_DIR = Path("/var/lib/posterm-host/ca")


class EnrolSection(Section, frozen=True):
    """`[enrol]`: the fleet CA and what `POST /api/enroll` gives a terminal."""

    ca_dir: Path = DEFAULT_CA_DIR  # ca.key (0600) and ca.pem: `posterm-host ca init`
    broker_url: MqttUrl | None = None  # the broker as terminals reach it; None: [mqtt] url
    cert_days: Annotated[int, between(1, 3650, " days")] = 365
    # a revoke also writes the CRL here (0644, where the broker's `crlfile` reads it) and
    # runs broker_reload (e.g. ["systemctl", "reload", "mosquitto"]: Mosquitto re-reads its
    # CRL on SIGHUP), then disconnects the terminal: refused at once, no broker restart
    broker_crl: Path | None = None
    broker_reload: tuple[str, ...] = ()


ALERT_RANGES = {
    "refunds_per_day": (0, 1_000_000),
    "refund_minor_per_day": (0, 10**15),
    "interval_s": (0.1, 3600),
    "stale_s": (0, 7 * 86400),
    "in_doubt_s": (0, 7 * 86400),
    "pt_down_s": (0, 7 * 86400),
    "fault_s": (0, 7 * 86400),
    "printer_s": (0, 7 * 86400),
    "cpu_temp_c": (30, 150),
    "disk_free_mb": (0, 10**7),
    "clock_s": (0, 7 * 86400),
}  # else 1 s - 7 days
if TYPE_CHECKING:
    AlertsSection = Section
else:  # `[alerts]`: the keys and defaults of Limits, each with its range
    AlertsSection = msgspec.defstruct(
        "AlertsSection",
        [
            (
                f.name,
                Annotated[
                    int if f.type in (int, "int") else float,
                    between(*ALERT_RANGES.get(f.name, (1, 7 * 86400))),
                ],
                f.default,
            )
            for f in fields(Limits)
        ],
        bases=(Section,),
        frozen=True,
        module=__name__,
    )


class HostToml(Section, frozen=True):
    """posterm-host's config file as written."""

    host: HostSection
    mqtt: MqttSection
    store: StoreSection = StoreSection()
    keys: KeysSection = KeysSection()
    web: WebConfig = WebConfig()
    alerts: AlertsSection = AlertsSection()
    webhooks: tuple[hooks.WebhookEntry, ...] = ()
    notify: notify_config.NotifyTable | None = None
    enrol: EnrolSection = EnrolSection()
    public: PublicSection | None = None  # the customer's refund status page (issue 24)


SECTIONS: dict[str, type[msgspec.Struct]] = {
    "host": HostSection,
    "mqtt": MqttSection,
    "store": StoreSection,
    "keys": KeysSection,
    "enrol": EnrolSection,
    "web": WebConfig,
    "alerts": AlertsSection,
    "public": PublicSection,
}


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
    enrol: EnrolSection = field(default_factory=EnrolSection)
    public: PublicSection | None = None  # [public]: the refund status page


def load(path: str | Path) -> HostConfig:
    """Read and check `path`; HostConfigError names the file and the dotted key."""
    path = Path(path)
    t = kit.convert(kit.read_toml(path, HostConfigError), HostToml, HostConfigError, file=path)
    try:
        webhooks = hooks.build(t.webhooks)
    except hooks.WebhookConfigError as exc:
        raise exc.at(path, HostConfigError) from None
    return HostConfig(
        path=path,
        host_id=t.host.id,
        mqtt_url=t.mqtt.url,
        ca_file=t.mqtt.ca_file,
        cert_file=t.mqtt.cert_file,
        key_file=t.mqtt.key_file,
        store_url=t.store.url,
        private_key=t.keys.private_key,
        reply_timeout_s=t.host.reply_timeout_s,
        stale_after_s=t.host.stale_after_s,
        web=t.web,
        alerts=Limits(**msgspec.structs.asdict(t.alerts)),
        webhooks=webhooks,
        notify=None if t.notify is None else notify_config.build(t.notify),
        share_group=t.mqtt.share_group,
        mqtt_username=t.mqtt.username,
        enrol=t.enrol,
        public=t.public,
    )
