import { Client, sandboxPath } from "./client.js";
import type { components } from "./generated/openapi.js";
import { NotFoundError, SandboxFailedError, TimeoutError } from "./errors.js";
import { exec, execStream, type Command, type ExecOptions, type ExecResult, type ExecStream, type StreamOptions } from "./exec.js";
import { Files } from "./files.js";
import { Processes } from "./process.js";
import {
  createCodeContext,
  deleteCodeContext,
  listCodeContexts,
  restartCodeContext,
  runCode,
  type CodeContext,
  type CodeLanguage,
  type CodeRunResult,
  type RunCodeOptions,
} from "./code.js";

/** A sandbox as the server describes it. */
export type SandboxInfo = components["schemas"]["Sandbox"];
/** A sandbox's status. */
export type SandboxStatus = SandboxInfo["status"];
/** A port open for the server's preview proxy. */
export type Port = components["schemas"]["Port"];
/** A signed preview link to a port. */
export type PreviewURL = components["schemas"]["PreviewURL"];

/** How long Sandbox.create and start wait for a sandbox to run, in milliseconds. */
export const DEFAULT_WAIT_TIMEOUT_MS = 120_000;

/** What a new sandbox is; every field is optional. */
export interface CreateOptions {
  /** 1-63 of a-z, 0-9, '-'; generated when absent. */
  name?: string;
  /** Image reference (default codepod/base:latest). */
  image?: string;
  /** CPU cores, may be fractional (default 1). */
  cpu?: number;
  /** Memory limit with a unit, e.g. "512m", "2g" (default 512m). */
  memory?: string;
  /** Most processes at once (default 512). */
  pidsLimit?: number;
  /** Most the sandbox may write to its file system, with a unit, e.g. "20g" (default 10g); its runner stops it past that. */
  disk?: string;
  /** Environment of every process in the sandbox. */
  env?: Record<string, string>;
  /** Your labels, to filter lists by. */
  labels?: Record<string, string>;
  /** Lifetime: a duration string ("30m", "1h") or milliseconds; the server deletes it then. */
  ttl?: string | number;
  /** Stop the sandbox after this long without activity (ms or a Go duration). */
  idleTimeout?: string | number;
  /** "none": loopback only (default); "bridge": an isolated bridge with outbound access. */
  network?: "none" | "bridge";
  /**
   * What the sandbox may reach, enforced on its runner (docs/network.md):
   * mode "none", "internet" (public addresses only) or "allow" (only
   * `allow`); `allow`/`deny` hold IPv4 addresses or CIDRs, optionally :port.
   */
  networkPolicy?: { mode: "none" | "internet" | "allow"; allow?: string[]; deny?: string[] };
  /** Labels the hosting runner must carry. */
  runnerLabels?: Record<string, string>;
  /** How long to wait for it to run, in ms (default 120 000); 0: do not wait. */
  timeoutMs?: number;
  /** The client to use (default: one from CODEPOD_SERVER_URL and CODEPOD_API_KEY). */
  client?: Client;
}

/** Filters of Sandbox.list. */
export interface ListOptions {
  status?: SandboxStatus[];
  labels?: Record<string, string>;
  /** Every user's sandboxes (admins only). */
  allUsers?: boolean;
  client?: Client;
}

const FAILED = new Set<string>(["error", "lost", "deleted", "deleting", "stopped"]);

