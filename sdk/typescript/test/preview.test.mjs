import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidError, Sandbox } from "@codepod/sdk";
import { TINY, client, skip } from "./helpers.mjs";

test("a preview URL reaches a server in the sandbox; ports and lifetime", { skip }, async () => {
  const c = client();
  const sb = await Sandbox.create({ client: c, name: "sdk-ts-preview", image: TINY, memory: "64m", ttl: "1h" });
  try {
    const r = await sb.exec("mkdir -p /www && echo from-ts-sdk > /www/index.html && httpd -p 8000 -h /www");
    assert.equal(r.exitCode, 0, r.stderr);
    const url = await sb.getPreviewUrl(8000, { ttl: "10m" });
    const res = await fetch(url); // no API key
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "from-ts-sdk\n");
    assert.deepEqual((await sb.ports()).map((p) => p.port), [8000]);
    await sb.closePort(8000);
    assert.equal((await fetch(url)).status, 404);

    await sb.setTimeout("2h");
    assert.ok(Date.parse(sb.info.expires_at) - Date.now() > 119 * 60_000);
    await sb.setIdleTimeout("10m");
    assert.equal(sb.info.idle_timeout_seconds, 600);
    await assert.rejects(sb.setIdleTimeout("soon"), InvalidError);
  } finally {
    await sb.close();
  }
});
