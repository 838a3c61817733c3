// posterm fleet dashboard: the open alerts, each with the operators' word on it. An operator
// acknowledges one (with a note) or mutes it for a time through /api/alerts/{id}/ack|mute;
// its buttons are disabled while that runs, a sentence says what was done, and the alert's
// line shows the new word at once (others see it at their next poll of /api/fleet).
"use strict";

const MUTE_CHOICES = [["30m", "30 min"], ["2h", "2 h"], ["8h", "8 h"], ["1d", "1 day"],
  ["7d", "7 days"]];

function timeEl(iso) {
  const el = document.createElement("time");
  el.setAttribute("datetime", iso);
  el.textContent = iso;
  localTime(el);
  return el;
}

// a time to come (a mute's end) in the operator's zone, with how long until then
function localUntil(el) {
  const at = new Date(el.dataset.until);
  if (Number.isNaN(at.getTime())) {
    return;
  }
  el.title = el.dataset.until;
  const left = ago(Math.max(0, (at - Date.now()) / 1000)).replace(/ ago$/, "");
  el.textContent = `${LOCAL.format(at)} (in ${left})`;
}

function untilEl(iso) {
  const el = document.createElement("span");
  el.className = "until";
  el.dataset.until = iso;
  el.textContent = iso;
  localUntil(el);
  return el;
}

// "acknowledged by olga: “note”; muted until <time> by olga", as the template writes it
function fillWord(span, a) {
  const parts = [];
  if (a.acked_by) {
    parts.push(document.createTextNode(`acknowledged by ${a.acked_by}` +
      (a.ack_note ? `: \u201c${a.ack_note}\u201d` : "")));
  }
  if (a.muted) {
    if (parts.length) {
      parts.push(document.createTextNode("; "));
    }
    parts.push(document.createTextNode("muted until "), untilEl(a.muted_until),
      document.createTextNode(` by ${a.muted_by}`));
  }
  span.replaceChildren(...parts);
}

function link(cls, href, text) {
  const a = document.createElement("a");
  a.className = cls;
  a.href = href;
  a.textContent = text;
  return a;
}

// "warning: Receipt not printed on pos-a (S1) since <time>": the kind's friendly name, a
// link to the terminal's page and one to each transaction it names (as _alert_links.html)
function fillWhat(span, a) {
  span.dataset.kind = a.kind;
  const parts = [document.createTextNode(`${a.severity}: ${a.name} on `),
    link("terminal-link", `/terminals/${encodeURIComponent(a.terminal)}`, a.terminal)];
  const txns = a.txns || [];
  if (txns.length) {
    parts.push(document.createTextNode(" ("));
    txns.forEach((txn, i) => {
      const query = new URLSearchParams({terminal: a.terminal, txn});
      parts.push(link("txn-link", `/receipts?${query}`, txn));
      parts.push(document.createTextNode(i < txns.length - 1 ? ", " : ")"));
    });
  } else if (a.subject) {
    parts.push(document.createTextNode(` (${a.subject})`));
  }
  parts.push(document.createTextNode(" since "), timeEl(a.raised_at));
  span.replaceChildren(...parts);
}

function markWord(box, a) {
  for (const [key, on] of [["acked", Boolean(a.acked_by)], ["muted", Boolean(a.muted)]]) {
    if (on) {
      box.dataset[key] = "1";
    } else {
      delete box.dataset[key];
    }
  }
  fillWord(box.querySelector(".word"), a);
}

function controls() {
  const acts = document.createElement("span");
  acts.className = "alert-acts";
  const note = acts.appendChild(document.createElement("input"));
  note.className = "note";
  note.maxLength = 500;
  note.placeholder = "note (optional)";
  note.setAttribute("aria-label", "note");
  acts.append(" ");
  const ack = acts.appendChild(document.createElement("button"));
  ack.type = "button";
  ack.className = "ack";
  ack.textContent = "Acknowledge";
  acts.append(" ");
  const span = acts.appendChild(document.createElement("select"));
  span.className = "mute-for";
  span.setAttribute("aria-label", "mute for");
  for (const [value, label] of MUTE_CHOICES) {
    const option = span.appendChild(document.createElement("option"));
    option.value = value;
    option.textContent = label;
  }
  acts.append(" ");
  const mute = acts.appendChild(document.createElement("button"));
  mute.type = "button";
  mute.className = "mute";
  mute.textContent = "Mute";
  acts.appendChild(document.createElement("output")).className = "result";
  return acts;
}

