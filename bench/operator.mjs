#!/usr/bin/env node
// Scale benchmark of the operator: N Chartmuseum resources (default 1,000) created at once against
// a real kube-apiserver + etcd (envtest) and the real sidecar (`chartsync serve`, local storage),
// the operator running with the chart's RBAC and its default settings. Measures the time until
// every resource is Ready=True, the operator's peak resident memory (VmHWM, from the kernel), and
// where the CPU went (operator, sidecar, kube-apiserver, etcd: user+system seconds from /proc).
// Each resource is its own chart repository (own repoName) synced from one of a few git
// repositories over file://.
// Usage: node bench/operator.mjs [--count N] [--workers W]   (needs `pnpm build`)
// Goals (issue 11): 1,000 resources Ready in under 60 s; operator peak RSS under 120 MiB.
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { keepAliveRequests, kubeRequest } from '../test/harness/kube.ts';
import { chartmuseum, chartRepo, fileUrl, startWorld } from '../test/operator/fixture.ts';
import { arg, loadNote, memoryOf, report } from './lib.mjs';

const COUNT = arg('--count', 1000);
const WORKERS = arg('--workers', 0); // 0: the operator's default
const NS = 'default';
const GOAL_COUNT = 1000;
const GOAL_READY_S = 60;
const GOAL_RSS_MIB = 120;

/** user+system CPU seconds of a process (`children`: of its children it has waited for). */
async function cpuSeconds(pid, children = false) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime (cutime, cstime) in clock ticks (USER_HZ = 100)
    return children ? (Number(f[13]) + Number(f[14])) / 100 : (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Pids of this process's descendants whose command name is `comm`. */
async function descendants(comm) {
  const parent = new Map();
  const names = new Map();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      names.set(Number(e), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const isOurs = (pid) => {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, n]) => n === comm && isOurs(pid)).map(([pid]) => pid);
}

