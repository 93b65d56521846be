/**
 * The operator's workers are never held by a sync (the real API server, sidecar, git servers and
 * operator process): registering answers at once and the reconciler polls the sidecar for the
 * first sync's result, so a git server that stalls delays nobody else; Ready reasons come from
 * the sidecar's machine reason, not from words in a message or URL; and the CronJobs in tenant
 * namespaces hold a token that can only update their own repository.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { updateTokenFor } from '@chartsync/api';
import { type HttpGitServer, startHttpGitServer } from '../harness/git-server.ts';
import { apply, ensureNamespace, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  type CronJob,
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
  TOKEN,
  type World,
  waitReady,
} from './fixture.ts';

const NS = 'workers';
const TENANT = 'tenant-a';
const run = promisify(execFile);

/** A "git server" that accepts connections and reads requests but never answers. */
async function startStallingServer(): Promise<{ url: (name: string) => string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('operator: workers are never held by a sync', { timeout: 240_000 }, () => {
  let w: World;
  let op: OperatorProcess;
  let stalling: Awaited<ReturnType<typeof startStallingServer>>;
  let http: HttpGitServer;

  before(async () => {
    w = await startWorld({ sidecarArgs: ['--allow-insecure-git'] });
    stalling = await startStallingServer();
    http = await startHttpGitServer(w.repos.path, { auth: { username: 'git', password: 'pw-0123' } });
    await ensureNamespace(w.admin, NS);
    // One worker: before registration answered at once, one stalled sync held the only worker.
    op = await w.startOperator({ WORKERS: '1', PROGRESS_POLL_MS: '200' });
  });
  after(async () => {
    await op?.stop('SIGKILL');
    await stalling?.stop();
    await http?.stop();
    await w?.stop();
  });

  it('a first sync stalled on its git server delays neither reconciling nor deleting another resource', async () => {
    await apply(w.admin, [chartmuseum(NS, 'stalled', { git: stalling.url('charts') })]);
    // Registered at once: the resource reports the sync in progress while git hangs.
    const progressing = await waitReady(w.admin, NS, 'stalled', { status: 'Unknown', reason: 'Progressing' });
    assert.equal(progressing.status?.repoName, 'stalled');
    const view = (await (
      await fetch(`${w.sidecar.url}/repo/stalled`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { syncing: boolean };
    assert.equal(view.syncing, true, 'the sidecar is still syncing the stalled repository');

    const repo = await chartRepo(w.repos, 'quick', [['app', '1.0.0']]);
    const started = Date.now();
    await apply(w.admin, [chartmuseum(NS, 'quick', { git: fileUrl(repo) })]);
    const quick = await waitReady(w.admin, NS, 'quick', { status: 'True', reason: 'Synced' }, 20_000);
    assert.deepEqual(quick.status?.charts, [{ name: 'app', version: '1.0.0' }]);
    await kubeRequest(w.admin, 'DELETE', cmPath(NS, 'quick'));
    await waitFor('quick deleted', () => gone(w.admin, cmPath(NS, 'quick')), { timeoutMs: 20_000 });
    const tookMs = Date.now() - started;
    // git's own stall timeout is 30 s: everything above happened while the sync still hung.
    assert.ok(tookMs < 25_000, `reconciled and deleted in ${tookMs} ms`);
    const still = ready(await getCm(w.admin, NS, 'stalled'));
    assert.equal(still?.reason, 'Progressing', 'the stalled sync is still running');
  });

  it('a git auth failure on a repository whose URL says "publish" is GitAuthFailed, not PublishFailed', async () => {
    await chartRepo(w.repos, 'publish-charts', [['app', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'publish', { git: http.url('publish-charts') })]);
    const failed = await waitReady(w.admin, NS, 'publish', { status: 'False' }, 30_000);
    const c = ready(failed);
    assert.equal(c?.reason, 'GitAuthFailed', `${c?.reason}: ${c?.message}`);
  });
  it('the CronJob in a tenant namespace holds an update token for its own repo only, never the admin token', async () => {
    await ensureNamespace(w.admin, TENANT);
    // What versions before scoped tokens left in every tenant namespace: the admin token itself.
    await apply(w.admin, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'chartsync-sidecar-token',
          namespace: TENANT,
          labels: { 'app.kubernetes.io/managed-by': 'chartsync-operator' },
        },
        data: { token: Buffer.from(TOKEN).toString('base64') },
      } as never,
    ]);
    const repo = await chartRepo(w.repos, 'tenant-charts', [['app', '1.0.0']]);
    await apply(w.admin, [chartmuseum(TENANT, 'team', { git: fileUrl(repo) })]);
    await waitReady(w.admin, TENANT, 'team', { status: 'True', reason: 'Synced' });

    const cj = (await getCronJob(w.admin, TENANT, 'team-sync')) as CronJob;
    const c = cj.spec.jobTemplate.spec.template.spec.containers[0];
    const ref = c?.env?.find((e) => e.name === 'SIDECAR_TOKEN')?.valueFrom?.secretKeyRef;
    assert.equal(ref?.name, 'team-sync-token', 'one Secret per CronJob');
    const secrets = await waitFor('the shared admin-token Secret is emptied', async () => {
      const list = await kubeRequest<{
        items: Array<{ metadata: { name: string }; data?: Record<string, string> }>;
      }>(w.admin, 'GET', `/api/v1/namespaces/${TENANT}/secrets`);
      const holdsAdmin = list.items.some((x) =>
        Object.values(x.data ?? {}).some((v) => Buffer.from(v, 'base64').toString('utf8').includes(TOKEN)),
      );
      return holdsAdmin ? undefined : list.items;
    });
    const mine = secrets.find((x) => x.metadata.name === 'team-sync-token');
    const scoped = Buffer.from(mine?.data?.token ?? '', 'base64').toString('utf8');
    assert.equal(scoped, updateTokenFor(TOKEN, 'team'));
    assert.notEqual(scoped, TOKEN);

    // The CronJob's own command with that token updates its repository ...
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', SIDECAR_TOKEN: scoped };
    for (const e of c?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env.SIDECAR_URL = w.sidecar.url;
    const [cmd, ...args] = [...(c?.command ?? []), ...(c?.args ?? [])];
    const { stdout } = await run(cmd as string, args, { env });
    assert.equal((JSON.parse(stdout) as { name: string }).name, 'team');
    // ... and nothing else: another repo's update, register, delete, list are 403 Forbidden.
    const other = await chartRepo(w.repos, 'other-charts', [['other', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'other', { git: fileUrl(other) })]);
    await waitReady(w.admin, NS, 'other', { status: 'True', reason: 'Synced' });
    for (const [method, path] of [
      ['POST', '/repo/other/update'],
      ['POST', '/repo/new'],
      ['DELETE', '/repo/team'],
      ['DELETE', '/repo/other'],
      ['GET', '/repo'],
    ] as const) {
      const res = await fetch(`${w.sidecar.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${scoped}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ name: 'team', git: fileUrl(other) }) } : {}),
      });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(((await res.json()) as { reason: string }).reason, 'Forbidden');
    }
  });
});
