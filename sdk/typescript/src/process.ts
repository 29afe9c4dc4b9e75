import WebSocket from "ws";
import { Client, sandboxPath } from "./client.js";
import { ConnectionError, errorForStatus, problemError } from "./errors.js";
import type { Command } from "./exec.js";
import type { components } from "./generated/openapi.js";

/** A background process as the server describes it. */
export type ProcessInfo = components["schemas"]["Process"];

/** Receives a stream's output as it comes. */
export type OutputCallback = (data: Uint8Array) => void;

/** Options of start. */
export interface ProcessStartOptions {
  /** Added to the sandbox's environment. */
  env?: Record<string, string>;
  /** Working directory; absent: the user's home. */
  cwd?: string;
  onStdout?: OutputCallback;
  onStderr?: OutputCallback;
}

/** Options of connect. */
export interface ProcessConnectOptions {
  onStdout?: OutputCallback;
  onStderr?: OutputCallback;
  /** The offset of each stream the callbacks start at (0: all that is kept; -1: only new output). */
  offset?: number;
}

/** Bytes of one stream from offset; dropped bytes before it fell out of the 1 MiB ring; end is the stream's length so far. */
export interface ProcessOutput {
  stream: "stdout" | "stderr";
  offset: number;
  dropped: number;
  data: Uint8Array;
  end: number;
  eof: boolean;
}

function argv(cmd: Command): string[] {
  return typeof cmd === "string" ? ["sh", "-c", cmd] : cmd;
}

function b64(data: string | Uint8Array): string {
  const b = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/**
 * A handle on one background process. Dropping it or calling disconnect
 * leaves the process running; only kill ends it.
 */
export class ProcessHandle {
  info: ProcessInfo;
  /** Why the callbacks' stream ended early, if it did. */
  streamError?: Error;
  readonly #client: Client;
  readonly #sandboxId: string;
  #ws?: WebSocket;
  #streamed?: Promise<void>;

  constructor(client: Client, sandboxId: string, info: ProcessInfo) {
    this.#client = client;
    this.#sandboxId = sandboxId;
    this.info = info;
  }

  get pid(): number {
    return this.info.pid;
  }

  /** The exit code once it exited (128+N when signal N killed it). */
  get exitCode(): number | undefined {
    return this.info.exit_code;
  }

  #params() {
    return { path: { id: this.#sandboxId, pid: this.pid } };
  }

  /** Asks the server for the process's state. */
  async refresh(): Promise<ProcessInfo> {
    this.info = await this.#client.call((api, signal) => api.GET("/api/v1/sandboxes/{id}/processes/{pid}", { params: this.#params(), signal }));
    return this.info;
  }

  /** Waits until the process exited and returns its final state; with callbacks, they have had all its output by then. */
  async wait(): Promise<ProcessInfo> {
    for (;;) {
      const timeout = 30;
      this.info = await this.#client.call(
        (api, signal) =>
          api.POST("/api/v1/sandboxes/{id}/processes/{pid}/wait", { params: { ...this.#params(), query: { timeout } }, signal }),
        this.#client.timeoutMs + timeout * 1000,
      );
      if (this.info.status === "exited") break;
    }
    await this.#streamed;
    return this.info;
  }

  /** Kills the process (SIGKILL to its group) and returns its final state. */
  async kill(): Promise<ProcessInfo> {
    this.info = await this.#client.call((api, signal) => api.DELETE("/api/v1/sandboxes/{id}/processes/{pid}", { params: this.#params(), signal }));
    return this.info;
  }

  /** Sends a signal ("TERM", "INT", "HUP"…) to the process's group. */
  async signal(name = "TERM"): Promise<ProcessInfo> {
    this.info = await this.#client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/processes/{pid}/signal", { params: this.#params(), body: { signal: name }, signal }),
    );
    return this.info;
  }

  /** Writes to the process's stdin. */
  async sendStdin(data: string | Uint8Array): Promise<ProcessInfo> {
    this.info = await this.#client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/processes/{pid}/stdin", { params: this.#params(), body: { data_base64: b64(data) }, signal }),
    );
    return this.info;
  }

  /** Closes the process's stdin: it reads end of file. */
  async closeStdin(): Promise<ProcessInfo> {
    this.info = await this.#client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/processes/{pid}/stdin", { params: this.#params(), body: { close: true }, signal }),
    );
    return this.info;
  }

  /** Reads stream from offset, as far as the sandbox keeps it. */
  async output(stream: "stdout" | "stderr" = "stdout", offset = 0): Promise<ProcessOutput> {
    const o = await this.#client.call((api, signal) =>
      api.GET("/api/v1/sandboxes/{id}/processes/{pid}/output", { params: { ...this.#params(), query: { stream, offset } }, signal }),
    );
    return { stream: o.stream, offset: o.offset, dropped: o.dropped, data: new Uint8Array(Buffer.from(o.data, "base64")), end: o.end, eof: o.eof };
  }

  /** Starts passing the output to the callbacks (used by start and connect). */
  async _stream(cb: { onStdout?: OutputCallback; onStderr?: OutputCallback }, offset: number): Promise<void> {
    const path = sandboxPath(this.#sandboxId, `/processes/${this.pid}/stream?stdout_offset=${offset}&stderr_offset=${offset}`);
    // The handlers are attached as the socket is made, not after it opens:
    // the server may send the first output in the same read as the
    // upgrade's answer, and ws emits it before an await could resume.
    let closed!: () => void;
    this.#streamed = new Promise<void>((resolve) => (closed = resolve));
    const ws = await openSocket(this.#client, path, (w) => {
      w.on("message", (raw) => {
        const m = JSON.parse(raw.toString()) as { type: string; data?: string; status?: number; detail?: string };
        if (m.type === "stdout" || m.type === "stderr") {
          (m.type === "stdout" ? cb.onStdout : cb.onStderr)?.(new Uint8Array(Buffer.from(m.data ?? "", "base64")));
        } else if (m.type === "exit" || m.type === "error") {
          if (m.type === "error") this.streamError = errorForStatus(m.status ?? 0, m.detail ?? "");
          w.close(1000);
        }
      });
      w.on("close", () => closed());
      w.on("error", (err) => {
        this.streamError = new ConnectionError(`process stream: ${err.message}`, { cause: err });
        closed();
      });
    }).catch((err) => {
      closed();
      throw err;
    });
    this.#ws = ws;
  }

  /** Stops the callbacks (the process runs on). */
  async disconnect(): Promise<void> {
    this.#ws?.close(1000);
    await this.#streamed;
  }
}

/** Opens a WebSocket to an API path; a refused upgrade throws the typed error of its problem document. */
function openSocket(client: Client, path: string, attach?: (ws: WebSocket) => void): Promise<WebSocket> {
  const url = client.serverUrl.replace(/^http/, "ws") + path;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: client.headers(), handshakeTimeout: client.timeoutMs });
    attach?.(ws);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      const socket = res.socket;
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        socket?.destroy();
        reject(problemError(res.statusCode ?? 0, body, String(res.headers["x-request-id"] ?? "")));
      });
    });
    ws.once("error", (err) => reject(new ConnectionError(`cannot reach the CodePod server at ${client.serverUrl}: ${err.message}`, { cause: err })));
  });
}

