// Links between machines of a cluster, and what one decoded token costs to cross them.
// Pipeline-parallel decode of one stream sends the hidden state across every stage boundary: tiny
// payloads, so per-hop latency usually matters more than link bandwidth. Pure data, no I/O.

export type LinkKind = 'tb5-rdma' | 'tb-bridge' | 'connectx-7' | '10gbe' | '1gbe' | 'wifi';

export interface LinkSpec {
  kind: LinkKind | 'custom';
  name: string;
  /** Sustained payload bandwidth, GB/s (1e9 bytes). */
  bandwidthGBps: number;
  /** One-way latency of a small message, microseconds. */
  latencyUs: number;
  /** Where the figures come from; `assumed` marks numbers that are typical values, not a cited measurement. */
  source: string;
  assumed: boolean;
}

const SEEDS = 'Headroom issue 6 seed figures';

export const LINKS: Readonly<Record<LinkKind, LinkSpec>> = {
  'tb5-rdma': { kind: 'tb5-rdma', name: 'Thunderbolt 5 (RDMA)', bandwidthGBps: 10, latencyUs: 50, source: `${SEEDS}: ~10 GB/s with < 50 µs (50 µs used as the bound)`, assumed: false },
  // IP over a Thunderbolt bridge (exo's 169.254.x links without RDMA): same cable, TCP stack latency.
  'tb-bridge': { kind: 'tb-bridge', name: 'Thunderbolt bridge (TCP/IP)', bandwidthGBps: 2.5, latencyUs: 100, source: 'typical IP-over-Thunderbolt throughput and TCP latency (assumed)', assumed: true },
  'connectx-7': { kind: 'connectx-7', name: 'ConnectX-7 (200 Gb/s)', bandwidthGBps: 25, latencyUs: 5, source: `${SEEDS}: ~25 GB/s; RDMA latency a few µs (assumed)`, assumed: false },
  '10gbe': { kind: '10gbe', name: '10 GbE', bandwidthGBps: 1.25, latencyUs: 50, source: `${SEEDS}: ~1.25 GB/s; TCP small-message latency ~50 µs (assumed)`, assumed: false },
  '1gbe': { kind: '1gbe', name: '1 GbE', bandwidthGBps: 0.125, latencyUs: 100, source: 'line rate 1 Gb/s = 0.125 GB/s; ~100 µs TCP latency (assumed)', assumed: true },
  wifi: { kind: 'wifi', name: 'Wi-Fi', bandwidthGBps: 0.06, latencyUs: 2000, source: 'typical Wi-Fi 6 LAN: ~0.5 Gb/s, ~2 ms latency (assumed)', assumed: true },
};

export const LINK_KINDS = Object.keys(LINKS) as LinkKind[];

export function findLink(kind: string): LinkSpec | undefined {
  const k = kind.trim().toLowerCase().replace(/\s+/g, '');
  const alias: Record<string, LinkKind> = { tb5: 'tb5-rdma', rdma: 'tb5-rdma', thunderbolt: 'tb-bridge', 'tb-tcp': 'tb-bridge', cx7: 'connectx-7', 'connectx7': 'connectx-7', '10g': '10gbe', '1g': '1gbe', ethernet: '10gbe' };
  const id = (alias[k] ?? k) as LinkKind;
  return LINKS[id];
}

/** A user-described link: bandwidth in GB/s and latency in µs. */
export function customLink(bandwidthGBps: number, latencyUs: number): LinkSpec {
  if (!(bandwidthGBps > 0) || !Number.isFinite(bandwidthGBps)) throw new RangeError(`link bandwidth must be > 0 GB/s, got ${bandwidthGBps}`);
  if (!(latencyUs >= 0) || !Number.isFinite(latencyUs)) throw new RangeError(`link latency must be ≥ 0 µs, got ${latencyUs}`);
  return { kind: 'custom', name: `${bandwidthGBps} GB/s, ${latencyUs} µs`, bandwidthGBps, latencyUs, source: 'user', assumed: false };
}

/** Bytes of the hidden state one token carries across a stage boundary. */
export function activationBytes(hiddenSize: number, bytesPerElement: number): number {
  return hiddenSize * bytesPerElement;
}

/** Seconds for one message of `bytes` over the link: latency + serialisation. */
export function hopSeconds(link: LinkSpec, bytes: number): number {
  return link.latencyUs * 1e-6 + bytes / (link.bandwidthGBps * 1e9);
}
