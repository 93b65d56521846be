/**
 * The README's start command (`node scripts/start.mjs`): it turns examples/charts into a local
 * git repository, serves it with a standalone chartsync, and prints how to add it to helm —
 * which the real helm then does, rendering the chart whose dependency comes via file://.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let proc: ChildProcess | undefined;
let output = '';

before(async () => {
  tmp = await tempDir('chartsync-start-');
});
after(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await once(proc, 'exit');
  }
  await tmp?.cleanup();
});

test('start serves the example charts and prints the helm commands that work', async () => {
  const port = await freePort();
  proc = spawn(process.execPath, [join(repoRoot, 'scripts/start.mjs'), '--port', String(port)], {
    env: { ...process.env, CHARTSYNC_START_DIR: join(tmp.path, 'start') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d) => {
    output += d;
  });
  proc.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 30_000;
  while (!output.includes('helm search repo')) {
    assert.ok(Date.now() < deadline, `no instructions printed:\n${output}`);
    assert.equal(proc.exitCode, null, `start exited early:\n${output}`);
    await sleep(100);
  }
  const add = /helm repo add examples (\S+)/.exec(output);
  assert.ok(add?.[1], output);
  assert.equal(add[1], `http://localhost:${port}/charts/examples`);
  const helm = new Helm(tmp.path);
  await helm.addRepo('examples', add[1]);
  const search = await helm.run(['search', 'repo', 'examples/', '-o', 'json']);
  const names = (JSON.parse(search) as { name: string }[]).map((c) => c.name).sort();
  assert.deepEqual(names, ['examples/backend', 'examples/common', 'examples/frontend']);
  const backend = (JSON.parse(search) as { name: string; version: string }[]).find(
    (c) => c.name === 'examples/backend',
  );
  const rendered = await helm.template('examples/backend', backend?.version ?? '');
  assert.match(rendered, /kind: Deployment/);
  proc.kill('SIGTERM');
  const [code] = await once(proc, 'exit');
  assert.equal(code, 0);
});
