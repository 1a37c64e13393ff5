// `headroom` CLI entry: dispatches to one module per sub-command.
// Errors are one clear line on stderr and a non-zero exit, never a stack trace.
import { CliError } from './errors';

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

// Sub-commands register here (lazy imports keep `headroom --help` instant).
const commands: Record<string, () => Promise<Command>> = {
  fit: async () => ({ summary: 'does a model fit: memory, margin, max context, decode tok/s, suggestions', run: (await import('./fit.js')).run }),
  hardware: async () => ({ summary: 'hardware profiles and what was detected on this machine', run: (await import('./hardware.js')).run }),
  models: async () => ({ summary: 'the model catalog ranked for a machine: best quant that fits, memory, tok/s', run: (await import('./models.js')).run }),
  bench: async () => ({ summary: 'measure prefill/decode tok/s and TTFT at several context depths vs the bandwidth ceiling', run: (await import('./bench.js')).run }),
  plan: async () => ({ summary: 'plan a resident agentic stack on one machine, or shard a model across a cluster (RPC / exo)', run: (await import('./plan.js')).run }),
  proxy: async () => ({ summary: 'metering proxy: per-request tokens, tok/s and truncation for any engine', run: (await import('./proxy.js')).run }),
  detect: async () => ({ summary: 'find running local engines (Ollama, llama.cpp, LM Studio, vLLM, ...) and their loaded models', run: (await import('./detect.js')).run }),
  connect: async () => ({ summary: 'route an agent (Continue, aider) through the metering proxy, with a backup and exact undo', run: (await import('./connect.js')).run }),
  status: async () => ({ summary: 'loaded models per engine: memory estimate, context configured vs used, offload split', run: (await import('./status.js')).run }),
};

function usage(): string {
  const names = Object.keys(commands).sort();
  return ['usage: headroom <command> [options]', '', 'commands:', ...names.map((n) => `  ${n}`), '', 'Run `headroom <command> --help` for options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) throw new CliError(`unknown command '${name}' (try: ${Object.keys(commands).sort().join(', ')})`);
  return (await load()).run(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const msg = err instanceof CliError ? err.message : err instanceof Error ? `unexpected error: ${err.message}` : String(err);
      process.stderr.write(`headroom: ${msg}\n`);
      if (process.env.HEADROOM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    },
  );
}