/** A sandbox's background processes: `sb.process`. */
export class Processes {
  readonly #client: Client;
  readonly #sandboxId: string;

  constructor(client: Client, sandboxId: string) {
    this.#client = client;
    this.#sandboxId = sandboxId;
  }

  /** Starts cmd (an argv, or a string run with sh -c) in the background and returns at once; its stdin stays open until closeStdin. */
  async start(cmd: Command, o: ProcessStartOptions = {}): Promise<ProcessHandle> {
    const info = await this.#client.call((api, signal) =>
      api.POST("/api/v1/sandboxes/{id}/processes", {
        params: { path: { id: this.#sandboxId } },
        body: { command: argv(cmd), env: o.env, cwd: o.cwd || undefined },
        signal,
      }),
    );
    const h = new ProcessHandle(this.#client, this.#sandboxId, info);
    if (o.onStdout || o.onStderr) await h._stream(o, 0);
    return h;
  }

  /** Reattaches to a process by pid, from any client; throws NotFoundError for an unknown pid. */
  async connect(pid: number, o: ProcessConnectOptions = {}): Promise<ProcessHandle> {
    const info = await this.#client.call((api, signal) =>
      api.GET("/api/v1/sandboxes/{id}/processes/{pid}", { params: { path: { id: this.#sandboxId, pid } }, signal }),
    );
    const h = new ProcessHandle(this.#client, this.#sandboxId, info);
    if (o.onStdout || o.onStderr) await h._stream(o, o.offset ?? 0);
    return h;
  }

  /** The sandbox's processes, running and exited, oldest first. */
  async list(): Promise<ProcessInfo[]> {
    const r = await this.#client.call((api, signal) => api.GET("/api/v1/sandboxes/{id}/processes", { params: { path: { id: this.#sandboxId } }, signal }));
    return r.items;
  }
}
