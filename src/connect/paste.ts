// Agents that keep their settings in their own extension storage (Cline, Roo Code, Kilo Code): Headroom never
// touches that storage; it says which field to set and gives the exact value to paste. Pure.

export interface PasteAgent {
  id: 'cline' | 'roo' | 'kilo';
  name: string;
  /** Marketplace ids (to tell whether it is installed). */
  extensionIds: string[];
}

export const PASTE_AGENTS: readonly PasteAgent[] = [
  { id: 'cline', name: 'Cline', extensionIds: ['saoudrizwan.claude-dev'] },
  { id: 'roo', name: 'Roo Code', extensionIds: ['rooveterinaryinc.roo-cline'] },
  { id: 'kilo', name: 'Kilo Code', extensionIds: ['kilocode.kilo-code'] },
];

export interface PasteInstructions {
  /** The value to paste. */
  value: string;
  /** Where it goes, as a short path through the agent's UI. */
  where: string;
}

/**
 * Ollama behind the proxy: the agent's "Ollama" provider takes the bare proxy URL. Other engines speak the
 * OpenAI API: the "OpenAI Compatible" provider takes the proxy URL with `/v1`.
 */
export function pasteInstructions(agent: PasteAgent, engine: string, proxy: string): PasteInstructions {
  const base = proxy.replace(/\/+$/, '');
  const settings = agent.id === 'cline' ? `${agent.name} panel → ⚙ Settings → API Configuration` : `${agent.name} panel → ⚙ Settings → Providers`;
  if (engine === 'ollama') return { value: base, where: `${settings} → API Provider "Ollama" → Base URL (check "Use custom base URL" if shown)` };
  return { value: `${base}/v1`, where: `${settings} → API Provider "OpenAI Compatible" → Base URL` };
}
