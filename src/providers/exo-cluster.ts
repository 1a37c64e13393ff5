// exo's cluster as it reports itself: `GET /state` carries the topology (nodes, connections), each node's
// identity (chip) and memory, and the running instances with their layer shards. Field names follow
// exo's pydantic models serialised camelCase (exo-explore/exo src/exo/shared/types/state.py, profiling.py,
// topology.py, worker/shards.py); older builds sent `nodeProfiles` with memory inside — both are read.
import { z } from 'zod';
import { getJsonVia } from './context';
import type { ProviderContext } from './types';
import { hardwareFromFacts } from '../estimator/hardware';
import type { HardwareSpec } from '../estimator/hardware';
import { LINKS, type LinkSpec } from '../estimator/interconnect';
import type { ClusterNodeSpec } from '../estimator/cluster';

const bytes = z.number().finite().min(0).max(2 ** 60);
/** exo's `Memory` serialises as `{inBytes}`; tolerate the snake-case and bare-number spellings too. */
const memory = z.union([bytes, z.looseObject({ inBytes: bytes.optional(), in_bytes: bytes.optional() })]).transform((m) => (typeof m === 'number' ? m : (m.inBytes ?? m.in_bytes)));
const memoryUsage = z.looseObject({
  ramTotal: memory.optional(),
  ramAvailable: memory.optional(),
  gpuVramTotal: memory.nullable().optional(),
  gpuVramAvailable: memory.nullable().optional(),
});
const identity = z.looseObject({ modelId: z.string().max(200).optional(), chipId: z.string().max(200).optional(), friendlyName: z.string().max(200).optional() });
const legacyProfile = identity.extend({ memory: memoryUsage.optional() });
const connection = z.looseObject({
  sinkMultiaddr: z.union([z.string().max(500), z.looseObject({ address: z.string().max(500).optional(), ipAddress: z.string().max(100).optional(), ip_address: z.string().max(100).optional() })]).nullable().optional(),
  sourceRdmaIface: z.string().max(200).optional(),
  sinkRdmaIface: z.string().max(200).optional(),
});
const nodeId = z.string().min(1).max(200);
const multiaddr = z.union([z.string().max(500), z.looseObject({ address: z.string().max(500).optional(), ipAddress: z.string().max(100).optional(), ip_address: z.string().max(100).optional() })]);
// Earliest /state: Connection{localNodeId, sendBackNodeId, sendBackMultiaddr} objects.
const oldConnection = z.looseObject({ localNodeId: nodeId, sendBackNodeId: nodeId, sendBackMultiaddr: multiaddr.nullable().optional() });
const topology = z.looseObject({
  // Node ids; earliest builds: NodeInfo{nodeId, nodeProfile} with the profile (and memory) inline.
  nodes: z.array(z.union([nodeId, z.looseObject({ nodeId, nodeProfile: legacyProfile.nullable().optional() })])).max(1024).default([]),
  // Snapshot form: [source, sink, connection] tuples; older dashboards read { source: { sink: [edges] } }.
  connections: z
    .union([z.array(z.tuple([nodeId, nodeId, connection])).max(65536), z.array(oldConnection).max(65536), z.record(nodeId, z.record(nodeId, z.array(connection).max(64)))])
    .default([]),
});
const shard = z.looseObject({
  startLayer: z.number().int().min(0).max(100000),
  endLayer: z.number().int().min(0).max(100000),
  nLayers: z.number().int().min(0).max(100000),
  deviceRank: z.number().int().min(0).max(4096).optional(),
  worldSize: z.number().int().min(0).max(4096).optional(),
});
/** Tagged unions serialise as `{ ClassName: {...} }`. */
const tagged = <T extends z.ZodType>(inner: T) => z.record(z.string().max(100), inner);
const instance = tagged(
  z.looseObject({
    shardAssignments: z.looseObject({
      modelId: z.string().max(500),
      runnerToShard: z.record(z.string().max(200), tagged(shard)),
      nodeToRunner: z.record(nodeId, z.union([z.string().max(200), z.array(z.string().max(200)).max(64)])),
    }),
  }),
);
export const exoStateSchema = z.looseObject({
  topology: topology.optional(),
  nodeIdentities: z.record(nodeId, identity).optional(),
  nodeMemory: z.record(nodeId, memoryUsage).optional(),
  nodeProfiles: z.record(nodeId, legacyProfile).optional(),
  instances: z.record(z.string().max(200), instance).optional(),
});

