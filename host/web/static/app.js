// posterm fleet dashboard: the fleet screen refreshes itself from /api/fleet, and the
// operator's buttons post to the JSON API with the session's CSRF token, after a confirmation.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 1500;
const DASH = "\u2013";

function cell(text, label) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? DASH : String(text);
  if (label) {
    td.dataset.label = label;
  }
  return td;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) {
    return "?";
  }
  if (seconds < 120) {
    return `${Math.round(seconds)} s ago`;
  }
  if (seconds < 7200) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 172800) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return `${Math.round(seconds / 86400)} days ago`;
}

// an RFC 3339 time from the host, shown in the operator's own time zone with its age
const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  second: "2-digit", timeZoneName: "short",
});

function localTime(el) {
  const iso = el.getAttribute("datetime");
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) {
    return;
  }
  el.title = iso;
  el.textContent = `${LOCAL.format(at)} (${ago(Math.max(0, (Date.now() - at) / 1000))})`;
}

// a plot's time ticks (drawn in UTC on the server, `data-at`) in the operator's zone
const TICK = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit",
  hourCycle: "h23"});
const DAY_TICK = new Intl.DateTimeFormat(undefined, {day: "numeric", month: "short",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23"});

function localTick(el) {
  const at = new Date(el.dataset.at);
  if (Number.isNaN(at.getTime())) {
    return;
  }
  if (!el.dataset.utc) {
    el.dataset.utc = el.textContent;  // a date in it: the first tick of a day
  }
  el.textContent = (el.dataset.utc.includes(" ") ? DAY_TICK : TICK).format(at);
}

function localTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    localTime(el);
  }
  for (const el of root.querySelectorAll("svg.plot text.tick[data-at]")) {
    localTick(el);
  }
  for (const el of root.querySelectorAll(".zone")) {
    el.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  }
}

function timeCell(iso, label) {
  if (iso === null || iso === undefined) {
    return cell(null, label);
  }
  const td = cell("", label);
  const el = document.createElement("time");
  el.setAttribute("datetime", iso);
  el.textContent = iso;
  localTime(el);
  td.appendChild(el);
  return td;
}

const FLEET_COLUMNS = [["pt_link", "PT link"], ["printer", "Printer"], ["paper", "Paper"],
  ["pending_receipts", "Pending receipts"], ["in_doubt", "In doubt"], ["outbox_depth", "Outbox"],
  ["oldest_unsent_age_s", "Oldest unsent (s)"], ["version", "Version"]];

function fleetRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.terminal = t.terminal;
  tr.dataset.state = t.state;
  tr.dataset.payments = t.payments.level;
  tr.className = `state-${t.state} pay-${t.payments.level}`;
  const name = cell("", "Terminal");
  const link = document.createElement("a");
  link.href = "/terminals/" + encodeURIComponent(t.terminal);
  link.textContent = t.terminal;
  name.appendChild(link);
  const labels = [t.site, (t.tags || []).join(", ")].filter(Boolean).join(" \u00b7 ");
  if (labels) {
    const small = document.createElement("small");
    small.className = "labels";
    small.textContent = labels;
    name.append(" ", small);
  }
  tr.appendChild(name);
  const payments = cell(t.payments.why, "Payments");
  payments.className = "payments";
  tr.appendChild(payments);
  const state = cell(t.state, "State");
  state.className = "state";
  tr.appendChild(state);
  tr.appendChild(timeCell(t.last_seen, "Last seen"));
  for (const [key, label] of FLEET_COLUMNS) {
    tr.appendChild(cell(t[key], label));
  }
  return tr;
}

function setCard(id, text, flag) {
  const card = document.getElementById(id);
  if (!card) {
    return;
  }
  card.querySelector(".n").textContent = String(text);
  card.classList.toggle(flag, Number(text) > 0);
}

function moneyLines(card, rows) {
  for (const old of card.querySelectorAll(".money")) {
    old.remove();
  }
  for (const m of rows.length ? rows : [null]) {
    const span = document.createElement("span");
    span.className = "money";
    span.textContent = m ? `${m.count} \u00b7 ${m.amount} ${m.currency}` : "0";
    card.appendChild(span);
  }
}

function renderCards(s) {
  setCard("card-online", s.online, "good");
  setCard("card-offline", s.offline, "bad");
  setCard("card-not-paying", s.not_paying, "bad");
  setCard("card-pending", s.pending_refunds, "warn");
  moneyLines(document.getElementById("card-takings"), s.takings);
  moneyLines(document.getElementById("card-refunds"), s.refunds);
  const alerts = document.getElementById("card-alerts");
  for (const span of alerts.querySelectorAll(".sev")) {
    span.textContent = `${s.alerts[span.dataset.severity] || 0} ${span.dataset.severity}`;
  }
  alerts.classList.toggle("bad", (s.alerts.critical || 0) > 0);
}

// the rows, with a heading row where a group (by site or tag) begins
function fleetRows(terminals) {
  const rows = [];
  terminals.forEach((t, i) => {
    if (t.group && (i === 0 || terminals[i - 1].group !== t.group)) {
      const tr = document.createElement("tr");
      tr.className = "group";
      tr.dataset.group = t.group;
      const th = document.createElement("th");
      th.colSpan = 12;
      th.scope = "rowgroup";
      th.textContent = t.group;
      tr.appendChild(th);
      rows.push(tr);
    }
    rows.push(fleetRow(t));
  });
  return rows;
}

