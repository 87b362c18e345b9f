// The live page of a standalone pytest-cloudevents receiver: the control API's deliveries,
// then its server-sent events stream. No framework, no build step, nothing from a CDN.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const deliveries = [];
// the page keeps at most this many deliveries (the oldest go first, as on the receiver)
const KEPT = 20000;
let dropped = 0;
let evicted = 0;
let selected = null;
// the seqs the CloudEvents SQL box lets through (the receiver evaluates it); null: no box
let sqlSeqs = null;
let sqlTimer = null;

function api(name, extra) {
  const query = new URLSearchParams(extra || {});
  if (token) query.set("token", token);
  const text = query.toString();
  return name + (text ? "?" + text : "");
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function first(d) {
  return d.events.length ? d.events[0] : {};
}

function fromHeaders(d, name) {
  return d.headers["ce-" + name] || "";
}

function attr(d, name) {
  const event = first(d);
  return event[name] !== undefined ? String(event[name]) : fromHeaders(d, name);
}

function filters() {
  return {
    type: document.getElementById("f-type").value.trim(),
    source: document.getElementById("f-source").value.trim(),
    outcome: document.getElementById("f-outcome").value,
    text: document.getElementById("f-text").value.trim().toLowerCase(),
  };
}

function shown(d, f) {
  if (sqlSeqs !== null && !sqlSeqs.has(d.seq)) return false;
  if (f.outcome && d.outcome !== f.outcome) return false;
  if (f.type && !attr(d, "type").includes(f.type)) return false;
  if (f.source && !attr(d, "source").includes(f.source)) return false;
  if (f.text && !JSON.stringify(d).toLowerCase().includes(f.text)) return false;
  return true;
}

// a batch shows its first event and how many more it carries
function more(d) {
  return d.events.length > 1 ? " (+" + (d.events.length - 1) + ")" : "";
}

function row(d) {
  const codes = d.violations.map((v) => v.code).join(", ");
  const tr = el(
    "tr",
    { "data-seq": String(d.seq), "data-outcome": d.outcome },
    el("td", {}, String(d.seq)),
    el("td", {}, d.timestamp.slice(11, 23)),
    el("td", { class: "outcome outcome-" + d.outcome }, d.outcome + (d.status ? " " + d.status : "")),
    el("td", {}, d.mode || "–"),
    el("td", { class: "type" }, attr(d, "type") + more(d)),
    el("td", { class: "source" }, attr(d, "source")),
    el("td", { class: "id", title: d.events.map((e) => e.id).join(", ") }, attr(d, "id") + more(d)),
    el("td", { class: "wrap violations" }, codes),
  );
  if (selected === d.seq) tr.classList.add("selected");
  tr.addEventListener("click", () => show(d));
  return tr;
}

function render() {
  const f = filters();
  const rows = document.getElementById("rows");
  const visible = deliveries.filter((d) => shown(d, f)).reverse(); // newest first
  const by = document.getElementById("group").value;
  document.getElementById("deliveries").hidden = Boolean(by);
  document.getElementById("groups").hidden = !by;
  if (by) renderGroups(visible, by);
  else rows.replaceChildren(...visible.map(row));
  document.getElementById("empty").hidden = deliveries.length > 0;
  document.getElementById("count").textContent =
    visible.length + " of " + deliveries.length + " deliveries" +
    (dropped ? " (" + dropped + " older not kept by the page)" : "");
  const note = document.getElementById("evicted");
  note.hidden = evicted === 0;
  note.textContent = evicted + " evicted by the receiver's retention";
  note.dataset.count = String(evicted);
}

// Grouping: one row per value of the attribute, with the deliveries' outcomes counted; a
// click filters the list to that value.
function renderGroups(visible, by) {
  document.getElementById("group-name").textContent = by;
  const groups = new Map();
  for (const d of visible) {
    const names = d.events.length ? d.events.map((e) => (e[by] === undefined ? "" : String(e[by]))) : [attr(d, by)];
    for (const name of new Set(names)) {
      const g = groups.get(name) || { name, count: 0, accepted: 0, rejected: 0, other: 0, last: d.timestamp };
      g.count += 1;
      if (d.outcome === "accepted") g.accepted += 1;
      else if (d.outcome === "rejected") g.rejected += 1;
      else g.other += 1;
      if (d.timestamp > g.last) g.last = d.timestamp;
      groups.set(name, g);
    }
  }
  const ordered = [...groups.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  document.getElementById("group-rows").replaceChildren(
    ...ordered.map((g) => {
      const tr = el("tr", { "data-group": g.name },
        el("td", { class: "group" }, g.name || "(none)"),
        el("td", {}, String(g.count)),
        el("td", { class: "outcome-accepted" }, String(g.accepted)),
        el("td", { class: "outcome-rejected" }, String(g.rejected)),
        el("td", {}, String(g.other)),
        el("td", {}, g.last.slice(11, 23)),
      );
      tr.addEventListener("click", () => {
        const input = document.getElementById("f-" + by);
        if (input) input.value = g.name;
        else document.getElementById("f-text").value = g.name;
        document.getElementById("group").value = "";
        render();
      });
      return tr;
    }),
  );
}

// The rate graph: deliveries a second by outcome over the last minute, stacked; redrawn
// every second. The receiver's clock places them (its timestamps), so a receiver in a
// cluster with a skewed clock still draws its own minute.
const OUTCOMES = ["accepted", "faulted", "abandoned", "pending", "rejected", "error"];
const SPAN = 60;

function drawRate() {
  const svg = document.getElementById("rate");
  const ns = "http://www.w3.org/2000/svg";
  // drawn in its own coordinates, stretched to the box (its width changes with the label)
  const width = 600;
  const height = 60;
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("preserveAspectRatio", "none");
  const newest = deliveries.length ? Date.parse(deliveries[deliveries.length - 1].timestamp) : 0;
  const now = Math.max(Date.now(), newest);
  const buckets = Array.from({ length: SPAN }, () => ({}));
  for (let i = deliveries.length - 1; i >= 0; i--) {
    const d = deliveries[i];
    const age = Math.floor((now - Date.parse(d.timestamp)) / 1000);
    if (age >= SPAN) break;
    if (age < 0) continue;
    const bucket = buckets[SPAN - 1 - age];
    bucket[d.outcome] = (bucket[d.outcome] || 0) + 1;
  }
  const top = Math.max(1, ...buckets.map((b) => Object.values(b).reduce((x, y) => x + y, 0)));
  const bar = width / SPAN;
  svg.replaceChildren();
  buckets.forEach((b, i) => {
    let y = height;
    for (const outcome of OUTCOMES) {
      const n = b[outcome] || 0;
      if (!n) continue;
      const h = (n / top) * (height - 4);
      y -= h;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * bar + 0.5)); rect.setAttribute("y", String(y));
      rect.setAttribute("width", String(Math.max(1, bar - 1))); rect.setAttribute("height", String(h));
      rect.setAttribute("class", "bar outcome-fill-" + outcome);
      rect.setAttribute("data-outcome", outcome); rect.setAttribute("data-count", String(n));
      const title = document.createElementNS(ns, "title");
      title.textContent = n + " " + outcome + ", " + (SPAN - 1 - i) + " s ago";
      rect.append(title);
      svg.append(rect);
    }
  });
  const last = buckets[SPAN - 1];
  const total = Object.values(last).reduce((x, y) => x + y, 0);
  document.getElementById("rate-now").textContent =
    total + "/s now, at most " + top + "/s in the last minute";
}

