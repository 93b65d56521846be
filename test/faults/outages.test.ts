/**
 * Each outside part stopped and restarted while work goes on, and everything recovering by
 * itself, with no call from the test other than reading status:
 * - ChartMuseum (the API stand-in) and the git server, under a standalone sidecar whose
 *   schedule re-syncs every 2 seconds: the scheduled runs fail and say why while the part is
 *   down, then publish the waiting commit once it is back;
 * - the Kubernetes API server under the operator: a resource applied just before the API server
 *   goes down, and one applied while it is down... after it is back, both become Ready; the
 *   operator never exits.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ChartMuseumApi } from '../harness/chartmuseum-api.ts';
import type { FixtureRepo } from '../harness/git-server.ts';
import { apply, kubeRequest } from '../harness/kube.ts';
import { tempDir } from '../harness/paths.ts';
import {
  chartmuseum,
  chartRepo,
  cmPath,
  fileUrl,
  type OperatorProcess,
  type World as OperatorWorld,
  startWorld as startOperatorWorld,
  waitReady,
} from '../operator/fixture.ts';
import { startWorld, until, type World } from '../security/world.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

describe('ChartMuseum and the git server go down and come back (scheduled syncs every 2 s)', () => {
  let w: World;
  let cm: ChartMuseumApi;
  let repo: FixtureRepo;
  let cmTmp: { path: string; cleanup: () => Promise<void> };
  const auth = { username: 'museum', password: 'museum-pass' };
  const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  /** Versions of `app` ChartMuseum holds for the repo `auto` ([] while it is down). */
  const stored = async (): Promise<string[]> => {
    const res = await fetch(`${cm.url}/api/auto/charts/app`, { headers: { authorization: basic } }).catch(
      () => undefined,
    );
    if (!res?.ok) return [];
    return ((await res.json()) as { version: string }[]).map((v) => v.version).sort();
  };
  type LastSync = { commit: string; at: string; error?: { error: string; message: string } };
  const lastSync = async () => (await w.api('GET', '/repo/auto')).json.lastSync as LastSync | undefined;
  /** Waits for a scheduled run that finished after `since` and matches `ok`. */
  const scheduledRun = (what: string, since: string, ok: (s: LastSync) => boolean) =>
    until(
      what,
      async () => {
        const s = await lastSync();
        return s && s.at > since && ok(s) ? s : undefined;
      },
      30_000,
    );
  const push = async (version: string) => {
    await repo.write(chartFiles('app', 'app', { version }));
    const head = await repo.commit(`app ${version}`);
    await repo.push();
    return head;
  };

  before(async () => {
    cmTmp = await tempDir('chartsync-cm-');
    cm = await new ChartMuseumApi({ root: cmTmp.path, ...auth }).start();
    w = await startWorld({
      git: { http: true },
      targetArgs: ['--chartmuseum-url', cm.url],
      env: { CHARTMUSEUM_USERNAME: auth.username, CHARTMUSEUM_PASSWORD: auth.password },
      args: async (git, root) => {
        repo = await git.repos.create('auto', chartFiles('app', 'app'));
        const config = join(root, 'chartsync.yaml');
        const repos = [{ name: 'auto', git: git.http?.url('auto'), schedule: '*/2 * * * * *' }];
        await writeFile(config, stringify({ repos }));
        return ['--allow-insecure-git', '--config', config];
      },
    });
    await until('the first scheduled sync', async () => (await stored()).includes('1.0.0'), 30_000);
  });
  after(async () => {
    await w?.stop();
    await cm?.stop();
    await cmTmp?.cleanup();
  });

  it('ChartMuseum down: scheduled runs fail naming it; back up: the waiting commit is published by itself', async () => {
    await cm.stop();
    const since = new Date().toISOString();
    const head = await push('2.0.0');
    const failed = await scheduledRun('a failed run', since, (s) => s.error?.error === 'upstream_failed');
    assert.match(failed.error?.message ?? '', /chartmuseum http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED/);
    assert.equal((await w.api('GET', '/healthz', { token: null })).status, 200, 'the sidecar stays alive');
    await cm.start();
    await until('2.0.0 in ChartMuseum', async () => (await stored()).includes('2.0.0'), 30_000);
    assert.deepEqual(await stored(), ['1.0.0', '2.0.0']);
    const ok = await scheduledRun('a clean run', since, (s) => !s.error && s.commit === head);
    assert.equal(ok.commit, head);
  });

  it('git server down: scheduled runs fail naming it, nothing is removed; back up: published by itself', async () => {
    await w.git.http?.stop();
    const since = new Date().toISOString();
    const head = await push('3.0.0');
    const failed = await scheduledRun('a failed run', since, (s) => s.error?.error === 'upstream_failed');
    assert.match(failed.error?.message ?? '', /127\.0\.0\.1/);
    assert.deepEqual(await stored(), ['1.0.0', '2.0.0'], 'a failed fetch never removes anything');
    await w.git.http?.start();
    await until('3.0.0 in ChartMuseum', async () => (await stored()).includes('3.0.0'), 30_000);
    const ok = await scheduledRun('a clean run', since, (s) => !s.error && s.commit === head);
    assert.equal(ok.commit, head);
    assert.deepEqual(await stored(), ['1.0.0', '2.0.0', '3.0.0']);
  });

  it('the ChartMuseum password never appeared in a log line or an API answer through all this', async () => {
    const answers = await Promise.all(['/repo', '/repo/auto'].map((p) => w.api('GET', p)));
    assert.match(w.sidecar.logs.join('\n'), /ECONNREFUSED/, 'the failures were logged');
    for (const text of [...w.sidecar.logs, ...answers.map((a) => a.text)])
      assert.ok(!text.includes(auth.password), text.slice(0, 200));
  });
});

