#!/usr/bin/env node
// Runs the benchmark scripts named on the command line (default: every bench/*.mjs except this
// one), one after another, and exits non-zero when any of them fails or misses its goals.
// Usage: node bench/run.mjs [package.mjs sync.mjs ...]   (pnpm bench builds first)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const requested = process.argv.slice(2);
const scripts = requested.length
  ? requested.map((s) => resolve(benchDir, s.endsWith('.mjs') ? basename(s) : `${basename(s)}.mjs`))
  : readdirSync(benchDir)
      .filter((f) => f.endsWith('.mjs') && f !== self)
      .sort()
      .map((f) => join(benchDir, f));

let failed = 0;
for (const script of scripts) {
  console.log(`\n=== ${basename(script)} ===`);
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`=== ${basename(script)}: FAILED (exit ${r.status ?? r.signal})`);
  }
}
console.log(`\n${scripts.length - failed}/${scripts.length} benchmarks passed`);
process.exitCode = failed ? 1 : 0;
