#!/usr/bin/env node
// Runs test files with node's own test runner and reports what it reports: its summary, its
// exit code. Test files are TypeScript run by Node's built-in type stripping (no test build).
//
//   node test/scripts/run-tests.mjs              every *.test.ts under test/
//   node test/scripts/run-tests.mjs unit         the pure suite (below): no tools, seconds
//   node test/scripts/run-tests.mjs PATH...      the test files / folders named (suite names mix in)
//
// Only the real tools the chosen files need are built (cached, see scripts/tools.sh): a file
// needs a tool when its import graph reaches the harness module that runs it (TOOLS below), so
// `unit` or `test/git` never wait for a Go build of kube-apiserver.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(testRoot, '..');

/**
 * Named suites. `unit`: pure logic in seconds — no servers, git daemons, helm, cluster or child
 * processes (test/unit/runner.test.ts checks it needs no tools).
 */
export const SUITES = {
  unit: [
    'test/unit',
    'test/deps/constraint.test.ts',
    'test/deps/go-json.test.ts',
    'test/sidecar/units.test.ts',
  ],
};

/** Harness module -> what it needs installed before a file importing it can run. */
const TOOLS = {
  'test/harness/helm.ts': { tools: ['helm'] },
  'test/harness/helm4.ts': { tools: ['helm4'] },
  'test/harness/envtest.ts': { tools: ['etcd', 'kube-apiserver'] },
  // htpasswd (apache2-utils) and openssl for the registry's basic auth and test CA.
  'test/harness/oci-registry.ts': { tools: ['registry'], systemDeps: true },
  'test/harness/git/ssh.ts': { systemDeps: true },
  // The real single-node Kubernetes (test/node): kubelet & co. plus containerd, CNI, iptables.
  'test/harness/node.ts': { tools: ['node'], systemDeps: true },
};

/** How long a finished run's last helpers (reapers, exit guards) may take to end by themselves. */
const SETTLE_MS = Number(process.env.TEST_SETTLE_MS ?? 10_000);

function processesMarked(mark, except) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || except.includes(Number(entry))) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(mark)) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ').trim();
      out.push({ pid: Number(entry), cmd: cmd.slice(0, 200) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** The processes still carrying `mark`, after giving them SETTLE_MS to end by themselves. */
export async function leftovers(mark, except = [process.pid], settleMs = SETTLE_MS) {
  const deadline = Date.now() + settleMs;
  let left = processesMarked(mark, except);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    left = processesMarked(mark, except);
  }
  return left;
}

function kill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      collect(join(path, entry), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

/** The files named by the arguments (suite names or paths), each once, in order. */
export function selectFiles(args, cwd = process.cwd()) {
  const targets = (args.length ? args : [testRoot]).flatMap((a) =>
    a in SUITES ? SUITES[a].map((p) => join(repoRoot, p)) : [resolve(cwd, a)],
  );
  const missing = targets.filter((t) => !existsSync(t));
  if (missing.length) throw new Error(`no such test path: ${missing.join(', ')}`);
  return [...new Set(targets.flatMap((t) => collect(t, [])))];
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Every repo file reachable from `file` by relative imports (the file itself included). */
export function importGraph(file, seen = new Set()) {
  if (seen.has(file) || !existsSync(file)) return seen;
  seen.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    importGraph(resolve(dirname(file), spec), seen);
  }
  return seen;
}

/** What the files need: tool names for scripts/tools.sh, and whether sshd & co. are needed. */
export function needs(files) {
  const tools = new Set();
  let systemDeps = false;
  for (const f of files) {
    for (const dep of importGraph(f)) {
      const need = TOOLS[relative(repoRoot, dep)];
      for (const t of need?.tools ?? []) tools.add(t);
      if (need?.systemDeps) systemDeps = true;
    }
  }
  return { tools: [...tools].sort(), systemDeps };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let files;
  try {
    files = selectFiles(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  if (files.length === 0) {
    console.error('no test files found');
    process.exit(2);
  }
  const need = needs(files);
  if (need.tools.length) {
    const r = spawnSync(join(repoRoot, 'scripts/tools.sh'), need.tools, { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  if (need.systemDeps) spawnSync(join(repoRoot, 'scripts/system-deps.sh'), [], { stdio: 'inherit' });

  // Every process the run starts carries this mark in its environment (children inherit it,
  // even those that leave the process group). A process still carrying it once the tests are
  // done is a leak: it may hold a test file's stdio pipe, and then `node --test` never exits
  // and CI hangs until its time limit instead of failing.
  const runId = `${process.pid}-${Date.now()}`;
  const mark = `CHARTSYNC_TEST_RUN=${runId}`;
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--import',
      join(testRoot, 'harness/exit-guard.mjs'),
      `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 600000}`,
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
      '--test-reporter=spec',
      ...files.map((f) => relative(repoRoot, f)),
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        CHARTSYNC_REPO_ROOT: repoRoot,
        CHARTSYNC_TEST_RUN: runId,
        ...(process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {}),
      },
      stdio: ['inherit', 'pipe', 'inherit'],
    },
  );
  // Ctrl-C reaches node --test through the terminal's process group; a SIGTERM sent to this
  // runner alone is passed on, so the test processes and what they started get to clean up.
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  process.on('SIGINT', () => {});

  let leaked = false;
  const reapLeftovers = async () => {
    const left = await leftovers(mark, [process.pid, child.pid]);
    if (left.length === 0) return;
    leaked = true;
    console.error(
      `run-tests: ${left.length} process(es) started by the tests outlived them (a harness leak; killed):\n${left
        .map((p) => `  ${p.pid} ${p.cmd}`)
        .join('\n')}`,
    );
    for (const p of left) kill(p.pid);
  };

  // The spec reporter's summary ends with `duration_ms`: the tests are done. `node --test`
  // then exits unless a leaked process holds one of its pipes; give it a moment, then reap.
  let buffered = '';
  let done;
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    buffered = (buffered + chunk.toString('utf8')).slice(-4096);
    if (!done && /\bduration_ms\b/.test(buffered)) {
      done = setTimeout(() => void reapLeftovers(), SETTLE_MS * 2);
      done.unref();
    }
  });
  child.on('exit', async (code, signal) => {
    clearTimeout(done);
    await reapLeftovers();
    process.exit(leaked ? code || 1 : (code ?? (signal ? 1 : 0)));
  });
}
