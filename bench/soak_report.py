"""The chaos soak's table: operations, outcomes and faults by kind, then the figures that
must be 0, each with its first findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.card_scan import card_data, scan_db, scan_files
from bench.soak_checks import (
    contacts_left,
    debits_without_one_receipt,
    event_figures,
    host_views,
    money_rule_violations,
    refund_messages,
    refunds_over_sale,
)

if TYPE_CHECKING:
    from bench.soak import Soak


def scan_places(soak: Soak) -> dict[str, list[str]]:
    tmp = soak.tmp
    return {
        "journal": scan_db(soak.rig.journal),
        "postermd logs": scan_files(soak.rig.logs),
        "posterm-host logs": scan_files(sorted(tmp.glob("host-*.log"))),
        "host database": scan_db(soak.host.db),
        "receipts": card_data("\n".join(soak.rig.printer.printed())),
        "MQTT payloads": card_data(soak.recorder.text()),
    }


# -- the table ------------------------------------------------------------------------------


def report(
    soak: Soak, seconds: float, problems: list[str], fault_kinds: tuple[str, ...]
) -> tuple[str, dict[str, int]]:
    rig = soak.rig
    lost, twice, unknown = event_figures(rig, soak.host)
    debits, again = debits_without_one_receipt(rig)
    violations = money_rule_violations(rig) + problems + unknown
    if soak.replay_mismatch:
        violations.append(f"{soak.replay_mismatch} idempotency keys answered differently")
    checks: dict[str, list[str]] = {
        "money-rule violations": violations,
        "events lost (outbox seq missing at the host)": lost,
        "events stored twice at the host": twice,
        "debits without exactly one customer receipt": debits,
        "refunds over their sale": refunds_over_sale(rig),
        "host views disagreeing with the journal": host_views(rig, soak.host),
        "refund e-mails not one, of the outcome": refund_messages(
            rig, soak.smtp.mailbox.messages, soak.contacts
        ),
        "customer contacts left on disk": contacts_left(rig, soak.host),
    }
    scans = {f"card data in {k}": v for k, v in scan_places(soak).items()}
    lines = [
        f"chaos soak: {seconds / 60:.1f} min, {sum(soak.ops.values())} operations, "
        f"{sum(soak.faults.values())} faults, {len(rig.events())} events, "
        f"{soak.recorder.count()} MQTT messages recorded"
    ]
    lines.append("operations by kind")
    lines += [f"  {k:<50} {n:>6}" for k, n in sorted(soak.ops.items())]
    lines.append("outcomes")
    lines += [f"  {k:<50} {n:>6}" for k, n in sorted(soak.outcomes.items())]
    lines.append(f"  {'receipt cut just before a kill, again RECOVERED':<50} {len(again):>6}")
    lines.append(f"  {'refunds asked with an e-mail address':<50} {len(soak.contacts):>6}")
    lines.append(f"  {'e-mails the customers received':<50} {len(soak.smtp.mailbox.messages):>6}")
    lines += [f"    {item}" for item in again[:10]]
    lines.append("faults injected by kind")
    lines += [f"  {k:<50} {soak.faults[k]:>6}" for k in fault_kinds]
    lines += [f"    at {k:<47} {n:>6}" for k, n in sorted(soak.steps.items())]
    lines.append("must be 0")
    figures: dict[str, int] = {}
    for name, found in {**checks, **scans}.items():
        figures[name] = len(found)
        lines.append(f"  {name:<50} {len(found):>6}")
    for name, found in {**checks, **scans}.items():
        for item in found[:10]:
            lines.append(f"  ! {name}: {item}")
    return "\n".join(lines), figures
