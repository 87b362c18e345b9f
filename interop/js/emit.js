// Sends CloudEvents with the JavaScript SDK to a URL, then prints what it sent as JSON.
// usage: node emit.js URL binary|structured|batch
"use strict";
const http = require("http");
const { CloudEvent, HTTP, Mode, emitterFor, httpTransport } = require("cloudevents");

function events(mode) {
  return [
    new CloudEvent({
      id: `${mode}-1`,
      source: "/js/orders",
      type: "com.example.order.created",
      subject: "order 1",
      time: "2026-01-02T03:04:05.678Z",
      datacontenttype: "application/json",
      tenant: "acme",
      attempt: 3,
      urgent: true,
      data: { total: 12.5, items: ["a", "b"] },
    }),
    new CloudEvent({
      id: `${mode}-2`,
      source: "https://js.example.com/items",
      type: "com.example.item.bytes",
      datacontenttype: "application/octet-stream",
      data: Buffer.from([0, 1, 2, 255]),
    }),
    new CloudEvent({
      id: `${mode}-3`,
      source: "/js/text",
      type: "com.example.note",
      datacontenttype: "text/plain",
      data: "plain text",
    }),
  ];
}

function postBatch(url, list) {
  const body = JSON.stringify(list.map((e) => e.toJSON()));
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/cloudevents-batch+json; charset=utf-8" },
    }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    req.on("error", reject);
    req.end(body);
  });
}

async function main() {
  const [url, mode] = process.argv.slice(2);
  const list = events(mode);
  if (mode === "batch") {
    await postBatch(url, list);
  } else {
    const emit = emitterFor(httpTransport(url), { mode: mode === "binary" ? Mode.BINARY : Mode.STRUCTURED });
    for (const event of list) {
      await emit(event);
    }
  }
  process.stdout.write(JSON.stringify(list.map((e) => e.toJSON())) + "\n");
}

main().catch((err) => { console.error(err); process.exit(1); });
