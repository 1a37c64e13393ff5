// `headroom connect continue|aider`: points an agent's config at the metering proxy (or undoes it) and prints
// the change as a unified diff (`--json`: { file, changed: [{ path, from, to }], backup }).
import { homedir } from 'node:os';
import { parseFlags } from './args';
import { CliError } from './errors';
import { applyPlan, connectStateDir, ConnectError, findConfig, formatFor, inspectUndo, planFile, undoFile, candidateFiles, type Agent } from '../connect/files';
import { ConfigParseError } from '../connect/text-edit';
import { checkHttpUrl } from '../connect/urls';

const HELP = `usage: headroom connect continue|aider --proxy URL [--target URL] [--config FILE] [--dry-run] [--json]
       headroom connect continue|aider --undo [--config FILE] [--force] [--dry-run] [--json]

Rewrites the agent's base URLs that point at the engine (--target) so its requests pass through the metering
proxy (--proxy), which then sees every prompt's size and warns before the context truncates. Only those values
change: comments, ordering and anchors stay byte for byte. A backup is kept; --undo restores the file exactly.

  continue   ~/.continue/config.yaml (or config.json): apiBase of models served by the engine; an ollama model
             without apiBase (Continue then uses http://localhost:11434) gets one
  aider      ./.aider.conf.yml, ~/.aider.conf.yml or ./.env: openai-api-base, OLLAMA_API_BASE, OPENAI_API_BASE
  --proxy URL    the metering proxy, e.g. http://127.0.0.1:11435 (see \`headroom proxy\`)
  --target URL   the engine (default http://127.0.0.1:11434, Ollama)
  --config FILE  the config file to edit (default: the first of the files above that exists)
  --dry-run      print the diff, write nothing
  --undo         restore the file as it was before connect (refuses if someone changed it since; --force)
  --json         { file, changed: [{ path, from, to }], backup } instead of the diff
Exit 0 when done or nothing needed changing; 2 for a file that cannot be parsed (nothing is written).
`;

export async function run(argv: string[], env: Record<string, string | undefined> = process.env, home = homedir(), cwd = process.cwd()): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { proxy: { type: 'string' }, target: { type: 'string' }, config: { type: 'string' }, 'dry-run': { type: 'boolean' }, undo: { type: 'boolean' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
    true,
  );
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const agent = positionals[0];
  if (agent !== 'continue' && agent !== 'aider') throw new CliError(`connect needs an agent: continue or aider${agent ? ` (got '${agent}')` : ''}`);
  if (positionals.length > 1) throw new CliError(`unexpected argument '${positionals[1]}'`);
  const file = values.config ?? (await findConfig(agent as Agent, home, cwd));
  if (!file) throw new CliError(`no ${agent} config found (looked for ${candidateFiles(agent as Agent, home, cwd).join(', ')}); pass --config FILE`);
  const state = connectStateDir(env, home);
  const json = values.json === true;
  const dry = values['dry-run'] === true;
  const out = (s: string) => process.stdout.write(s);

  try {
    if (values.undo) {
      if (dry) {
        const u = await inspectUndo(file, state);
        if (json) out(JSON.stringify({ file, changed: u.record.changes.map((c) => ({ path: c.path, from: c.to, to: c.from })), backup: u.backup, conflict: !u.ours && !u.current.equals(u.original) }) + '\n');
        else out(u.diff || `${file} already holds the original\n`);
        return 0;
      }
      const r = await undoFile(file, state, { force: values.force === true });
      if (json) out(JSON.stringify({ file, restored: r.outcome === 'restored', backup: r.backup, ...(r.keptCurrent ? { keptCurrent: r.keptCurrent } : {}) }) + '\n');
      else {
        out(r.diff);
        process.stderr.write(r.outcome === 'restored' ? `headroom connect: restored ${file} as it was${r.keptCurrent ? ` (your later version is kept in ${r.keptCurrent})` : ''}\n` : `headroom connect: ${file} already held the original\n`);
      }
      return 0;
    }
    if (!values.proxy) throw new CliError('--proxy URL is required (the metering proxy, e.g. http://127.0.0.1:11435)');
    const proxy = checkHttpUrl('--proxy', values.proxy);
    const target = checkHttpUrl('--target', values.target ?? 'http://127.0.0.1:11434');
    const plan = await planFile(file, formatFor(agent as Agent, file), { targets: [target], proxy });
    let backup: string | null = null;
    if (plan.changes.length && !dry) backup = (await applyPlan(plan, state)).backup;
    if (json) out(JSON.stringify({ file, changed: plan.changes, backup, ...(dry ? { dryRun: true } : {}), skipped: plan.skipped }) + '\n');
    else {
      out(plan.diff);
      for (const s of plan.skipped) process.stderr.write(`headroom connect: left alone — ${s}\n`);
      process.stderr.write(
        plan.changes.length === 0
          ? `headroom connect: nothing to change in ${file} (no value points at ${target})\n`
          : dry
            ? `headroom connect: ${plan.changes.length} value(s) would change (dry run; nothing written)\n`
            : `headroom connect: ${plan.changes.length} value(s) changed; backup ${backup} (undo: headroom connect ${agent} --undo${values.config ? ` --config ${file}` : ''})\n`,
      );
    }
    if (agent === 'aider') for (const v of ['OLLAMA_API_BASE', 'OPENAI_API_BASE'] as const) if (env[v]?.trim()) process.stderr.write(`headroom connect: note — ${v}=${env[v]} is set in this shell and wins over the file for aider started from it\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigParseError) throw new CliError(`${err.message} — nothing written`);
    if (err instanceof ConnectError) throw new CliError(err.message, err.name === 'ConflictError' ? 3 : 2);
    throw err;
  }
}
