// A webhook receiver for CodePod's end-to-end test: it verifies each
// request with the standardwebhooks package and prints one JSON line per
// request ({verified, id, type, sandbox, error}); it answers 500 to the
// first FAIL_FIRST requests, then 204. Usage: node receiver.mjs SECRET_FILE
import http from "node:http";
import fs from "node:fs";
import { Webhook } from "standardwebhooks";

const secretFile = process.argv[2];
let failFirst = Number(process.env.FAIL_FIRST || "0");
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const line = { id: req.headers["webhook-id"] };
    try {
      // The secret is written after the endpoint is created: read it now.
      const secret = fs.readFileSync(secretFile, "utf8").trim();
      const ev = new Webhook(secret).verify(body, {
        "webhook-id": req.headers["webhook-id"],
        "webhook-timestamp": req.headers["webhook-timestamp"],
        "webhook-signature": req.headers["webhook-signature"],
      });
      Object.assign(line, { verified: true, type: ev.type, sandbox: ev.data && (ev.data.id || ev.data.webhook_id) });
    } catch (e) {
      Object.assign(line, { verified: false, error: String(e && e.message) });
    }
    const status = failFirst > 0 ? 500 : 204;
    if (failFirst > 0) failFirst--;
    line.status = status;
    console.log(JSON.stringify(line));
    res.writeHead(status);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: server.address().port }));
});
