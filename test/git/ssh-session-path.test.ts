/**
 * ssh reads the key and known_hosts files from the session dir, under the sidecar's data dir
 * (`<data-dir>/secrets`): a data dir whose path holds a space or a `%` (which ssh expands as
 * its own tokens) must work as any other. ssh splits an option's value at spaces (a second
 * IdentityFile word is an error, a second UserKnownHostsFile word another file).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { remoteHead, syncCheckout, useSecretsDir } from '@chartsync/sidecar/git';
import { type FixtureRepo, type GitServers, startGitServers } from '../harness/git-server.ts';

const policy = { allowLocal: false, allowInsecure: false };
let servers: GitServers;
let repo: FixtureRepo;

before(async () => {
  servers = await startGitServers({ ssh: true });
  repo = await servers.repos.create('spaced', { 'charts/a/Chart.yaml': 'name: a\n' });
});
after(async () => {
  await servers?.stop();
});

test('ssh works with a data dir whose path holds a space and a %', async () => {
  const dataDir = join(servers.dir, 'chart sync 100%d');
  await mkdir(dataDir, { recursive: true });
  await useSecretsDir(join(dataDir, 'secrets'));
  const url = servers.ssh?.url(repo.bare) ?? '';
  const auth = { sshKey: servers.ssh?.clientKey, knownHosts: servers.ssh?.knownHosts };
  const head = await repo.head();
  assert.equal(await remoteHead({ url, policy, auth }), head);
  assert.equal((await syncCheckout({ url, policy, auth, dir: join(dataDir, 'co') })).commit, head);
});
