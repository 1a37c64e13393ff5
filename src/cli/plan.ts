// `headroom plan`: compose a resident agentic stack on one machine, or shard one model across a cluster
// (llama.cpp RPC nodes described on the command line, or an exo cluster read from its API).
import { intFlag, numFlag, parseFlags } from './args';
import { CliError } from './errors';
import { renderPairs, renderTable } from './table';
import { resolveHardwareFlag } from './hardware';
import { resolveModelInput } from './fit';
import { planStack, StackMemberError, type StackMember, type StackPlan } from '../estimator/planner';
import { parseStackMember } from '../estimator/stack-input';
import { findEncoder } from '../estimator/encoders';
import { planCluster, planTensorCluster, type ClusterEngine, type ClusterNodeSpec, type ClusterPlan } from '../estimator/cluster';
import { LINK_KINDS, findLink, type LinkSpec } from '../estimator/interconnect';
import { findHardware, type HardwareSpec } from '../estimator/hardware';
import { defaultContextOptions, estimateMemory } from '../estimator/memory';
import { formatBytes, formatTokPerSec, formatTokPerSecRange, formatTokens, speedWord } from '../estimator/format';
import { UnknownModelError } from '../estimator/model-names';
import type { KvType } from '../estimator/types';
import { createContext, SNAPSHOT_DEFAULTS } from '../providers/context';
import { ProviderError } from '../providers/errors';
import { exoClusterNodes, exoLinkSpec, readExoTopology, type ExoTopology } from '../providers/exo-cluster';
import { EMIT_FORMATS, emitPlan, type EmitFormat } from '../estimator/plan-export';

const KV_TYPES: readonly KvType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl'];
const ENCODER_CTX = 8192;

export const PLAN_USAGE = `usage: headroom plan --model M [--model M ...] [options]

A resident agentic stack on one machine (orchestrator, coding model, embedder, reranker, their KV caches):
  --model SPEC      repeatable: [role=]MODEL[:QUANT][@CTX][xN], e.g.
                      --model orchestrator=Qwen/Qwen3-32B:Q4_K_M@64k
                      --model qwen2.5-coder:14b@32kx2 --model nomic-embed-text --model bge-reranker-v2-m3
                    roles: orchestrator, coder, tool, embedding, reranker (default: by size / kind)
  --ctx N           context for members without @CTX (default 32768; embedders/rerankers 8192)
  --kv-type T       KV cache type for members without their own (f16 default, q8_0, q4_0, ...)
  --hardware ID     the machine (default m5-max-128; 'local' = this machine; see \`headroom hardware\`)
  --capacity-gb N   memory the accelerator has, overriding the profile's
  --emit FORMAT     print configuration to run the stack instead of the table:
                      llama-swap   YAML: members that fit together in one resident group, each with its cmd,
                                   ttl and planned memory (as a comment); the rest in a swapping group
                      ollama-env   OLLAMA_MAX_LOADED_MODELS / NUM_PARALLEL / KEEP_ALIVE (+ KV type), num_ctx per model
                      script       a shell script starting one llama-server per resident member on its own port

One model sharded across machines (pipeline parallel; exactly one --model):
  --cluster NODES   llama.cpp RPC: comma-separated profile ids, ID*N for N alike; the first is the host
                    running llama-server, e.g. --cluster m4-max-128,m4-pro-64*2
  --exo URL         an exo cluster: nodes, memory and links read from its API (GET /state)
  --link L          ${LINK_KINDS.join(', ')} (default 10gbe; with --exo: what exo reports)
  --sharding S      pipeline (default: layers split by memory, stages in turn) or tensor (exo only:
                    every node holds a slice of every layer; two all-reduces per layer over the link)
  --depth N         tokens already in context for the decode estimate (default 0)

  --json            machine-readable output`;

function kvFlag(raw: string | undefined): KvType | undefined {
  if (raw === undefined) return undefined;
  const t = raw.toLowerCase() as KvType;
  if (!KV_TYPES.includes(t)) throw new CliError(`--kv-type must be one of ${KV_TYPES.join(', ')}, got '${raw}'`);
  return t;
}

