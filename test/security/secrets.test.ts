/**
 * Secrets never leak. The real operator (against envtest) drives the real sidecar with git
 * credentials (smart HTTP with basic auth), dependency repository credentials (a chart
 * repository with basic auth) and the sidecar token; a second resource has a wrong git password
 * (failing syncs are where URLs and errors get printed). Then every place a secret could surface
 * is scanned: every log line of both processes, every API answer, the resources' status and
 * Events, the CronJobs, every file under the sidecar's storage and data dirs (the registry file
 * is the one place credentials are kept, by design: it must be private, 0600).
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { writeChart } from '../deps/fixtures.ts';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { type HttpGitServer, startHttpGitServer } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { apply, kubeRequest } from '../harness/kube.ts';
import {
  chartFiles,
  chartmuseum,
  cronJobPath,
  getCm,
  type OperatorProcess,
  ready,
  startWorld,
  TOKEN,
  type World,
  waitReady,
} from '../operator/fixture.ts';
import { call, filesContaining } from './world.ts';

const NS = 'default';
const GIT = { username: 'git-user', password: 'git-pass-9f8e7d6c' };
const DEP = { username: 'dep-user', password: 'dep-pass-1a2b3c4d' };
const WRONG = 'wrong-pass-5e6f7a8b';
/** Every secret of the setup (the token included). */
const SECRETS = [GIT.password, DEP.password, WRONG, TOKEN];

let w: World;
let op: OperatorProcess;
let gitHttp: HttpGitServer;
let deps: ChartRepoServer;
/** Every text the test saw come back from anything: scanned at the end. */
const seen: string[] = [];

function secret(name: string, data: Record<string, string>): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS },
    stringData: data,
  } as KubernetesObject;
}

before(async () => {
  w = await startWorld({ sidecarArgs: ['--allow-insecure-git'] });
  gitHttp = await startHttpGitServer(w.repos.path, { auth: GIT });
  const helm = new Helm(join(dirname(w.storageDir), 'helm'));
  const src = await writeChart(join(dirname(w.storageDir), 'helm/src/dep'), {
    name: 'dep',
    version: '1.0.0',
  });
  const depDir = join(dirname(w.storageDir), 'deprepo');
  await helm.packageTo(src, depDir);
  deps = await ChartRepoServer.start({ dir: depDir, auth: DEP });
  await w.repos.create('private', {
    ...chartFiles('charts/app', 'app', '1.0.0'),
    'charts/app/Chart.yaml': `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: dep\n  version: 1.0.0\n  repository: "@private"\n`,
  });
  op = await w.startOperator();
  await apply(w.admin, [
    secret('git-creds', GIT),
    secret('dep-creds', DEP),
    secret('bad-creds', { username: GIT.username, password: WRONG }),
    chartmuseum(NS, 'priv', {
      git: gitHttp.url('private'),
      secretRef: { name: 'git-creds' },
      dependencies: [{ name: 'private', url: deps.url, secretRef: { name: 'dep-creds' } }],
      updateEveryMinutes: 5,
    }),
    chartmuseum(NS, 'wrong', { git: gitHttp.url('private'), secretRef: { name: 'bad-creds' } }),
  ]);
});
after(async () => {
  await op?.stop();
  await deps?.close();
  await gitHttp?.stop();
  await w?.stop();
});

describe('secrets never appear', () => {
  it('the syncs ran with the credentials: the private chart is published with its private dependency', async () => {
    const cm = await waitReady(w.admin, NS, 'priv', { status: 'True', reason: 'Synced' }, 60_000);
    assert.deepEqual(cm.status?.charts, [{ name: 'app', version: '1.0.0' }]);
    assert.ok(
      gitHttp.requests.some((r) => r.authorization && r.status === 200),
      'git credentials were used',
    );
    assert.ok(
      deps.requests.some((r) => r.authorization?.startsWith('Basic ')),
      'dependency credentials were used',
    );
    const bad = await waitReady(w.admin, NS, 'wrong', { status: 'False' }, 60_000);
    assert.match(ready(bad)?.message ?? '', /auth|401|credential|denied/i);
    seen.push(JSON.stringify(cm), JSON.stringify(bad));
  });

  it('in the API answers (as the operator and anyone with the token see them)', async () => {
    // a registration with credentials written into the URL, and a failing sync of it
    const withUserinfo = gitHttp.url('private').replace('http://', `http://${GIT.username}:${WRONG}@`);
    const failing = await call(w.sidecar.url, 'POST', '/repo/new', {
      json: { name: 'userinfo', git: withUserinfo },
      token: TOKEN,
    });
    assert.equal(failing.status, 502, failing.text);
    seen.push(failing.text);
    for (const path of [
      '/repo',
      '/repo/priv',
      '/repo/wrong',
      '/repo/userinfo',
      '/repo/dependency',
      '/repo/priv/update',
    ]) {
      const a = await call(w.sidecar.url, 'GET', path, { token: TOKEN });
      assert.ok(a.status === 200 || a.status === 502, `${path}: ${a.status}`);
      seen.push(a.text);
    }
    assert.match(seen.join('\n'), /"hasCredentials":true/);
    for (const path of ['/metrics', '/healthz', '/readyz', '/charts/priv/index.yaml'])
      seen.push((await call(w.sidecar.url, 'GET', path, { token: null })).text);
  });

  it('in the resources, their Events and CronJobs (the token is referenced from a Secret, never inline)', async () => {
    for (const name of ['priv', 'wrong']) seen.push(JSON.stringify(await getCm(w.admin, NS, name)));
    const cronJobs = JSON.stringify(await kubeRequest(w.admin, 'GET', cronJobPath(NS)));
    assert.match(cronJobs, /priv-sync/);
    assert.match(cronJobs, /secretKeyRef/);
    seen.push(cronJobs);
    seen.push(JSON.stringify(await kubeRequest(w.admin, 'GET', `/api/v1/namespaces/${NS}/events`)));
    for (const s of SECRETS)
      for (const text of seen) assert.ok(!text.includes(s), `a secret appears in: ${text.slice(0, 300)}`);
  });

  it('in any log line of the sidecar or the operator', () => {
    assert.ok(
      w.sidecar.logs.length > 5 && op.logs.length > 5,
      `${w.sidecar.logs.length} ${op.logs.length} lines`,
    );
    assert.ok(
      w.sidecar.logs.some((l) => /sync failed/.test(l)),
      'the failures were logged',
    );
    for (const s of SECRETS) {
      assert.deepEqual(
        w.sidecar.logs.filter((l) => l.includes(s)),
        [],
        'sidecar logs',
      );
      assert.deepEqual(
        op.logs.filter((l) => l.includes(s)),
        [],
        'operator logs',
      );
    }
  });

  it('in any file under storage or data, except the private registry file (0600)', async () => {
    const data = join(dirname(w.storageDir), 'sidecar-data');
    for (const s of SECRETS) {
      assert.deepEqual(await filesContaining(w.storageDir, s), [], `storage holds ${s.slice(0, 4)}…`);
      assert.deepEqual(await filesContaining(data, s, ['registry.json']), [], `data holds ${s.slice(0, 4)}…`);
    }
    assert.equal((await stat(join(data, 'registry.json'))).mode & 0o077, 0, 'the registry is private');
    // the clone exists (so the scan above covered its .git/config, FETCH_HEAD, packed-refs…)
    assert.ok((await stat(join(data, 'clones/priv/.git'))).isDirectory());
  });
});
