#!/usr/bin/env node
// Runs the benchmark scripts named on the command line (default: every bench/*.mjs except this
// one and lib.mjs), one after another, then prints ONE table of every figure they reported
// (their `BENCH_ROW` lines): the figure, its baseline from the same run, the goal, PASS/MISS.
// Exits non-zero when a benchmark failed or missed a goal.
// Usage: node bench/run.mjs [package.mjs sync.mjs ...]   (pnpm bench / ./run.sh bench build first)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const requested = process.argv.slice(2);
const scripts = requested.length
  ? requested.map((s) => resolve(benchDir, s.endsWith('.mjs') ? basename(s) : `${basename(s)}.mjs`))
  : readdirSync(benchDir)
      .filter((f) => f.endsWith('.mjs') && f !== self && f !== 'lib.mjs')
      .sort()
      .map((f) => join(benchDir, f));

/** Runs one script, echoing its output; answers its exit code and the rows it reported. */
function runScript(script) {
  return new Promise((done) => {
    const rows = [];
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let rest = '';
    child.stdout.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('BENCH_ROW '))
          rows.push({ bench: basename(script), ...JSON.parse(line.slice(10)) });
        else console.log(line);
      }
    });
    child.on('close', (code, signal) => {
      if (rest) console.log(rest);
      done({ code: code ?? signal, rows });
    });
  });
}

const rows = [];
let failed = 0;
for (const script of scripts) {
  console.log(`\n=== ${basename(script)} ===`);
  const r = await runScript(script);
  rows.push(...r.rows);
  if (r.code !== 0) {
    failed++;
    console.log(`=== ${basename(script)}: exit ${r.code}`);
    if (!r.rows.length)
      rows.push({
        bench: basename(script),
        figure: '(benchmark failed)',
        value: `exit ${r.code}`,
        baseline: '',
        goal: '',
        pass: false,
      });
  }
}

const [load1] = readFileSync('/proc/loadavg', 'utf8').split(' ');
const cols = ['result', 'figure', 'measured', 'baseline (same run)', 'goal'];
const table = rows.map((r) => [
  r.pass ? 'PASS' : 'MISS',
  `${r.bench.replace('.mjs', '')}: ${r.figure}`,
  r.value,
  r.baseline,
  r.goal,
]);
const widths = cols.map((c, i) => Math.min(70, Math.max(c.length, ...table.map((t) => String(t[i]).length))));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
console.log(
  `\n=== summary: ${cpus().length} CPUs, load average ${load1} at the end, Node ${process.versions.node} ===`,
);
console.log(line(cols));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const t of table) console.log(line(t));
const missed = rows.filter((r) => !r.pass).length;
console.log(
  `\n${rows.length - missed}/${rows.length} figures meet their goal; ${scripts.length - failed}/${scripts.length} benchmarks ran cleanly`,
);
process.exitCode = failed || missed ? 1 : 0;
