#!/usr/bin/env node
// Runs the test suite with node's test runner: builds the real test tools first (cached), then
// every `*.test.ts` under test/ (or under the paths given). Test files are TypeScript run by
// Node's built-in type stripping, so there is no separate test build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(testRoot, '..');

const tools = spawnSync(join(repoRoot, 'scripts/tools.sh'), ['helm', 'etcd', 'kube-apiserver'], {
  stdio: 'inherit',
});
if (tools.status !== 0) process.exit(tools.status ?? 1);
spawnSync(join(repoRoot, 'scripts/system-deps.sh'), [], { stdio: 'inherit' }); // sshd etc. for the git tests

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      collect(join(path, entry), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const targets = args.length ? args.map((a) => resolve(process.cwd(), a)) : [testRoot];
const files = targets.flatMap((t) => (existsSync(t) ? collect(t, []) : (console.error(`no such test path: ${t}`), process.exit(2))));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(2);
}
const res = spawnSync(
  process.execPath,
  ['--test', '--import', join(testRoot, 'harness/exit-guard.mjs'), `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 600000}`, `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, '--test-reporter=spec', ...files.map((f) => relative(repoRoot, f))],
  { stdio: 'inherit', cwd: repoRoot, env: { ...process.env, CHARTSYNC_REPO_ROOT: repoRoot } },
);
process.exit(res.status ?? 1);
