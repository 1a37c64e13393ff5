// Stacks as people write them: the CLI's `[role=]MODEL[:QUANT][@CTX][xN]` and the JSON the view keeps in
// settings. Parsing only; planner.ts does the math.
import { z } from 'zod';
import { parseQuant } from './quant-recipes';
import { StackMemberError, type Stack, type StackMember, type StackRole } from './planner';

/** A member as typed, before defaults: `ctx` may be missing. */
export type ParsedMember = Omit<StackMember, 'ctx'> & { ctx?: number };

/**
 * Parse `MODEL[:QUANT][@CTX][xN]`, optionally prefixed `role=` (`orchestrator=qwen3-32b:Q4_K_M@64k`).
 * The model part may itself contain ':' (Ollama tags: `qwen3:30b-a3b`), so a trailing `:QUANT` counts only
 * when it names a known quant. Without `@CTX`, slots are written with a space: `qwen3-8b x2`.
 */
export function parseStackMember(text: string): ParsedMember {
  let s = text.trim();
  if (!s) throw new StackMemberError(text, 'empty model');
  let role: StackRole | undefined;
  const roleM = /^(orchestrator|coder|tool|embedding|reranker|other)=/i.exec(s);
  if (roleM) {
    role = roleM[1]!.toLowerCase() as StackRole;
    s = s.slice(roleM[0].length);
  }
  let parallel: number | undefined;
  let ctx: number | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    const raw = s.slice(at + 1).trim();
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)(?:\s*[xX](\d+))?$/.exec(raw);
    if (!m) throw new StackMemberError(text, `'${raw}' is not a context (tokens, e.g. 32768 or 32k, optionally followed by xN slots)`);
    const mult = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1024 : 1024 * 1024;
    ctx = Math.round(Number(m[1]) * mult);
    if (m[3]) parallel = Number(m[3]);
    s = s.slice(0, at).trim();
  } else {
    const m = /\s+[xX](\d+)$/.exec(s);
    if (m) {
      parallel = Number(m[1]);
      s = s.slice(0, m.index).trim();
    }
  }
  if (s.startsWith(':')) throw new StackMemberError(text, 'missing model name');
  let quant: string | undefined;
  const colon = s.lastIndexOf(':');
  if (colon > 0) {
    const q = parseQuant(s.slice(colon + 1));
    if (q) {
      quant = q.name;
      s = s.slice(0, colon);
    }
  }
  if (!s) throw new StackMemberError(text, 'missing model name');
  return { ...(role ? { role } : {}), model: s, ...(quant ? { quant } : {}), ...(ctx !== undefined ? { ctx } : {}), ...(parallel !== undefined ? { parallel } : {}) };
}

const memberSchema = z.object({
  role: z.enum(['orchestrator', 'coder', 'tool', 'embedding', 'reranker', 'other']).optional(),
  model: z.string().trim().min(1).max(300),
  quant: z.string().max(40).optional(),
  ctx: z.number().int().min(256).max(16 * 1024 * 1024),
  parallel: z.number().int().min(1).max(256).optional(),
  kvType: z.enum(['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl']).optional(),
  flashAttention: z.boolean().optional(),
});
const stackSchema = z.object({ name: z.string().trim().min(1).max(100), members: z.array(memberSchema).min(1).max(16) });

/** A stack read back from settings (user-editable JSON): validated, with a one-line reason when it is not. */
export function parseStack(raw: unknown): { ok: true; stack: Stack } | { ok: false; error: string } {
  const r = stackSchema.safeParse(raw);
  if (r.success) return { ok: true, stack: r.data as Stack };
  const i = r.error.issues[0]!;
  return { ok: false, error: `stack${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}` };
}
