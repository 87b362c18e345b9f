// An HTTP receiver built on the JavaScript SDK's HTTP.toEvent. It prints its port, then one
// JSON line per request: the event it read ({"event": ...}) or the error ({"error": ...}).
"use strict";
const http = require("http");
const { HTTP } = require("cloudevents");

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let line;
    try {
      const read = HTTP.toEvent({ headers: req.headers, body: body.toString("utf-8") });
      const list = Array.isArray(read) ? read : [read];
      line = { events: list.map((e) => ({ ...e.toJSON(), data_base64: e.data_base64 })) };
      res.writeHead(202);
    } catch (err) {
      line = { error: String(err && err.message ? err.message : err) };
      res.writeHead(400);
    }
    res.end();
    process.stdout.write(JSON.stringify(line) + "\n");
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
process.stdin.on("end", () => server.close(() => process.exit(0)));
process.stdin.resume();
