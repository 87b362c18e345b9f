// The live page of a standalone pytest-cloudevents receiver: the control API's deliveries,
// then its server-sent events stream. No framework, no build step, nothing from a CDN.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const deliveries = [];
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

function row(d) {
  const codes = d.violations.map((v) => v.code).join(", ");
  const tr = el(
    "tr",
    { "data-seq": String(d.seq), "data-outcome": d.outcome },
    el("td", {}, String(d.seq)),
    el("td", {}, d.timestamp.slice(11, 23)),
    el("td", { class: "outcome outcome-" + d.outcome }, d.outcome + (d.status ? " " + d.status : "")),
    el("td", {}, d.mode || "–"),
    el("td", { class: "type" }, attr(d, "type")),
    el("td", { class: "source" }, attr(d, "source")),
    el("td", { class: "id" }, attr(d, "id")),
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
  rows.replaceChildren(...visible.map(row));
  document.getElementById("empty").hidden = deliveries.length > 0;
  document.getElementById("count").textContent =
    visible.length + " of " + deliveries.length + " deliveries";
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

function show(d) {
  selected = d.seq;
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
  drawTimeline(d);
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

function add(d) {
  deliveries.push(d);
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
  source.addEventListener("reset", () => {
    deliveries.length = 0; selected = null;
    document.getElementById("detail").hidden = true;
    render();
  });
}

async function start() {
  document.getElementById("filters").addEventListener("input", (e) => {
    if (e.target.id === "f-sql") scheduleSql(); else render();
  });
  // the deliveries so far, a page at a time (the receiver builds each page off its loop)
  let next = 0;
  for (;;) {
    const answer = await fetch(api("deliveries", { after: String(next) }));
    const doc = await answer.json();
    doc.deliveries.forEach((d) => deliveries.push(d));
    next = doc.next;
    if (!doc.more) break;
  }
  render();
  connect(next);
}

start();
