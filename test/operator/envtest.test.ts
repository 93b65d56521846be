/**
 * The envtest harness: `pnpm -s envtest` prints an admin kubeconfig first, serves until
 * SIGTERM, then removes everything; RBAC is on and TokenRequest works. etcd and kube-apiserver
 * never outlive it, whoever gets the signal: pnpm (which does not pass SIGTERM on) or nobody
 * (the CLI SIGKILLed).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { apiStatus, apply, loadKubeConfig, serviceAccountKubeconfig } from '../harness/kube.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';
import { processesNaming } from '../harness/reaper.ts';

/** Starts the CLI (`cmd args`) and resolves with its kubeconfig path once it printed it. */
async function startCli(cmd: string, args: string[]): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${cmd} exited early with ${code}`)));
  });
  const m = /^KUBECONFIG=(.+)$/.exec(first);
  assert.ok(m?.[1], `first line: ${first}`);
  return { child, kubeconfig: m[1] };
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

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

  it('pnpm -s envtest stopped by SIGTERM to pnpm (not passed on): etcd and kube-apiserver stop too', async () => {
    // As a script does it: `pnpm -s envtest & pid=$!; ...; kill $pid`.
    const { child, kubeconfig } = await startCli('pnpm', ['-s', 'envtest']);
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const dir = dirname(kubeconfig);
    const components = processesNaming(dir);
    assert.equal(components.length, 2, `etcd and kube-apiserver run with ${dir}`);
    child.kill('SIGTERM');
    await waitUntil('etcd and kube-apiserver are gone', () => processesNaming(dir).length === 0);
    await waitUntil('the data directory is removed', () => !existsSync(dir));
  });

  it('the CLI orphaned (its parent killed, no package manager to watch): etcd and kube-apiserver stop', async () => {
    // `sh -c 'cli & wait'`, sh then SIGKILLed: the CLI gets no signal and no launcher is listed
    // (no npm_lifecycle_event), only its parent changes.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    const child = spawn('sh', ['-c', `"${process.execPath}" test/harness/envtest-cli.ts & wait`], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`sh exited early with ${code}`)));
    });
    const dir = dirname(/^KUBECONFIG=(.+)$/.exec(first)?.[1] ?? assert.fail(`first line: ${first}`));
    assert.equal(processesNaming(dir).length, 2, `etcd and kube-apiserver run with ${dir}`);
    child.kill('SIGKILL');
    await waitUntil('etcd and kube-apiserver are gone', () => processesNaming(dir).length === 0);
    await waitUntil('the data directory is removed', () => !existsSync(dir));
  });

  it('the CLI killed with SIGKILL (no handler runs): the reaper stops etcd and kube-apiserver', async () => {
    const { child, kubeconfig } = await startCli(process.execPath, [
      join(repoRoot, 'test/harness/envtest-cli.ts'),
    ]);
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const dir = dirname(kubeconfig);
    assert.equal(processesNaming(dir).length, 2, `etcd and kube-apiserver run with ${dir}`);
    child.kill('SIGKILL');
    await waitUntil('etcd and kube-apiserver are gone', () => processesNaming(dir).length === 0);
    await waitUntil('the data directory is removed', () => !existsSync(dir));
  });
});
