// Types of what the tests import from build-llama-server.mjs.
export interface BuildVariant { name: string; why: string; flags: string[] }
export function buildVariants(flags?: string[], arch?: string): BuildVariant[];
export function smokeTest(binary: string): { ok: true } | { ok: false; reason: string };
