/**
 * The Chartmuseum CRD (chart/crds) in a real API server: the seed's example resource is valid
 * as is and gets its defaults; invalid specs are refused with a message naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { type Envtest, startEnvtest } from '../harness/envtest.ts';
import { apply, installCrds, kubeRequest, loadKubeConfig } from '../harness/kube.ts';

function chartmuseum(name: string, spec: Record<string, unknown>): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: 'cm.bitnami.com/v1alpha1',
    kind: 'Chartmuseum',
    metadata: { name, namespace: 'default' },
    spec,
  };
}

describe('Chartmuseum CRD', () => {
  let env: Envtest;
  let kc: KubeConfig;
  before(async () => {
    env = await startEnvtest();
    kc = loadKubeConfig(env.kubeconfigPath);
    await installCrds(kc);
  });
  after(() => env?.stop());

  async function refused(name: string, spec: Record<string, unknown>): Promise<string> {
    const err = await apply(kc, [chartmuseum(name, spec)]).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, `${name}: expected the API server to refuse ${JSON.stringify(spec)}`);
    return err.message;
  }

  it('accepts the seed example as is and fills in the defaults', async () => {
    const [got] = (await apply(kc, [
      chartmuseum('seed', {
        git: 'https://github.com/foo/mycharts',
        updateEveryMinutes: 15,
        dependencies: [{ name: 'bitnami', url: 'https://charts.bitnami.com/bitnami' }],
      }),
    ])) as Array<{ spec: Record<string, unknown> }>;
    assert.equal(got?.spec.prune, true);
    assert.equal(got?.spec.suspend, false);
    assert.equal(got?.spec.updateEveryMinutes, 15);
  });

  it('accepts oci:// dependency repositories and mirrors, refuses other schemes', async () => {
    await apply(kc, [
      chartmuseum('oci-deps', {
        git: 'https://github.com/foo/mycharts',
        dependencies: [
          {
            name: 'hub',
            url: 'oci://mirror.internal:5000/bitnamicharts',
            mirrorOf: 'oci://registry-1.docker.io/bitnamicharts',
            secretRef: { name: 'hub-login' },
          },
          { name: 'web', url: 'https://charts.internal/stable', mirrorOf: 'oci://ghcr.io/org/charts' },
        ],
      }),
    ]);
    const msg = await refused('ftp-dep', {
      git: 'https://github.com/foo/mycharts',
      dependencies: [{ name: 'x', url: 'ftp://charts.example/x' }],
    });
    assert.match(msg, /spec\.dependencies\[0\]\.url/);
  });

  it('accepts every updateEveryMinutes that maps to an exact cron schedule', async () => {
    for (const n of [1, 5, 15, 30, 60, 120, 360, 720, 1440]) {
      await apply(kc, [
        chartmuseum(`every-${n}`, { git: 'https://example.com/r.git', updateEveryMinutes: n }),
      ]);
    }
  });

  it('refuses updateEveryMinutes that has no exact cron form, suggesting spec.schedule', async () => {
    for (const n of [45, 90, 7, 1000]) {
      const msg = await refused(`bad-every-${n}`, {
        git: 'https://example.com/r.git',
        updateEveryMinutes: n,
      });
      assert.match(msg, /spec\.updateEveryMinutes/);
      assert.match(msg, /spec\.schedule/);
    }
  });

  it('refuses a spec without git', async () => {
    assert.match(await refused('nogit', { updateEveryMinutes: 15 }), /spec\.git: Required value/);
  });

  it('refuses schedule together with updateEveryMinutes', async () => {
    const msg = await refused('both', {
      git: 'https://x/r.git',
      updateEveryMinutes: 15,
      schedule: '*/5 * * * *',
    });
    assert.match(msg, /mutually exclusive/);
  });

  it('refuses a malformed schedule and a repoName that is not a DNS-1123 label', async () => {
    assert.match(
      await refused('badsched', { git: 'https://x/r.git', schedule: 'every day' }),
      /spec\.schedule/,
    );
    assert.match(await refused('badrepo', { git: 'https://x/r.git', repoName: 'Not_OK' }), /spec\.repoName/);
  });

  it('refuses a dotted metadata.name unless spec.repoName is set', async () => {
    assert.match(await refused('my.repo', { git: 'https://x/r.git' }), /set spec\.repoName/);
    await apply(kc, [chartmuseum('my.repo', { git: 'https://x/r.git', repoName: 'my-repo' })]);
  });

  it('has the status subresource and the printer columns', async () => {
    const crd = await kubeRequest<{
      spec: {
        versions: Array<{
          subresources?: { status?: object };
          additionalPrinterColumns: Array<{ name: string }>;
        }>;
      };
    }>(kc, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/chartmuseums.cm.bitnami.com');
    const v = crd.spec.versions[0];
    assert.ok(v?.subresources?.status);
    const cols = v?.additionalPrinterColumns.map((c) => c.name) ?? [];
    for (const c of ['Ready', 'Commit', 'Charts', 'Last Sync', 'Age'])
      assert.ok(cols.includes(c), `column ${c}`);
    // A status written through the main resource is ignored: only /status may change it.
    await kubeRequest(
      kc,
      'PATCH',
      '/apis/cm.bitnami.com/v1alpha1/namespaces/default/chartmuseums/seed',
      { status: { url: 'x' } },
      'application/merge-patch+json',
    );
    const got = await kubeRequest<{ status?: { url?: string } }>(
      kc,
      'GET',
      '/apis/cm.bitnami.com/v1alpha1/namespaces/default/chartmuseums/seed',
    );
    assert.equal(got.status?.url, undefined);
  });
});
