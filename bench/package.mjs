#!/usr/bin/env node
// Packaging benchmark: a generated real-sized corpus (default 100 charts built from the chart
// `helm create` writes, with varied values, README/ci files, .helmignore, and every fifth chart
// vendoring a library subchart directory plus a .tgz subchart) packaged
//   - by ONE `chartsync package` call over all charts, and
//   - by one `helm package` process per chart (what the original sidecar did), in the same run.
//   - by a serial `tar czf` loop over the same chart directories (the floor a user would script).
// Prints the times, the ratios and chartsync's peak RSS; checks the goals (>= 5x faster than
// helm, faster than the tar loop, peak RSS < 150 MB), that chartsync and helm produced the same
// set of archives, and that the parallel run's archives are byte-identical to one-chart runs.
// chartsync and the tar loop run --rounds times (default 5) alternately; medians are compared.
// Usage: node bench/package.mjs [--charts N] [--rounds N]   (needs `pnpm build`)
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadNote, report } from './lib.mjs';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const helm = join(root, '.tools/bin/helm');
const cliBin = join(root, 'sidecar/bin/chartsync.js');
const countArg = process.argv.indexOf('--charts');
const CHARTS = countArg > 0 ? Number(process.argv[countArg + 1]) : 100;
const roundsArg = process.argv.indexOf('--rounds');
/**
 * chartsync and the tar loop each run this many times, alternating which goes first: on a small
 * shared VM one run of either moves by ±15% with the machine's moment, more than the difference
 * being measured. The figures are the medians; every run is printed.
 */
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
const GOAL_RATIO = 5;
const GOAL_RSS_MB = 150;

const helmEnv = (home) => ({
  PATH: process.env.PATH,
  HOME: home,
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
});

/** A values.yaml with some bulk, like real charts carry (documented keys, nested maps). */
function bulkValues(i) {
  const lines = ['', '## Extra settings of this chart', 'extra:'];
  for (let k = 0; k < 40 + (i % 7) * 20; k++) {
    lines.push(`  ## @param extra.key${k} documented parameter number ${k}`);
    lines.push(`  key${k}:`, `    enabled: ${k % 2 === 0}`, `    value: "v${i}-${k}"`, `    list: [a, b, c]`);
  }
  return `${lines.join('\n')}\n`;
}

async function buildCorpus(dir, env) {
  await mkdir(dir, { recursive: true });
  await run(helm, ['create', 'template-chart'], { cwd: dir, env });
  await run(helm, ['create', 'common'], { cwd: dir, env });
  await writeFile(
    join(dir, 'common/Chart.yaml'),
    'apiVersion: v2\nname: common\nversion: 2.4.0\ntype: library\n',
  );
  await rm(join(dir, 'common/templates'), { recursive: true });
  await mkdir(join(dir, 'common/templates'));
  for (let t = 0; t < 12; t++) {
    await writeFile(
      join(dir, 'common/templates', `_lib${t}.tpl`),
      `{{- define "common.tpl${t}" -}}\n{{- printf "%s-${t}" .Chart.Name | trunc 63 -}}\n{{- end -}}\n`.repeat(
        8,
      ),
    );
  }
  await run(helm, ['create', 'sidecar-sub'], { cwd: dir, env });
  await run(helm, ['package', 'sidecar-sub', '-d', dir], { cwd: dir, env });
  const subTgz = await readFile(join(dir, 'sidecar-sub-0.1.0.tgz'));
  const charts = [];
  for (let i = 0; i < CHARTS; i++) {
    const name = `app-${String(i).padStart(3, '0')}`;
    const chartDir = join(dir, 'charts', name);
    await cp(join(dir, 'template-chart'), chartDir, { recursive: true });
    const withSubcharts = i % 5 === 0;
    const deps = withSubcharts
      ? 'dependencies:\n- name: common\n  version: 2.x\n  repository: file://../../common\n- name: sidecar-sub\n  version: 0.1.0\n  repository: https://example.com/charts\n'
      : '';
    await writeFile(
      join(chartDir, 'Chart.yaml'),
      `apiVersion: v2\nname: ${name}\ndescription: Benchmark chart ${i}\ntype: application\nversion: 1.${i}.0\nappVersion: "${i}.0.0"\n${deps}`,
    );
    const values = await readFile(join(chartDir, 'values.yaml'), 'utf8');
    await writeFile(join(chartDir, 'values.yaml'), values + bulkValues(i));
    await writeFile(join(chartDir, 'README.md'), `# ${name}\n\n${'Documentation line.\n'.repeat(50)}`);
    await mkdir(join(chartDir, 'ci'));
    await writeFile(join(chartDir, 'ci/ci-values.yaml'), 'replicaCount: 2\n');
    if (withSubcharts) {
      await cp(join(dir, 'common'), join(chartDir, 'charts/common'), { recursive: true });
      await writeFile(join(chartDir, 'charts/sidecar-sub-0.1.0.tgz'), subTgz);
    }
    charts.push(chartDir);
  }
  return charts;
}

/**
 * One chartsync process over all charts, started as users start it (bin/chartsync.js: its
 * compile cache and process settings included); its peak RSS from the kernel's rusage, reported
 * by a wrapper script that loads the bin (argv[1] stays a script, so a re-exec keeps it).
 */