function attemptsOf(d) {
  const id = attr(d, "id");
  if (!id) return [d];
  return deliveries
    .filter((o) => attr(o, "id") === id && attr(o, "source") === attr(d, "source"))
    .sort((a, b) => a.received_at - b.received_at);
}

function drawTimeline(d) {
  const svg = document.getElementById("timeline");
  const ns = "http://www.w3.org/2000/svg";
  const attempts = attemptsOf(d);
  const width = svg.clientWidth || 400;
  const start = attempts[0].received_at;
  const span = Math.max(attempts[attempts.length - 1].received_at - start, 1e-6);
  const x = (a) => 20 + ((a.received_at - start) / span) * (width - 60);
  svg.replaceChildren();
  const axis = document.createElementNS(ns, "line");
  axis.setAttribute("x1", 10); axis.setAttribute("x2", width - 10);
  axis.setAttribute("y1", 45); axis.setAttribute("y2", 45);
  svg.append(axis);
  attempts.forEach((a, i) => {
    const cx = attempts.length === 1 ? width / 2 : x(a);
    const mark = document.createElementNS(ns, "circle");
    const kind = a.status === null ? "none" : a.status < 300 ? "ok" : "bad";
    mark.setAttribute("cx", cx); mark.setAttribute("cy", 45); mark.setAttribute("r", 7);
    mark.setAttribute("class", "mark mark-" + kind);
    mark.setAttribute("data-seq", String(a.seq));
    const title = document.createElementNS(ns, "title");
    title.textContent = "attempt " + (i + 1) + ": " + (a.status === null ? "no response" : a.status);
    mark.append(title);
    svg.append(mark);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", cx); label.setAttribute("y", 25); label.setAttribute("text-anchor", "middle");
    label.textContent = a.status === null ? "–" : String(a.status);
    svg.append(label);
    if (i > 0) {
      const gap = document.createElementNS(ns, "text");
      const prev = attempts.length === 1 ? cx : x(attempts[i - 1]);
      gap.setAttribute("x", (prev + cx) / 2); gap.setAttribute("y", 75);
      gap.setAttribute("text-anchor", "middle"); gap.setAttribute("class", "gap");
      gap.textContent = "+" + (a.received_at - attempts[i - 1].received_at).toFixed(2) + " s";
      svg.append(gap);
    }
  });
}

