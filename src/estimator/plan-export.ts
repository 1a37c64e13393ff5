// A stack plan as configuration to run it: a llama-swap YAML, an Ollama server environment, or a shell script
// starting one llama-server per member. Pure text out. Members that fit together stay resident (one llama-swap
// group that never swaps or unloads); the rest swap in a second group. Weights come from a sourced GGUF repo
// (`-hf repo:QUANT`); where none is on record, a variable the user sets names their file — never an invented name.
import { findEncoder } from './encoders';
import { llamaServerWeights, ollamaPull, shellWord } from './engine-commands';
import { formatBytes } from './format';
import type { MemberPlan, StackPlan } from './planner';

export const EMIT_FORMATS = ['llama-swap', 'ollama-env', 'script'] as const;
export type EmitFormat = (typeof EMIT_FORMATS)[number];

/** Keep-resident order when not everything fits: the orchestrator first, then coder, tool, encoders. */
const ROLE_ORDER: Record<string, number> = { orchestrator: 0, coder: 1, tool: 2, other: 3, embedding: 4, reranker: 5 };
/** Seconds an unused swapping member stays loaded (llama-swap `ttl`). */
export const SWAP_TTL_SECONDS = 300;
export const SCRIPT_BASE_PORT = 8081;

/** Which members stay resident together: all when the plan fits, else the most important that fit in turn. */
export function residentSplit(plan: StackPlan): { resident: MemberPlan[]; swapping: MemberPlan[] } {
  if (plan.fitsResident) return { resident: [...plan.members], swapping: [] };
  const order = [...plan.members].sort((a, b) => (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3));
  const resident: MemberPlan[] = [];
  const swapping: MemberPlan[] = [];
  let used = 0;
  for (const m of order) {
    if (used + m.memory.totalBytes <= plan.hardware.usableBytes) {
      resident.push(m);
      used += m.memory.totalBytes;
    } else swapping.push(m);
  }
  return { resident, swapping };
}

/** A model id usable as a llama-swap key / shell variable: `orchestrator-Qwen3-32B`. */
function memberId(m: MemberPlan, i: number, all: MemberPlan[]): string {
  const base = `${m.role}-${m.name}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-+/g, '-');
  return all.filter((x) => `${x.role}-${x.name}` === `${m.role}-${m.name}`).length > 1 ? `${base}-${i + 1}` : base;
}

function envVar(id: string): string {
  return `${id.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_GGUF`;
}

function memoryNote(m: MemberPlan): string {
  const mem = m.memory;
  return `${formatBytes(mem.totalBytes)} (weights ${formatBytes(mem.weightsBytes)} + KV ${formatBytes(mem.kvBytes)} + compute/other ${formatBytes(mem.computeBytes + mem.otherBytes)}; Headroom estimate)`;
}

/** llama-server arguments for one member; `file` is how to name weights that have no sourced repo. */
function serverArgs(m: MemberPlan, file: string, variable: string): { args: string[]; note?: string } {
  const w = llamaServerWeights(m.model, m.quant);
  const args = w ? [...w.args] : ['-m', file];
  const encoder = findEncoder(m.model) ?? findEncoder(m.name);
  if (encoder || m.role === 'embedding' || m.role === 'reranker') {
    args.push(m.role === 'reranker' ? '--reranking' : '--embedding', '-c', String(m.ctx), '-np', String(m.parallel));
  } else {
    args.push('-c', String(m.ctx * m.parallel), '-np', String(m.parallel), '-fa', 'on');
    if (m.kvType !== 'f16') args.push('-ctk', m.kvType, '-ctv', m.kvType);
  }
  return { args, note: w ? `weights: ${w.note}` : `no GGUF repo for ${m.name} is on record: set ${variable} to your ${m.quant} file` };
}

const q = (s: string) => JSON.stringify(s);

function llamaSwap(plan: StackPlan): string {
  const { resident, swapping } = residentSplit(plan);
  const ids = new Map(plan.members.map((m, i) => [m, memberId(m, i, plan.members)]));
  const out = [
    `# llama-swap configuration for stack ${q(plan.name)} on ${plan.hardware.name} (${formatBytes(plan.hardware.usableBytes)} usable), from headroom plan`,
    `# resident together: ${resident.length} member(s), ${formatBytes(resident.reduce((s, m) => s + m.memory.totalBytes, 0))}${swapping.length ? `; swapping: ${swapping.length} member(s) (each switch reloads weights, ${plan.swap?.secondsPerSwap.join('–') ?? '30–90'} s)` : ''}`,
    'healthCheckTimeout: 600',
    'models:',
  ];
  for (const m of plan.members) {
    const id = ids.get(m)!;
    const a = serverArgs(m, `\${env.${envVar(id)}}`, envVar(id));
    out.push(`  # ${m.role}: ${m.name} ${m.quant}, memory ${memoryNote(m)}`);
    if (a.note) out.push(`  # ${a.note}`);
    out.push(`  ${q(id)}:`);
    out.push(`    cmd: ${q(['llama-server', '--port', '${PORT}', ...a.args].join(' '))}`);
    out.push(`    ttl: ${resident.includes(m) ? 0 : SWAP_TTL_SECONDS}`);
  }
  out.push('groups:');
  if (resident.length) {
    out.push('  # stays loaded: no swapping inside, never unloaded by another group');
    out.push('  "resident":', '    swap: false', '    exclusive: false', '    persistent: true', '    members:');
    for (const m of resident) out.push(`      - ${q(ids.get(m)!)}`);
  }
  if (swapping.length) {
    out.push('  # does not fit next to the resident group: one of these at a time');
    out.push('  "swapping":', '    swap: true', '    exclusive: false', '    members:');
    for (const m of swapping) out.push(`      - ${q(ids.get(m)!)}`);
  }
  if (resident.length) {
    out.push('hooks:', '  on_startup:', '    preload:');
    for (const m of resident) out.push(`      - ${q(ids.get(m)!)}`);
  }
  return out.join('\n') + '\n';
}