/** apiserver_request_total by "VERB resource[/subresource]", from the API server's metrics. */
async function apiRequests(kc) {
  const text = await kubeRequest(kc, 'GET', '/metrics');
  const counts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (k) => new RegExp(`[{,]${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const sub = label('subresource');
    const key = `${label('verb')} ${label('resource')}${sub ? `/${sub}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

/** Requests made between two `apiRequests` readings, per resource created, largest first. */
function requestsPer(before, after, n) {
  const rows = Object.keys(after)
    .map((k) => [k, (after[k] - (before[k] ?? 0)) / n])
    .filter(([, v]) => v >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(rows.map(([k, v]) => [k, +v.toFixed(2)]));
}

const isReady = (cm) => cm.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * The names of the Ready resources, kept current by a watch (polling a list of 1,000 objects
 * would itself load the API server the operator is measured against).
 */
async function watchReady(kc, path) {
  const ready = new Set();
  let stopped = false;
  let req;
  const resync = async () => {
    let list;
    // A CRD just installed answers 429 while the API server's cache of it starts.
    for (let i = 0; !list; i++)
      list = await kubeRequest(kc, 'GET', path).catch(async (err) => {
        if (err.code !== 429 || i > 100) throw err;
        await new Promise((r) => setTimeout(r, 300));
      });
    ready.clear();
    for (const cm of list.items) if (isReady(cm)) ready.add(cm.metadata.name);
    return list.metadata.resourceVersion;
  };
  const loop = async (resourceVersion) => {
    let rv = resourceVersion;
    const q = new URLSearchParams({ watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true' });
    const opts = { method: 'GET', headers: { accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    const again = (failed) => {
      if (stopped) return;
      // Ended (server timeout) or failed (e.g. 410 Gone): list again if needed, then watch on.
      setTimeout(() => (failed ? resync() : Promise.resolve(rv)).then(loop, () => loop(rv)), 100);
    };
    req = request(new URL(`${path}?${q}`, kc.getCurrentCluster().server), opts, (res) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) {
          const { type, object } = JSON.parse(line);
          if (type === 'ERROR') return res.destroy(new Error(object.message));
          rv = object.metadata?.resourceVersion ?? rv;
          if (type === 'BOOKMARK') continue;
          if (type !== 'DELETED' && isReady(object)) ready.add(object.metadata.name);
          else ready.delete(object.metadata.name);
        }
      });
      res.on('error', () => again(true));
      res.on('end', () => again(res.statusCode !== 200));
    });
    req.on('error', () => again(true));
    req.end();
  };
  await loop(await resync());
  return {
    ready,
    stop: () => {
      stopped = true;
      req?.destroy();
    },
  };
}

const seconds = (ms) => +(ms / 1000).toFixed(1);
/** When the k-th (of n) log record with `msg` was written, seconds after `start`. */
function timeline(records, msg, start) {
  const ts = records.filter((r) => r.msg === msg).map((r) => Number(r.time) - start);
  ts.sort((a, b) => a - b);
  const at = (q) => (ts.length ? seconds(ts[Math.min(ts.length - 1, Math.ceil(q * ts.length) - 1)]) : null);
  return { n: ts.length, p50: at(0.5), p90: at(0.9), last: at(1) };
}

console.log(`operator benchmark: ${COUNT} resources; ${await loadNote()}`);
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
  const op = await w.startOperator({
    ...(WORKERS ? { WORKERS: String(WORKERS) } : {}),
    RESYNC_SECONDS: '60',
    LOG_LEVEL: 'info',
  });
  const setupMs = Date.now() - t0;
  const pids = {
    operator: [op.proc.pid],
    sidecar: [w.sidecar.proc.pid],
    'kube-apiserver': await descendants('kube-apiserver'),
    etcd: await descendants('etcd'),
  };
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const cpuOf = async () => ({
    ...Object.fromEntries(
      await Promise.all(
        Object.entries(pids).map(async ([k, ps]) => [
          k,
          (await Promise.all(ps.map((p) => cpuSeconds(p)))).reduce((a, b) => a + b, 0),
        ]),
      ),
    ),
    // The git processes the sidecar ran (counted once it has reaped them) and this benchmark's
    // own share (its watch of every resource).
    'sidecar git': await cpuSeconds(w.sidecar.proc.pid, true),
    bench: own(),
  });
  const cpu0 = await cpuOf();
  const idleRss = await memoryOf(op.proc.pid);

  const cmPath = `/apis/cm.bitnami.com/v1alpha1/namespaces/${NS}/chartmuseums`;
  const watcher = await watchReady(w.admin, cmPath);
  const requests0 = await apiRequests(w.admin);
  const start = Date.now();
  const names = Array.from({ length: COUNT }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  // Created as `kubectl create` would, 25 requests at a time, over kept-alive connections as one
  // client would (a TLS handshake per request would load the API server the operator is measured
  // against).
  const client = keepAliveRequests(w.admin);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(
      names
        .slice(i, i + 25)
        .map((name, j) =>
          client.request(
            'POST',
            cmPath,
            chartmuseum(NS, name, { git: fileUrl(repos[(i + j) % repos.length]), updateEveryMinutes: 15 }),
          ),
        ),
    );
  }
  client.close();
  const createdMs = Date.now() - start;
  while (watcher.ready.size < COUNT) {
    if (Date.now() - start > 30 * 60_000)
      throw new Error(`only ${watcher.ready.size}/${COUNT} Ready after 30 minutes`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const allReadyMs = Date.now() - start;
  watcher.stop();
  const cpu1 = await cpuOf();
  const requests1 = await apiRequests(w.admin);
  const cronJobs = await kubeRequest(w.admin, 'GET', `/apis/batch/v1/namespaces/${NS}/cronjobs`);
  const mem = await memoryOf(op.proc.pid);
  const metrics = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  const metric = (re) => Number(re.exec(metrics)?.[1] ?? NaN);
  const reconciles = metric(/^chartsync_operator_reconcile_duration_seconds_count (\S+)/m);
  const reconcileSum = metric(/^chartsync_operator_reconcile_duration_seconds_sum (\S+)/m);
  const records = op.records();
  const failures = records.filter((r) => r.msg === 'reconcile failed').length;
  await op.stop();
  const result = {
    resources: COUNT,
    workers: WORKERS || '(default)',
    setupSeconds: seconds(setupMs),
    createSeconds: seconds(createdMs),
    allReadySeconds: seconds(allReadyMs),
    perResourceMs: Math.round(allReadyMs / COUNT),
    reconcilesPerResource: +(reconciles / COUNT).toFixed(2),
    reconcileMeanMs: Math.round((reconcileSum / reconciles) * 1000),
    registered: timeline(records, 'repository registered; sync started', start),
    firstSyncFinished: timeline(records, 'first sync finished', start),
    apiRequestsPerResource: requestsPer(requests0, requests1, COUNT),
    cpuSeconds: Object.fromEntries(Object.keys(cpu1).map((k) => [k, +(cpu1[k] - cpu0[k]).toFixed(1)])),
    operatorHeapMiB: {
      used: +(metric(/^chartsync_operator_nodejs_heap_size_used_bytes (\S+)/m) / 2 ** 20).toFixed(1),
      total: +(metric(/^chartsync_operator_nodejs_heap_size_total_bytes (\S+)/m) / 2 ** 20).toFixed(1),
      external: +(metric(/^chartsync_operator_nodejs_external_memory_bytes (\S+)/m) / 2 ** 20).toFixed(1),
    },
    cronJobs: cronJobs.items.length,
    operatorIdleRssMiB: +idleRss.rssMiB.toFixed(1),
    operatorPeakRssMiB: +mem.peakMiB.toFixed(1),
    operatorRssAtEndMiB: +mem.rssMiB.toFixed(1),
    reconcileFailures: failures,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`load at the end: ${await loadNote()}`);
  // The goals are stated for 1,000 resources: a smaller run scales the time goal down with it.
  const readyGoal = (GOAL_READY_S * COUNT) / GOAL_COUNT;
  report({
    figure: `${COUNT} Chartmuseum resources all Ready`,
    value: `${result.allReadySeconds} s`,
    goal: `< ${+readyGoal.toFixed(1)} s`,
    pass: result.allReadySeconds < readyGoal,
  });
  report({
    figure: `operator peak RSS (${COUNT} resources)`,
    value: `${result.operatorPeakRssMiB} MiB`,
    baseline: `${result.operatorIdleRssMiB} MiB idle, before any resource`,
    goal: `< ${GOAL_RSS_MIB} MiB`,
    pass: result.operatorPeakRssMiB < GOAL_RSS_MIB,
  });
  report({
    figure: `CronJobs created, reconciles failed (${COUNT} resources)`,
    value: `${result.cronJobs} CronJobs, ${failures} failed`,
    goal: `${COUNT} CronJobs, 0 failed`,
    pass: result.cronJobs === COUNT && failures === 0,
  });
} finally {
  await w.stop();
}
