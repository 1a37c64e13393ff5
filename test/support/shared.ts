// Where the project's read-only data lives: `shared/` beside the repository (CI: a fresh clone with shared/ next
// to it), overridable with HEADROOM_SHARED. Suites bundled elsewhere (the extension host) find it from the cwd.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const candidates = [process.env.HEADROOM_SHARED, resolve(process.cwd(), '../shared'), resolve(__dirname, '../../../shared'), '/work/shared'];
export const SHARED: string = candidates.find((p): p is string => !!p && existsSync(join(p, 'fixtures'))) ?? resolve(process.cwd(), '../shared');
