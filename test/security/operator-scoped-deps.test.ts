/**
 * Dependency repositories between tenants, through the operator, against the real API server
 * and sidecar: two namespaces declare a dependency repository of the same name at different
 * URLs with different credentials (chart repositories indexed by the real helm, behind basic
 * auth). Each resource's sync resolves from its own, also after the other registered; a
 * resource's registrations go when it is deleted or its repoName changes.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { entries } from '../deps/compare.ts';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { apply, ensureNamespace, kubeRequest, waitFor } from '../harness/kube.ts';
import { tempDir } from '../harness/paths.ts';
import {
  chartmuseum,
  cmPath,
  fileUrl,
  getCm,
  gone,
  type OperatorProcess,
  startWorld,
  type World,
  waitReady,
} from '../operator/fixture.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

const NS_A = 'team-a';
const NS_B = 'team-b';
const AUTH = {
  [NS_A]: { username: 'team-a', password: 'team-a-pw-0c31' },
  [NS_B]: { username: 'team-b', password: 'team-b-pw-7e55' },
};

let w: World;
let op: OperatorProcess;
let tmp: { path: string; cleanup: () => Promise<void> };
const servers: Record<string, ChartRepoServer> = {};

/** A chart repository serving `shared` 1.0.0 whose greeting names `ns`, behind ns's credentials. */
async function chartRepoOf(ns: typeof NS_A | typeof NS_B): Promise<ChartRepoServer> {
  const helm = new Helm(tmp.path);
  const dir = join(tmp.path, `repo-${ns}`);
  const src = join(tmp.path, `src-${ns}`);
  await mkdir(dir, { recursive: true });
  for (const [path, content] of Object.entries(chartFiles('shared', 'shared', { greeting: `from ${ns}` }))) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  await helm.run(['package', join(src, 'shared'), '--destination', dir]);
  return ChartRepoServer.start({ dir, auth: AUTH[ns] });
}

const appFiles = (version: string) =>
  chartFiles('app', 'app', {
    version,
    dependencies: [{ name: 'shared', version: '1.x', repository: '@bitnami' }],
  });

/** The greeting of the dependency inside what repo `repo` published as app `version`. */
async function publishedGreeting(repo: string, version: string): Promise<string> {
  const app = entries(await readFile(join(w.storageDir, repo, `app-${version}.tgz`)));
  return String(app.get('app/charts/shared/values.yaml'));
}

/** (repo, name, url) of every registered dependency repository. */
async function registrations(): Promise<string[][]> {
  return (await w.sidecar.client().listDependencies()).map((d) => [d.repo ?? '', d.name, d.url]);
}

before(async () => {
  tmp = await tempDir('chartsync-op-scoped-');
  w = await startWorld();
  for (const ns of [NS_A, NS_B] as const) {
    servers[ns] = await chartRepoOf(ns);
    await ensureNamespace(w.admin, ns);
    await apply(w.admin, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'bitnami-creds', namespace: ns },
        stringData: AUTH[ns],
      } as KubernetesObject,
    ]);
  }
  op = await w.startOperator();
});
after(async () => {
  await op?.stop();
  await w?.stop();
  for (const s of Object.values(servers)) await s.close();
  await tmp?.cleanup();
});

describe('operator: dependency repositories are per resource', { timeout: 180_000 }, () => {
  const repoA = 'apps-a';
  const repoB = 'apps-b';
  const spec = (ns: typeof NS_A | typeof NS_B, git: string, repoName: string) => ({
    git,
    repoName,
    dependencies: [{ name: 'bitnami', url: servers[ns]?.url, secretRef: { name: 'bitnami-creds' } }],
  });

  it('two namespaces with one dependency name: each sync resolves from its own, also after the other registered', async () => {
    const gitA = await w.repos.create('apps-a', appFiles('1.0.0'));
    await apply(w.admin, [chartmuseum(NS_A, 'apps', spec(NS_A, fileUrl(gitA), repoA))]);
    await waitReady(w.admin, NS_A, 'apps', { status: 'True', reason: 'Synced' });
    assert.match(await publishedGreeting(repoA, '1.0.0'), /from team-a/);

    const gitB = await w.repos.create('apps-b', appFiles('1.0.0'));
    await apply(w.admin, [chartmuseum(NS_B, 'apps', spec(NS_B, fileUrl(gitB), repoB))]);
    await waitReady(w.admin, NS_B, 'apps', { status: 'True', reason: 'Synced' });
    assert.match(await publishedGreeting(repoB, '1.0.0'), /from team-b/);

    // A's next sync, after B registered its `bitnami`: still A's repository and credentials
    await gitA.write(appFiles('1.1.0'));
    await gitA.commit('app 1.1.0');
    await gitA.push();
    const bSeen = servers[NS_B]?.requests.length;
    const next = await w.sidecar.client().updateRepo(repoA);
    assert.deepEqual(
      next.charts.filter((c) => c.action !== 'unchanged').map((c) => [c.version, c.action]),
      [['1.1.0', 'published']],
      JSON.stringify(next),
    );
    assert.match(await publishedGreeting(repoA, '1.1.0'), /from team-a/);
    assert.equal(servers[NS_B]?.requests.length, bSeen, "B's repository was not asked by A's sync");
    const basic = (ns: typeof NS_A | typeof NS_B) =>
      `Basic ${Buffer.from(`${AUTH[ns].username}:${AUTH[ns].password}`).toString('base64')}`;
    for (const ns of [NS_A, NS_B] as const)
      assert.ok(
        servers[ns]?.requests.every((r) => r.authorization === basic(ns)),
        `${ns}: only its own credentials`,
      );

    assert.deepEqual(await registrations(), [
      [repoA, 'bitnami', servers[NS_A]?.url],
      [repoB, 'bitnami', servers[NS_B]?.url],
    ]);
  });

  it("a resource's registrations go when its repoName changes and when it is deleted; the other's stay", async () => {
    const cm = await getCm(w.admin, NS_B, 'apps');
    await apply(w.admin, [chartmuseum(NS_B, 'apps', { ...cm.spec, repoName: 'apps-b2' })]);
    await waitFor('B renamed and synced', async () => {
      const now = await getCm(w.admin, NS_B, 'apps');
      return now.status?.repoName === 'apps-b2' &&
        now.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'Synced')
        ? now
        : undefined;
    });
    await waitFor('only apps-b2 scoped for B', async () => {
      const regs = await registrations();
      return regs.some((r) => r[0] === 'apps-b2') && !regs.some((r) => r[0] === repoB) ? regs : undefined;
    });

    await kubeRequest(w.admin, 'DELETE', cmPath(NS_A, 'apps'));
    await waitFor('A deleted', () => gone(w.admin, cmPath(NS_A, 'apps')));
    assert.deepEqual(await registrations(), [['apps-b2', 'bitnami', servers[NS_B]?.url]]);
  });
});