function members(raw: string[], ctxDefault: number, kv: KvType | undefined): StackMember[] {
  return raw.map((text) => {
    let p;
    try {
      p = parseStackMember(text);
    } catch (err) {
      throw new CliError(`--model '${text}': ${err instanceof StackMemberError ? err.message.replace(/^.*?: /, '') : String(err)}`);
    }
    const ctx = p.ctx ?? (findEncoder(p.model) ? ENCODER_CTX : ctxDefault);
    if (ctx < 256 || ctx > 16 * 1024 * 1024) throw new CliError(`--model '${text}': context must be between 256 and 16M tokens`);
    if (p.parallel !== undefined && (p.parallel < 1 || p.parallel > 256)) throw new CliError(`--model '${text}': slots must be between 1 and 256`);
    return { ...p, ctx, ...(kv && !p.kvType ? { kvType: kv, flashAttention: true } : {}) };
  });
}

/** `m4-max-128,m4-pro-64*2` → nodes, each with its own profile. */
export function parseClusterNodes(text: string): ClusterNodeSpec[] {
  const nodes: ClusterNodeSpec[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9.-]+)(?:\*(\d+))?$/i.exec(part);
    if (!m) throw new CliError(`--cluster: '${part}' is not PROFILE or PROFILE*N`);
    const hw = findHardware(m[1]!.toLowerCase());
    if (!hw) throw new CliError(`--cluster: unknown hardware '${m[1]}' (profiles: \`headroom hardware\`)`);
    const n = m[2] ? Number(m[2]) : 1;
    if (!(n >= 1 && n <= 64)) throw new CliError(`--cluster: '${part}' — between 1 and 64 of a kind`);
    for (let i = 0; i < n; i++) {
      const id = `${nodes.length === 0 ? 'host' : 'rpc' + nodes.length}:${hw.id}`;
      nodes.push({ id, name: id, hardware: hw });
    }
  }
  if (nodes.length < 1) throw new CliError('--cluster needs at least one node');
  if (nodes.length > 64) throw new CliError('--cluster: at most 64 nodes');
  return nodes;
}

// ---------------------------------------------------------------- stack output

function renderStack(p: StackPlan): string {
  const rows = p.members.map((m) => [
    m.role,
    m.name,
    m.quant,
    `${formatTokens(m.ctx)}${m.parallel > 1 ? ` ×${m.parallel}` : ''}`,
    m.memory.kvBytes > 0 ? m.kvType : '—',
    formatBytes(m.memory.weightsBytes),
    m.memory.kvBytes > 0 ? formatBytes(m.memory.kvBytes) : '—',
    formatBytes(m.memory.totalBytes),
    m.decode ? `${formatTokPerSecRange(m.decode.emptyTokPerSec, m.decode.decodeRange)} → ${formatTokPerSecRange(m.decode.fullTokPerSec, m.decode.decodeRangeFull)} (${speedWord(m.decode.fullTokPerSec)})` : 'encoder (no decode)',
  ]);
  const lines = [
    `stack '${p.name}' on ${p.hardware.name}: ${formatBytes(p.hardware.capacityBytes)}, ${formatBytes(p.hardware.usableBytes)} usable, ${p.hardware.bandwidthGBps} GB/s`,
    '',
    renderTable(
      [{ header: 'role' }, { header: 'model' }, { header: 'quant' }, { header: 'context', align: 'right' }, { header: 'KV' }, { header: 'weights', align: 'right' }, { header: 'KV cache', align: 'right' }, { header: 'total', align: 'right' }, { header: 'decode alone: empty → full window' }],
      rows,
    ),
    '',
    p.fitsResident
      ? `all resident: ${formatBytes(p.totalBytes)} of ${formatBytes(p.hardware.usableBytes)} — ${formatBytes(p.headroomBytes)} headroom`
      : `NOT all resident: ${formatBytes(p.totalBytes)} needed, ${formatBytes(p.hardware.usableBytes)} usable — ${formatBytes(-p.headroomBytes)} over`,
  ];
  for (const m of p.members) for (const n of m.notes) lines.push(`note (${m.name}): ${n}`);
  if (p.swap) lines.push(`warning: ${p.swap.note} (${p.swap.source})`);
  if (p.remedies.length) {
    lines.push('', 'what makes it fit (mildest first):');
    p.remedies.forEach((r, i) => {
      lines.push(`${String(i + 1).padStart(2)}. ${r.change}`);
      lines.push(`    → ${formatBytes(r.totalBytes)}, ${formatBytes(r.headroomBytes)} headroom — ${r.cost}`);
    });
  }
  for (const n of p.notes) lines.push(`note: ${n}`);
  lines.push('decode is bandwidth-bound (every token streams the active weights + the KV read so far); prefill is compute-bound');
  return lines.join('\n');
}

