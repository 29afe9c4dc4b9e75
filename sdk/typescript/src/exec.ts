import WebSocket from "ws";
import { Client, sandboxPath } from "./client.js";
import { CodePodError, ConnectionError, errorForStatus, problemError } from "./errors.js";
import type { components } from "./generated/openapi.js";

type ExecRequest = components["schemas"]["ExecRequest"];

/** A command: an argv array, or a shell script string run with sh -c. */
export type Command = string | string[];

/** Options of exec. */
export interface ExecOptions {
  /** Added to the sandbox's environment. */
  env?: Record<string, string>;
  /** Working directory; absent: the user's home. */
  cwd?: string;
  /** Standard input: text (UTF-8) or bytes. */
  stdin?: string | Uint8Array;
  /** Kills the command's process group when it passes (default 60 000 ms on the server; at most one hour). */
  timeoutMs?: number;
  /** Caps each of stdout and stderr (default 1 MiB, at most 16 MiB); the rest is dropped and *Truncated set. */
  maxOutputBytes?: number;
}

/** How a command ended. */
export interface ExitStatus {
  /** The exit status; 128+N when killed by signal N. */
  exitCode: number;
  /** "" or the signal's name without SIG, e.g. "KILL". */
  signal: string;
  /** The timeout fired (then signal is "KILL"). */
  timedOut: boolean;
  durationMs: number;
}

/** A finished command and what it wrote. */
export interface ExecResult extends ExitStatus {
  /** Standard output as text (UTF-8; undecodable bytes replaced). */
  stdout: string;
  stderr: string;
  /** The exact bytes. */
  stdoutBytes: Uint8Array;
  stderrBytes: Uint8Array;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

function argv(cmd: Command): string[] {
  return typeof cmd === "string" ? ["sh", "-c", cmd] : cmd;
}

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

function b64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

function execRequest(cmd: Command, o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number }): ExecRequest {
  return {
    command: argv(cmd),
    env: o.env,
    cwd: o.cwd || undefined,
    timeout_seconds: o.timeoutMs === undefined ? undefined : Math.max(1, Math.ceil(o.timeoutMs / 1000)),
  };
}

function output(text: string | undefined, encoding: string | undefined): Uint8Array {
  return encoding === "base64" ? new Uint8Array(Buffer.from(text ?? "", "base64")) : new TextEncoder().encode(text ?? "");
}

export async function exec(client: Client, id: string, cmd: Command, o: ExecOptions): Promise<ExecResult> {
  const body: ExecRequest = {
    ...execRequest(cmd, o),
    stdin_base64: o.stdin === undefined ? undefined : b64(bytesOf(o.stdin)),
    max_output_bytes: o.maxOutputBytes,
  };
  const httpTimeout = client.timeoutMs + (o.timeoutMs ?? 60_000);
  const r = await client.call(
    (api, signal) => api.POST("/api/v1/sandboxes/{id}/exec", { params: { path: { id } }, body, signal }),
    httpTimeout,
  );
  const stdoutBytes = output(r.stdout, r.stdout_encoding);
  const stderrBytes = output(r.stderr, r.stderr_encoding);
  const dec = new TextDecoder();
  return {
    exitCode: r.exit_code,
    signal: r.signal,
    timedOut: r.timed_out,
    durationMs: r.duration_ms,
    stdout: dec.decode(stdoutBytes),
    stderr: dec.decode(stderrBytes),
    stdoutBytes,
    stderrBytes,
    stdoutTruncated: r.stdout_truncated,
    stderrTruncated: r.stderr_truncated,
  };
}

/** Options of execStream. */
export interface StreamOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /**
   * Standard input: text, bytes or an (async) iterable of them, closed at
   * its end; "pipe" leaves it open for writeStdin and closeStdin; absent
   * closes it at once.
   */
  stdin?: string | Uint8Array | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string> | "pipe";
}

/** A piece of a streaming command's output. */
export interface OutputChunk {
  stream: "stdout" | "stderr";
  data: Uint8Array;
}

interface StreamMessage {
  type: string;
  data?: string;
  exit_code?: number;
  signal?: string;
  timed_out?: boolean;
  duration_ms?: number;
  status?: number;
  detail?: string;
}

/**
 * A command running over a WebSocket. Iterate it (`for await`) for output
 * chunks as the command writes them; afterwards exitStatus says how it
 * ended. Or call wait() with callbacks. Closing it early kills the command.
 */