function ttlString(ttl: string | number | undefined): string | undefined {
  return typeof ttl === "number" ? `${ttl}ms` : ttl;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A handle on one sandbox. Make one with {@link Sandbox.create} or
 * {@link Sandbox.connect}. With `await using` it is deleted when the scope
 * ends, so it never outlives the code that made it.
 */
export class Sandbox {
  readonly client: Client;
  /** What the server last said about the sandbox (see refresh). */
  info: SandboxInfo;
  /** The sandbox's files: read, write, list, mkdir, remove, uploadDir, downloadDir. */
  readonly files: Files;
  /** The sandbox's background processes: start, list, connect. */
  readonly process: Processes;

  constructor(client: Client, info: SandboxInfo) {
    this.client = client;
    this.info = info;
    this.files = new Files(client, info.id);
    this.process = new Processes(client, info.id);
  }

  get id(): string {
    return this.info.id;
  }

  get name(): string {
    return this.info.name;
  }

  get status(): SandboxStatus {
    return this.info.status;
  }

  /**
   * Creates a sandbox and waits until it runs. If it does not run in time
   * (TimeoutError) or fails to start (SandboxFailedError), it is deleted
   * and the error thrown.
   */
  static async create(options: CreateOptions = {}): Promise<Sandbox> {
    const client = options.client ?? new Client();
    const body: components["schemas"]["CreateSandboxRequest"] = {
      name: options.name,
      image: options.image,
      cpu: options.cpu,
      memory: options.memory,
      pids_limit: options.pidsLimit,
      disk: options.disk,
      env: options.env,
      labels: options.labels,
      ttl: ttlString(options.ttl),
      idle_timeout: ttlString(options.idleTimeout),
      network: options.network,
      network_policy: options.networkPolicy,
      runner_labels: options.runnerLabels,
    };
    const info = await client.call((api, signal) => api.POST("/api/v1/sandboxes", { body, signal }));
    const sb = new Sandbox(client, info);
    if (options.timeoutMs === 0) return sb;
    try {
      await sb.waitRunning(options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
    } catch (err) {
      await sb.close();
      throw err;
    }
    return sb;
  }

  /** A handle on an existing sandbox by id or name; NotFoundError when there is none (or it is not yours). */
  static async connect(idOrName: string, options: { client?: Client } = {}): Promise<Sandbox> {
    const client = options.client ?? new Client();
    return new Sandbox(client, await getInfo(client, idOrName));
  }

  /** Your sandboxes (not deleted ones), oldest first, optionally filtered. */
  static async list(options: ListOptions = {}): Promise<SandboxInfo[]> {
    const client = options.client ?? new Client();
    const query = {
      limit: 500,
      status: options.status,
      label: options.labels ? Object.entries(options.labels).map(([k, v]) => `${k}=${v}`) : undefined,
      all: options.allUsers || undefined,
      cursor: undefined as string | undefined,
    };
    const items: SandboxInfo[] = [];
    for (;;) {
      const page = await client.call((api, signal) => api.GET("/api/v1/sandboxes", { params: { query }, signal }));
      items.push(...page.items);
      if (!page.next_cursor) return items;
      query.cursor = page.next_cursor;
    }
  }

  /** Asks the server for the sandbox's current state. */
  async refresh(): Promise<SandboxInfo> {
    this.info = await getInfo(this.client, this.id);
    return this.info;
  }

  /** Polls until the sandbox runs: SandboxFailedError when it ends in error, lost or deleted; TimeoutError after timeoutMs. */
  async waitRunning(timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      const info = await this.refresh();
      const reason = info.reason || "no reason given";
      if (info.status === "running") return;
      if (FAILED.has(info.status)) throw new SandboxFailedError(`sandbox ${info.name} is ${info.status}, not running: ${reason}`);
      if (Date.now() >= deadline) throw new TimeoutError(`sandbox ${info.name} is still ${info.status} after ${timeoutMs}ms: ${reason}`);
      await sleep(Math.min(delay, Math.max(deadline - Date.now(), 0)));
      delay = Math.min(delay * 2, 500);
    }
  }

  /** Deletes the sandbox and everything in it; NotFoundError if it is already gone. */
  async delete(): Promise<void> {
    this.info = await this.client.call((api, signal) =>
      api.DELETE("/api/v1/sandboxes/{id}", { params: { path: { id: this.id } }, signal }),
    );
  }

  /** Alias of delete. */
  kill(): Promise<void> {
    return this.delete();
  }

  /** Deletes the sandbox unless it is already gone. */
  async close(): Promise<void> {
    try {
      await this.delete();
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  /** Stops the sandbox's container; its files stay for start. */
  async stop(): Promise<void> {
    this.info = await this.client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/stop", { params: { path: { id: this.id } }, signal }),
    );
  }

  /** Starts a stopped sandbox and waits until it runs. */
  async start(timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    this.info = await this.client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/start", { params: { path: { id: this.id } }, signal }),
    );
    await this.waitRunning(timeoutMs);
  }

  /**
   * Opens a port for the server's preview proxy: requests to
   * SERVER/api/v1/sandboxes/ID/ports/PORT/… reach it (HTTP and WebSocket).
   */
  async openPort(port: number, options: { public?: boolean; label?: string } = {}): Promise<Port> {
    return this.client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/ports", { params: { path: { id: this.id } }, body: { port, ...options }, signal }),
    );
  }

  /** Closes a port: the proxy refuses it and its preview links stop working. */
  async closePort(port: number): Promise<void> {
    await this.client.call((api, signal) =>
      api.DELETE("/api/v1/sandboxes/{id}/ports/{port}", { params: { path: { id: this.id, port } }, signal }),
    );
  }

  /** The sandbox's open ports. */
  async ports(): Promise<Port[]> {
    const out = await this.client.call((api, signal) =>
      api.GET("/api/v1/sandboxes/{id}/ports", { params: { path: { id: this.id } }, signal }),
    );
    return out.items ?? [];
  }

  /**
   * A signed link to a port (opened if needed) that works without an API
   * key, in a browser too, for ttl (ms or a Go duration; default 1h).
   */
  async getPreviewUrl(port: number, options: { ttl?: string | number } = {}): Promise<string> {
    return (await this.previewLink(port, options)).url;
  }

  /** Like getPreviewUrl, with the token and expiry. */
  async previewLink(port: number, options: { ttl?: string | number } = {}): Promise<PreviewURL> {
    return this.client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/preview-urls", {
        params: { path: { id: this.id } }, body: { port, ttl: ttlString(options.ttl) }, signal,
      }),
    );
  }

  /** Sets the TTL to timeout (ms or a Go duration) from now: extends or shortens the sandbox's life. */
  async setTimeout(timeout: string | number): Promise<void> {
    await this.update({ ttl: ttlString(timeout) });
  }

  /** Stops the sandbox after timeout (ms or a Go duration) without activity; 0 turns it off. */
  async setIdleTimeout(timeout: string | number): Promise<void> {
    await this.update({ idle_timeout: ttlString(timeout) });
  }

  private async update(body: { ttl?: string; idle_timeout?: string }): Promise<void> {
    this.info = await this.client.call((api, signal) =>
      api.PATCH("/api/v1/sandboxes/{id}", { params: { path: { id: this.id } }, body, signal }),
    );
  }

  /** `await using sb = await Sandbox.create(…)` deletes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs a command and waits for it: an array is an argv, a string a shell
   * script (sh -c). A command that fails or times out is not an exception:
   * look at exitCode and timedOut.
   */
  exec(cmd: Command, options: ExecOptions = {}): Promise<ExecResult> {
    return exec(this.client, this.id, cmd, options);
  }

  /**
   * Starts a command over a WebSocket: iterate the stream for output
   * chunks as they come (`for await`), or call wait() with callbacks.
   */
  execStream(cmd: Command, options: StreamOptions = {}): Promise<ExecStream> {
    return execStream(this.client, this.id, cmd, options);
  }

  /**
   * Runs code as one cell in a persistent interpreter (docs/code.md):
   * variables survive between calls on the same context. An exception is
   * not thrown: look at the result's error and interrupted.
   */
  runCode(code: string, options: RunCodeOptions = {}): Promise<CodeRunResult> {
    return runCode(this.client, this.id, code, options);
  }

  /** Starts a new interpreter: python (default), javascript or bash. */
  createCodeContext(language: CodeLanguage = "python"): Promise<CodeContext> {
    return createCodeContext(this.client, this.id, language);
  }

  /** The sandbox's code contexts, oldest first. */
  listCodeContexts(): Promise<CodeContext[]> {
    return listCodeContexts(this.client, this.id);
  }

  /** Replaces a context's interpreter with a fresh one (state lost, id kept). */
  restartCodeContext(context: string | CodeContext): Promise<CodeContext> {
    return restartCodeContext(this.client, this.id, context);
  }

  /** Stops a context's interpreter and forgets it. */
  deleteCodeContext(context: string | CodeContext): Promise<void> {
    return deleteCodeContext(this.client, this.id, context);
  }
}

async function getInfo(client: Client, id: string): Promise<SandboxInfo> {
  return client.call((api, signal) => api.GET("/api/v1/sandboxes/{id}", { params: { path: { id } }, signal }));
}

export { sandboxPath };