function alertBox(a, operator) {
  const box = document.createElement("div");
  box.className = "alert sev-" + a.severity;
  box.dataset.alert = a.alert_id;
  const what = box.appendChild(document.createElement("span"));
  what.className = "what";
  fillWhat(what, a);
  box.append(" ");
  box.appendChild(document.createElement("span")).className = "word";
  markWord(box, a);
  if (operator) {
    box.append(" ");
    box.appendChild(controls());
  }
  return box;
}

// the poll's alerts into the section: a box still listed keeps its controls (a note being
// typed, an action running), its lines brought up to date; new ones added, gone ones removed
function renderAlerts(section, alerts) {
  const operator = document.body.dataset.role === "operator";
  const old = new Map([...section.querySelectorAll(".alert[data-alert]")]
    .map((box) => [box.dataset.alert, box]));
  const boxes = alerts.map((a) => {
    const box = old.get(a.alert_id);
    if (!box) {
      return alertBox(a, operator);
    }
    box.className = "alert sev-" + a.severity;
    fillWhat(box.querySelector(".what"), a);
    if (!box.dataset.busy) {  // the action's own answer updates it when it comes
      markWord(box, a);
    }
    return box;
  });
  const now = [...section.children];
  if (now.length !== boxes.length || now.some((el, i) => el !== boxes[i])) {
    section.replaceChildren(...boxes);
  }
  section.dataset.count = String(alerts.length);
}

function choiceLabel(select) {
  return select.options[select.selectedIndex]?.textContent || select.value;
}

async function alertAction(box, action) {
  const acts = box.querySelector(".alert-acts");
  const out = acts.querySelector("output.result");
  const buttons = [...acts.querySelectorAll("button")];
  const id = box.dataset.alert;
  const body = {action, alert: id};
  if (action === "ack") {
    body.note = acts.querySelector("input.note").value;
  } else {
    body.for = acts.querySelector("select.mute-for").value;
  }
  box.dataset.busy = "1";
  for (const b of buttons) {
    b.disabled = true;
  }
  out.textContent = action === "ack" ? "Acknowledging\u2026" : "Muting\u2026";
  out.dataset.state = "waiting";
  try {
    const response = await fetch(`/api/alerts/${encodeURIComponent(id)}/${action}`, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body),
    });
    const result = await response.json();
    if (result.ok) {
      markWord(box, result.alert);
      out.textContent = action === "ack" ? "Acknowledged: the other operators see it." :
        `Muted for ${choiceLabel(acts.querySelector("select.mute-for"))}.`;
      out.dataset.state = "ok";
      if (action === "ack") {
        acts.querySelector("input.note").value = "";
      }
    } else {
      out.textContent = `Not done: ${result.error || "refused"} (${result.code ||
        response.status}).`;
      out.dataset.state = "refused";
    }
  } catch (err) {
    out.textContent = "Not done: no answer from the host; try again.";
    out.dataset.state = "refused";
  } finally {
    delete box.dataset.busy;
    for (const b of buttons) {
      b.disabled = false;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("alerts");
  if (!section) {
    return;
  }
  const untils = () => section.querySelectorAll(".until[data-until]").forEach(localUntil);
  untils();
  window.setInterval(untils, AGES_MS);
  section.addEventListener("click", (event) => {
    const button = event.target.closest("button.ack, button.mute");
    const box = button?.closest(".alert[data-alert]");
    if (box && !button.disabled) {
      alertAction(box, button.classList.contains("ack") ? "ack" : "mute");
    }
  });
});