export interface ExoNode {
  id: string;
  name: string;
  chip?: string;
  machine?: string;
  ramTotalBytes?: number;
  ramAvailableBytes?: number;
  gpuVramTotalBytes?: number;
}

export type ExoLinkKind = 'rdma' | 'thunderbolt-ip' | 'ip';

export interface ExoLink {
  source: string;
  sink: string;
  kind: ExoLinkKind;
  /** IP of the sink, when the connection is a socket. */
  address?: string;
}

export interface ExoShard {
  instanceId: string;
  /** exo's instance type (`MlxRingInstance`, `MlxJacclInstance`, `LlamaCppInstance`). */
  instanceKind: string;
  modelId: string;
  nodeId: string;
  sharding: 'pipeline' | 'tensor' | 'other';
  startLayer: number;
  endLayer: number;
  nLayers: number;
}

export interface ExoTopology {
  nodes: ExoNode[];
  links: ExoLink[];
  shards: ExoShard[];
  notes: string[];
}

function ipOf(c: z.infer<typeof connection>): string | undefined {
  const m = c.sinkMultiaddr;
  if (m === undefined || m === null) return undefined;
  const text = typeof m === 'string' ? m : (m.ipAddress ?? m.ip_address ?? m.address);
  if (!text) return undefined;
  const parts = text.split('/');
  const i = parts.indexOf('ip4') >= 0 ? parts.indexOf('ip4') : parts.indexOf('ip6');
  return i >= 0 ? parts[i + 1] : text;
}

function linkKind(c: z.infer<typeof connection>): ExoLinkKind {
  if (c.sourceRdmaIface !== undefined || c.sinkRdmaIface !== undefined) return 'rdma';
  // exo treats link-local 169.254.x addresses as Thunderbolt bridge links (topology.py is_thunderbolt).
  return ipOf(c)?.startsWith('169.254.') ? 'thunderbolt-ip' : 'ip';
}

/** Pure: a parsed `/state` body → nodes, links and shards. */
export function topologyFromState(state: z.infer<typeof exoStateSchema>): ExoTopology {
  const notes: string[] = [];
  const ids = new Set<string>();
  const inline = new Map<string, z.infer<typeof legacyProfile>>();
  for (const n of state.topology?.nodes ?? []) {
    if (typeof n === 'string') ids.add(n);
    else {
      ids.add(n.nodeId);
      if (n.nodeProfile) inline.set(n.nodeId, n.nodeProfile);
    }
  }
  for (const k of Object.keys(state.nodeMemory ?? {})) ids.add(k);
  for (const k of Object.keys(state.nodeProfiles ?? {})) ids.add(k);

  const nodes: ExoNode[] = [...ids].map((id) => {
    const ident = state.nodeIdentities?.[id] ?? state.nodeProfiles?.[id] ?? inline.get(id);
    const mem = state.nodeMemory?.[id] ?? state.nodeProfiles?.[id]?.memory ?? inline.get(id)?.memory;
    const name = ident?.friendlyName && ident.friendlyName !== 'Unknown' ? ident.friendlyName : id.slice(0, 12);
    const chip = ident?.chipId && ident.chipId !== 'Unknown' ? ident.chipId : undefined;
    const machine = ident?.modelId && ident.modelId !== 'Unknown' ? ident.modelId : undefined;
    if (!mem?.ramTotal) notes.push(`${name}: exo reported no memory for this node yet`);
    return {
      id,
      name,
      ...(chip ? { chip } : {}),
      ...(machine ? { machine } : {}),
      ...(mem?.ramTotal ? { ramTotalBytes: mem.ramTotal } : {}),
      ...(mem?.ramAvailable !== undefined ? { ramAvailableBytes: mem.ramAvailable } : {}),
      ...(mem?.gpuVramTotal ? { gpuVramTotalBytes: mem.gpuVramTotal } : {}),
    };
  });

  const links: ExoLink[] = [];
  const conns = state.topology?.connections ?? [];
  const add = (source: string, sink: string, c: z.infer<typeof connection>) => {
    if (source === sink) return;
    const address = ipOf(c);
    links.push({ source, sink, kind: linkKind(c), ...(address ? { address } : {}) });
  };
  if (Array.isArray(conns)) {
    for (const c of conns) {
      if (Array.isArray(c)) add(c[0], c[1], c[2]);
      else add(c.localNodeId, c.sendBackNodeId, { sinkMultiaddr: c.sendBackMultiaddr ?? undefined });
    }
  }
  else for (const [a, sinks] of Object.entries(conns)) for (const [b, edges] of Object.entries(sinks)) for (const c of edges) add(a, b, c);

  const shards: ExoShard[] = [];
  for (const [instanceId, wrapped] of Object.entries(state.instances ?? {})) {
    for (const [instanceKind, inst] of Object.entries(wrapped)) {
      const sa = inst.shardAssignments;
      for (const [node, runners] of Object.entries(sa.nodeToRunner)) {
        for (const runner of Array.isArray(runners) ? runners : [runners]) {
          const tag = sa.runnerToShard[runner];
          if (!tag) continue;
          for (const [kind, sh] of Object.entries(tag)) {
            shards.push({
              instanceId, instanceKind, modelId: sa.modelId, nodeId: node,
              sharding: kind.startsWith('Pipeline') ? 'pipeline' : kind.startsWith('Tensor') ? 'tensor' : 'other',
              startLayer: sh.startLayer, endLayer: sh.endLayer, nLayers: sh.nLayers,
            });
          }
        }
      }
    }
  }
  shards.sort((a, b) => a.instanceId.localeCompare(b.instanceId) || a.startLayer - b.startLayer);
  return { nodes, links, shards, notes };
}

