// Builds a real, CPU-only `llama-server` from the llama.cpp source bundle that node-llama-cpp ships,
// so the test suite can talk to the genuine engine instead of recordings.
//
//   node scripts/build-llama-server.mjs            # build if needed, print one status line
//
// Idempotent: a finished build is recorded in .cache/llama-server/<tag>/binary.json and reused instantly.
// A directory lock keeps two concurrent runs (parallel test files, CI + dev) from building twice.
// Missing cmake / git / C++ compiler is not an error: we print "skipped" and exit 0 so the suite still runs
// (the real-engine tests then skip with the same reason).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const llamaDir = join(root, 'node_modules', 'node-llama-cpp', 'llama');
const bundle = join(llamaDir, 'gitRelease.bundle');
const cacheRoot = join(root, '.cache', 'llama-server');

function say(status, detail) {
  console.log(`llama-server: ${status}${detail ? ` — ${detail}` : ''}`);
}

/** Records why the binary is unavailable, so the test harness can skip with the same words. */
function skip(reason) {
  mkdirSync(cacheRoot, { recursive: true });
  writeFileSync(join(cacheRoot, 'skipped.json'), JSON.stringify({ reason }, null, 2) + '\n');
  say('skipped', reason);
  process.exit(0);
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs a build step with its (very chatty) output appended to `log`; on failure shows the log's tail. */
function run(cmd, args, log) {
  const fd = openSync(log, 'a');
  try {
    const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd] });
    if (r.status !== 0) {
      const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}); last lines of ${log}:\n${tail}`);
    }
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  if (!existsSync(bundle)) skip(`no source bundle at ${bundle} (is node-llama-cpp installed?)`);
  const { tag } = JSON.parse(readFileSync(join(llamaDir, 'llama.cpp.info.json'), 'utf8'));
  const dir = join(cacheRoot, tag);
  const manifest = join(dir, 'binary.json');
  const cached = () => {
    if (!existsSync(manifest)) return null;
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    return existsSync(m.binary) ? m : null;
  };

  const hit = cached();
  if (hit) return say('cached', hit.binary);

  const missing = ['git', 'cmake'].filter((c) => !which(c));
  if (!which('c++') && !which('g++') && !which('clang++')) missing.push('a C++ compiler');
  if (missing.length) skip(`${missing.join(', ')} not found; real-engine tests will skip`);

  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  // mkdir is atomic: whoever creates the lock builds, everyone else waits for binary.json.
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* lock being created right now */
      }
      if (Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) {
        say('removing stale lock', `builder pid ${owner} is gone`);
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      say('waiting', `another build (pid ${owner}) holds ${lock}`);
      while (existsSync(lock)) await sleep(2000);
      const done = cached();
      if (done) return say('cached', done.binary);
    }
  }

  const release = () => rmSync(lock, { recursive: true, force: true });
  process.on('exit', release);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

  const src = join(dir, 'src');
  const build = join(dir, 'build');
  const log = join(dir, 'build.log');
  writeFileSync(log, '');
  const started = Date.now();
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    say('cloning', `${tag} from ${bundle}`);
    rmSync(src + '.tmp', { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
    run('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, src + '.tmp'], log);
    renameSync(src + '.tmp', src);
  }
  const commit = spawnSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();

  say('configuring', 'CPU-only Release (cold build takes ~10 min on 2 cores)');
  run('cmake', [
    '-S', src, '-B', build,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DBUILD_SHARED_LIBS=OFF', // one self-contained binary; no LD_LIBRARY_PATH games
    '-DGGML_NATIVE=ON',
    '-DGGML_CCACHE=OFF',
    '-DLLAMA_OPENSSL=OFF', // tests talk plain HTTP on loopback
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF', // otherwise configure tries to fetch the web UI from the network
  ], log);
  const jobs = String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism())));
  say('building', `target llama-server with -j${jobs} (log: ${log})`);
  run('cmake', ['--build', build, '--target', 'llama-server', '--config', 'Release', '-j', jobs], log);

  const binary = join(build, 'bin', 'llama-server');
  if (!existsSync(binary)) throw new Error(`build finished but ${binary} is missing`);
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(manifest, JSON.stringify({ tag, commit, binary, seconds }, null, 2) + '\n');
  rmSync(join(cacheRoot, 'skipped.json'), { force: true });
  say('built', `${binary} in ${seconds}s`);
}

main().catch((e) => {
  console.error(`llama-server: FAILED — ${e.message}`);
  process.exit(1);
});
