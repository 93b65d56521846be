/**
 * The operator between tenants, against the real API server, sidecar and the chart's RBAC: a
 * tenant who may create Chartmuseum resources and Secrets in its own namespace only must not
 * reach another namespace's Secrets through a spec, nor remove another tenant's repository; what
 * the API server refuses of what the operator derives from a spec is reported on the resource.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  apiErrorMessage,
  apply,
  ensureNamespace,
  installCrds,
  KubeError,
  kubeRequest,
  loadKubeConfig,
  parseManifests,
  waitFor,
} from '../harness/kube.ts';
import { repoRoot } from '../harness/paths.ts';
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
} from '../operator/fixture.ts';

const TENANT = 'tenant-a';
const OTHER = 'tenant-b';
const VICTIM = 'victim';
let w: World;
let op: OperatorProcess;

const secret = (ns: string, name: string, data: Record<string, string>) =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    stringData: data,
  }) as KubernetesObject;

before(async () => {
  w = await startWorld();
  for (const ns of [TENANT, OTHER, VICTIM]) await ensureNamespace(w.admin, ns);
  await apply(w.admin, [secret(VICTIM, 'git-creds', { username: 'victim', password: 'victim-s3cret' })]);
  op = await w.startOperator();
});
after(async () => {
  await op?.stop();
  await w?.stop();
});

/** Whether the sidecar logged removing repository `name` (and with it every chart it published). */
const removed = (name: string) =>
  w.sidecar.logs.some(
    (l) => l.includes('repository removed with its charts') && l.includes(`"repo":"${name}"`),
  );

interface Schema {
  pattern?: string;
  properties?: Record<string, Schema>;
}
type Crd = KubernetesObject & { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };

/** The CRD as the chart ships it, with `edit` applied to spec's schema (what an older CRD allowed). */
async function crdWith(edit: (spec: Record<string, Schema>) => void): Promise<KubernetesObject[]> {
  const file = join(repoRoot, 'chart/files/chartmuseums.cm.bitnami.com.yaml');
  const [crd] = parseManifests(await readFile(file, 'utf8')) as Crd[];
  const spec = crd?.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties;
  assert.ok(crd && spec);
  edit(spec);
  return [crd];
}

