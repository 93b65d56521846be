/**
 * The envtest harness: `pnpm -s envtest` prints an admin kubeconfig first, serves until
 * SIGTERM, then removes everything; RBAC is on and TokenRequest works.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { apiStatus, apply, loadKubeConfig, serviceAccountKubeconfig } from '../harness/kube.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';

describe('envtest harness', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('pnpm -s envtest: first line KUBECONFIG=<path>, RBAC on, TokenRequest works, SIGTERM cleans up', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'test/harness/envtest-cli.ts')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`envtest exited early with ${code}`)));
    });
    const m = /^KUBECONFIG=(.+)$/.exec(first);
    assert.ok(m?.[1], `first line: ${first}`);
    const kubeconfig = m[1];
    const admin = loadKubeConfig(kubeconfig);
    const ns = await admin.makeApiClient(CoreV1Api).listNamespace();
    assert.ok(ns.items.some((n) => n.metadata?.name === 'default'));

    // A ServiceAccount without bindings is forbidden: RBAC is enforced.
    await apply(admin, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: 'default' } },
    ]);
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const sa = await serviceAccountKubeconfig(admin, 'default', 'nobody', join(tmp.path, 'sa.kubeconfig'));
    const denied = await sa
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: 'default' })
      .then(
        () => 200,
        (e) => apiStatus(e),
      );
    assert.equal(denied, 403);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(dirname(kubeconfig)), false, 'envtest removed its directory');
  });
});