// ---------------------------------------------------------------- cluster output

interface ClusterReport {
  model: { id: string; name: string; quant: string; nLayers: number; hiddenSize: number; ctx: number; kvType: KvType };
  source: 'cli' | 'exo';
  exo?: { endpoint: string; nodes: ExoTopology['nodes']; links: ExoTopology['links']; shards: ExoTopology['shards']; notes: string[] };
  plan: ClusterPlan;
}

function renderCluster(r: ClusterReport): string {
  const p = r.plan;
  const engine = p.engine === 'exo' ? (p.sharding === 'tensor' ? 'exo (tensor parallel)' : 'exo (pipeline ring)') : 'llama.cpp RPC (host + RPC servers)';
  const rows = p.shards.map((s) => [
    s.name,
    s.hardwareId,
    s.layers > 0 ? `${s.layerStart}–${s.layerEnd - 1}` : '—',
    String(s.layers),
    formatBytes(s.weightsBytes),
    formatBytes(s.kvBytes),
    formatBytes(s.totalBytes),
    formatBytes(s.availableBytes),
    s.fits ? 'yes' : 'NO',
    `${(s.secondsPerToken * 1000).toFixed(2)} ms`,
  ]);
  const d = p.decode;
  const ms = (x: number) => `${(x * 1000).toFixed(2)} ms`;
  const lines = [
    `${r.model.name} · ${r.model.quant} · ${formatTokens(r.model.ctx)} context (KV ${r.model.kvType}) sharded over ${p.nodes} node${p.nodes > 1 ? 's' : ''} with ${engine}`,
    `link: ${p.link.name} (${p.link.bandwidthGBps} GB/s, ${p.link.latencyUs} µs)${p.link.assumed ? ' — assumed' : ''}`,
    '',
    renderTable(
      [{ header: 'node' }, { header: 'hardware' }, { header: 'layers' }, { header: 'n', align: 'right' }, { header: 'weights', align: 'right' }, { header: 'KV', align: 'right' }, { header: 'total', align: 'right' }, { header: 'offers', align: 'right' }, { header: 'fits' }, { header: 'memory time/token', align: 'right' }],
      rows,
    ),
    '',
    renderPairs([
      ['pooled', `${formatBytes(p.pooledAvailableBytes)} offered of ${formatBytes(p.pooledCapacityBytes)} installed; the model needs ${formatBytes(p.modelBytes)} on one machine`],
      ['fit', p.fits ? 'every shard fits its node' : 'DOES NOT FIT: a shard exceeds its node'],
      ['decode', `${formatTokPerSecRange(d.tokPerSec, d.range)} (${speedWord(d.tokPerSec)}), ceiling ${formatTokPerSec(d.ceilingTokPerSec)} — ${p.sharding === 'tensor' ? 'nodes read their slices at once, then all-reduce' : 'one stream visits the stages in turn'}`],
      ['per token', `memory ${ms(d.memorySec)} + interconnect ${ms(d.interconnectSec)} (${d.hops} hops × ${p.sharding === 'tensor' ? Math.round(d.activationBytes / p.nodes) : d.activationBytes} B)${d.overheadSec > 0 ? ` + RPC overhead ${ms(d.overheadSec)}` : ''} + fixed ${ms(d.fixedSec)}`],
      ['band', d.range.basis],
      ['bound', d.bound === 'interconnect' ? 'the INTERCONNECT bounds decode (link time exceeds memory time)' : 'memory bandwidth bounds decode (the link adds little)'],
    ]),
  ];
  if (p.singleNode) lines.push(`one node alone: ${p.singleNode.nodeId} holds the whole model at ${formatTokPerSecRange(p.singleNode.tokPerSec, p.singleNode.range)}`);
  for (const n of p.notes) lines.push(`note: ${n}`);
  if (r.exo) {
    for (const n of r.exo.notes) lines.push(`exo: ${n}`);
    const running = [...new Set(r.exo.shards.map((s) => s.modelId))];
    if (running.length) lines.push(`exo is running: ${running.join(', ')} (${r.exo.shards.map((s) => `${s.nodeId.slice(0, 12)} ${s.startLayer}–${s.endLayer - 1}`).join(', ')})`);
  }
  return lines.join('\n');
}

