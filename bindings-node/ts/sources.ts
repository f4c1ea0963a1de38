/**
 * Where a client's values come from. Each helper returns the `source` object of the client
 * options every language shares (`{kind: "http", url, ...}`); an option left out takes its
 * environment variable or default in the core.
 * @packageDocumentation
 */

/** Any HTTP endpoint answering JSON. */
export interface HttpSource {
  readonly kind: 'http';
  /** An http(s) URL containing `{key}`, replaced by the URL-encoded key. */
  readonly url: string;
  /** Sent with every request (e.g. `Authorization`); never logged or snapshotted. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The top-level body field holding an integer version (default `version`). */
  readonly versionField?: string;
}

/** A local JSON file holding an object of key → value, re-read when it changes. */
export interface FileSource {
  readonly kind: 'file';
  readonly path: string;
}

/** Langfuse prompt management. */
export interface LangfuseSource {
  readonly kind: 'langfuse';
  /** `LANGFUSE_BASE_URL` (or `LANGFUSE_HOST`), else `https://cloud.langfuse.com`. */
  readonly baseUrl?: string;
  /** `LANGFUSE_PUBLIC_KEY` (`pk-lf-…`). */
  readonly publicKey?: string;
  /** `LANGFUSE_SECRET_KEY` (`sk-lf-…`). Never shown anywhere. */
  readonly secretKey?: string;
  /** Bound on one request: `LANGFUSE_TIMEOUT`, else 10 (the cold deadline still applies). */
  readonly timeoutSeconds?: number;
}

/** Opik agent configuration. */
export interface OpikSource {
  readonly kind: 'opik';
  /** `OPIK_URL_OVERRIDE`, else Comet's hosted Opik. */
  readonly baseUrl?: string;
  /** `OPIK_API_KEY`. Never shown anywhere. */
  readonly apiKey?: string;
  /** `OPIK_WORKSPACE`. */
  readonly workspace?: string;
  /** The project configs are read from: `OPIK_PROJECT_NAME`. */
  readonly projectName?: string;
}

export type Source = HttpSource | FileSource | LangfuseSource | OpikSource;

/** Any HTTP JSON endpoint: `url` contains `{key}`. */
export function http(url: string, options: { headers?: Record<string, string>; versionField?: string } = {}): HttpSource {
  return { kind: 'http', url, ...options };
}

/** A local JSON file of key → value. */
export function file(path: string): FileSource {
  return { kind: 'file', path };
}

/** Langfuse prompts; options left out take `LANGFUSE_*` environment variables. */
export function langfuse(options: Omit<LangfuseSource, 'kind'> = {}): LangfuseSource {
  return { kind: 'langfuse', ...options };
}

/** Opik agent configs; options left out take `OPIK_*` environment variables. */
export function opik(options: Omit<OpikSource, 'kind'> = {}): OpikSource {
  return { kind: 'opik', ...options };
}

/** `camelCase` → `snake_case`, the options' names in the core (and in C and Python). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * @internal The options JSON of the core's `ClientSpec`: option names, and those of `source`
 * and `fleet`, snake_cased, `undefined` dropped, everything else passed as is (the core names
 * what it does not know).
 */
export function toSpec(options: object, nested = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const isNested = nested && (name === 'source' || name === 'fleet') && !Array.isArray(value);
    out[snake(name)] = isNested && value !== null && typeof value === 'object' ? toSpec(value, false) : value;
  }
  return out;
}
