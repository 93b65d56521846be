/**
 * Hostile git URLs and refs sent to a running sidecar through `POST /repo/new`: the sidecar runs
 * with `git` behind a spy on its PATH, so each case proves that no git command ran at all, no
 * marker file of an injected command exists, nothing was registered or published. Then the
 * repository-side attacks that do reach git: a submodule pointing at file://, and HTTP redirects
 * to other transports and hosts.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileUrl, startHttpGitServer } from '../harness/git-server.ts';
import { chartFiles } from '../sidecar/fixtures.ts';
import { assertError, assertOutsideUntouched, exists, snapshot, startWorld, type World } from './world.ts';

let w: World;
let spyLog: string;
let pwned: string;
/** PATH with the spy first. */
let spyPath: string;

async function gitCalls(): Promise<string[]> {
  return (await readFile(spyLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

before(async () => {
  // The spy lives in a dir of its own, made before the world so the sidecar starts with it.
  const { tempDir } = await import('../harness/paths.ts');
  const spyDir = await tempDir('chartsync-sec-gitspy-');
  spyLog = join(spyDir.path, 'calls.log');
  const realGit = (process.env.PATH ?? '')
    .split(':')
    .map((d) => join(d, 'git'))
    .find((p) => exists(p));
  await writeFile(
    join(spyDir.path, 'git'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${spyLog}'\nexec '${realGit}' "$@"\n`,
  );
  await chmod(join(spyDir.path, 'git'), 0o755);
  spyPath = `${spyDir.path}:${process.env.PATH}`;
  w = await startWorld({ git: { http: true, daemon: true }, env: { PATH: spyPath } });
  const stop = w.stop;
  w.stop = async () => {
    await stop();
    await spyDir.cleanup();
  };
  pwned = join(w.root, 'pwned');
});
after(async () => {
  await w?.stop();
});

/** POSTs each body; each must be refused 400 before any git command runs, changing nothing. */
async function refusedBeforeGit(bodies: Record<string, unknown>[], re: RegExp): Promise<void> {
  const before = {
    data: await snapshot(w.data),
    storage: await snapshot(w.storage),
    calls: await gitCalls(),
  };
  for (const body of bodies) {
    const a = await w.api('POST', '/repo/new', { json: body });
    assertError(a, 400, 'invalid_input', re);
    assert.match(String(a.json.message), /refused/, JSON.stringify(body));
    assert.equal((await w.api('GET', `/repo/${body.name}`)).status, 404, 'not registered');
  }
  assert.deepEqual(await gitCalls(), before.calls, 'no git command ran');
  assert.deepEqual(await snapshot(w.data), before.data);
  assert.deepEqual(await snapshot(w.storage), before.storage);
  assert.equal(exists(pwned), false, 'the injected command did not run');
  await assertOutsideUntouched(w);
}

describe('hostile URLs are refused before git runs', () => {
  test('remote helpers: ext:: and fd:: (and any <transport>::)', async () => {
    await refusedBeforeGit(
      [
        { name: 'ext', git: `ext::sh -c touch% ${pwned}` },
        { name: 'ext2', git: `ext::sh -c "touch ${pwned}"` },
        { name: 'fd', git: 'fd::0' },
        { name: 'fd2', git: 'fd::3,4/x' },
        { name: 'helper', git: 'https::example.com/repo' },
        { name: 'helper2', git: 'testgit::/tmp/x' },
      ],
      /remote helper|whitespace|refused/,
    );
  });

  test('option injection: leading -, --upload-pack, -u, --config, ssh options in host or user', async () => {
    await refusedBeforeGit(
      [
        { name: 'dash', git: `--upload-pack=touch ${pwned}` },
        { name: 'dash2', git: `-u${pwned}` },
        { name: 'dash3', git: '-oProxyCommand=touch' },
        { name: 'up', git: `https://example.com/r.git --upload-pack=touch${pwned}` },
        { name: 'up2', git: `https://example.com/--upload-pack=touch${pwned}` },
        { name: 'cfg', git: 'https://example.com/r.git?--config=core.sshCommand=touch' },
        { name: 'exec', git: 'https://example.com/--exec=/bin/sh' },
        { name: 'sshhost', git: `ssh://-oProxyCommand=touch${pwned}/r.git` },
        { name: 'sshuser', git: `ssh://-oProxyCommand=x@example.com/r.git` },
        { name: 'scphost', git: `-oProxyCommand=touch${pwned}:r.git` },
        { name: 'scpuser', git: 'git@-oProxyCommand=x:r.git' },
      ],
      /option|starts with "-"|whitespace|not a valid host/,
    );
  });

  test('control characters: newline, carriage return, NUL, tab, DEL', async () => {
    await refusedBeforeGit(
      [
        { name: 'nl', git: `https://example.com/r.git\n--upload-pack=touch ${pwned}` },
        { name: 'cr', git: 'https://example.com/r.git\r' },
        { name: 'nul', git: 'https://example.com/r.git\u0000ext::sh' },
        { name: 'tab', git: 'https://example.com/r.git\t-u' },
        { name: 'del', git: 'https://example.com/r\u007f.git' },
      ],
      /control characters|whitespace/,
    );
  });

  test('file:// and local paths without allowLocalGit; http:// and git:// without allowInsecureGit', async () => {
    const bare = w.git.repos.path;
    await refusedBeforeGit(
      [
        { name: 'file', git: `file://${bare}/x.git` },
        { name: 'file2', git: 'file:///etc' },
        { name: 'abs', git: '/etc' },
        { name: 'rel', git: './data' },
        { name: 'up', git: '../outside' },
        { name: 'home', git: '~/repo' },
      ],
      /local repositories .* are not allowed here; enable allowLocalGit/,
    );
    await refusedBeforeGit(
      [
        { name: 'http', git: 'http://127.0.0.1:1/r.git' },
        { name: 'git', git: 'git://127.0.0.1:1/r.git' },
      ],
      /unencrypted\) are not allowed here; enable allowInsecureGit/,
    );
    await refusedBeforeGit(
      [
        { name: 'ftp', git: 'ftp://example.com/r.git' },
        { name: 'js', git: 'javascript://example.com/%0a' },
      ],
      /unsupported transport/,
    );
  });

  test('hostile refs: --output=, --upload-pack, -u, newline, NUL, .., @{, :', async () => {
    const git = 'https://example.com/r.git';
    await refusedBeforeGit(
      [
        { name: 'r1', git, ref: `--output=${pwned}` },
        { name: 'r2', git, ref: `--upload-pack=touch ${pwned}` },
        { name: 'r3', git, ref: `-u${pwned}` },
        { name: 'r4', git, ref: 'main\n--output=/tmp/x' },
        { name: 'r5', git, ref: 'main\u0000x' },
        { name: 'r6', git, ref: '../../etc/passwd' },
        { name: 'r7', git, ref: 'main@{1}' },
        { name: 'r8', git, ref: 'HEAD:secret' },
        { name: 'r9', git, ref: '-' },
      ],
      /git ref .* refused/,
    );
  });
});

describe('hostile repositories that reach git', () => {
  test('a submodule pointing at file:// is never fetched; the chart beside it is published', async () => {
    const local = await w.git.repos.create('local-secret', {
      ...chartFiles('leak', 'leak'),
      'secret.txt': 'local data\n',
    });
    const sup = await w.git.repos.create('super', chartFiles('charts/app', 'app'));
    await sup.addSubmodule('charts/vendor', fileUrl(local));
    await sup.commit('add a file:// submodule');
    await sup.push();
    const before = (await gitCalls()).length;
    const a = await w.api('POST', '/repo/new', { json: { name: 'super', git: w.git.daemon?.url('super') } });
    // git:// is not allowed on this sidecar: first the refusal, then over http(s)-like transport
    assertError(a, 400, 'invalid_input', /allowInsecureGit/);
    assert.equal((await gitCalls()).length, before, 'the refused call ran no git');
    const strict = await startWorld({ args: ['--allow-insecure-git'], env: { PATH: spyPath } });
    try {
      const ok = await strict.api('POST', '/repo/new', {
        json: { name: 'super', git: w.git.http?.url('super') },
      });
      assert.equal(ok.status, 200, ok.text);
      const charts = (ok.json.charts as { name: string; action: string }[]).map((c) => [c.name, c.action]);
      assert.deepEqual(charts, [['app', 'published']], 'the submodule chart is not there');
      const stored = Object.keys(await snapshot(join(strict.storage, 'super')));
      assert.deepEqual(stored.sort(), ['app-1.0.0.tgz', 'index.yaml']);
      const clone = await snapshot(join(strict.data, 'clones/super/charts/vendor'));
      assert.deepEqual(clone, {}, 'the submodule dir stays empty');
      await assertOutsideUntouched(strict);
      const calls = (await gitCalls()).slice(before);
      assert.ok(calls.length > 0, 'the sync ran git');
      assert.deepEqual(
        calls.filter((c) => /submodule|local-secret/.test(c.replaceAll('--no-recurse-submodules', ''))),
        [],
        'no git command touched the submodule',
      );
    } finally {
      await strict.stop();
    }
  });

  test('HTTP redirects to another transport or host are not followed: 502, nothing published', async () => {
    const target = await w.git.repos.create('target', chartFiles('app', 'app'));
    const elsewhere = await startHttpGitServer(w.git.repos.path);
    const redirector = await startHttpGitServer(w.git.repos.path, {
      redirect: (path) => {
        const rest = path.split('/').slice(2).join('/');
        if (path.startsWith('/to-file.git/')) return `file://${target.bare}/${rest}`;
        if (path.startsWith('/to-git.git/')) return `${w.git.daemon?.url('target')}/${rest}`;
        if (path.startsWith('/to-host.git/')) return `http://localhost:${elsewhere.port}/target.git/${rest}`;
        if (path.startsWith('/to-ext.git/')) return `ext::sh -c touch% ${pwned}`;
        return undefined;
      },
    });
    const open = await startWorld({ args: ['--allow-insecure-git'], env: { PATH: process.env.PATH } });
    try {
      for (const name of ['to-file', 'to-git', 'to-host', 'to-ext']) {
        const a = await open.api('POST', '/repo/new', { json: { name, git: redirector.url(name) } });
        assertError(a, 502, 'upstream_failed', /redirect/);
        const view = await open.api('GET', `/repo/${name}`);
        assert.equal((view.json.lastSync as { error: { error: string } }).error.error, 'upstream_failed');
      }
      assert.deepEqual(elsewhere.requests, [], 'the redirect target was never contacted');
      assert.ok(redirector.requests.every((r) => r.status === 302));
      assert.deepEqual(await snapshot(open.storage), {}, 'nothing published');
      assert.equal(exists(pwned), false);
      await assertOutsideUntouched(open);
    } finally {
      await open.stop();
      await redirector.stop();
      await elsewhere.stop();
    }
  });
});
