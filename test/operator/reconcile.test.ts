/**
 * The operator against the real API server and the real sidecar, running with the chart's RBAC:
 * the seed example becomes Ready with its charts and a CronJob whose command really syncs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { apply, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  type Chartmuseum,
  chartmuseum,
  chartRepo,
  cmPath,
  fileUrl,
  getCm,
  getCronJob,
  type OperatorProcess,
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
    const after = (await w.sidecar.client().getRepo('myrepo')).lastSync?.at;
    assert.ok(after && after !== before, 'the sidecar recorded a new sync');
  });
});

export type { Chartmuseum };
export { cmPath, getCm };
