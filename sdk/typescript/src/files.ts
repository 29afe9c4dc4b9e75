import { mkdir, writeFile, symlink, rm } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { Client, sandboxPath } from "./client.js";
import type { components } from "./generated/openapi.js";
import { packDir, unpack } from "./tar.js";

/** One entry of a directory listing. */
export interface FileInfo {
  name: string;
  path: string;
  size: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** As `ls -l` shows it, e.g. "-rw-r--r--". */
  modeString: string;
  mtime: Date;
  type: "file" | "dir" | "symlink" | "other";
}

type FileEntry = components["schemas"]["FileEntry"];

/** Options of file transfers. */
export interface TransferOptions {
  /** Bounds the whole transfer in ms; absent: no bound. */
  timeoutMs?: number;
}

/**
 * The files of one sandbox (`sandbox.files`). Paths are resolved inside the
 * sandbox; a relative path is relative to the user's home.
 */
export class Files {
  readonly #client: Client;
  readonly #id: string;
  readonly #base: string;

  constructor(client: Client, sandboxId: string) {
    this.#client = client;
    this.#id = sandboxId;
    this.#base = sandboxPath(sandboxId, "/files");
  }

  /** The file's content, byte for byte. */
  async read(path: string, options: TransferOptions = {}): Promise<Uint8Array> {
    const res = await this.open(path, options);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The file's content decoded as UTF-8 text. */
  async readText(path: string, options: TransferOptions = {}): Promise<string> {
    return new TextDecoder().decode(await this.read(path, options));
  }

  /** The answer whose body streams the file's content (res.body). */
  open(path: string, options: TransferOptions = {}): Promise<Response> {
    return this.#client.request("GET", this.#base, { query: { path }, timeoutMs: options.timeoutMs ?? 0 });
  }

  /**
   * Makes the file hold data (text as UTF-8, bytes, or a stream), creating
   * parent directories; returns the size written.
   */
  async write(path: string, data: string | Uint8Array | ReadableStream<Uint8Array>, options: TransferOptions & { mode?: number } = {}): Promise<number> {
    const body = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const res = await this.#client.request("PUT", this.#base, {
      query: { path, mode: "0" + (options.mode ?? 0o644).toString(8) },
      body: body as RequestInit["body"],
      contentType: "application/octet-stream",
      timeoutMs: options.timeoutMs ?? 0,
    });
    return ((await res.json()) as { size: number }).size;
  }

  /** The entries of a directory, sorted by name, following the server's pages to the end. */
  async list(path = "."): Promise<FileInfo[]> {
    const entries: FileEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#client.call((api, signal) =>
        api.GET("/api/v1/sandboxes/{id}/files/list", {
          params: { path: { id: this.#id }, query: { path, limit: 10000, cursor } },
          signal,
        }),
      );
      entries.push(...page.entries);
      cursor = page.next_cursor || undefined;
    } while (cursor);
    return entries.map((e: FileEntry) => ({
      name: e.name,
      path: e.path,
      size: e.size,
      mode: e.mode,
      modeString: e.mode_string,
      mtime: new Date(e.mtime),
      type: e.type,
    }));
  }

  /** Makes a directory and its missing parents; an existing one is fine. */
  async mkdir(path: string): Promise<void> {
    await this.#client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/files/mkdir", { params: { path: { id: this.#id } }, body: { path, parents: true }, signal }),
    );
  }

  /** Removes a file or an empty directory; with recursive, a directory and everything under it. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const query = { path, recursive: options.recursive || undefined };
    await this.#client.call((api, signal) => api.DELETE("/api/v1/sandboxes/{id}/files", { params: { path: { id: this.#id }, query }, signal }));
  }

  /** Copies a local directory's contents into remoteDir (created if missing) as one tar stream; returns the number of files. */
  async uploadDir(localDir: string, remoteDir: string, options: TransferOptions = {}): Promise<number> {
    const body = ReadableStream.from(packDir(localDir));
    const res = await this.#client.request("PUT", this.#base + "/archive", {
      query: { path: remoteDir },
      body: body as unknown as RequestInit["body"],
      contentType: "application/x-tar",
      timeoutMs: options.timeoutMs ?? 0,
    });
    return ((await res.json()) as { files: number }).files;
  }

  /** Copies the contents of remoteDir into a local directory (created if missing); entries that would land outside it are refused. */
  async downloadDir(remoteDir: string, localDir: string, options: TransferOptions = {}): Promise<void> {
    const res = await this.#client.request("GET", this.#base + "/archive", { query: { path: remoteDir }, timeoutMs: options.timeoutMs ?? 0 });
    const archive = Buffer.from(await res.arrayBuffer());
    const root = resolve(localDir);
    await mkdir(root, { recursive: true });
    for (const { entry, data } of unpack(archive)) {
      const name = normalize(entry.name.replace(/^\.\//, ""));
      const dst = join(root, name);
      if (isAbsolute(entry.name) || relative(root, dst).startsWith("..") || dst === root) {
        if (dst === root) continue;
        throw new Error(`refusing archive entry ${JSON.stringify(entry.name)}: it would land outside ${localDir}`);
      }
      await extract(entry.type, dst, data, entry.mode, entry.linkname, root);
    }
  }
}

async function extract(type: string, dst: string, data: Buffer, mode: number, link: string, root: string): Promise<void> {
  if (type === "dir") {
    await mkdir(dst, { recursive: true, mode: (mode & 0o777) | 0o700 });
    return;
  }
  await mkdir(dirname(dst), { recursive: true });
  await assertInside(root, dirname(dst));
  if (type === "symlink") {
    await rm(dst, { force: true });
    await symlink(link, dst);
  } else if (type === "file") {
    await rm(dst, { force: true });
    await writeFile(dst, data, { mode: mode & 0o777 });
  }
}

/** Refuses to write through a symlink that points out of root. */
async function assertInside(root: string, dir: string): Promise<void> {
  const { realpath } = await import("node:fs/promises");
  const real = await realpath(dir);
  const realRoot = await realpath(root);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) {
    throw new Error(`refusing to write into ${dir}: it leads outside ${root}`);
  }
}
