// exo cluster topology over real HTTP on 127.0.0.1. exo ships no recorded /state capture, so the bodies
// below are assembled from exo's own pydantic models as they serialise (camelCase aliases, `Memory` as
// {inBytes}, tagged unions as {ClassName: {...}}): exo-explore/exo src/exo/shared/types/state.py (State),
// profiling.py (MemoryUsage, NodeIdentity), topology.py (SocketConnection / RDMAConnection),
// shared/topology.py (TopologySnapshot: connections as [source, sink, edge]), worker/shards.py
// (PipelineShardMetadata), worker/runners.py (ShardAssignments); exo's dashboard reads the same fields
// (`nodeMemory[id].ramTotal.inBytes`, `nodeIdentities[id].chipId`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/fixture-server';
import { createContext } from '../../src/providers/context';
import { ProviderError } from '../../src/providers/errors';
import { readExoTopology, exoClusterNodes, exoLinkSpec, topologyFromState, exoStateSchema } from '../../src/providers/exo-cluster';
import { planCluster } from '../../src/estimator/cluster';

const GiB = 1024 ** 3;
const A = '12D3KooWAbcStudioOne';
const B = '12D3KooWDefStudioTwo';
const shard = (rank: number, start: number, end: number) => ({
  PipelineShardMetadata: { modelCard: { modelId: 'mlx-community/DeepSeek-V3.1-4bit' }, deviceRank: rank, worldSize: 2, startLayer: start, endLayer: end, nLayers: 61 },
});
const state = {
  topology: {
    nodes: [A, B],
    connections: [
      [A, B, { sourceRdmaIface: 'rdma_en2', sinkRdmaIface: 'rdma_en2' }],
      [B, A, { sourceRdmaIface: 'rdma_en2', sinkRdmaIface: 'rdma_en2' }],
    ],
  },
  nodeIdentities: {
    [A]: { modelId: 'Mac Studio', chipId: 'Apple M3 Ultra', friendlyName: 'studio-1', osVersion: '26.1', osBuildVersion: '25B78' },
    [B]: { modelId: 'Mac Studio', chipId: 'Apple M3 Ultra', friendlyName: 'studio-2', osVersion: '26.1', osBuildVersion: '25B78' },
  },
  nodeMemory: {
    [A]: { ramTotal: { inBytes: 512 * GiB }, ramAvailable: { inBytes: 470 * GiB }, swapTotal: { inBytes: 0 }, swapAvailable: { inBytes: 0 } },
    [B]: { ramTotal: { inBytes: 512 * GiB }, ramAvailable: { inBytes: 300 * GiB }, swapTotal: { inBytes: 0 }, swapAvailable: { inBytes: 0 } },
  },
  instances: {
    'inst-1': {
      MlxJacclInstance: {
        instanceId: 'inst-1',
        shardAssignments: { modelId: 'mlx-community/DeepSeek-V3.1-4bit', runnerToShard: { 'r-b': shard(1, 31, 61), 'r-a': shard(0, 0, 31) }, nodeToRunner: { [A]: 'r-a', [B]: 'r-b' } },
        ibvDevices: [[null, 'rdma_en2'], ['rdma_en2', null]],
        ibvCoordinators: {},
      },
    },
  },
  runners: {},
  downloads: {},
  tasks: {},
  lastSeen: {},
  lastEventAppliedIdx: 42,
};

test('reads /state over HTTP: nodes with chip and memory, RDMA links, the running pipeline shards', async (t) => {
  const srv = await startServer({ 'GET /state': { body: JSON.stringify(state) } });
  t.after(() => srv.close());
  const topo = await readExoTopology(srv.url, createContext());
  assert.deepEqual(srv.requests, ['GET /state']);
  assert.deepEqual(topo.nodes.map((n) => [n.name, n.chip, n.ramTotalBytes, n.ramAvailableBytes]), [
    ['studio-1', 'Apple M3 Ultra', 512 * GiB, 470 * GiB],
    ['studio-2', 'Apple M3 Ultra', 512 * GiB, 300 * GiB],
  ]);
  assert.deepEqual(topo.links.map((l) => l.kind), ['rdma', 'rdma']);
  assert.deepEqual(topo.shards.map((s) => [s.nodeId, s.startLayer, s.endLayer, s.sharding, s.instanceKind]), [
    [A, 0, 31, 'pipeline', 'MlxJacclInstance'],
    [B, 31, 61, 'pipeline', 'MlxJacclInstance'],
  ]);
  // Each node gets its own profile: Apple M3 Ultra with 512 GB → m3-ultra-512 (819 GB/s).
  const nodes = exoClusterNodes(topo);
  assert.deepEqual(nodes.map((n) => n.hardware.id), ['m3-ultra-512', 'm3-ultra-512']);
  // Offered memory: min(GPU-usable 512 GiB × 0.75 = 384 GiB, free RAM) → 384 GiB and 300 GiB.
  assert.deepEqual(nodes.map((n) => n.availableBytes), [384 * GiB, 300 * GiB]);
  assert.equal(exoLinkSpec(topo).kind, 'tb5-rdma');
  // Feed the estimator: 61 layers split 384 : 300 → 34.25 / 26.75 → 34 / 27 (largest remainder).
  const plan = planCluster('exo', nodes, exoLinkSpec(topo), {
    spec: { id: 'ds', name: 'ds', arch: 'deepseek2', source: 'catalog', totalParams: 671e9, activeParams: 37e9, nLayers: 61, hiddenSize: 7168, nHeads: 128, nKvHeadsPerLayer: new Array(61).fill(128), headDimK: 192, headDimV: 128, vocabSize: 129280, contextTrain: 163840, mla: { kvLoraRank: 512, ropeDim: 64 } },
    weights: { quant: 'MLX-4bit', totalBytes: 377e9, activeBytes: 20.8e9, source: 'estimated' },
    memory: { weightsBytes: 377e9, kvBytes: 4e9, computeBytes: 1e9, otherBytes: 0, totalBytes: 382e9, allocatedCtx: 65536, kvBytesPerToken: 70272 },
  });
  assert.deepEqual(plan.shards.map((s) => s.layers), [34, 27]);
  assert.equal(plan.pooledAvailableBytes, 684 * GiB);
});

