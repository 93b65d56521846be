/**
 * Load on a running sidecar: 50 concurrent updates of one repository while a new commit waits
 * (at most one follow-up run; every caller gets an answer, all the same commit, one of them the
 * publication), status calls at a steady rate the whole time (all answered, promptly, some of
 * them seeing `syncing: true`), and the sidecar's RSS sampled from /proc throughout (bounded).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { type Answer, startWorld, type World } from '../security/world.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

const CHARTS = 30;
const CALLERS = 50;
let w: World;
let repo: Awaited<ReturnType<World['git']['repos']['create']>>;

function charts(version: string): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {};
  for (let i = 0; i < CHARTS; i++) {
    Object.assign(files, chartFiles(`charts/c${i}`, `c${i}`, { version }));
    files[`charts/c${i}/files/blob.bin`] = randomBytes(128 * 1024);
  }
  return files;
}

/** Samples VmRSS of `pid` every 50 ms until stopped; returns the peak in bytes. */
function sampleRss(pid: number): () => number {
  let peak = 0;
  const timer = setInterval(async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kb * 1024);
  }, 50);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/** GET /repo/<name> every `everyMs` until stopped; returns the answers with their latency. */
function pollStatus(name: string, everyMs: number): () => Promise<{ a: Answer; ms: number }[]> {
  const calls: Promise<{ a: Answer; ms: number }>[] = [];
  const timer = setInterval(() => {
    const started = performance.now();
    calls.push(w.api('GET', `/repo/${name}`).then((a) => ({ a, ms: performance.now() - started })));
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Promise.all(calls);
  };
}

const started = (from: number) => w.sidecar.logs.slice(from).filter((l) => /"sync started"/.test(l)).length;

before(async () => {
  // Over smart HTTP: every run asks git (a local repository's refs are read from its files, a
  // no-change run then takes ~3 ms, too short for 50 callers to meet one in progress)
  w = await startWorld({ args: ['--allow-insecure-git'], git: { http: true } });
  repo = await w.git.repos.create('busy', charts('1.0.0'));
  const url = w.git.http?.url('busy');
  assert.ok(url);
  const first = await w.api('POST', '/repo/new', { json: { name: 'busy', git: url } });
  assert.equal(first.status, 200, first.text);
});
after(async () => {
  await w?.stop();
});

describe('load', () => {
  test(`${CALLERS} concurrent updates with a new commit: at most one follow-up run, every caller answered alike`, async (t) => {
    await repo.write(charts('2.0.0'));
    const head = await repo.commit('2.0.0');
    await repo.push();
    const logFrom = w.sidecar.logs.length;
    const rss = sampleRss(w.sidecar.proc.pid as number);
    const status = pollStatus('busy', 50);
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () => w.api('POST', '/repo/busy/update')),
    );
    const polled = await status();
    const peak = rss();

    const runs = started(logFrom);
    assert.ok(runs >= 1 && runs <= 2, `${runs} sync runs for ${CALLERS} callers`);
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.commit, head);
    }
    const publishing = answers.filter((a) =>
      (a.json.charts as { action: string }[]).some((c) => c.action === 'published'),
    );
    assert.ok(publishing.length >= 1, 'the run that published answered its callers');
    for (const a of answers) {
      const charts = a.json.charts as { name: string; version: string; action: string }[];
      assert.equal(
        charts.filter((c) => c.version === '2.0.0').length,
        CHARTS,
        'every answer lists the new versions',
      );
      assert.ok(charts.every((c) => c.action === 'published' || c.action === 'unchanged'));
    }

    assert.ok(polled.length >= 5, `${polled.length} status calls were made during the sync`);
    for (const { a } of polled) assert.equal(a.status, 200, a.text);
    assert.ok(
      polled.some(({ a }) => a.json.syncing === true),
      'status calls saw the sync in progress',
    );
    const slowest = Math.max(...polled.map((p) => p.ms));
    assert.ok(slowest < 2000, `status answered within 2 s while syncing (slowest ${Math.round(slowest)} ms)`);
    t.diagnostic(
      `${runs} run(s), ${polled.length} status calls, slowest ${Math.round(slowest)} ms, peak RSS ${Math.round(peak / 2 ** 20)} MiB`,
    );
    assert.ok(peak > 0 && peak < 350 * 1024 * 1024, `peak RSS ${Math.round(peak / 2 ** 20)} MiB`);
  });

  test(`${CALLERS} concurrent updates with nothing new: all answered unchanged, by a few runs`, async () => {
    const logFrom = w.sidecar.logs.length;
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, () => w.api('GET', '/repo/busy/update')),
    );
    // Calls that arrive while a run is in progress share one follow-up run. A no-change run is
    // short (tens of ms), and on a loaded machine the calls reach the server spread over more
    // than one run: a third run is then right. Without coalescing there would be CALLERS runs.
    assert.ok(started(logFrom) <= 4, `${started(logFrom)} runs for ${CALLERS} calls`);
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      assert.equal(a.json.changed, false);
    }
  });

  test('memory is given back: RSS after the load stays bounded', async () => {
    const status = await readFile(`/proc/${w.sidecar.proc.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
    assert.ok(rss < 300 * 1024 * 1024, `RSS ${Math.round(rss / 2 ** 20)} MiB`);
  });
});
