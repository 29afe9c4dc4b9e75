import createClient from "openapi-fetch";
import type { paths } from "./generated/openapi.js";
import { cliConfig, configPath } from "./config.js";
import { problemError, transportError } from "./errors.js";

/** The server a client talks to when neither an option nor CODEPOD_SERVER_URL names one. */
export const DEFAULT_SERVER_URL = "http://localhost:3000";

const USER_AGENT = "codepod-sdk-typescript";

/** How to reach a CodePod server. */
export interface ClientOptions {
  /**
   * The server's URL (default: CODEPOD_SERVER_URL, else SERVER_URL in the
   * CLI's config file, else http://localhost:3000).
   */
  serverUrl?: string;
  /** The API key sent as a bearer token (default: CODEPOD_API_KEY, else API_KEY in the CLI's config file). */
  apiKey?: string;
  /** A fetch to use instead of the global one, e.g. with a proxy dispatcher. */
  fetch?: typeof fetch;
  /** Bounds each request, in milliseconds (default 60 000); exec adds the command's own timeout. */
  timeoutMs?: number;
}

/** The generated, typed client of the whole API (openapi-fetch over the types of openapi.yaml). */
export type ApiClient = ReturnType<typeof createClient<paths>>;

/** The result shape of an openapi-fetch call. */
interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** A connection to one CodePod server. */
export class Client {
  readonly serverUrl: string;
  readonly timeoutMs: number;
  /** The generated client, authenticated, for operations the SDK does not wrap. */
  readonly api: ApiClient;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions = {}) {
    const env = process.env;
    let serverUrl = options.serverUrl || env.CODEPOD_SERVER_URL;
    let key = options.apiKey || env.CODEPOD_API_KEY;
    if (!serverUrl || !key) {
      // Like gh and kubectl: what the environment leaves out comes from the CLI's settings.
      const file = cliConfig(env);
      serverUrl ||= file.SERVER_URL;
      key ||= file.API_KEY;
    }
    this.serverUrl = (serverUrl || DEFAULT_SERVER_URL).replace(/\/+$/, "");
    if (!key) {
      throw new Error(
        `no API key: pass { apiKey }, set CODEPOD_API_KEY, or run \`codepod config set API_KEY <key>\` (which writes ${configPath(env)})`,
      );
    }
    this.#apiKey = key;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.api = createClient<paths>({ baseUrl: this.serverUrl, headers: this.headers(), fetch: (r) => this.#fetch(r) });
  }

  /** The headers every request carries: the credential and the user agent. */
  headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.#apiKey}`, "User-Agent": USER_AGENT };
  }

  /**
   * Runs a call of the generated client and returns its data, or throws the
   * typed error of a refusal (or a ConnectionError / TimeoutError).
   */
  async call<T>(fn: (api: ApiClient, signal: AbortSignal) => Promise<FetchResult<T>>, timeoutMs?: number): Promise<T> {
    let res: FetchResult<T>;
    try {
      res = await fn(this.api, AbortSignal.timeout(timeoutMs ?? this.timeoutMs));
    } catch (err) {
      throw transportError(this.serverUrl, err);
    }
    if (!res.response.ok) throw problemError(res.response.status, res.error, res.response.headers.get("X-Request-Id") ?? "");
    return res.data as T;
  }

  /** Sends a hand-made request (raw bodies, binary answers) and throws the typed error of a refusal. */
  async request(method: string, path: string, init: RawRequest = {}): Promise<Response> {
    const url = new URL(this.serverUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { ...this.headers() };
    if (init.contentType) headers["Content-Type"] = init.contentType;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        body: init.body,
        signal: timeoutSignal(init.timeoutMs ?? this.timeoutMs),
        ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      throw transportError(this.serverUrl, err);
    }
    if (!res.ok) throw problemError(res.status, await res.text(), res.headers.get("X-Request-Id") ?? "");
    return res;
  }
}

/** A hand-made request's options. */
export interface RawRequest {
  query?: Record<string, string | undefined>;
  body?: RequestInit["body"];
  contentType?: string;
  /** Bounds the whole exchange, body included; 0: no bound (large transfers). */
  timeoutMs?: number;
}

function timeoutSignal(ms: number): AbortSignal | undefined {
  return ms > 0 ? AbortSignal.timeout(ms) : undefined;
}

/** The API path of a sandbox's resource. */
export function sandboxPath(id: string, sub = ""): string {
  return `/api/v1/sandboxes/${encodeURIComponent(id)}${sub}`;
}
