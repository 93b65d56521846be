/**
 * The operator against the real API server and the real sidecar, running with the chart's RBAC:
 * the seed example becomes Ready with its charts and a CronJob whose command really syncs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { SidecarError } from '@chartsync/api';
import type { KubernetesObject } from '@kubernetes/client-node';
import { selfSignedCert } from '../harness/git/tls.ts';
import { FixtureRepo } from '../harness/git-server.ts';
import { apply, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  chartmuseum,
  chartRepo,
  cmPath,
  cronJobPath,
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

const run = promisify(execFile);
const NS = 'default';

describe('operator: reconcile', () => {
  let w: World;
  let op: OperatorProcess;
  before(async () => {
    w = await startWorld();
    op = await w.startOperator();
  });
  after(async () => {
    await op?.stop();
    await w?.stop();
  });

  it('the seed example becomes Ready with the charts of the repo and a */15 CronJob owned by it', async () => {
    const repo = await chartRepo(w.repos, 'seed', [
      ['alpha', '1.0.0'],
      ['beta', '0.2.0'],
    ]);
    await apply(w.admin, [
      chartmuseum(NS, 'myrepo', {
        git: fileUrl(repo),
        updateEveryMinutes: 15,
        dependencies: [{ name: 'bitnami', url: 'https://charts.bitnami.com/bitnami' }],
      }),
    ]);
    const cm = await waitReady(w.admin, NS, 'myrepo', { status: 'True', reason: 'Synced' });
    assert.deepEqual(cm.status?.charts, [
      { name: 'alpha', version: '1.0.0' },
      { name: 'beta', version: '0.2.0' },
    ]);
    assert.equal(cm.status?.lastSyncedCommit, await repo.head());
    assert.equal(cm.status?.url, 'http://chartmuseum.test:8080/myrepo/index.yaml');
    assert.equal(cm.status?.observedGeneration, cm.metadata?.generation);
    assert.deepEqual(cm.metadata?.finalizers, ['cm.bitnami.com/chartsync']);
    assert.ok(existsSync(join(w.storageDir, 'myrepo', 'index.yaml')), 'published into the storage dir');

    const cj = await waitFor('CronJob myrepo-sync', () => getCronJob(w.admin, NS, 'myrepo-sync'));
    assert.equal(cj.spec.schedule, '*/15 * * * *');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    const owner = cj.metadata?.ownerReferences?.[0];
    assert.equal(owner?.kind, 'Chartmuseum');
    assert.equal(owner?.uid, cm.metadata?.uid);
    assert.equal(owner?.controller, true);
    assert.equal(
      cj.spec.jobTemplate.spec.template.metadata?.labels?.['app.kubernetes.io/component'],
      'chartsync-sync',
    );
    const c = cj.spec.jobTemplate.spec.template.spec.containers[0];
    const tokenEnv = c?.env?.find((e) => e.name === 'SIDECAR_TOKEN');
    assert.ok(tokenEnv?.valueFrom?.secretKeyRef, 'token comes from a Secret');
    assert.equal(tokenEnv?.value, undefined, 'token never inline');
    assert.ok(
      !JSON.stringify(cj).includes('operator-test-token'),
      'the token appears nowhere in the CronJob',
    );
  });

  it("the CronJob container's own command, run here with its env resolved, triggers a sync", async () => {
    const cj = await getCronJob(w.admin, NS, 'myrepo-sync');
    const c = cj?.spec.jobTemplate.spec.template.spec.containers[0];
    assert.ok(c?.command);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = await kubeRequest<{ data: Record<string, string> }>(
          w.admin,
          'GET',
          `/api/v1/namespaces/${NS}/secrets/${ref.name}`,
        );
        env[e.name] = Buffer.from(secret.data[ref.key] ?? '', 'base64').toString('utf8');
      } else {
        env[e.name] = e.value ?? '';
      }
    }
    // The cluster URL of the sidecar is the test sidecar here.
    env.SIDECAR_URL = w.sidecar.url;
    const before = (await w.sidecar.client().getRepo('myrepo')).lastSync?.at;
    const [cmd, ...args] = [...c.command, ...(c.args ?? [])];
    const { stdout } = await run(cmd as string, args, { env });
    const result = JSON.parse(stdout) as { name: string; commit: string };
    assert.equal(result.name, 'myrepo');
    // The sidecar records the result just after answering: wait for it.
    await waitFor('the sidecar recorded a new sync', async () => {
      const after = (await w.sidecar.client().getRepo('myrepo')).lastSync?.at;
      return after && after !== before ? after : undefined;
    });
  });

  it('status follows syncs made outside the operator (a scheduled run): new commit and charts show up', async () => {
    const r = new FixtureRepo(w.repos.path, 'seed');
    await r.write({ 'charts/gamma/Chart.yaml': 'apiVersion: v2\nname: gamma\nversion: 3.0.0\n' });
    const commit = await r.commit('add gamma');
    await r.push();
    await w.sidecar.client().updateRepo('myrepo');
    const cm = await waitFor('status shows the new commit', async () => {
      const got = await getCm(w.admin, NS, 'myrepo');
      return got.status?.lastSyncedCommit === commit ? got : undefined;
    });
    assert.deepEqual(
      cm.status?.charts?.map((c) => c.name),
      ['alpha', 'beta', 'gamma'],
    );
  });

  it('a spec change re-registers the repository and updates the CronJob', async () => {
    const r = await chartRepo(w.repos, 'other', [['delta', '4.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'myrepo', { git: fileUrl(r), schedule: '7 3 * * *' })]);
    const cm = await waitReady(w.admin, NS, 'myrepo', { status: 'True', reason: 'Synced', generation: true });
    assert.deepEqual(cm.status?.charts, [{ name: 'delta', version: '4.0.0' }]);
    assert.equal((await w.sidecar.client().getRepo('myrepo')).git, fileUrl(r));
    await waitFor(
      'CronJob schedule updated',
      async () => (await getCronJob(w.admin, NS, 'myrepo-sync'))?.spec.schedule === '7 3 * * *',
    );
  });

  it('a deleted CronJob is recreated and an edited one is put back', async () => {
    const before = await getCronJob(w.admin, NS, 'myrepo-sync');
    await kubeRequest(w.admin, 'DELETE', cronJobPath(NS, 'myrepo-sync'));
    const recreated = await waitFor('CronJob recreated', async () => {
      const cj = await getCronJob(w.admin, NS, 'myrepo-sync');
      return cj && cj.metadata?.uid !== before?.metadata?.uid ? cj : undefined;
    });
    assert.equal(recreated.spec.schedule, '7 3 * * *');

    const edited = structuredClone(recreated);
    edited.spec.schedule = '* * * * *';
    edited.spec.suspend = true;
    const c0 = edited.spec.jobTemplate.spec.template.spec.containers[0];
    if (c0) c0.image = 'evil/image:latest';
    await kubeRequest(w.admin, 'PUT', cronJobPath(NS, 'myrepo-sync'), edited);
    const restored = await waitFor('CronJob restored', async () => {
      const cj = await getCronJob(w.admin, NS, 'myrepo-sync');
      const c = cj?.spec.jobTemplate.spec.template.spec.containers[0];
      return cj?.spec.schedule === '7 3 * * *' &&
        cj.spec.suspend === false &&
        c?.image !== 'evil/image:latest'
        ? cj
        : undefined;
    });
    assert.equal(restored.metadata?.uid, recreated.metadata?.uid);
  });

  it('suspend: the CronJob is suspended and nothing syncs, even on a spec change; resume syncs again', async () => {
    const base = (await getCm(w.admin, NS, 'myrepo')).spec;
    const lastAt = async () => (await w.sidecar.client().getRepo('myrepo')).lastSync?.at;
    await apply(w.admin, [chartmuseum(NS, 'myrepo', { ...base, suspend: true })]);
    const suspended = await waitReady(w.admin, NS, 'myrepo', {
      status: 'True',
      reason: 'Suspended',
      generation: true,
    });
    await waitFor(
      'CronJob suspended',
      async () => (await getCronJob(w.admin, NS, 'myrepo-sync'))?.spec.suspend === true,
    );
    const at = await lastAt();
    // A spec change while suspended is observed but not synced.
    await apply(w.admin, [chartmuseum(NS, 'myrepo', { ...base, suspend: true, paths: ['charts'] })]);
    await waitFor('generation observed', async () => {
      const cm = await getCm(w.admin, NS, 'myrepo');
      return (
        cm.status?.observedGeneration === cm.metadata?.generation &&
        cm.metadata?.generation !== suspended.metadata?.generation
      );
    });
    // Several resync periods (RESYNC_SECONDS=2) go by without a sync.
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(await lastAt(), at, 'no sync while suspended');
    assert.equal(
      (await w.sidecar.client().getRepo('myrepo')).paths,
      undefined,
      'not re-registered while suspended',
    );

    await apply(w.admin, [chartmuseum(NS, 'myrepo', { ...base, suspend: false, paths: ['charts'] })]);
    await waitReady(w.admin, NS, 'myrepo', { status: 'True', reason: 'Synced', generation: true });
    assert.notEqual(await lastAt(), at);
    assert.deepEqual((await w.sidecar.client().getRepo('myrepo')).paths, ['charts']);
    await waitFor(
      'CronJob resumed',
      async () => (await getCronJob(w.admin, NS, 'myrepo-sync'))?.spec.suspend === false,
    );
  });

  it('two resources with one repoName: the second gets RepoNameConflict, and takes over when the first goes', async () => {
    const r = await chartRepo(w.repos, 'shared', [['eps', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'first', { git: fileUrl(r), repoName: 'shared' })]);
    await waitReady(w.admin, NS, 'first', { status: 'True', reason: 'Synced' });
    const other = await chartRepo(w.repos, 'intruder', [['zeta', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'second', { git: fileUrl(other), repoName: 'shared' })]);
    const second = await waitReady(w.admin, NS, 'second', { status: 'False', reason: 'RepoNameConflict' });
    assert.match(ready(second)?.message ?? '', /default\/first/);
    assert.equal(await getCronJob(w.admin, NS, 'second-sync'), undefined, 'no CronJob for the loser');
    assert.equal(
      (await w.sidecar.client().getRepo('shared')).git,
      fileUrl(r),
      'the first keeps the repository',
    );

    await kubeRequest(w.admin, 'DELETE', cmPath(NS, 'first'));
    await waitFor('first gone', () => gone(w.admin, cmPath(NS, 'first')));
    const won = await waitReady(w.admin, NS, 'second', { status: 'True', reason: 'Synced' });
    assert.deepEqual(won.status?.charts, [{ name: 'zeta', version: '1.0.0' }]);
    assert.equal((await w.sidecar.client().getRepo('shared')).git, fileUrl(other));
    await waitFor('CronJob second-sync', () => getCronJob(w.admin, NS, 'second-sync'));
  });

  it('credentials come from Secrets: a missing Secret is InvalidSpec naming it, and recovers once it exists', async () => {
    const r = await chartRepo(w.repos, 'creds', [['eta', '1.0.0']]);
    await apply(w.admin, [
      chartmuseum(NS, 'creds', {
        git: fileUrl(r),
        dependencies: [
          {
            name: 'private',
            url: 'https://charts.example.com/private',
            secretRef: { name: 'private-creds' },
          },
        ],
      }),
    ]);
    const bad = await waitReady(w.admin, NS, 'creds', { status: 'False', reason: 'InvalidSpec' });
    assert.match(ready(bad)?.message ?? '', /Secret default\/private-creds not found/);
    await apply(w.admin, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'private-creds', namespace: NS },
        stringData: { username: 'u', password: 'p4ssw0rd' },
      } as KubernetesObject,
    ]);
    await waitReady(w.admin, NS, 'creds', { status: 'True', reason: 'Synced' });
    const dep = (await w.sidecar.client().listDependencies()).find((d) => d.name === 'private');
    assert.equal(dep?.hasCredentials, true);
    assert.ok(!op.logs.some((l) => l.includes('p4ssw0rd')), 'the password never reaches the operator logs');
  });

  it('an oci:// dependency takes its CA from caSecretRef and insecurePlainHttp from the spec; a bad CA is InvalidSpec naming caData', async () => {
    const r = await chartRepo(w.repos, 'ociregistry', [['theta', '1.0.0']]);
    const dir = await mkdtemp(join(tmpdir(), 'chartsync-op-ca-'));
    // A self-signed certificate is its own CA: what the Secret carries only has to parse as one.
    const ca = (await selfSignedCert(dir)).cert;
    await rm(dir, { recursive: true, force: true });
    const secret = (data: Record<string, string>) =>
      ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'registry-ca', namespace: NS },
        stringData: data,
      }) as KubernetesObject;
    await apply(w.admin, [secret({ 'ca.crt': 'not a certificate' })]);
    await apply(w.admin, [
      chartmuseum(NS, 'ociregistry', {
        git: fileUrl(r),
        dependencies: [
          {
            name: 'internal-oci',
            url: 'oci://registry.internal:5000/charts',
            caSecretRef: { name: 'registry-ca' },
            insecurePlainHttp: true,
          },
        ],
      }),
    ]);
    const bad = await waitReady(w.admin, NS, 'ociregistry', { status: 'False', reason: 'InvalidSpec' });
    assert.match(ready(bad)?.message ?? '', /caData: not PEM certificates/);
    await apply(w.admin, [secret({ 'ca.crt': ca })]);
    await waitReady(w.admin, NS, 'ociregistry', { status: 'True', reason: 'Synced' });
    const dep = (await w.sidecar.client().listDependencies()).find((d) => d.name === 'internal-oci');
    assert.deepEqual([dep?.hasCaData, dep?.insecurePlainHttp], [true, true]);
  });

  it('delete: the sidecar repository, its charts and the CronJob go, then the finalizer', async () => {
    await kubeRequest(w.admin, 'DELETE', cmPath(NS, 'myrepo'));
    await waitFor('myrepo gone', () => gone(w.admin, cmPath(NS, 'myrepo')));
    const status = await w.sidecar
      .client()
      .getRepo('myrepo')
      .then(
        () => 200,
        (e: SidecarError) => e.status,
      );
    assert.equal(status, 404);
    assert.equal(await getCronJob(w.admin, NS, 'myrepo-sync'), undefined);
    assert.equal(existsSync(join(w.storageDir, 'myrepo', 'index.yaml')), false, 'published charts removed');
  });

  it('records Events for the transitions', async () => {
    const events = await kubeRequest<{ items: Array<{ reason: string; involvedObject: { name: string } }> }>(
      w.admin,
      'GET',
      `/api/v1/namespaces/${NS}/events`,
    );
    const reasons = events.items.filter((e) => e.involvedObject.name === 'second').map((e) => e.reason);
    assert.ok(reasons.includes('RepoNameConflict'), reasons.join(','));
    assert.ok(reasons.includes('Synced'), reasons.join(','));
    assert.ok(reasons.includes('CronJobCreated'), reasons.join(','));
  });
});