async function clusterMode(values: Record<string, string | boolean | string[] | undefined>, modelSpecs: string[], ctxDefault: number, kv: KvType | undefined, json: boolean): Promise<number> {
  if (modelSpecs.length !== 1) throw new CliError('a cluster plan shards one model: give exactly one --model');
  if (values.cluster && values.exo) throw new CliError('--cluster and --exo are alternatives: describe an RPC cluster or read an exo one');
  if (values.hardware || values['capacity-gb']) throw new CliError('--hardware / --capacity-gb describe one machine; a cluster names each node (--cluster) or is read from exo (--exo)');
  let parsed;
  try {
    parsed = parseStackMember(modelSpecs[0]!);
  } catch (err) {
    throw new CliError(`--model: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed.parallel !== undefined && parsed.parallel !== 1) throw new CliError('--model: parallel slots are not modelled for clusters (one stream)');
  const depth = intFlag('depth', values.depth as string | undefined, 0, 0, 16 * 1024 * 1024);
  const ctx = parsed.ctx ?? ctxDefault;
  if (depth > ctx) throw new CliError(`--depth (${depth}) cannot exceed the context (${ctx})`);
  const exoUrl = values.exo as string | undefined;
  const input = await resolveModelInput(parsed.model, parsed.quant ?? (exoUrl ? 'MLX-4bit' : undefined));
  const kvType = kv ?? 'f16';
  const memory = estimateMemory(input.spec, input.weights, defaultContextOptions({ ctxPerSeq: ctx, kvTypeK: kvType, kvTypeV: kvType }));

  let engine: ClusterEngine;
  let nodes: ClusterNodeSpec[];
  let link: LinkSpec | undefined;
  let exo: ClusterReport['exo'];
  if (exoUrl) {
    if (!/^https?:\/\/[^\s]+$/i.test(exoUrl)) throw new CliError(`--exo expects an http(s) URL such as http://127.0.0.1:52415, got '${exoUrl}'`);
    engine = 'exo';
    let topo: ExoTopology;
    try {
      topo = await readExoTopology(exoUrl.replace(/\/+$/, ''), createContext(SNAPSHOT_DEFAULTS));
    } catch (err) {
      if (err instanceof ProviderError) throw new CliError(`cannot read the exo cluster: ${err.message}`);
      throw err;
    }
    nodes = exoClusterNodes(topo);
    if (nodes.length === 0) throw new CliError(`exo at ${exoUrl} reports no nodes with memory yet (${topo.notes.join('; ') || 'empty topology'})`);
    link = exoLinkSpec(topo);
    exo = { endpoint: exoUrl, nodes: topo.nodes, links: topo.links, shards: topo.shards, notes: topo.notes };
  } else {
    engine = 'llama.cpp-rpc';
    nodes = parseClusterNodes(values.cluster as string);
  }
  if (values.link !== undefined) {
    link = findLink(values.link as string);
    if (!link) throw new CliError(`--link must be one of ${LINK_KINDS.join(', ')}, got '${values.link}'`);
  }
  const sharding = (values.sharding as string | undefined) ?? 'pipeline';
  if (sharding !== 'pipeline' && sharding !== 'tensor') throw new CliError(`--sharding must be pipeline or tensor, got '${sharding}'`);
  if (sharding === 'tensor' && engine !== 'exo') throw new CliError('--sharding tensor is an exo (MLX) mode; llama.cpp RPC splits by layer');
  const clusterModel = { spec: input.spec, weights: input.weights, memory };
  const plan = sharding === 'tensor' ? planTensorCluster(nodes, link ?? findLink('10gbe')!, clusterModel, { depth }) : planCluster(engine, nodes, link ?? findLink('10gbe')!, clusterModel, { depth });
  const report: ClusterReport = {
    model: { id: input.spec.id, name: input.spec.name, quant: input.quant, nLayers: input.spec.nLayers, hiddenSize: input.spec.hiddenSize, ctx, kvType },
    source: exoUrl ? 'exo' : 'cli',
    ...(exo ? { exo } : {}),
    plan,
  };
  process.stdout.write((json ? JSON.stringify(report, null, 2) : renderCluster(report)) + '\n');
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    model: { type: 'string', short: 'm', multiple: true },
    ctx: { type: 'string', short: 'c' },
    'kv-type': { type: 'string' },
    hardware: { type: 'string' },
    'capacity-gb': { type: 'string' },
    cluster: { type: 'string' },
    exo: { type: 'string' },
    link: { type: 'string' },
    depth: { type: 'string' },
    sharding: { type: 'string' },
    name: { type: 'string' },
    emit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(PLAN_USAGE + '\n');
    return 0;
  }
  const specs = values.model ?? [];
  if (specs.length === 0) throw new CliError('--model is required (repeat it for each model in the stack); see `headroom plan --help`');
  if (specs.length > 16) throw new CliError('at most 16 models in a stack');
  const ctxDefault = intFlag('ctx', values.ctx, 32768, 256, 16 * 1024 * 1024);
  const kv = kvFlag(values['kv-type']);
  const emit = values.emit as EmitFormat | undefined;
  if (emit !== undefined && !EMIT_FORMATS.includes(emit)) throw new CliError(`--emit must be one of ${EMIT_FORMATS.join(', ')}, got '${values.emit}'`);
  if (emit !== undefined && (values.cluster !== undefined || values.exo !== undefined)) throw new CliError('--emit exports a stack on one machine, not a cluster plan');
  if (emit !== undefined && values.json) throw new CliError('--emit and --json are alternatives');
  if (values.cluster !== undefined || values.exo !== undefined) return clusterMode(values, specs, ctxDefault, kv, !!values.json);
  if (values.link !== undefined || values.depth !== undefined || values.sharding !== undefined) throw new CliError('--link, --depth and --sharding apply to cluster plans (--cluster or --exo)');

  const capacityGb = numFlag('capacity-gb', values['capacity-gb'], 0.5, 65536);
  const { hw } = await resolveHardwareFlag(values.hardware, capacityGb, 'm5-max-128');
  const stack = { name: values.name ?? 'stack', members: members(specs, ctxDefault, kv) };
  let plan: StackPlan;
  try {
    plan = planStack(stack, hw as HardwareSpec);
  } catch (err) {
    if (err instanceof UnknownModelError || err instanceof StackMemberError) throw new CliError(err.message);
    throw err;
  }
  if (emit) {
    process.stdout.write(emitPlan(plan, emit));
    return 0;
  }
  process.stdout.write((values.json ? JSON.stringify(plan, null, 2) : renderStack(plan)) + '\n');
  return 0;
}
