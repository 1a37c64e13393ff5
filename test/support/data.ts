// Where the tests' recorded data lives: test/fixtures/ in this repository (see test/fixtures/README.md for what
// each part is and where it came from). Suites bundled elsewhere (the extension host) find it from the cwd.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const candidates = [resolve(__dirname, '../fixtures'), resolve(process.cwd(), 'test/fixtures')];
/** Root of the recorded data: `engines/`, `groundtruth/`, `models/`, `research/`. */
export const DATA: string = candidates.find((p) => existsSync(join(p, 'engines'))) ?? candidates[0]!;
/** Recorded engine responses, one folder per engine. */
export const ENGINE_FIXTURES = join(DATA, 'engines');
