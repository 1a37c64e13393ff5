// Builds a real, CPU-only `llama-server` from the llama.cpp source bundle that node-llama-cpp ships,
// so the test suite can talk to the genuine engine instead of recordings.
//
//   node scripts/build-llama-server.mjs            # build if needed, print one status line
//
// After building, a smoke test decodes tiny quantized models through the binary; if it crashes (e.g. a native
// build using AMX where the kernel doesn't grant it), the build is redone without those ISA extensions, and the
// choice that ran is cached with the binary (binary.json: variant, flags, smoke).
// Idempotent: a finished build is recorded in .cache/llama-server/<tag>/binary.json and reused instantly.
// A directory lock keeps two concurrent runs (parallel test files, CI + dev) from building twice.
// Missing cmake / git / C++ compiler is not an error: we print "skipped" and exit 0 so the suite still runs
// (the real-engine tests then skip with the same reason).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const llamaDir = join(root, 'node_modules', 'node-llama-cpp', 'llama');
const bundle = join(llamaDir, 'gitRelease.bundle');
// .cache may be a symlink (.ci/run's temp checkout shares the outer one): record real paths, or a later run would
// find a binary and a CMake cache under a temp dir that is gone.
const cacheRoot = join(existsSync(join(root, '.cache')) ? realpathSync(join(root, '.cache')) : join(root, '.cache'), 'llama-server');

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
  if (hit?.smoke === 'ok') return say('cached', `${hit.binary} (${hit.variant})`);

  const missing = ['git', 'cmake'].filter((c) => !which(c));
  if (!which('c++') && !which('g++') && !which('clang++')) missing.push('a C++ compiler');
  if (!hit && missing.length) skip(`${missing.join(', ')} not found; real-engine tests will skip`);

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
      if (done?.smoke === 'ok') return say('cached', `${done.binary} (${done.variant})`);
    }
  }

  const release = () => rmSync(lock, { recursive: true, force: true });
  process.on('exit', release);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

  const src = join(dir, 'src');
  const build = join(dir, 'build');
  const log = join(dir, 'build.log');
  const binary = join(build, 'bin', 'llama-server');
  const started = Date.now();
  if (!existsSync(join(src, 'CMakeLists.txt'))) {
    writeFileSync(log, '');
    say('cloning', `${tag} from ${bundle}`);
    rmSync(src + '.tmp', { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
    run('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, src + '.tmp'], log);
    renameSync(src + '.tmp', src);
  }
  const commit = spawnSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();

  // A binary from an earlier build (manifest without a smoke result) is tried before anything is rebuilt.
  const variants = buildVariants();
  const firstVariant = hit ? variants.findIndex((v) => v.name === (hit.variant ?? 'native')) : 0;
  const tried = [];
  for (let i = Math.max(0, firstVariant); i < variants.length; i++) {
    const v = variants[i];
    if (!(hit && i === firstVariant && existsSync(binary))) {
      // A build dir configured for another source path (a moved or temp checkout) makes cmake refuse: start it afresh.
      const cmakeCache = join(build, 'CMakeCache.txt');
      if (existsSync(cmakeCache) && !readFileSync(cmakeCache, 'utf8').includes(`CMAKE_HOME_DIRECTORY:INTERNAL=${src}\n`)) rmSync(build, { recursive: true, force: true });
      say('configuring', `CPU-only Release, ${v.name}: ${v.why} (a cold build takes ~10–20 min on 2 cores)`);
      run('cmake', [
        '-S', src, '-B', build,
        '-DCMAKE_BUILD_TYPE=Release',
        '-DBUILD_SHARED_LIBS=OFF', // one self-contained binary; no LD_LIBRARY_PATH games
        '-DGGML_CCACHE=OFF',
        '-DLLAMA_OPENSSL=OFF', // tests talk plain HTTP on loopback
        '-DLLAMA_BUILD_TESTS=OFF',
        '-DLLAMA_BUILD_EXAMPLES=OFF',
        '-DLLAMA_BUILD_UI=OFF',
        '-DLLAMA_USE_PREBUILT_UI=OFF', // otherwise configure tries to fetch the web UI from the network
        ...v.flags,
      ], log);
      const jobs = String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism())));
      say('building', `target llama-server with -j${jobs} (log: ${log})`);
      run('cmake', ['--build', build, '--target', 'llama-server', '--config', 'Release', '-j', jobs], log);
      if (!existsSync(binary)) throw new Error(`build finished but ${binary} is missing`);
    }
    const smoke = smokeTest(binary);
    if (smoke.ok) {
      const seconds = Math.round((Date.now() - started) / 1000);
      writeFileSync(manifest, JSON.stringify({ tag, commit, binary, variant: v.name, flags: v.flags, smoke: 'ok', tried, seconds }, null, 2) + '\n');
      rmSync(join(cacheRoot, 'skipped.json'), { force: true });
      return say('built', `${binary} (${v.name}) in ${seconds}s; decodes quantized models here`);
    }
    tried.push({ variant: v.name, failure: smoke.reason.split('\n')[0] });
    say('smoke test failed', `${v.name}: ${smoke.reason.split('\n')[0]}${i + 1 < variants.length ? ' — rebuilding without those ISA extensions' : ''}`);
    rmSync(manifest, { force: true });
  }
  throw new Error(`no build of llama-server runs on this machine: ${tried.map((t) => `${t.variant}: ${t.failure}`).join('; ')}`);
}

