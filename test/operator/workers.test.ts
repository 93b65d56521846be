/**
 * The operator's workers are never held by a sync (the real API server, sidecar, git servers and
 * operator process): registering answers at once and the reconciler polls the sidecar for the
 * first sync's result, so a git server that stalls delays nobody else; and Ready reasons come
 * from the sidecar's machine reason, not from words in a message or URL.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type HttpGitServer, startHttpGitServer } from '../harness/git-server.ts';
import { apply, ensureNamespace, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  chartmuseum,
  chartRepo,
  cmPath,
  fileUrl,
  getCm,
  gone,
  type OperatorProcess,
  ready,
  startWorld,
  TOKEN,
  type World,
  waitReady,
} from './fixture.ts';

const NS = 'workers';

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
});
