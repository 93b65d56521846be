/**
 * `kill -9` of the sidecar while an ssh git command runs: the private key the command was given
 * must not stay on disk for good. Per-command secrets live under the sidecar's data dir (0700),
 * and a restart removes what a killed run left there. The ssh command is held by a server that
 * accepts the connection and never speaks, so the kill lands while the key is in use.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../harness/paths.ts';
import { startWorld, until, type World } from '../security/world.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let w: World;
let hole: Server;
const held: Socket[] = [];

before(async () => {
  tmp = await tempDir('chartsync-secrets-kill-');
  await mkdir(join(tmp.path, 'tmp'), { recursive: true });
  hole = createServer((s) => held.push(s));
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  // the sidecar's temp dir is ours, so the search below sees every place a key could be left
  w = await startWorld({ git: { ssh: true }, env: { TMPDIR: join(tmp.path, 'tmp') } });
});
after(async () => {
  for (const s of held) s.destroy();
  hole?.close();
  await w?.stop();
  await tmp?.cleanup();
});

/** Files under `dirs` whose content holds the key's body (but the registry, which keeps it by design). */
async function filesHolding(needle: string, dirs: string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (
        e.isFile() &&
        e.name !== 'registry.json' &&
        (await readFile(p, 'utf8').catch(() => '')).includes(needle)
      )
        found.push(p);
    }
  };
  for (const d of dirs) await walk(d);
  return found;
}

test('a key left by a killed ssh command is gone after the restart', async () => {
  const ssh = w.git.ssh;
  assert.ok(ssh, 'the harness started sshd');
  const port = (hole.address() as { port: number }).port;
  const keyBody = ssh.clientKey.split('\n').find((l) => l.length > 40) as string;
  const places = [w.data, join(tmp.path, 'tmp')];
  const a = await w.api('POST', '/repo/new?async=true', {
    json: {
      name: 'held',
      git: `ssh://git@127.0.0.1:${port}/x.git`,
      sshKey: ssh.clientKey,
      knownHosts: ssh.knownHosts,
    },
  });
  assert.equal(a.status, 202, a.text);
  const during = await until('the key on disk while ssh runs', async () => {
    const f = await filesHolding(keyBody, places);
    return f.length ? f : undefined;
  });
  await until('the ssh command connected and waiting', async () => held.length > 0 || undefined);
  w.sidecar.proc.kill('SIGKILL');
  await w.sidecar.stop();
  assert.deepEqual(await filesHolding(keyBody, places), during, 'the kill left the key behind');
  assert.ok(
    during.every((f) => f.startsWith(join(w.data, 'secrets'))),
    `keys are kept under <data>/secrets: ${during}`,
  );
  assert.equal((await stat(join(w.data, 'secrets'))).mode & 0o777, 0o700);

  await w.restart();
  assert.deepEqual(await filesHolding(keyBody, places), [], 'the restart removed the key');
  assert.equal((await w.api('GET', '/repo/held')).status, 200, 'the registration is kept');
});