describe('operator: tenant boundary', { timeout: 180_000 }, () => {
  const traversal = `../../${VICTIM}/secrets/git-creds`;

  it('a Secret reference that is not a Secret name (a path into another namespace) is refused by the CRD', async () => {
    const r = await chartRepo(w.repos, 'refused', [['a', '1.0.0']]);
    const specs: Record<string, unknown>[] = [
      { git: fileUrl(r), secretRef: { name: traversal } },
      {
        git: fileUrl(r),
        dependencies: [{ name: 'd', url: 'https://x.example', secretRef: { name: traversal } }],
      },
      {
        git: fileUrl(r),
        dependencies: [{ name: 'd', url: 'oci://x.example/c', caSecretRef: { name: traversal } }],
      },
      {
        git: fileUrl(r),
        dependencies: [{ name: 'd', url: 'oci://x.example/c', caSecretRef: { name: 'ca', key: '../k' } }],
      },
    ];
    for (const [i, spec] of specs.entries()) {
      await assert.rejects(apply(w.admin, [chartmuseum(TENANT, `refused-${i}`, spec)]), (err) => {
        assert.match(
          apiErrorMessage(err),
          /422 .*is invalid: spec\.(secretRef|dependencies\[0\]\.(secretRef|caSecretRef))\.(name|key)/,
        );
        return true;
      });
    }
  });

  it("such a reference stored under an older CRD: InvalidSpec, and the other namespace's Secret never reaches the sidecar", async () => {
    const r = await chartRepo(w.repos, 'traversal', [['b', '1.0.0']]);
    // The CRD without the name pattern (what older versions installed), for the create only.
    await apply(
      w.admin,
      await crdWith((p) => {
        delete p.secretRef?.properties?.name?.pattern;
      }),
    );
    await waitFor('CRD without the pattern in effect', async () =>
      apply(w.admin, [chartmuseum(TENANT, 'traversal', { git: fileUrl(r), secretRef: { name: traversal } })]),
    );
    await installCrds(w.admin);
    const cm = await waitReady(w.admin, TENANT, 'traversal', { status: 'False', reason: 'InvalidSpec' });
    assert.match(ready(cm)?.message ?? '', /spec\.secretRef\.name: .* is not a Secret name/);
    await assert.rejects(
      w.sidecar.client().getRepo('traversal'),
      'nothing registered with those credentials',
    );
  });

  it("the operator's ServiceAccount cannot list or watch Secrets (it reads them by name only)", async () => {
    const sa = loadKubeConfig(w.operatorKubeconfig);
    for (const path of [
      '/api/v1/secrets',
      `/api/v1/namespaces/${VICTIM}/secrets`,
      '/api/v1/secrets?watch=1&timeoutSeconds=1',
    ]) {
      await assert.rejects(kubeRequest(sa, 'GET', path), (err) => {
        assert.ok(err instanceof KubeError && err.code === 403, `${path}: ${(err as Error).message}`);
        return true;
      });
    }
  });

  it("two resources that both registered one repoName: the loser lets go of it, and deleting it leaves the owner's repository", async () => {
    const r = await chartRepo(w.repos, 'owned', [['c', '1.0.0']]);
    await apply(w.admin, [chartmuseum(TENANT, 'shared', { git: fileUrl(r) })]);
    await waitReady(w.admin, TENANT, 'shared', { status: 'True', reason: 'Synced' });
    const hostile = await chartRepo(w.repos, 'hostile', [['evil', '6.6.6']]);
    await apply(w.admin, [chartmuseum(OTHER, 'shared', { git: fileUrl(hostile) })]);
    await waitReady(w.admin, OTHER, 'shared', { status: 'False', reason: 'RepoNameConflict' });
    // What two first reconciles that did not see each other yet leave behind: both hold the name.
    await kubeRequest(
      w.admin,
      'PATCH',
      `${cmPath(OTHER, 'shared')}/status`,
      { status: { repoName: 'shared' } },
      'application/merge-patch+json',
    );
    await waitFor('the loser lets go of the name', async () => {
      const cm = await getCm(w.admin, OTHER, 'shared');
      return cm.status?.repoName === undefined && ready(cm)?.reason === 'RepoNameConflict';
    });
    await kubeRequest(w.admin, 'DELETE', cmPath(OTHER, 'shared'));
    await waitFor('the loser gone', () => gone(w.admin, cmPath(OTHER, 'shared')));
    assert.equal(removed('shared'), false, "the owner's repository was never removed");
    const view = await w.sidecar.client().getRepo('shared');
    assert.equal(view.git, fileUrl(r), "the owner's repository is still registered");
    assert.deepEqual((await getCm(w.admin, TENANT, 'shared')).status?.charts, [
      { name: 'c', version: '1.0.0' },
    ]);
  });

  it('a loser deleted while its status still says it holds the name removes nothing of the owner', async () => {
    const r = await chartRepo(w.repos, 'owned2', [['d', '1.0.0']]);
    await apply(w.admin, [chartmuseum(TENANT, 'shared2', { git: fileUrl(r) })]);
    await waitReady(w.admin, TENANT, 'shared2', { status: 'True', reason: 'Synced' });
    await apply(w.admin, [chartmuseum(OTHER, 'shared2', { git: fileUrl(r) })]);
    await waitReady(w.admin, OTHER, 'shared2', { status: 'False', reason: 'RepoNameConflict' });
    // Deleted right after its status says it holds the name: the deletion's reconcile may be the
    // first to see that status (the finalizer itself checks who owns the name).
    await kubeRequest(
      w.admin,
      'PATCH',
      `${cmPath(OTHER, 'shared2')}/status`,
      { status: { repoName: 'shared2' } },
      'application/merge-patch+json',
    );
    await kubeRequest(w.admin, 'DELETE', cmPath(OTHER, 'shared2'));
    await waitFor('the loser gone', () => gone(w.admin, cmPath(OTHER, 'shared2')));
    assert.equal(removed('shared2'), false, "the owner's repository was never removed");
    assert.equal(
      (await w.sidecar.client().getRepo('shared2')).git,
      fileUrl(r),
      "the owner's repository is still registered",
    );
  });
});

