/**
 * Chart builds run on build threads, time-boxed: against the running sidecar, a hostile chart
 * whose build takes far longer than its box (16 subcharts with 5 MB Chart.yaml files: seconds of
 * YAML parsing each) fails alone with BuildTimeout while the other charts of the repo publish,
 * and `/healthz` and `GET /repo` keep answering quickly the whole time (with the build on the
 * main thread they stalled for many seconds).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileUrl, fixtureGit, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

/** Generous: a build on the main thread stalls the server for seconds, far above this. */
const MAX_STALL_MS = 1000;
/** The box of the test sidecar: small charts build in ms (even on a loaded machine), the heavy one needs far more. */
const BOX_SECONDS = 2;

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let sidecar: SidecarProcess;

before(async () => {
  tmp = await tempDir('chartsync-responsive-');
  git = await startGitServers();
  sidecar = await startSidecarProcess({
    args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-local-git'],
    env: { CHARTSYNC_BUILD_TIMEOUT: String(BOX_SECONDS), LOG_LEVEL: 'info' },
    readyTimeoutMs: 60_000,
  });
});
after(async () => {
  await sidecar?.stop();
  await git?.stop();
  await tmp?.cleanup();
});

/**
 * A parent chart with 16 subcharts, each with a valid Chart.yaml of nearly 5 MB (under helm's
 * per-file cap and the YAML node cap): about a second of parsing each. Cheap for git: it compresses.
 */
function heavyChart(): Record<string, string> {
  const files: Record<string, string> = chartFiles('heavy', 'heavy');
  for (let i = 0; i < 16; i++) {
    const annotations = Array.from({ length: 85_000 }, (_, k) => `  k${i}-${k}: "${'v'.repeat(36)}${k}"\n`);
    files[`heavy/charts/sub${i}/Chart.yaml`] =
      `apiVersion: v2\nname: sub${i}\nversion: 1.0.0\nannotations:\n${annotations.join('')}`;
  }
  return files;
}

/** Polls `/healthz` and `GET /repo` back to back until stopped; answers the latencies seen. */
function pollLatency(url: string): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const t = performance.now();
      const res = await fetch(`${url}${i % 2 ? '/repo' : '/healthz'}`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      latencies.push(performance.now() - t);
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

test('a chart over its build time box fails alone with BuildTimeout; the server stays responsive', async () => {
  const repo = await git.repos.create('mixed', {
    ...chartFiles('charts/a', 'a'),
    ...chartFiles('charts/b', 'b'),
    ...chartFiles('charts/c', 'c'),
  });
  // Big files are stored whole, not delta-searched: keeps the fixture cheap to push and clone.
  for (const dir of [repo.work, repo.bare]) await fixtureGit(['config', 'core.bigFileThreshold', '1m'], dir);
  await repo.write(heavyChart());
  await repo.commit('a hostile chart');
  await repo.push();
  const poll = pollLatency(sidecar.url);
  const started = performance.now();
  const result = await sidecar.client().upsertRepo({ name: 'mixed', git: fileUrl(repo) });
  const syncMs = performance.now() - started;
  const latencies = await poll.stop();

  const byName = new Map(result.charts.map((c) => [c.name, c]));
  for (const name of ['a', 'b', 'c']) assert.equal(byName.get(name)?.action, 'published', name);
  const heavy = byName.get('heavy');
  assert.equal(heavy?.action, 'failed');
  assert.equal(heavy?.reason, 'BuildTimeout');
  assert.match(heavy?.error ?? '', /longer than 2 s/);
  const published = (await readdir(join(tmp.path, 'storage/mixed'))).filter((f) => f.endsWith('.tgz'));
  assert.deepEqual(published.sort(), ['a-1.0.0.tgz', 'b-1.0.0.tgz', 'c-1.0.0.tgz']);
  // Nothing of the stopped build is left behind.
  assert.deepEqual(await readdir(join(tmp.path, 'storage/.chartsync/staging')).catch(() => []), []);

  assert.ok(latencies.length >= 5, `only ${latencies.length} requests answered during ${syncMs} ms`);
  const worst = Math.max(...latencies);
  assert.ok(worst < MAX_STALL_MS, `the server stalled ${worst.toFixed(0)} ms during the sync`);
});
