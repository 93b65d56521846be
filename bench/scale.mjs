#!/usr/bin/env node
// Scale, memory and responsiveness of the sidecar (`chartsync serve`, local storage), each figure
// next to a baseline measured in the same run:
//   responsive   p99 of /healthz + GET /repo while a 200-chart repo syncs, and while a hostile
//                chart (a 4.9 MB values.yaml that expands past the YAML node cap) is refused;
//                baseline: the same requests against the idle server
//   cold sync    1,000 generated charts vs 100: time, charts/s, sidecar peak RSS, and how the
//                per-chart cost grows (1,000-chart cost per chart / 100-chart cost per chart)
//   big chart    sidecar peak RSS while it publishes one 95 MB chart (19 files of 5 MB)
//   scheduled    100 registered repos (standalone config, a 6-field cron every 30 s): time
//                until all first syncs are done, then one scheduled round, peak RSS
// Each scenario runs on a fresh sidecar so that peak RSS (VmHWM) is its own.
// Usage: node bench/scale.mjs [--charts 1000] [--repos 100] [--only responsive,big,cold,scheduled]
// (needs `pnpm build`)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { arg, chartRepo, loadNote, memoryOf, percentile, post, report, startServe, time } from './lib.mjs';

const CHARTS = arg('--charts', 1000);
const REPOS = arg('--repos', 100);
const RSS_GOAL_MIB = 150;
const P99_GOAL_MS = 50;

