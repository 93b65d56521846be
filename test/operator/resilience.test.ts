/**
 * The operator keeps going when its surroundings fail: the sidecar goes down (Ready=False
 * SidecarUnavailable, recovery on its own, deletion waits with the finalizer), and the API server
 * connection drops while etcd history is compacted (the watch gets 410 Gone and re-lists).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { SidecarError } from '@chartsync/api';
import { apply, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  chartmuseum,
  chartRepo,
  cmPath,
  fileUrl,
  getCm,
  getCronJob,
  gone,
  type OperatorProcess,
  ready,
  startWorld,
  type World,
  waitReady,
} from './fixture.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const NS = 'default';

/** Forces etcd to forget history up to now, so a watch from an older resourceVersion gets 410. */
async function compactEtcd(etcdUrl: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const put = await fetch(`${etcdUrl}/v3/kv/put`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/chartsync-test/compact'), value: b64('x') }),
  });
  const { header } = (await put.json()) as { header: { revision: string } };
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: header.revision, physical: true }),
  });
  assert.equal(res.status, 200, await res.text());
}

describe('operator: resilience', () => {
  let w: World;
  let op: OperatorProcess;
  let proxy: TcpProxy;
  before(async () => {
    // Without the watch cache, watches read etcd directly: compaction then yields 410 Gone.
    w = await startWorld({ envtest: { apiserverArgs: ['--watch-cache=false'] } });
    proxy = await startTcpProxy(Number(new URL(w.env.server).port));
    const viaProxy = JSON.parse(await readFile(w.operatorKubeconfig, 'utf8'));
    viaProxy.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
    const path = `${w.operatorKubeconfig}.proxy`;
    await writeFile(path, JSON.stringify(viaProxy), { mode: 0o600 });
    op = await w.startOperator({ KUBECONFIG: path });
    const repo = await chartRepo(w.repos, 'res', [['app', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'res', { git: fileUrl(repo), updateEveryMinutes: 5 })]);
    await waitReady(w.admin, NS, 'res', { status: 'True', reason: 'Synced' });
  });
  after(async () => {
    await op?.stop();
    await proxy?.close();
    await w?.stop();
  });

  it('sidecar down: Ready=False SidecarUnavailable; back up: Ready again without help', async () => {
    await w.stopSidecar();
    const down = await waitReady(w.admin, NS, 'res', { status: 'False', reason: 'SidecarUnavailable' });
    assert.match(ready(down)?.message ?? '', /sidecar/i);
    await w.startSidecar();
    await waitReady(w.admin, NS, 'res', { status: 'True', reason: 'Synced' });
  });

  it('repoName changed while the sidecar is down: the resource says the rename waits; back up: renamed', async () => {
    await w.stopSidecar();
    await kubeRequest(
      w.admin,
      'PATCH',
      cmPath(NS, 'res'),
      { spec: { repoName: 'res-renamed' } },
      'application/merge-patch+json',
    );
    const waiting = await waitFor('Ready=False saying the rename waits', async () => {
      const cm = await getCm(w.admin, NS, 'res');
      const c = ready(cm);
      return c?.status === 'False' && /rename waits/.test(c.message) ? cm : undefined;
    });
    assert.equal(ready(waiting)?.reason, 'SidecarUnavailable');
    assert.equal(waiting.status?.observedGeneration, waiting.metadata?.generation);
    await w.startSidecar();
    const renamed = await waitReady(w.admin, NS, 'res', { status: 'True', reason: 'Synced' });
    assert.equal(renamed.status?.repoName, 'res-renamed');
    await kubeRequest(
      w.admin,
      'PATCH',
      cmPath(NS, 'res'),
      { spec: { repoName: null } },
      'application/merge-patch+json',
    );
    await waitFor('back to its own name', async () => {
      const cm = await getCm(w.admin, NS, 'res');
      return cm.status?.repoName === 'res' && ready(cm)?.reason === 'Synced';
    });
  });

  it('delete while the sidecar is down: the finalizer holds until the repository is removed', async () => {
    await w.stopSidecar();
    await kubeRequest(w.admin, 'DELETE', cmPath(NS, 'res'));
    const waiting = await waitFor('Ready=False saying the deletion waits', async () => {
      const cm = await getCm(w.admin, NS, 'res');
      const c = ready(cm);
      return c?.status === 'False' && /deletion waits/.test(c.message) ? c : undefined;
    });
    assert.equal(waiting.reason, 'SidecarUnavailable');
    // Several retries (backoff capped at 2 s) go by: still there, nothing orphaned.
    await new Promise((r) => setTimeout(r, 4000));
    const still = await getCm(w.admin, NS, 'res');
    assert.ok(still.metadata?.deletionTimestamp);
    assert.deepEqual(still.metadata?.finalizers, ['cm.bitnami.com/chartsync']);
    assert.ok(await getCronJob(w.admin, NS, 'res-sync'), 'CronJob kept until the repository is gone');

    await w.startSidecar();
    await waitFor('res deleted', () => gone(w.admin, cmPath(NS, 'res')));
    const status = await w.sidecar
      .client()
      .getRepo('res')
      .then(
        () => 200,
        (e: SidecarError) => e.status,
      );
    assert.equal(status, 404);
    assert.equal(await getCronJob(w.admin, NS, 'res-sync'), undefined);
  });

  it('API server connection lost while history is compacted: the watch re-lists (410 Gone) and catches up', async () => {
    const lists = () =>
      op.records().filter((r) => r.msg === 'listed' && String(r.path).endsWith('/chartmuseums')).length;
    const before = lists();
    await proxy.cut();
    const repo = await chartRepo(w.repos, 'late', [['late', '0.1.0']]);
    await apply(w.admin, [chartmuseum(NS, 'late', { git: fileUrl(repo) })]);
    await compactEtcd(w.env.etcdUrl);
    await new Promise((r) => setTimeout(r, 1000));
    await proxy.resume();
    const cm = await waitReady(w.admin, NS, 'late', { status: 'True', reason: 'Synced' }, 60_000);
    assert.deepEqual(cm.status?.charts, [{ name: 'late', version: '0.1.0' }]);
    assert.ok(lists() > before, 'the Chartmuseum informer listed again');
    assert.ok(
      op.records().some((r) => r.msg === 'watch failed; restarting'),
      'the watch failure was noticed and survived',
    );
  });
});