function ollamaEnv(plan: StackPlan): string {
  const { resident, swapping } = residentSplit(plan);
  const llms = plan.members;
  const parallel = Math.max(...llms.map((m) => m.parallel));
  const kvTypes = [...new Set(llms.filter((m) => m.memory.kvBytes > 0).map((m) => m.kvType))];
  const kv = kvTypes.length === 1 ? kvTypes[0]! : kvTypes.includes('q4_0') ? 'q4_0' : kvTypes.includes('q8_0') ? 'q8_0' : 'f16';
  const lines = [
    `# Ollama server environment for stack ${q(plan.name)} on ${plan.hardware.name} (${formatBytes(plan.hardware.usableBytes)} usable), from headroom plan.`,
    '# Set these where ollama serve starts (shell, systemd unit, launchctl setenv) and restart it.',
    `export OLLAMA_MAX_LOADED_MODELS=${Math.max(1, resident.length)}`,
    `export OLLAMA_NUM_PARALLEL=${parallel}`,
    `export OLLAMA_KEEP_ALIVE=${swapping.length ? '5m' : '-1'}`,
  ];
  if (kv !== 'f16') lines.push('export OLLAMA_FLASH_ATTENTION=1', `export OLLAMA_KV_CACHE_TYPE=${kv}`);
  if (kvTypes.length > 1) lines.push(`# members plan different KV types (${kvTypes.join(', ')}); Ollama has one for the server: ${kv} applies to all`);
  if (llms.some((m) => m.parallel !== parallel)) lines.push(`# OLLAMA_NUM_PARALLEL is server-wide: every model gets ${parallel} slot(s), more KV than planned for members with fewer`);
  if (swapping.length) lines.push(`# not all fit at once: ${swapping.map((m) => m.name).join(', ')} load on demand, unloading another (${plan.swap?.secondsPerSwap.join('–') ?? '30–90'} s per switch)`);
  lines.push('#', '# per model: the window is num_ctx — PARAMETER num_ctx in a Modelfile (ollama create), or options.num_ctx per');
  lines.push("# request on /api/* (Ollama's /v1 ignores num_ctx; OLLAMA_CONTEXT_LENGTH sets it for every model).");
  for (const m of plan.members) {
    const pull = ollamaPull(m.model, m.quant);
    lines.push(`#   ${m.role}: ${m.name} ${m.quant} — num_ctx ${m.ctx}, memory ${memoryNote(m)}`);
    lines.push(pull ? `#     ${pull}` : `#     no GGUF repo for ${m.name} is on record: use its Ollama library tag or hf.co/<repo>:${m.quant}`);
    lines.push(`#     Modelfile: PARAMETER num_ctx ${m.ctx}`);
  }
  return lines.join('\n') + '\n';
}

function script(plan: StackPlan): string {
  const { resident, swapping } = residentSplit(plan);
  const lines = [
    '#!/bin/sh',
    `# stack ${q(plan.name)} on ${plan.hardware.name}: one llama-server per member, each on its own port (from headroom plan).`,
    `# resident together: ${formatBytes(resident.reduce((s, m) => s + m.memory.totalBytes, 0))} of ${formatBytes(plan.hardware.usableBytes)} usable.`,
    'set -eu',
    'pids=""',
    "trap 'kill $pids 2>/dev/null' INT TERM EXIT",
  ];
  if (swapping.length) lines.push(`# left out, they do not fit next to the others: ${swapping.map((m) => `${m.role} ${m.name} (${formatBytes(m.memory.totalBytes)})`).join(', ')}`);
  resident.forEach((m, i) => {
    const id = memberId(m, plan.members.indexOf(m), plan.members);
    const v = envVar(id);
    const a = serverArgs(m, `"\${${v}:?set ${v} to your ${m.quant} GGUF file}"`, v);
    lines.push('', `# ${m.role}: ${m.name} ${m.quant} on port ${SCRIPT_BASE_PORT + i}, memory ${memoryNote(m)}`);
    if (a.note) lines.push(`# ${a.note}`);
    lines.push(`llama-server --host 127.0.0.1 --port ${SCRIPT_BASE_PORT + i} ${a.args.map((x) => (x.startsWith('"${') ? x : shellWord(x))).join(' ')} &`);
    lines.push('pids="$pids $!"');
  });
  lines.push('', 'wait');
  return lines.join('\n') + '\n';
}

export function emitPlan(plan: StackPlan, format: EmitFormat): string {
  return format === 'llama-swap' ? llamaSwap(plan) : format === 'ollama-env' ? ollamaEnv(plan) : script(plan);
}