/** Polls /healthz and GET /repo alternately until `during` settles; answers the latencies. */
async function latenciesDuring(url, during) {
  const latencies = [];
  let done = false;
  const poller = (async () => {
    for (let i = 0; !done; i++) {
      const t = performance.now();
      const res = await fetch(`${url}${i % 2 ? '/repo' : '/healthz'}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      await sleep(10);
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await poller;
  }
  return latencies;
}

async function idleLatencies(url) {
  let n = 0;
  return latenciesDuring(url, async () => {
    while (n++ < 100) await sleep(10);
  });
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function responsiveness(tmp) {
  const repo = await chartRepo(join(tmp, 'r200'), 200);
  const bombLines = [];
  for (let k = 0, size = 0; size < 4_900_000; k++) {
    const line = `k${k}:\n  a: [1, 2, {b: c${k}}]\n  d: "x${k}"\n`;
    bombLines.push(line);
    size += line.length;
  }
  const hostile = await chartRepo(join(tmp, 'hostile'), 2, {
    'charts/hostile/Chart.yaml': 'apiVersion: v2\nname: hostile\nversion: 1.0.0\n',
    'charts/hostile/values.yaml': bombLines.join(''),
  });
  const serve = await startServe(['--storage-dir', join(tmp, 'storage-resp')]);
  try {
    const idle = await idleLatencies(serve.url);
    const during = await latenciesDuring(serve.url, () =>
      post(`${serve.url}/repo/new`, { name: 'r200', git: repo.url }),
    );
    let refused;
    const duringHostile = await latenciesDuring(serve.url, async () => {
      refused = await post(`${serve.url}/repo/new`, { name: 'hostile', git: hostile.url });
    });
    const bad = refused.charts.find((c) => c.name === 'hostile');
    if (bad?.action !== 'failed')
      throw new Error(`the hostile chart was not refused: ${JSON.stringify(bad)}`);
    const p99 = percentile(during, 99);
    const p99h = percentile(duringHostile, 99);
    report({
      figure: '/healthz + GET /repo p99 during a 200-chart sync',
      value: `${fmt(p99)} (max ${fmt(Math.max(...during))}, ${during.length} requests)`,
      baseline: `idle server p99 ${fmt(percentile(idle, 99))}`,
      goal: `< ${P99_GOAL_MS} ms`,
      pass: p99 < P99_GOAL_MS,
    });
    report({
      figure: '/healthz + GET /repo p99 while a hostile chart is refused',
      value: `${fmt(p99h)} (max ${fmt(Math.max(...duringHostile))}, ${duringHostile.length} requests)`,
      baseline: `idle server p99 ${fmt(percentile(idle, 99))}`,
      goal: `< ${P99_GOAL_MS} ms`,
      pass: p99h < P99_GOAL_MS,
    });
  } finally {
    await serve.stop();
  }
}

/** Cold sync of a generated repo on a fresh sidecar: time, throughput, peak RSS. */
async function coldSync(tmp, count) {
  const repo = await chartRepo(join(tmp, `cold-${count}`), count);
  const serve = await startServe(['--storage-dir', join(tmp, `storage-${count}`)]);
  try {
    const ms = await time(async () => {
      const r = await post(`${serve.url}/repo/new`, { name: `cold${count}`, git: repo.url });
      const published = r.charts.filter((c) => c.action === 'published').length;
      if (published !== count) throw new Error(`${published}/${count} charts published`);
    });
    return { ms, perSecond: (count * 1000) / ms, ...(await memoryOf(serve.pid)) };
  } finally {
    await serve.stop();
  }
}

async function scale(tmp) {
  const small = await coldSync(tmp, CHARTS / 10);
  const big = await coldSync(tmp, CHARTS);
  const growth = big.ms / CHARTS / (small.ms / (CHARTS / 10));
  report({
    figure: `cold sync of ${CHARTS} charts`,
    value: `${(big.ms / 1000).toFixed(1)} s, ${big.perSecond.toFixed(0)} charts/s, peak RSS ${big.peakMiB.toFixed(0)} MiB`,
    baseline: `${CHARTS / 10} charts: ${(small.ms / 1000).toFixed(1)} s, ${small.perSecond.toFixed(0)} charts/s, peak RSS ${small.peakMiB.toFixed(0)} MiB`,
    goal: `peak RSS < ${RSS_GOAL_MIB} MiB`,
    pass: big.peakMiB < RSS_GOAL_MIB,
  });
  report({
    figure: `cost per chart, ${CHARTS} vs ${CHARTS / 10} charts`,
    value: `${growth.toFixed(2)}x (time ratio ${(big.ms / small.ms).toFixed(1)} for 10x the charts)`,
    baseline: `${(small.ms / (CHARTS / 10)).toFixed(1)} ms per chart at ${CHARTS / 10}`,
    goal: '<= 1.5x (linear)',
    pass: growth <= 1.5,
  });
}

async function bigChart(tmp) {
  const files = {};
  for (let i = 0; i < 19; i++) files[`charts/big/files/blob-${i}.bin`] = randomBytes(5_000_000);
  files['charts/big/Chart.yaml'] = 'apiVersion: v2\nname: big\nversion: 1.0.0\n';
  const repo = await chartRepo(join(tmp, 'big'), 0, files);
  const serve = await startServe(['--storage-dir', join(tmp, 'storage-big')], {
    CHARTSYNC_BUILD_TIMEOUT: '600',
  });
  try {
    const idle = await memoryOf(serve.pid);
    const r = await post(`${serve.url}/repo/new`, { name: 'big', git: repo.url });
    if (r.charts[0]?.action !== 'published') throw new Error(`95 MB chart: ${JSON.stringify(r.charts)}`);
    const mem = await memoryOf(serve.pid);
    report({
      figure: 'sidecar peak RSS publishing a 95 MB chart',
      value: `${mem.peakMiB.toFixed(0)} MiB`,
      baseline: `idle sidecar ${idle.peakMiB.toFixed(0)} MiB`,
      goal: `< ${RSS_GOAL_MIB} MiB`,
      pass: mem.peakMiB < RSS_GOAL_MIB,
    });
  } finally {
    await serve.stop();
  }
}

async function scheduled(tmp) {
  const repo = await chartRepo(join(tmp, 'sched'), 10);
  const config = join(tmp, 'chartsync.yaml');
  const repos = Array.from(
    { length: REPOS },
    (_, i) => `  - name: sched-${i}\n    git: ${repo.url}\n    schedule: "*/30 * * * * *"\n`,
  );
  await writeFile(
    config,
    `storageDir: ${join(tmp, 'storage-sched')}\nallowLocalGit: true\nrepos:\n${repos.join('')}`,
  );
  const started = performance.now();
  const serve = await startServe(['--config', config]);
  const syncedAfter = async (since) => {
    // A reused keep-alive connection may be reset by the busy server: ask again next round.
    const list = await fetch(`${serve.url}/repo`)
      .then((res) => res.json())
      .catch(() => []);
    return list.filter((r) => r.lastSync && Date.parse(r.lastSync.at) >= since && !r.lastSync.error).length;
  };
  try {
    while ((await syncedAfter(0)) < REPOS) await sleep(200);
    const firstMs = performance.now() - started;
    // The next scheduled round: every repo checks its remote again (nothing changed).
    const roundStart = Date.now();
    const deadline = roundStart + 120_000;
    while ((await syncedAfter(roundStart)) < REPOS && Date.now() < deadline) await sleep(200);
    const round = await syncedAfter(roundStart);
    const mem = await memoryOf(serve.pid);
    report({
      figure: `${REPOS} registered repos (10 charts each) syncing on schedule`,
      value: `first syncs ${(firstMs / 1000).toFixed(1)} s (${((REPOS * 10 * 1000) / firstMs).toFixed(0)} charts/s), ${round}/${REPOS} synced again by the next scheduled round, peak RSS ${mem.peakMiB.toFixed(0)} MiB`,
      baseline: 'schedule every 30 s',
      goal: `every repo on schedule, peak RSS < ${RSS_GOAL_MIB} MiB`,
      pass: round === REPOS && mem.peakMiB < RSS_GOAL_MIB,
    });
  } finally {
    await serve.stop();
  }
}

console.log(`sidecar scale benchmark: ${await loadNote()}`);
const tmp = await mkdtemp(join(tmpdir(), 'chartsync-bench-scale-'));
const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1].split(',')
  : undefined;
const scenarios = { responsive: responsiveness, big: bigChart, cold: scale, scheduled };
try {
  for (const [name, scenario] of Object.entries(scenarios))
    if (!only || only.includes(name)) await scenario(tmp);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