/** Read an exo cluster's topology: one GET, validated, bounded by the context's timeout and size cap. */
export async function readExoTopology(endpoint: string, ctx: ProviderContext): Promise<ExoTopology> {
  return topologyFromState(await getJsonVia(ctx, endpoint, '/state', exoStateSchema));
}

/** Each node's hardware profile (by chip + memory), per node — a LAN box is never the laptop's profile. */
export function exoNodeHardware(node: ExoNode): HardwareSpec | undefined {
  if (!node.ramTotalBytes) return undefined;
  const gpus = node.gpuVramTotalBytes && node.chip ? [{ name: node.chip, vramBytes: node.gpuVramTotalBytes }] : undefined;
  return hardwareFromFacts({ platform: node.chip?.startsWith('Apple') ? 'darwin' : 'linux', totalMemBytes: node.ramTotalBytes, ...(node.chip ? { appleChip: node.chip, cpuModel: node.chip } : {}), ...(gpus ? { gpus } : {}) }).profile;
}

/** Cluster nodes for the estimator: memory offered = what exo says is free, capped by the GPU-usable share. */
export function exoClusterNodes(topo: ExoTopology): ClusterNodeSpec[] {
  const out: ClusterNodeSpec[] = [];
  for (const n of topo.nodes) {
    const hardware = exoNodeHardware(n);
    if (!hardware) continue;
    const usable = hardware.capacityBytes * hardware.usableFraction;
    const free = n.ramAvailableBytes ?? usable;
    out.push({ id: n.id, name: n.name, hardware, availableBytes: Math.min(usable, free) });
  }
  return out;
}

/** The slowest link between cluster nodes decides each hop's cost; plain IP is assumed 10 GbE. */
export function exoLinkSpec(topo: ExoTopology): LinkSpec {
  const kinds = new Set(topo.links.map((l) => l.kind));
  if (kinds.has('ip')) return { ...LINKS['10gbe'], assumed: true, source: `${LINKS['10gbe'].source}; exo reports an IP link of unknown speed, 10 GbE assumed` };
  if (kinds.has('thunderbolt-ip')) return LINKS['tb-bridge'];
  if (kinds.has('rdma')) return LINKS['tb5-rdma'];
  return { ...LINKS['10gbe'], assumed: true, source: 'exo reported no connections; 10 GbE assumed' };
}
