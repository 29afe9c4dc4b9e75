import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { packDir, unpack } from "../dist/tar.js";

test("tar round trip: files, directories, symlinks, long names", async () => {
  const dir = mkdtempSync(join(tmpdir(), "codepod-tar-"));
  try {
    const long = "d".repeat(60) + "/" + "f".repeat(80) + ".txt";
    mkdirSync(join(dir, "d".repeat(60)));
    writeFileSync(join(dir, long), "long\n");
    writeFileSync(join(dir, "bin"), new Uint8Array([0, 255, 1]));
    symlinkSync("bin", join(dir, "link"));
    const chunks = [];
    for await (const c of packDir(dir)) chunks.push(Buffer.from(c));
    const archive = Buffer.concat(chunks);
    assert.equal(archive.length % 512, 0);
    const got = Object.fromEntries(unpack(archive).map(({ entry, data }) => [entry.name, [entry.type, data.toString("hex"), entry.linkname]]));
    assert.deepEqual(got, {
      bin: ["file", "00ff01", ""],
      [`${"d".repeat(60)}/`]: ["dir", "", ""],
      [long]: ["file", Buffer.from("long\n").toString("hex"), ""],
      link: ["symlink", "", "bin"],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