async function timeChartsync(charts, out) {
  const wrapper = join(dirname(out), 'chartsync-maxrss.mjs');
  await writeFile(
    wrapper,
    `process.on('exit', () => process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n'));\nawait import(${JSON.stringify(cliBin)});\n`,
  );
  const started = process.hrtime.bigint();
  const { stdout, stderr, code } = await new Promise((done) => {
    const child = spawn(process.execPath, [wrapper, 'package', ...charts, '-d', out], {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
    });
    let so = '';
    let se = '';
    child.stdout.on('data', (d) => (so += d));
    child.stderr.on('data', (d) => (se += d));
    child.on('close', (c) => done({ stdout: so, stderr: se, code: c }));
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) throw new Error(`chartsync package failed: ${stderr}`);
  const rssKb = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0);
  return { ms, rssMb: rssKb / 1024, lines: stdout.trim().split('\n').length };
}

/** The run with the median time (an odd count gives the middle one). */
function median(runs) {
  return [...runs].sort((a, b) => a.ms - b.ms)[Math.floor((runs.length - 1) / 2)];
}

async function timeTarLoop(charts, out) {
  await mkdir(out, { recursive: true });
  const started = process.hrtime.bigint();
  for (const [i, chart] of charts.entries())
    await run('tar', ['czf', join(out, `${i}.tgz`), '-C', dirname(chart), basename(chart)]);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** A few charts packaged one per run (in-process path) must give the parallel run's bytes. */
async function sameBytesAlone(charts, parallelOut, aloneOut) {
  for (const chart of charts.filter((_, i) => i % 20 === 0)) {
    const { stdout } = await run(process.execPath, [cliBin, 'package', chart, '-d', aloneOut], {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
    });
    const file = stdout.split(' ')[0];
    const a = await readFile(join(parallelOut, file));
    const b = await readFile(join(aloneOut, file));
    if (!a.equals(b)) return false;
  }
  return true;
}

async function timeHelmLoop(charts, out, env) {
  const started = process.hrtime.bigint();
  for (const chart of charts) await run(helm, ['package', chart, '-d', out], { env });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

const work = await mkdtemp(join(tmpdir(), 'chartsync-bench-package-'));
try {
  const env = helmEnv(join(work, 'helm-home'));
  const charts = await buildCorpus(join(work, 'corpus'), env);
  console.log(
    `corpus: ${charts.length} charts (${charts.filter((_, i) => i % 5 === 0).length} with subcharts)`,
  );
  const oursRuns = [];
  const tarRuns = [];
  for (let r = 0; r < ROUNDS; r++) {
    const outs = [join(work, 'out-chartsync'), join(work, 'out-tar')];
    for (const out of outs) await rm(out, { recursive: true, force: true });
    const pair = [
      async () => oursRuns.push(await timeChartsync(charts, outs[0])),
      async () => tarRuns.push(await timeTarLoop(charts, outs[1])),
    ];
    for (const step of r % 2 === 0 ? pair : pair.reverse()) await step();
  }
  const ours = { ...median(oursRuns), rssMb: Math.max(...oursRuns.map((x) => x.rssMb)) };
  const tar = median(tarRuns);
  const runs = (xs) => xs.map((x) => x.ms.toFixed(0)).join('/');
  console.log(`runs (ms): chartsync ${runs(oursRuns)}; tar loop ${runs(tarRuns)}`);
  const theirs = await timeHelmLoop(charts, join(work, 'out-helm'), env);
  const a = (await readdir(join(work, 'out-chartsync'))).sort();
  const b = (await readdir(join(work, 'out-helm'))).sort();
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error('chartsync and helm produced different archive sets');
  const identical = await sameBytesAlone(charts, join(work, 'out-chartsync'), join(work, 'out-alone'));
  console.log(`chartsync package benchmark: ${await loadNote()}`);
  const ok = [
    report({
      figure: `chartsync package of ${charts.length} charts vs a serial tar czf loop`,
      value: `median of ${ROUNDS} ${ours.ms.toFixed(0)} ms (ratio ${(ours.ms / tar.ms).toFixed(2)}), archives byte-identical to one-chart runs: ${identical}`,
      baseline: `tar czf loop, median of ${ROUNDS} ${tar.ms.toFixed(0)} ms`,
      goal: 'ratio < 1.0, identical',
      pass: ours.ms < tar.ms && identical,
    }),
    report({
      figure: `chartsync package of ${charts.length} charts vs one helm package per chart`,
      value: `${ours.ms.toFixed(0)} ms (${(theirs.ms / ours.ms).toFixed(1)}x faster)`,
      baseline: `helm package loop ${theirs.ms.toFixed(0)} ms`,
      goal: `>= ${GOAL_RATIO}x faster`,
      pass: theirs.ms / ours.ms >= GOAL_RATIO,
    }),
    report({
      figure: `chartsync package peak RSS (${charts.length} charts)`,
      value: `${ours.rssMb.toFixed(0)} MB`,
      goal: `< ${GOAL_RSS_MB} MB`,
      pass: ours.rssMb < GOAL_RSS_MB,
    }),
  ];
  process.exitCode = ok.every(Boolean) ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
