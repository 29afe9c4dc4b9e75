import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { BadRequestError, ConflictError, NotFoundError, Sandbox } from "@codepod/sdk";
import { TINY, client, skip } from "./helpers.mjs";

const NON_UTF8 = new Uint8Array([...Array(8).fill([0xff, 0xfe, 0x00, 0xc3]).flat(), ...Array.from({ length: 512 }, (_, i) => i % 256)]);

let sb;
before(async () => {
  if (!skip) sb = await Sandbox.create({ client: client(), image: TINY, memory: "64m" });
});
after(async () => {
  await sb?.close();
});

test("write, read, list, mkdir, remove", { skip }, async () => {
  const f = sb.files;
  assert.equal(await f.write("/data/sub/blob.bin", NON_UTF8), NON_UTF8.length);
  assert.deepEqual(await f.read("/data/sub/blob.bin"), NON_UTF8);
  await f.write("/data/note.txt", "héllo\n");
  assert.equal(await f.readText("/data/note.txt"), "héllo\n");
  await f.mkdir("/data/empty/deeper");
  const entries = Object.fromEntries((await f.list("/data")).map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(entries).sort(), ["empty", "note.txt", "sub"]);
  assert.equal(entries.empty.type, "dir");
  assert.deepEqual([entries["note.txt"].size, entries["note.txt"].mode, entries["note.txt"].modeString], [7, 0o644, "-rw-r--r--"]);
  assert.ok(entries["note.txt"].mtime instanceof Date && !isNaN(entries["note.txt"].mtime));

  await assert.rejects(f.remove("/data/empty"), (e) => e instanceof BadRequestError || e instanceof ConflictError);
  await f.remove("/data/empty", { recursive: true });
  await assert.rejects(f.read("/data/empty"), NotFoundError);
  await assert.rejects(f.read("/data/sub"), BadRequestError);
});

test("a streamed write", { skip }, async () => {
  const big = new Uint8Array(NON_UTF8.length * 100);
  for (let i = 0; i < 100; i++) big.set(NON_UTF8, i * NON_UTF8.length);
  const stream = new Blob([big]).stream();
  assert.equal(await sb.files.write("big.bin", stream), big.length);
  assert.deepEqual(await sb.files.read("big.bin"), big);
});

test("upload and download directories", { skip }, async () => {
  const src = mkdtempSync(join(tmpdir(), "codepod-ts-src-"));
  const dst = mkdtempSync(join(tmpdir(), "codepod-ts-dst-"));
  try {
    for (const [name, data] of Object.entries({ "a.txt": "alpha\n", "bin/blob": NON_UTF8, "deep/er/c": "c" })) {
      mkdirSync(dirname(join(src, name)), { recursive: true });
      writeFileSync(join(src, name), data);
    }
    symlinkSync("a.txt", join(src, "link"));
    assert.ok((await sb.files.uploadDir(src, "/up")) >= 3);
    assert.equal((await sb.exec(["cat", "/up/link", "/up/deep/er/c"])).stdout, "alpha\nc");
    await sb.files.downloadDir("/up", dst);
    assert.deepEqual(new Uint8Array(readFileSync(join(dst, "bin", "blob"))), NON_UTF8);
    assert.equal(readlinkSync(join(dst, "link")), "a.txt");
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(dst, { recursive: true, force: true });
  }
});
