/**
 * Hostile `Chartmuseum` resources against the real operator, API server and sidecar: git URLs
 * and refs that would run commands, paths leaving the repository, names that would leave the
 * storage dir. Each is refused by the API server (CRD validation, with its message) or reported
 * on the resource as Ready=False InvalidSpec naming the problem; no git command runs, nothing is
 * registered in the sidecar, nothing is written, no marker file appears. The operator stays up.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiErrorMessage, apply } from '../harness/kube.ts';
import { tempDir } from '../harness/paths.ts';
import {
  chartmuseum,
  type OperatorProcess,
  ready,
  startWorld,
  TOKEN,
  type World,
  waitReady,
} from '../operator/fixture.ts';
import { call, exists, snapshot } from './world.ts';

const NS = 'default';
let w: World;
let op: OperatorProcess;
let spy: { path: string; cleanup: () => Promise<void> };
let pwned: string;

const gitCalls = async () =>
  (await readFile(join(spy.path, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

before(async () => {
  spy = await tempDir('chartsync-sec-opspy-');
  pwned = join(spy.path, 'pwned');
  const realGit = (process.env.PATH ?? '')
    .split(':')
    .map((d) => join(d, 'git'))
    .find((p) => exists(p));
  await writeFile(
    join(spy.path, 'git'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${join(spy.path, 'calls.log')}'\nexec '${realGit}' "$@"\n`,
  );
  await chmod(join(spy.path, 'git'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${spy.path}:${path}`; // inherited by the sidecar the world starts
  try {
    w = await startWorld();
  } finally {
    process.env.PATH = path;
  }
  op = await w.startOperator();
});
after(async () => {
  await op?.stop();
  await w?.stop();
  await spy?.cleanup();
});

describe('hostile Chartmuseum resources', () => {
  const specs: [string, Record<string, unknown>][] = [
    ['ext', { git: `ext::sh -c touch% ${'PWNED'}` }],
    ['fd', { git: 'fd::3' }],
    ['upload-pack', { git: '--upload-pack=touch PWNED' }],
    ['ssh-option', { git: 'ssh://-oProxyCommand=touch%20PWNED/x' }],
    ['newline', { git: 'https://example.com/r.git\n--upload-pack=touch PWNED' }],
    ['ref-output', { git: 'https://example.com/r.git', ref: '--output=PWNED' }],
    ['ref-upload', { git: 'https://example.com/r.git', ref: '--upload-pack=touch PWNED' }],
    ['path-up', { git: 'https://example.com/r.git', paths: ['../../etc'] }],
    ['path-abs', { git: 'https://example.com/r.git', paths: ['/etc'] }],
    ['reponame', { git: 'https://example.com/r.git', repoName: '../outside' }],
    ['reponame-upper', { git: 'https://example.com/r.git', repoName: 'UPPER' }],
  ];

  it(`${specs.length} hostile specs: refused by the API server or InvalidSpec; no git ran, nothing registered`, async (t) => {
    const callsBefore = await gitCalls();
    const storageBefore = await snapshot(w.storageDir);
    const outcomes: string[] = [];
    for (const [name, raw] of specs) {
      const spec = JSON.parse(JSON.stringify(raw).replaceAll('PWNED', pwned)) as Record<string, unknown>;
      try {
        await apply(w.admin, [chartmuseum(NS, `bad-${name}`, spec)]);
      } catch (err) {
        assert.match(apiErrorMessage(err), /422 .*is invalid: spec\./, name);
        outcomes.push(`${name}: refused by the API server`);
        continue;
      }
      const cm = await waitReady(w.admin, NS, `bad-${name}`, { status: 'False', reason: 'InvalidSpec' });
      assert.match(ready(cm)?.message ?? '', /refused|invalid|must|not allowed/i, name);
      outcomes.push(`${name}: InvalidSpec (${ready(cm)?.message})`);
    }
    t.diagnostic(outcomes.join('\n'));
    assert.deepEqual(await gitCalls(), callsBefore, 'no git command ran');
    assert.equal(exists(pwned), false);
    assert.deepEqual(await snapshot(w.storageDir), storageBefore);
    const repos = await call(w.sidecar.url, 'GET', '/repo', { token: TOKEN });
    assert.equal(repos.text, '[]', 'nothing was registered in the sidecar');
    assert.equal(op.proc.exitCode, null, 'the operator is still running');
  });
});
