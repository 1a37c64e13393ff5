// One typed error for everything that can go wrong talking to an engine, so callers
// (detection, CLI, views) can say *what* failed on *which* endpoint without parsing messages.

export type ProviderErrorKind = 'unreachable' | 'timeout' | 'http' | 'too-large' | 'bad-json' | 'schema' | 'aborted';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    /** Origin of the engine, e.g. `http://127.0.0.1:11434`. */
    readonly endpoint: string,
    /** Request path, e.g. `/api/ps`. */
    readonly path: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${endpoint}${path}: ${message}`);
  }

  /** Plain-data form for JSON output and webview messages. */
  toJSON(): { kind: ProviderErrorKind; endpoint: string; path: string; status?: number; message: string } {
    return { kind: this.kind, endpoint: this.endpoint, path: this.path, ...(this.status !== undefined ? { status: this.status } : {}), message: this.message };
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}