/**
 * Builds to try, best first. GGML_NATIVE compiles for everything the CPU advertises — including AMX, which a VM
 * may advertise without the kernel granting its tile state (then the first quantized matmul dies with SIGILL).
 * The fallbacks name the ISA extensions explicitly: every x86 one /proc/cpuinfo lists except AMX, then a plain
 * build with none of them.
 */
export function buildVariants(flags = cpuFlags(), arch = process.arch) {
  const variants = [{ name: 'native', why: 'GGML_NATIVE=ON (tuned for this CPU)', flags: ['-DGGML_NATIVE=ON'] }];
  if (arch === 'x64') {
    const has = (f) => flags.includes(f);
    const on = (opt, ok) => `-DGGML_${opt}=${ok ? 'ON' : 'OFF'}`;
    variants.push({
      name: 'no-amx',
      why: 'GGML_NATIVE=OFF, this CPU\'s AVX/AVX2/AVX-512 extensions named one by one, AMX off',
      flags: [
        '-DGGML_NATIVE=OFF', on('SSE42', has('sse4_2')), on('AVX', has('avx')), on('AVX2', has('avx2')), on('FMA', has('fma')),
        on('F16C', has('f16c')), on('BMI2', has('bmi2')), on('AVX_VNNI', has('avx_vnni')), on('AVX512', has('avx512f')),
        on('AVX512_VBMI', has('avx512vbmi')), on('AVX512_VNNI', has('avx512_vnni')), on('AVX512_BF16', has('avx512_bf16')),
        on('AMX_TILE', false), on('AMX_INT8', false), on('AMX_BF16', false),
      ],
    });
  }
  const none = ['SSE42', 'AVX', 'AVX2', 'FMA', 'F16C', 'BMI2', 'AVX_VNNI', 'AVX512', 'AVX512_VBMI', 'AVX512_VNNI', 'AVX512_BF16', 'AMX_TILE', 'AMX_INT8', 'AMX_BF16'];
  variants.push({ name: 'baseline', why: 'GGML_NATIVE=OFF, no ISA extensions (slow but runs anywhere)', flags: ['-DGGML_NATIVE=OFF', ...(arch === 'x64' ? none.map((o) => `-DGGML_${o}=OFF`) : [])] });
  return variants;
}

function cpuFlags() {
  try {
    const m = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim().split(/\s+/) : [];
  } catch {
    return [];
  }
}

/** Runs scripts/llama-server-smoke.ts: the binary must decode tiny Q8_0 and Q4_0 models without crashing. */
export function smokeTest(binary) {
  say('smoke test', 'decoding tiny Q8_0 / Q4_0 models');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'llama-server-smoke.ts'), binary], { cwd: root, encoding: 'utf8', timeout: 5 * 60_000 });
  if (r.status === 0) return { ok: true };
  return { ok: false, reason: (r.stderr || r.stdout || `exit ${r.status ?? r.signal}`).trim() || `exit ${r.status ?? r.signal}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main().catch((e) => {
  console.error(`llama-server: FAILED — ${e.message}`);
  process.exit(1);
});