test('older exo builds: nodeProfiles with memory inside, nested connection map, socket links', () => {
  const legacy = exoStateSchema.parse({
    topology: { nodes: [{ nodeId: 'n1' }, { nodeId: 'n2' }], connections: { n1: { n2: [{ sinkMultiaddr: { address: '/ip4/169.254.10.2/tcp/52415' } }] }, n2: { n1: [{ sinkMultiaddr: '/ip4/192.168.1.20/tcp/52415' }] } } },
    nodeProfiles: {
      n1: { modelId: 'Mac mini', chipId: 'Apple M4 Pro', friendlyName: 'mini', memory: { ramTotal: { in_bytes: 64 * GiB }, ramAvailable: { in_bytes: 50 * GiB } } },
      n2: { modelId: 'Unknown', chipId: 'Unknown', friendlyName: 'Unknown', memory: {} },
    },
  });
  const topo = topologyFromState(legacy);
  assert.deepEqual(topo.links.map((l) => [l.kind, l.address]), [['thunderbolt-ip', '169.254.10.2'], ['ip', '192.168.1.20']]);
  assert.equal(topo.nodes[1]!.name, 'n2');
  assert.ok(topo.notes.some((n) => /no memory/.test(n)));
  // The node without memory is left out of the estimator's nodes; M4 Pro 64 GB → m4-pro-64.
  assert.deepEqual(exoClusterNodes(topo).map((n) => n.hardware.id), ['m4-pro-64']);
  // A plain IP link of unknown speed is the slowest: 10 GbE, flagged as assumed.
  const link = exoLinkSpec(topo);
  assert.equal(link.kind, '10gbe');
  assert.equal(link.assumed, true);
});

test('earliest exo builds: NodeInfo{nodeId, nodeProfile} nodes and Connection{localNodeId, sendBackNodeId} edges', () => {
  // exo-explore/exo shared/types/topology.py (early): NodeInfo(node_id, node_profile: NodePerformanceProfile),
  // Connection(local_node_id, send_back_node_id, send_back_multiaddr); profiling.py MemoryPerformanceProfile.
  const early = exoStateSchema.parse({
    topology: {
      nodes: [
        { nodeId: 'e1', nodeProfile: { modelId: 'Mac Studio', chipId: 'Apple M2 Ultra', friendlyName: 'ultra', memory: { ramTotal: { inBytes: 192 * GiB }, ramAvailable: { inBytes: 150 * GiB } } } },
        { nodeId: 'e2', nodeProfile: null },
      ],
      connections: [{ localNodeId: 'e1', sendBackNodeId: 'e2', sendBackMultiaddr: { address: '/ip4/169.254.0.7/tcp/5678' }, connectionProfile: null }],
    },
  });
  const topo = topologyFromState(early);
  assert.deepEqual(topo.nodes.map((n) => [n.id, n.chip, n.ramTotalBytes]), [['e1', 'Apple M2 Ultra', 192 * GiB], ['e2', undefined, undefined]]);
  assert.deepEqual(topo.links, [{ source: 'e1', sink: 'e2', kind: 'thunderbolt-ip', address: '169.254.0.7' }]);
  assert.deepEqual(exoClusterNodes(topo).map((n) => n.hardware.id), ['m2-ultra-192']);
});

test('hostile /state: wrong shape, absurd numbers, not JSON, too large, hanging — typed errors, no crash', async (t) => {
  const srv = await startServer({
    'GET /state': { body: JSON.stringify({ topology: { nodes: 'everyone' } }) },
  });
  t.after(() => srv.close());
  await assert.rejects(readExoTopology(srv.url, createContext()), (e: unknown) => e instanceof ProviderError && e.kind === 'schema');

  const absurd = await startServer({ 'GET /state': { body: JSON.stringify({ nodeMemory: { x: { ramTotal: { inBytes: -5 } } } }) } });
  t.after(() => absurd.close());
  await assert.rejects(readExoTopology(absurd.url, createContext()), (e: unknown) => e instanceof ProviderError && e.kind === 'schema');

  const html = await startServer({ 'GET /state': { headers: { 'content-type': 'text/html' }, body: '<html>exo dashboard</html>' } });
  t.after(() => html.close());
  await assert.rejects(readExoTopology(html.url, createContext()), (e: unknown) => e instanceof ProviderError && e.kind === 'bad-json');

  const big = await startServer({ 'GET /state': { body: JSON.stringify({ pad: 'x'.repeat(300_000) }) } });
  t.after(() => big.close());
  await assert.rejects(readExoTopology(big.url, createContext({ maxBytes: 100_000 })), (e: unknown) => e instanceof ProviderError && e.kind === 'too-large');

  const hang = await startServer({ 'GET /state': () => undefined });
  t.after(() => hang.close());
  const t0 = Date.now();
  await assert.rejects(readExoTopology(hang.url, createContext({ timeoutMs: 300 })), (e: unknown) => e instanceof ProviderError && e.kind === 'timeout');
  assert.ok(Date.now() - t0 < 3000);

  const dead = await startServer({});
  const url = dead.url;
  await dead.close();
  await assert.rejects(readExoTopology(url, createContext()), (e: unknown) => e instanceof ProviderError && e.kind === 'unreachable');
});
