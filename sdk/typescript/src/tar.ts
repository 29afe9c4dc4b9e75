// A small tar (ustar + PAX long names) writer and reader for directory
// upload and download: files, directories and symlinks.
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";

const BLOCK = 512;

/** One entry of a tar stream. */
export interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  size: number;
  mtime: number;
  linkname: string;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(e: TarEntry, name: string, flag?: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, "utf8");
  h.write(octal(e.mode & 0o7777, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(e.type === "file" ? e.size : 0, 12), 124);
  h.write(octal(Math.floor(e.mtime), 12), 136);
  h.write("        ", 148);
  h.write(flag ?? (e.type === "dir" ? "5" : e.type === "symlink" ? "2" : "0"), 156);
  h.write(e.linkname.slice(0, 100), 157, "utf8");
  h.write("ustar\0" + "00", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + " ", 148);
  return h;
}

function pad(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function* entryHeaders(e: TarEntry): Generator<Buffer> {
  const long = Buffer.byteLength(e.name) > 100 || Buffer.byteLength(e.linkname) > 100;
  if (long) {
    const pax = Buffer.from(paxRecord("path", e.name) + (e.linkname ? paxRecord("linkpath", e.linkname) : ""));
    const ph: TarEntry = { name: "PaxHeader", type: "file", mode: 0o644, size: pax.length, mtime: e.mtime, linkname: "" };
    yield header(ph, "PaxHeader", "x");
    yield pax;
    yield pad(pax.length);
  }
  yield header(e, e.name);
}

/** Writes the contents of dir (names relative to it) as a tar stream. */
export async function* packDir(dir: string): AsyncGenerator<Uint8Array> {
  yield* packEntries(dir, "");
  yield Buffer.alloc(BLOCK * 2);
}

async function* packEntries(dir: string, prefix: string): AsyncGenerator<Uint8Array> {
  const names = (await readdir(dir)).sort();
  for (const n of names) {
    const path = join(dir, n);
    const name = prefix ? posix.join(prefix, n) : n;
    const st = await lstat(path);
    const base = { mode: st.mode, size: st.size, mtime: st.mtimeMs / 1000, linkname: "" };
    if (st.isDirectory()) {
      yield* entryHeaders({ ...base, name: name + "/", type: "dir" });
      yield* packEntries(path, name);
    } else if (st.isSymbolicLink()) {
      yield* entryHeaders({ ...base, name, type: "symlink", linkname: await readlink(path) });
    } else if (st.isFile()) {
      yield* entryHeaders({ ...base, name, type: "file" });
      let sent = 0;
      if (st.size > 0) {
        // Exactly the size in the header, even if the file changes meanwhile.
        for await (const chunk of createReadStream(path, { start: 0, end: st.size - 1 })) {
          sent += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (sent < st.size) yield Buffer.alloc(st.size - sent);
      yield pad(st.size);
    }
  }
}

function parseOctal(b: Buffer): number {
  const s = b.toString("latin1").replace(/\0.*$/, "").trim();
  return s ? parseInt(s, 8) : 0;
}

function cstring(b: Buffer): string {
  const i = b.indexOf(0);
  return b.subarray(0, i < 0 ? b.length : i).toString("utf8");
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    const len = parseInt(data.subarray(off, sp).toString("latin1"), 10);
    if (sp < 0 || !(len > 0)) break;
    const rec = data.subarray(sp + 1, off + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

/** Reads a whole tar archive into entries with their data. */
export function unpack(archive: Buffer): { entry: TarEntry; data: Buffer }[] {
  const out: { entry: TarEntry; data: Buffer }[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  while (off + BLOCK <= archive.length) {
    const h = archive.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseOctal(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156] ?? 48);
    const data = archive.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === "x") {
      pax = parsePax(data);
      continue;
    }
    if (flag === "g") continue;
    const prefix = cstring(h.subarray(345, 500));
    let name = cstring(h.subarray(0, 100));
    if (prefix) name = `${prefix}/${name}`;
    const type = flag === "5" ? "dir" : flag === "2" ? "symlink" : flag === "0" || flag === "\0" || flag === "7" ? "file" : "other";
    out.push({
      entry: {
        name: pax.path ?? name,
        type,
        mode: parseOctal(h.subarray(100, 108)),
        size,
        mtime: parseOctal(h.subarray(136, 148)),
        linkname: pax.linkpath ?? cstring(h.subarray(157, 257)),
      },
      data,
    });
    pax = {};
  }
  return out;
}
