#!/usr/bin/env node
// Benchmark of the sidecar's sync against the manual way, in the same run on the same machine:
//   baseline   `git clone` + a `helm package` loop over every chart (what a CI script does)
//   cold sync  POST /repo/new on a fresh `chartsync serve` (clone + package + publish all)
//   no-change  POST /repo/<name>/update with nothing new (median of 20)
//   one chart  one chart changed and pushed, then update (median of 7), next to `helm package`
//              of that chart alone (median of 7)
// Goals: no-change < 25 ms; one changed chart < 1.5x packaging it alone; cold sync >= 3x faster
// than clone + helm loop. Usage: node bench/sync.mjs [--charts N]  (needs `pnpm build`)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardChild } from '../test/harness/reaper.ts';
import {
  arg,
  chartFiles,
  chartsync,
  git,
  helm,
  loadNote,
  median,
  post,
  report,
  run,
  time,
  writeAll,
} from './lib.mjs';

const CHARTS = arg('--charts', 100);

async function startServe(storage) {
  const proc = spawn(
    process.execPath,
    [chartsync, 'serve', '--port', '0', '--storage-dir', storage, '--allow-local-git'],
    {
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // reaped if the bench dies without stop()
    },
  );
  guardChild(proc);
  const port = await new Promise((resolvePort, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      if (process.env.BENCH_VERBOSE)
        for (const line of String(d).split('\n')) if (line.includes('sync phases')) console.error(line);
      buf += d;
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolvePort(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`chartsync serve exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

const tmp = await mkdtemp(join(tmpdir(), 'chartsync-bench-'));
try {
  // A generated repository of CHARTS charts, one commit, in a bare repo served over file://.
  const work = join(tmp, 'work');
  const bare = join(tmp, 'charts.git');
  await git(['init', '-q', work]);
  const charts = Array.from({ length: CHARTS }, (_, i) => chartFiles(i));
  for (const c of charts) await writeAll(work, c.files);
  await git(['add', '-A'], work);
  await git(['commit', '-q', '-m', 'charts'], work);
  await git(['clone', '-q', '--bare', work, bare]);
  await git(['remote', 'add', 'origin', bare], work);
  const url = `file://${bare}`;

  // Baseline: clone + helm package loop.
  const baseline = await time(async () => {
    const clone = join(tmp, 'clone');
    await git(['clone', '-q', url, clone]);
    const out = join(tmp, 'helm-out');
    await mkdir(out);
    for (const c of charts) await run(helm, ['package', join(clone, c.dir), '--destination', out]);
  });

  const serve = await startServe(join(tmp, 'storage'));
  try {
    const cold = await time(() => post(`${serve.url}/repo/new`, { name: 'bench', git: url }));
    const noChange = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const r = await post(`${serve.url}/repo/bench/update`);
      noChange.push(performance.now() - t);
      if (r.changed) throw new Error('no-change update reported a change');
    }
    // The floor of a no-change update: one remote ref check by git itself.
    const lsRemote = [];
    for (let i = 0; i < 20; i++) lsRemote.push(await time(() => git(['ls-remote', url, 'HEAD'])));
    const oneChanged = [];
    const helmOne = [];
    const target = charts[CHARTS >> 1];
    for (let i = 1; i <= 7; i++) {
      const changed = chartFiles(CHARTS >> 1, `1.0.${i}`);
      await writeAll(work, changed.files);
      await git(['commit', '-q', '-am', `bump ${i}`], work);
      await git(['push', '-q', 'origin', 'HEAD:main'], work);
      const t = performance.now();
      const r = await post(`${serve.url}/repo/bench/update`);
      oneChanged.push(performance.now() - t);
      if (r.charts.filter((c) => c.action === 'published').length !== 1)
        throw new Error('expected exactly one chart published');
      helmOne.push(
        await time(() =>
          run(helm, ['package', join(work, target.dir), '--destination', join(tmp, 'helm-one')]),
        ),
      );
    }

    console.log(`chartsync sync benchmark: ${CHARTS} charts, ${await loadNote()}\n`);
    const ok = [
      report({
        figure: `cold sync of ${CHARTS} charts (clone + package + publish)`,
        value: `${cold.toFixed(0)} ms (${(baseline / cold).toFixed(1)}x faster)`,
        baseline: `git clone + helm package loop ${baseline.toFixed(0)} ms`,
        goal: '>= 3x faster',
        pass: baseline / cold >= 3,
      }),
      report({
        figure: 'no-change update (median of 20)',
        value: `${median(noChange).toFixed(1)} ms`,
        baseline: `git ls-remote ${median(lsRemote).toFixed(1)} ms`,
        goal: '< 25 ms',
        pass: median(noChange) < 25,
      }),
      report({
        figure: 'one chart changed (median of 7)',
        value: `${median(oneChanged).toFixed(0)} ms (${(median(oneChanged) / median(helmOne)).toFixed(2)}x)`,
        baseline: `helm package of that chart alone ${median(helmOne).toFixed(0)} ms`,
        goal: '< 1.5x helm package',
        pass: median(oneChanged) < 1.5 * median(helmOne),
      }),
    ];
    process.exitCode = ok.every(Boolean) ? 0 : 1;
  } finally {
    serve.stop();
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