describe('the Kubernetes API server goes down and comes back under the operator', () => {
  const NS = 'default';
  let world: OperatorWorld;
  let op: OperatorProcess;

  before(async () => {
    world = await startOperatorWorld();
    op = await world.startOperator();
    const first = await chartRepo(world.repos, 'first', [['one', '1.0.0']]);
    await apply(world.admin, [chartmuseum(NS, 'first', { git: fileUrl(first) })]);
    await waitReady(world.admin, NS, 'first', { status: 'True', reason: 'Synced' });
  });
  after(async () => {
    await op?.stop();
    await world?.stop();
  });

  it('work in flight when it stops and work applied after it is back both complete; the operator stays up', async () => {
    const mid = await chartRepo(world.repos, 'mid', [['two', '1.0.0']]);
    await apply(world.admin, [chartmuseum(NS, 'mid', { git: fileUrl(mid) })]);
    await world.env.stopApiServer(); // most likely before the reconcile of `mid` wrote its status
    const down = op.logs.length;
    await until('the operator to notice', async () => op.logs.length > down, 20_000);
    await new Promise((r) => setTimeout(r, 2000)); // a few failed retries and watch restarts
    assert.equal(op.proc.exitCode, null, 'the operator did not exit');
    await world.env.startApiServer();
    const cm = await waitReady(world.admin, NS, 'mid', { status: 'True', reason: 'Synced' }, 60_000);
    assert.deepEqual(cm.status?.charts, [{ name: 'two', version: '1.0.0' }]);
    const late = await chartRepo(world.repos, 'late', [['three', '1.0.0']]);
    await apply(world.admin, [chartmuseum(NS, 'late', { git: fileUrl(late) })]);
    await waitReady(world.admin, NS, 'late', { status: 'True', reason: 'Synced' }, 60_000);
    // the first resource kept its state through the outage
    const first = (await kubeRequest(world.admin, 'GET', cmPath(NS, 'first'))) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    assert.equal(first.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(op.proc.exitCode, null);
    const health = await fetch(`http://127.0.0.1:${op.port}/healthz`);
    assert.equal(health.status, 200);
  });
});
