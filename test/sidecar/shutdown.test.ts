/**
 * Shutdown, in-process on the real service (real git, real storage): while in-flight syncs end,
 * new requests and readiness answer 503 `shutting_down`; afterwards the server is closed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveServeConfig } from '@chartsync/sidecar/config';
import { createLogger } from '@chartsync/sidecar/log';
import { startSidecar } from '@chartsync/sidecar/server';
import { fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { chartFiles } from './fixtures.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;

before(async () => {
  tmp = await tempDir('chartsync-shutdown-');
  git = await startGitServers();
});
let running: { stop(): Promise<void> } | undefined;

after(async () => {
  await running?.stop();
  await git?.stop();
  await tmp?.cleanup();
});

test('503 for new requests and readiness while in-flight syncs finish, then the server closes', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) Object.assign(files, chartFiles(`charts/c${i}`, `c${i}`));
  const repo = await git.repos.create('slow', files);
  const config = await resolveServeConfig(
    { port: '0', host: '127.0.0.1', 'storage-dir': join(tmp.path, 'storage'), 'allow-local-git': true },
    {},
  );
  const sidecar = await startSidecar(config, createLogger({ level: 'silent' }));
  running = sidecar;
  const base = `http://127.0.0.1:${sidecar.port}`;
  const inFlight = fetch(`${base}/repo/new`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'slow', git: fileUrl(repo) }),
  });
  await until(() => sidecar.service.listRepos().some((r) => r.syncing));
  const stopping = sidecar.stop();
  const during = await fetch(`${base}/repo`, { headers: { connection: 'close' } });
  assert.equal(during.status, 503);
  assert.deepEqual(await during.json(), {
    error: 'shutting_down',
    message: 'the sidecar is shutting down',
    reason: 'ShuttingDown',
  });
  assert.equal((await fetch(`${base}/readyz`, { headers: { connection: 'close' } })).status, 503);
  const answer = await inFlight;
  assert.ok([200, 503].includes(answer.status), `in-flight sync answered ${answer.status}`);
  await stopping;
  await assert.rejects(fetch(`${base}/healthz`), 'the server is closed after the shutdown');
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