export class ExecStream implements AsyncIterable<OutputChunk> {
  exitStatus?: ExitStatus;
  readonly #ws: WebSocket;
  /** Output not yet taken by an iterator. */
  readonly #queue: OutputChunk[] = [];
  /**
   * How the stream ended: null at the exit message, an Error when it failed,
   * undefined while it runs. Kept, not queued, so that every later iterator
   * (a wait() after a for await) ends at once instead of waiting forever.
   */
  #end?: Error | null;
  #wake?: () => void;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (raw) => this.#onMessage(JSON.parse(raw.toString()) as StreamMessage));
    ws.on("close", () => this.#push(this.exitStatus ? null : new CodePodError("the exec stream ended before the command did")));
    ws.on("error", (err) => this.#push(new ConnectionError(`exec stream: ${err.message}`, { cause: err })));
  }

  #onMessage(m: StreamMessage): void {
    if (m.type === "stdout" || m.type === "stderr") {
      this.#push({ stream: m.type, data: new Uint8Array(Buffer.from(m.data ?? "", "base64")) });
    } else if (m.type === "exit") {
      this.exitStatus = { exitCode: m.exit_code ?? 0, signal: m.signal ?? "", timedOut: m.timed_out ?? false, durationMs: m.duration_ms ?? 0 };
      this.#push(null);
      this.#ws.close(1000);
    } else if (m.type === "error") {
      this.#push(errorForStatus(m.status ?? 0, m.detail ?? ""));
      this.#ws.close(1000);
    }
  }

  #push(item: OutputChunk | Error | null): void {
    if (this.#end !== undefined) return;
    if (item === null || item instanceof Error) this.#end = item;
    else this.#queue.push(item);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Yields the output not yet taken, then ends when the command did (or
   * throws how the stream failed). Iterating again after a break resumes
   * where the last iteration stopped; after the end it ends at once.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    for (;;) {
      const item = this.#queue.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.#end instanceof Error) throw this.#end;
      if (this.#end === null) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Passes the output to the callbacks until the command ends; returns how it ended. */
  async wait(callbacks: { onStdout?: (data: Uint8Array) => void; onStderr?: (data: Uint8Array) => void } = {}): Promise<ExitStatus> {
    for await (const chunk of this) {
      (chunk.stream === "stdout" ? callbacks.onStdout : callbacks.onStderr)?.(chunk.data);
    }
    return this.exitStatus!;
  }

  writeStdin(data: string | Uint8Array): void {
    this.#send({ type: "stdin", data: b64(bytesOf(data)) });
  }

  closeStdin(): void {
    this.#send({ type: "stdin_close" });
  }

  /** Sends a signal ("TERM", "INT", "KILL"…) to the command. */
  signal(name = "TERM"): void {
    this.#send({ type: "signal", signal: name });
  }

  #send(msg: object): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  /** Kills the command if it still runs and closes the stream. */
  close(): void {
    if (!this.exitStatus) this.signal("KILL");
    this.#ws.close(1000);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

async function feed(stream: ExecStream, stdin: NonNullable<StreamOptions["stdin"]>): Promise<void> {
  if (typeof stdin === "string" || stdin instanceof Uint8Array) {
    stream.writeStdin(stdin);
  } else {
    for await (const chunk of stdin as AsyncIterable<Uint8Array | string>) stream.writeStdin(chunk);
  }
  stream.closeStdin();
}

/** Opens the exec stream's WebSocket; a refused upgrade throws the typed error of its problem document. */
function open(client: Client, id: string): Promise<WebSocket> {
  const url = client.serverUrl.replace(/^http/, "ws") + sandboxPath(id, "/exec/stream");
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: client.headers(), handshakeTimeout: client.timeoutMs });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      const socket = res.socket; // detached once the body is read
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        socket?.destroy(); // else it idles in the agent's pool and keeps the process alive
        reject(problemError(res.statusCode ?? 0, body, String(res.headers["x-request-id"] ?? "")));
      });
    });
    ws.once("error", (err) => reject(new ConnectionError(`cannot reach the CodePod server at ${client.serverUrl}: ${err.message}`, { cause: err })));
  });
}

export async function execStream(client: Client, id: string, cmd: Command, o: StreamOptions): Promise<ExecStream> {
  const ws = await open(client, id);
  const stream = new ExecStream(ws);
  ws.send(JSON.stringify(execRequest(cmd, o)));
  if (o.stdin === undefined) stream.closeStdin();
  else if (o.stdin !== "pipe") feed(stream, o.stdin).catch(() => stream.close());
  return stream;
}
