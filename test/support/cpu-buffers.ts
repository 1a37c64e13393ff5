// Checks a real llama-server load log buffer by buffer against estimator/cpu-buffers.ts, for whatever CPU the
// suite runs on: the repack ISA comes from /proc/cpuinfo, AMX from the binary's own `system_info` line (compiled
// in) and the absence of its "AMX is not ready" complaint (kernel grant) — never from the buffer lines checked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpuBuffers, cpuFeaturesFromFlags, type CpuBufferFeatures } from '../../src/estimator/cpu-buffers';
import { parseCpuFlags } from '../../src/providers/cpu-flags';
import type { TensorInfo } from '../../src/estimator/types';
import { parseMemoryLog } from './llama-server';

const MIB = 1024 * 1024;

/** The CPU backend's features as this llama-server process reports them. */
export function featuresOfServer(log: string): CpuBufferFeatures {
  let flags: string[] = [];
  try {
    flags = parseCpuFlags(readFileSync('/proc/cpuinfo', 'utf8')) ?? [];
  } catch {
    /* not Linux: the ISA stays unknown */
  }
  const amxBuilt = /AMX_INT8 = 1/.test(log);
  const amxGranted = !/AMX is not ready to be used/.test(log);
  return cpuFeaturesFromFlags(flags, { amxUsable: amxBuilt && amxGranted });
}

/** Every `<type> model buffer size` line equals its own estimate (≤ 1 % or the log's 0.005 MiB rounding), and no estimated buffer is missing. */
export function assertCpuBuffersMatch(log: string, tensors: readonly TensorInfo[], what: string): CpuBufferFeatures {
  const f = featuresOfServer(log);
  const logged = parseMemoryLog(log).modelBuffers;
  const est = cpuBuffers(tensors, f);
  const expect: Record<string, number> = {};
  if (logged.CPU !== undefined) expect.CPU = est.tensorBytes - est.repackBytes;
  else expect.CPU_Mapped = est.mappedBytes!;
  if (est.repackBytes > 0) expect.CPU_REPACK = est.repackBytes;
  if (est.amxBytes > 0) expect.AMX = est.amxBytes;
  assert.deepEqual(Object.keys(logged).sort(), Object.keys(expect).sort(), `${what}: buffer types logged vs estimated (${JSON.stringify(f)})`);
  for (const [buf, bytes] of Object.entries(expect)) {
    const diff = Math.abs(bytes - logged[buf]!);
    assert.ok(diff <= Math.max(0.0051 * MIB, 0.01 * logged[buf]!), `${what} ${buf}: estimate ${(bytes / MIB).toFixed(3)} MiB vs logged ${(logged[buf]! / MIB).toFixed(2)} MiB`);
  }
  return f;
}
