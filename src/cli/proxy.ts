// `headroom proxy`: runs the metering proxy in the foreground and prints one line per generation request.
// Lines carry numbers only (endpoint, model, tokens, speeds, truncation); prompts and completions never.
import { parseFlags } from './args';
import { CliError } from './errors';
import { startMeteringProxy } from '../providers/proxy/server';
import type { MeterRecord } from '../providers/proxy/record';
import type { GuardMode } from '../providers/proxy/guard';

const HELP = `usage: headroom proxy [--listen 127.0.0.1:11435] [--target http://127.0.0.1:11434] [--guard warn] [--json-log]

Forwards every request to the engine unchanged (streams included) and prints, per generation request,
prompt/output tokens, decode tok/s, time to first token and whether the prompt was truncated.
Point your agent (Cline, Continue, Roo Code, aider) at the --listen address instead of the engine.

  --listen HOST:PORT  loopback address to listen on (default 127.0.0.1:11435)
  --target URL        engine base URL (default http://127.0.0.1:11434, Ollama)
  --guard MODE        truncation guard before each generation request (default warn):
                        off     forward everything unchecked
                        warn    forward byte-exact; print a warning when the prompt may not fit the window
                        refuse  answer a prompt that clearly exceeds the window with the API's own 400
                                (context_length_exceeded) without contacting the engine; borderline ones warn
  --json-log          one JSON object per line instead of a readable line
`;

const GUARD_MODES: readonly GuardMode[] = ['off', 'warn', 'refuse'];

export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw.trim());
  if (!m) throw new CliError(`--listen expects HOST:PORT (e.g. 127.0.0.1:11435), got '${raw}'`);
  const port = Number(m[2]);
  if (port > 65535) throw new CliError(`--listen port must be 0–65535, got ${port}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '?' : n.toLocaleString('en-US', { maximumFractionDigits: digits }));

/** The readable one-line form of a record. */
export function formatRecord(r: MeterRecord): string {
  // llama.cpp reports the model as the GGUF's path: the file name says it.
  const model = r.model === undefined ? '(model?)' : /[/\\]/.test(r.model) ? r.model.split(/[/\\]/).pop()! : r.model;
  const parts = [`${r.method} ${r.endpoint}`, model, `status ${r.status}`];
  if (r.promptTokens !== undefined || r.outputTokens !== undefined) {
    parts.push(`prompt ${fmt(r.promptTokens)}${r.cachedTokens ? ` (${fmt(r.cachedTokens)} cached)` : ''} → out ${fmt(r.outputTokens)}`);
  }
  if (r.decodeTokPerSec !== undefined) parts.push(`decode ${fmt(r.decodeTokPerSec, 1)} tok/s`);
  if (r.prefillTokPerSec !== undefined) parts.push(`prefill ${fmt(r.prefillTokPerSec, 0)} tok/s`);
  if (r.ttftMs !== undefined) parts.push(r.ttftMs < 1000 ? `ttft ${fmt(r.ttftMs)} ms` : `ttft ${fmt(r.ttftMs / 1000, 2)} s`);
  if (r.speedSource === 'proxy') parts.push('(timed by proxy)');
  if (r.numCtx !== undefined) parts.push(`num_ctx ${fmt(r.numCtx)}`);
  if (r.truncated) {
    const tr = r.truncation;
    const detail = tr?.sentTokens !== undefined ? ` (~${fmt(tr.sentTokens)} sent${tr.keptTokens !== undefined ? `, ${fmt(tr.keptTokens)} kept` : ''}${tr.limit !== undefined ? `, window ${fmt(tr.limit)}` : ''})` : '';
    parts.push(`TRUNCATED${tr?.reason === 'rejected' ? ' (rejected by engine)' : ''}${detail}`);
  }
  const g = r.guard;
  if (g && g.action !== 'passed') parts.push(`GUARD ${g.action.toUpperCase()} (prompt ≈ ${fmt(g.promptTokens)} tokens by ${g.method}${g.window !== undefined ? `, window ${fmt(g.window)}` : ''})`);
  if (r.error && r.error.kind !== 'context_exceeded') parts.push(`error: ${r.error.kind}${r.error.type ? ` ${r.error.type}` : ''}`);
  return parts.join('  ');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { listen: { type: 'string' }, target: { type: 'string' }, guard: { type: 'string' }, 'json-log': { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const listen = parseListen(values.listen ?? '127.0.0.1:11435');
  const target = values.target ?? 'http://127.0.0.1:11434';
  const json = values['json-log'] === true;
  const mode = (values.guard ?? 'warn').toLowerCase() as GuardMode;
  if (!GUARD_MODES.includes(mode)) throw new CliError(`--guard must be one of ${GUARD_MODES.join(', ')}, got '${values.guard}'`);
  let proxy;
  try {
    proxy = await startMeteringProxy({
      listen,
      target,
      onRecord: (r) => process.stdout.write((json ? JSON.stringify(r) : formatRecord(r)) + '\n'),
      // Said as soon as decided, before the reply (the record line comes when the request ends).
      guard: { mode, onEvent: (e) => process.stderr.write(`headroom proxy: ${e.info.action === 'refused' ? 'refused' : 'warning'}: ${e.message}\n`) },
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new CliError(`${values.listen ?? '127.0.0.1:11435'} is already in use`);
    throw new CliError(msg);
  }
  process.stderr.write(`headroom proxy: listening on ${proxy.url} → ${target}, truncation guard ${mode} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await proxy.close();
  return 0;
}
