#!/usr/bin/env node
// Scale benchmark of the operator: N Chartmuseum resources (default 200) created at once against
// a real kube-apiserver + etcd (envtest) and the real sidecar (`chartsync serve`, local storage),
// the operator running with the chart's RBAC. Measures the time until every resource is
// Ready=True, and the operator's peak resident memory (VmHWM). Each resource is its own chart
// repository (own repoName) synced from one of a few git repositories over file://.
// Usage: node bench/operator.mjs [--count N] [--workers W]   (needs `pnpm build`)
import { readFile } from 'node:fs/promises';
import { apply, kubeRequest } from '../test/harness/kube.ts';
import { chartmuseum, chartRepo, fileUrl, startWorld } from '../test/operator/fixture.ts';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const COUNT = arg('--count', 200);
const WORKERS = arg('--workers', 4);
const NS = 'default';

async function peakRss(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

const t0 = Date.now();
const w = await startWorld();
try {
  const repos = [];
  for (let i = 0; i < 5; i++)
    repos.push(
      await chartRepo(w.repos, `bench-${i}`, [
        [`app-${i}`, '1.0.0'],
        [`lib-${i}`, '0.1.0'],
      ]),
    );
  const op = await w.startOperator({ WORKERS: String(WORKERS), RESYNC_SECONDS: '60', LOG_LEVEL: 'info' });
  const setupMs = Date.now() - t0;

  const start = Date.now();
  const names = Array.from({ length: COUNT }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names
        .slice(i, i + 25)
        .map((name, j) =>
          apply(w.admin, [
            chartmuseum(NS, name, { git: fileUrl(repos[(i + j) % repos.length]), updateEveryMinutes: 15 }),
          ]),
        ),
    );
  }
  const createdMs = Date.now() - start;
  let ready = 0;
  let sampledPeak = 0;
  for (;;) {
    const list = await kubeRequest(
      w.admin,
      'GET',
      `/apis/cm.bitnami.com/v1alpha1/namespaces/${NS}/chartmuseums`,
    );
    ready = list.items.filter((cm) =>
      cm.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    sampledPeak = Math.max(sampledPeak, (await peakRss(op.proc.pid)).rssMiB);
    if (ready >= COUNT) break;
    if (Date.now() - start > 30 * 60_000) throw new Error(`only ${ready}/${COUNT} Ready after 30 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const allReadyMs = Date.now() - start;
  const cronJobs = await kubeRequest(w.admin, 'GET', `/apis/batch/v1/namespaces/${NS}/cronjobs`);
  const mem = await peakRss(op.proc.pid);
  const failures = op.records().filter((r) => r.msg === 'reconcile failed').length;
  await op.stop();
  const result = {
    resources: COUNT,
    workers: WORKERS,
    setupSeconds: +(setupMs / 1000).toFixed(1),
    createSeconds: +(createdMs / 1000).toFixed(1),
    allReadySeconds: +(allReadyMs / 1000).toFixed(1),
    perResourceMs: Math.round(allReadyMs / COUNT),
    cronJobs: cronJobs.items.length,
    operatorPeakRssMiB: +mem.peakMiB.toFixed(1),
    operatorRssAtEndMiB: +mem.rssMiB.toFixed(1),
    reconcileFailures: failures,
  };
  console.log(
    `operator bench: ${COUNT} Chartmuseum resources Ready in ${result.allReadySeconds} s ` +
      `(${result.perResourceMs} ms each, ${WORKERS} workers); operator peak RSS ${result.operatorPeakRssMiB} MiB`,
  );
  console.log(JSON.stringify(result, null, 2));
  if (result.cronJobs !== COUNT) throw new Error(`expected ${COUNT} CronJobs, found ${result.cronJobs}`);
} finally {
  await w.stop();
}