function decodeBody(d) {
  const bytes = Uint8Array.from(atob(d.body_base64), (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}

// Resend: the delivery's request again, to this receiver (same origin), recorded as a new
// delivery. Headers a browser may not set, and credentials shown redacted, stay behind.
const FORBIDDEN = /^(host|content-length|connection|keep-alive|transfer-encoding|te|trailer|upgrade|expect|cookie|cookie2|origin|referer|date|via|dnt|accept-charset|accept-encoding|access-control-.*|proxy-.*|sec-.*)$/i;

function sendable(headers) {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (FORBIDDEN.test(name) || value === "<redacted>") continue;
    try { out.append(name, value); } catch (e) { /* a value the browser cannot send */ }
  }
  return out;
}

async function resend(d) {
  const note = document.getElementById("resent");
  const bytes = Uint8Array.from(atob(d.body_base64), (c) => c.charCodeAt(0));
  const target = d.path + (d.query ? "?" + d.query : "");
  try {
    const answer = await fetch(target, { method: d.method, headers: sendable(d.headers), body: bytes });
    note.textContent = "resent: " + answer.status;
    note.dataset.status = String(answer.status);
  } catch (e) {
    note.textContent = "not resent: " + e;
  }
}

function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(16).slice(2));
}

async function compose(event) {
  if (event.submitter && event.submitter.value !== "send") return;
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const headers = new Headers({
    "ce-specversion": "1.0",
    "ce-id": value("c-id") || newId(),
    "ce-type": value("c-type"),
    "ce-source": value("c-source"),
  });
  if (value("c-subject")) headers.set("ce-subject", value("c-subject"));
  const data = document.getElementById("c-data").value;
  let json = true;
  try { JSON.parse(data); } catch (e) { json = data.trim() === ""; }
  headers.set("content-type", json ? "application/json" : "text/plain; charset=utf-8");
  const note = document.getElementById("c-result");
  try {
    const answer = await fetch(value("c-path") || "/", { method: "POST", headers, body: data });
    note.textContent = "sent: " + answer.status;
    note.dataset.status = String(answer.status);
  } catch (e) {
    note.textContent = "not sent: " + e;
  }
}

