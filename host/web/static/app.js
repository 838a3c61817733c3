// posterm fleet dashboard: the fleet screen refreshes itself from /api/fleet, and the
// operator's buttons post to the JSON API with the session's CSRF token, after a confirmation.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 1500;
const DASH = "\u2013";

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? DASH : String(text);
  return td;
}

function fleetRow(t) {
  const tr = document.createElement("tr");
  tr.dataset.terminal = t.terminal;
  tr.dataset.state = t.state;
  tr.className = "state-" + t.state;
  const name = document.createElement("td");
  const link = document.createElement("a");
  link.href = "/terminals/" + encodeURIComponent(t.terminal);
  link.textContent = t.terminal;
  name.appendChild(link);
  tr.appendChild(name);
  const state = cell(t.state);
  state.className = "state";
  tr.appendChild(state);
  for (const key of ["last_seen", "pt_link", "printer", "paper", "pending_receipts", "in_doubt",
                     "outbox_depth", "oldest_unsent_age_s", "version"]) {
    tr.appendChild(cell(t[key]));
  }
  return tr;
}

function alertBox(a) {
  const div = document.createElement("div");
  div.className = "alert sev-" + a.severity;
  div.textContent = `${a.severity}: ${a.kind} on ${a.terminal}` +
    (a.subject ? ` (${a.subject})` : "") + ` since ${a.raised_at}`;
  return div;
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
      body.replaceChildren(...data.terminals.map(fleetRow));
      const alerts = document.getElementById("alerts");
      alerts.replaceChildren(...data.alerts.map(alertBox));
      alerts.dataset.count = String(data.alerts.length);
      document.getElementById("updated").textContent = data.now;
      table.dataset.polled = String(Number(table.dataset.polled || "0") + 1);
    }
  } catch (err) {
    document.getElementById("updated").textContent = "(host unreachable)";
  }
  window.setTimeout(() => pollFleet(table), POLL_MS);
}

function describe(result) {
  if (result.ok) {
    const r = result.reply && result.reply.result;
    return "done: " + (r && typeof r === "object" ? JSON.stringify(r) : "ok");
  }
  return `refused (${result.code}): ${result.error}`;
}

async function act(button) {
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    return;
  }
  const out = button.parentElement.querySelector("output.result");
  button.disabled = true;
  out.textContent = "sent, waiting for the terminal\u2026";
  out.dataset.state = "waiting";
  try {
    const response = await fetch(button.dataset.url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: button.dataset.body || "{}",
    });
    const result = await response.json();
    out.textContent = describe(result);
    out.dataset.state = result.ok ? "ok" : "refused";
  } catch (err) {
    out.textContent = "failed: " + err;
    out.dataset.state = "refused";
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("fleet");
  if (table) {
    pollFleet(table);
  }
  for (const button of document.querySelectorAll("button.act")) {
    button.addEventListener("click", () => act(button));
  }
});
