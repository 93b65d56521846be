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
  'test/harness/envtest.ts': { tools: ['etcd', 'kube-apiserver'] },
  // htpasswd (apache2-utils) and openssl for the registry's basic auth and test CA.
  'test/harness/oci-registry.ts': { tools: ['registry'], systemDeps: true },
  'test/harness/git/ssh.ts': { systemDeps: true },
  // The real single-node Kubernetes (test/node): kubelet & co. plus containerd, CNI, iptables.
  'test/harness/node.ts': { tools: ['node'], systemDeps: true },
};

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
    { cwd: repoRoot, env: { ...process.env, CHARTSYNC_REPO_ROOT: repoRoot }, stdio: 'inherit' },
  );
  // Ctrl-C reaches node --test through the terminal's process group; a SIGTERM sent to this
  // runner alone is passed on, so the test processes and what they started get to clean up.
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  process.on('SIGINT', () => {});
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