describe('operator: what the API server refuses of a spec is on the resource', { timeout: 120_000 }, () => {
  it('a name too long for its CronJob, a schedule the API server cannot parse: Ready=False InvalidSpec naming it', async () => {
    const r = await chartRepo(w.repos, 'refusals', [['e', '1.0.0']]);
    const long = 'a'.repeat(50); // a DNS-1123 label, but "<name>-sync" is over a CronJob's 52
    await apply(w.admin, [
      chartmuseum(TENANT, long, { git: fileUrl(r) }),
      chartmuseum(TENANT, 'bad-cron', { git: fileUrl(r), schedule: '61 * * * *' }),
    ]);
    const a = await waitReady(w.admin, TENANT, long, { status: 'False', reason: 'InvalidSpec' });
    assert.match(ready(a)?.message ?? '', /must be no more than 52 characters/);
    const b = await waitReady(w.admin, TENANT, 'bad-cron', { status: 'False', reason: 'InvalidSpec' });
    assert.match(ready(b)?.message ?? '', /schedule/);
    assert.equal(op.proc.exitCode, null, 'the operator is still running');
  });

  it("someone else's CronJob named <name>-sync is neither replaced nor deleted: InvalidSpec naming it", async () => {
    const r = await chartRepo(w.repos, 'clash', [['f', '1.0.0']]);
    const theirs = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'backup-sync', namespace: TENANT },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'backup', image: 'example.com/backup:1' }],
              },
            },
          },
        },
      },
    } as KubernetesObject;
    await apply(w.admin, [theirs]);
    await apply(w.admin, [chartmuseum(TENANT, 'backup', { git: fileUrl(r) })]);
    const cm = await waitReady(w.admin, TENANT, 'backup', { status: 'False', reason: 'InvalidSpec' });
    assert.match(
      ready(cm)?.message ?? '',
      /CronJob tenant-a\/backup-sync exists and is not managed by chartsync/,
    );
    await kubeRequest(w.admin, 'DELETE', cmPath(TENANT, 'backup'));
    await waitFor('backup gone', () => gone(w.admin, cmPath(TENANT, 'backup')));
    const cj = await getCronJob(w.admin, TENANT, 'backup-sync');
    assert.equal(cj?.spec.schedule, '0 3 * * *', 'their CronJob is still there, as they made it');
    assert.equal(cj?.spec.jobTemplate.spec.template.spec.containers[0]?.image, 'example.com/backup:1');
  });

  it('a resource made again with the name of a deleted one owns its token Secret (not the old uid)', async () => {
    const r = await chartRepo(w.repos, 'again', [['g', '1.0.0']]);
    const secretPath = `/api/v1/namespaces/${TENANT}/secrets/again-sync-token`;
    const ownerOfSecret = async () =>
      (await kubeRequest<KubernetesObject>(w.admin, 'GET', secretPath)).metadata?.ownerReferences?.[0]?.uid;
    await apply(w.admin, [chartmuseum(TENANT, 'again', { git: fileUrl(r) })]);
    const first = await waitReady(w.admin, TENANT, 'again', { status: 'True', reason: 'Synced' });
    assert.equal(await ownerOfSecret(), first.metadata?.uid);
    await kubeRequest(w.admin, 'DELETE', cmPath(TENANT, 'again'));
    await waitFor('again gone', () => gone(w.admin, cmPath(TENANT, 'again')));
    // No garbage collector in envtest: the emptied Secret of the first one is still there.
    await apply(w.admin, [chartmuseum(TENANT, 'again', { git: fileUrl(r) })]);
    const second = await waitReady(w.admin, TENANT, 'again', { status: 'True', reason: 'Synced' });
    assert.notEqual(second.metadata?.uid, first.metadata?.uid);
    await waitFor(
      'the token Secret owned by the new resource',
      async () => (await ownerOfSecret()) === second.metadata?.uid,
    );
  });
});
