// Shared by the benches that start helper processes: wait for a line a child prints.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the first match of `re` in what the child printed on `stream`; rejects if it exits first. */
export function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp): Promise<RegExpExecArray> {
  return new Promise((ok, fail) => {
    let buf = '';
    child[stream]!.on('data', (b: Buffer) => {
      buf += b.toString();
      const m = re.exec(buf);
      if (m) ok(m);
    });
    child.once('exit', (code) => fail(new Error(`child exited (${code}): ${buf}`)));
  });
}