async function pollFleet(table) {
  try {
    const response = await fetch(table.dataset.poll, {headers: {"Accept": "application/json"}});
    if (response.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (response.ok) {
      const data = await response.json();
      const body = document.getElementById("fleet-body");
      body.replaceChildren(...fleetRows(data.terminals));
      if (!data.terminals.length) {
        const none = cell(data.summary.terminals ? "No terminal matches." :
          "No terminal has reported yet.");
        none.colSpan = 12;
        body.appendChild(document.createElement("tr")).appendChild(none);
      }
      renderAlerts(document.getElementById("alerts"), data.alerts);  // static/alerts.js
      renderCards(data.summary);
      document.getElementById("matched").textContent = String(data.view.matched);
      const updated = document.createElement("time");
      updated.setAttribute("datetime", data.now);
      localTime(updated);
      document.getElementById("updated").replaceChildren(updated);
      table.dataset.polled = String(Number(table.dataset.polled || "0") + 1);
    }
  } catch (err) {
    document.getElementById("updated").textContent = "(host unreachable)";
  }
  window.setTimeout(() => pollFleet(table), POLL_MS);
}

// after an action: a sentence, never the reply's JSON (`data-done` says what was done)
function describe(button, result, status) {
  if (result.ok) {
    return button.dataset.done || "Done.";
  }
  return `Not done: ${result.error || "refused"} (${result.code || status}).`;
}

// the buttons of one row are disabled while one of them runs; a decision (`data-once`)
// taken, the row says so and its buttons go
async function act(button) {
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    return;
  }
  const out = button.parentElement.querySelector("output.result");
  const group = [...button.parentElement.querySelectorAll("button.act")];
  for (const b of group) {
    b.disabled = true;
  }
  out.textContent = "Sent; waiting for the terminal\u2026";
  out.dataset.state = "waiting";
  try {
    const response = await fetch(button.dataset.url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: button.dataset.body || "{}",
    });
    const result = await response.json();
    out.textContent = describe(button, result, response.status);
    out.dataset.state = result.ok ? "ok" : "refused";
    const row = button.closest("tr");
    if (result.ok && button.dataset.once && row) {
      row.dataset.done = button.dataset.once;
      row.classList.add("done");
      for (const b of group) {
        b.remove();
      }
    }
  } catch (err) {
    out.textContent = "Not done: no answer from the host; try again.";
    out.dataset.state = "refused";
  } finally {
    for (const b of group) {
      b.disabled = false;
    }
  }
}

function actButton(label, cls, url, body, question, done, once) {
  const button = document.createElement("button");
  button.className = "act " + cls;
  button.textContent = label;
  button.dataset.url = url;
  button.dataset.body = JSON.stringify(body);
  button.dataset.confirm = question;
  button.dataset.done = done;
  button.dataset.once = once;
  button.addEventListener("click", () => act(button));
  return button;
}

function refundRow(r, operator) {
  const tr = document.createElement("tr");
  tr.dataset.txn = r.txn_id;
  tr.dataset.terminal = r.terminal;
  const amount = `${r.amount} ${r.currency}`;
  for (const [text, label] of [[r.txn_id, "Refund"], [r.terminal, "Terminal"],
                               [amount, "Amount"], [r.sale || "none", "Original sale"],
                               [r.reason + (r.reason_text ? ": " + r.reason_text : ""), "Reason"]]) {
    tr.appendChild(cell(text, label));
  }
  tr.appendChild(timeCell(r.requested_at, "Requested"));
  const actions = document.createElement("td");
  if (operator) {
    // a refund is its terminal's: both in the URL, each part encoded, and in the body,
    // which the host checks against the URL
    const base = "/api/terminals/" + encodeURIComponent(r.terminal) + "/refunds/" +
      encodeURIComponent(r.txn_id);
    const target = {terminal: r.terminal, txn: r.txn_id};
    actions.appendChild(actButton("Approve", "approve", base + "/approve",
      {action: "approve", ...target}, `Approve refund ${r.txn_id} of ${amount} on ${r.terminal}?`,
      `Refund ${r.txn_id} approved.`, "approved"));
    actions.appendChild(document.createTextNode(" "));
    actions.appendChild(actButton("Reject", "reject", base + "/reject",
      {action: "reject", ...target}, `Reject refund ${r.txn_id} on ${r.terminal}?`,
      `Refund ${r.txn_id} rejected.`, "rejected"));
    actions.appendChild(document.createElement("output")).className = "result";
  }
  tr.appendChild(actions);
  return tr;
}

// new refunds awaiting approval appear; those no longer waiting stay (with their reply)
async function pollRefunds(table) {
  try {
    const response = await fetch("/api/refunds?pending=1", {headers: {"Accept": "application/json"}});
    if (response.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (response.ok) {
      const body = table.querySelector("tbody");
      const operator = document.body.dataset.role === "operator";
      for (const r of (await response.json()).refunds) {
        if (!body.querySelector(`tr[data-terminal="${CSS.escape(r.terminal)}"]` +
                                `[data-txn="${CSS.escape(r.txn_id)}"]`)) {
          body.querySelector("tr.none")?.remove();
          body.appendChild(refundRow(r, operator));
        }
      }
    }
  } catch (err) {
    // the host is unreachable: the next round tries again
  }
  window.setTimeout(() => pollRefunds(table), POLL_MS);
}

const AGES_MS = 15000;  // the ages ("3 min ago") of a page left open keep up

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  window.setInterval(() => {
    for (const el of document.querySelectorAll("time[datetime]")) {
      localTime(el);
    }
  }, AGES_MS);
  for (const button of document.querySelectorAll("button.act")) {
    button.addEventListener("click", () => act(button));
  }
  const table = document.getElementById("fleet");
  if (table) {
    pollFleet(table);
  }
  const pending = document.getElementById("pending");
  if (pending) {
    window.setTimeout(() => pollRefunds(pending), POLL_MS);
  }
});