function show(d) {
  selected = d.seq;
  document.getElementById("resent").textContent = "";
  const pane = document.getElementById("detail");
  pane.hidden = false;
  document.getElementById("detail-title").textContent =
    "#" + d.seq + " " + d.method + " " + d.path + " — " + d.outcome + (d.status ? " " + d.status : "") +
    (d.forwarded
      ? " — forwarded to " + d.forwarded.url + ": " +
        (d.forwarded.status !== null
          ? d.forwarded.status + " in " + Math.round(d.forwarded.elapsed * 1000) + " ms"
          : d.forwarded.error)
      : "");
  const list = document.getElementById("violations");
  const problems = d.violations.concat(d.warnings);
  list.replaceChildren(
    ...(problems.length
      ? problems.map((v) =>
          el("li", { "data-code": v.code },
            el("span", { class: "code" }, v.code), " (" + v.level + (v.attribute ? ", " + v.attribute : "") + "): ",
            v.message))
      : [el("li", { class: "muted" }, "none")]),
  );
  document.getElementById("event").textContent = d.events.length
    ? JSON.stringify(d.events.length === 1 ? d.events[0] : d.events, null, 2)
    : d.error || "(no event: the message was rejected)";
  document.getElementById("headers").textContent = Object.entries(d.headers)
    .map(([k, v]) => k + ": " + v).join("\n");
  document.getElementById("body").textContent = decodeBody(d);
  // a message without an id (a rejected one, say) has no attempts to draw
  const box = document.getElementById("timeline-box");
  box.hidden = !attr(d, "id");
  if (!box.hidden) drawTimeline(d);
  render();
}

// The CESQL box: the receiver evaluates the expression (GET deliveries?sql=...) and the page
// shows the deliveries it names; a syntax error is shown under the box, with its position.
async function runSql() {
  const text = document.getElementById("f-sql").value.trim();
  const note = document.getElementById("f-sql-error");
  if (!text) { sqlSeqs = null; note.textContent = ""; render(); return; }
  const seqs = new Set();
  let next = 0;
  for (;;) {
    const answer = await fetch(api("deliveries", { after: String(next), sql: text, limit: "5000" }));
    const doc = await answer.json();
    if (!answer.ok) { note.textContent = doc.error; sqlSeqs = new Set(); render(); return; }
    doc.deliveries.forEach((d) => seqs.add(d.seq));
    next = doc.next;
    if (!doc.more) break;
  }
  note.textContent = "";
  sqlSeqs = seqs;
  render();
}

function scheduleSql() {
  clearTimeout(sqlTimer);
  sqlTimer = setTimeout(runSql, 250);
}

function keep(d) {
  deliveries.push(d);
  if (deliveries.length > KEPT) {
    const gone = deliveries.length - Math.floor(KEPT * 0.9);
    deliveries.splice(0, gone);
    dropped += gone;
  }
}

function add(d) {
  keep(d);
  if (sqlSeqs !== null) scheduleSql();
  render();
  if (selected !== null) {
    const current = deliveries.find((o) => o.seq === selected);
    if (current && attr(current, "id") === attr(d, "id")) drawTimeline(current);
  }
}

function connect(after) {
  const status = document.getElementById("status");
  const source = new EventSource(api("stream", { after: String(after) }));
  source.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
  source.addEventListener("error", () => { status.dataset.state = "down"; status.textContent = "reconnecting…"; });
  source.addEventListener("delivery", (message) => add(JSON.parse(message.data)));
  source.addEventListener("evicted", (message) => { evicted = Number(message.data); render(); });
  source.addEventListener("reset", () => {
    deliveries.length = 0; selected = null; evicted = 0; dropped = 0;
    document.getElementById("detail").hidden = true;
    render();
  });
}

async function start() {
  document.getElementById("filters").addEventListener("input", (e) => {
    if (e.target.id === "f-sql") scheduleSql(); else render();
  });
  document.getElementById("resend").addEventListener("click", () => {
    const d = deliveries.find((o) => o.seq === selected);
    if (d) resend(d);
  });
  const dialog = document.getElementById("compose");
  document.getElementById("compose-open").addEventListener("click", () => dialog.showModal());
  document.getElementById("compose-form").addEventListener("submit", compose);
  // the deliveries so far, a page at a time (the receiver builds each page off its loop)
  let next = 0;
  for (;;) {
    const answer = await fetch(api("deliveries", { after: String(next) }));
    const doc = await answer.json();
    doc.deliveries.forEach(keep);
    evicted = doc.evicted || 0;
    next = doc.next;
    if (!doc.more) break;
  }
  render();
  drawRate();
  setInterval(drawRate, 1000);
  connect(next);
}

start();
