/**
 * The `chartsync` CLI as a user runs it (node_modules/.bin/chartsync): package output and exit
 * codes, --help on every command, and `chartsync index` against `helm repo index`.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareArchives, parseGoYaml } from '@chartsync/sidecar';
import { appChart, chartYaml, writeByteTree, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { chartsyncBin, tempDir } from '../harness/paths.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function chartsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(chartsyncBin, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-cli-');
  await writeTree(join(tmp.path, 'src/alpha'), appChart('alpha', '1.0.0'));
  await writeTree(join(tmp.path, 'src/alpha2'), appChart('alpha', '1.10.0'));
  await writeTree(join(tmp.path, 'src/alpha3'), appChart('alpha', '1.9.0-rc.1'));
  await writeTree(join(tmp.path, 'src/beta'), appChart('beta', '0.2.0'));
  await writeTree(
    join(tmp.path, 'src/bad'),
    appChart('bad', '1.0.0', {
      'Chart.yaml': `${chartYaml({ apiVersion: 'v2', name: 'bad', version: '1.0' })}version: nope\n`,
    }),
  );
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

describe('chartsync package', () => {
  test('reads nothing outside the git work tree (or --root): a linked chart dir, a file:// dependency through a link', async () => {
    const repo = join(tmp.path, 'gitrepo');
    const outside = join(tmp.path, 'outside-of-git');
    await writeTree(join(outside, 'lib'), appChart('lib', '1.0.0'));
    await writeTree(join(outside, 'private'), appChart('private', '1.0.0'));
    await writeTree(
      join(repo, 'app'),
      appChart('app', '1.0.0', {
        'Chart.yaml': `${chartYaml({ apiVersion: 'v2', name: 'app', version: '1.0.0' })}dependencies:\n- name: lib\n  version: 1.0.0\n  repository: file://../out/lib\n`,
      }),
    );
    execFileSync('git', ['init', '-q', repo]);
    await symlink(outside, join(repo, 'out'));
    await symlink(join(outside, 'private'), join(repo, 'linked'));
    const dest = join(tmp.path, 'out-confined');
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const linked = await chartsync(['package', join(repo, 'linked'), '-d', dest], env);
    assert.equal(linked.code, 1, linked.stdout);
    assert.match(linked.stderr, /the chart directory "linked" resolves outside the checkout/);
    const dep = await chartsync(['package', '-u', join(repo, 'app'), '-d', dest], env);
    assert.equal(dep.code, 1, dep.stdout);
    assert.match(dep.stderr, /"file:\/\/\.\.\/out\/lib" resolves outside the repository/);
    // A wider root, given explicitly, is the user's decision.
    const wide = await chartsync(['package', '-u', join(repo, 'app'), '-d', dest, '--root', tmp.path], env);
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(wide.stdout, /^app-1\.0\.0\.tgz sha256:/);
  });

  test('prints <name>-<version>.tgz sha256:<digest> per chart and writes the archives', async () => {
    const dest = join(tmp.path, 'out');
    const r = await chartsync([
      'package',
      join(tmp.path, 'src/alpha'),
      join(tmp.path, 'src/beta'),
      '-d',
      dest,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /^alpha-1\.0\.0\.tgz sha256:[0-9a-f]{64}$/);
    assert.match(lines[1] as string, /^beta-0\.2\.0\.tgz sha256:[0-9a-f]{64}$/);
    assert.deepEqual((await readdir(dest)).sort(), ['alpha-1.0.0.tgz', 'beta-0.2.0.tgz']);
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256')
      .update(await readFile(join(dest, 'alpha-1.0.0.tgz')))
      .digest('hex');
    assert.equal(lines[0], `alpha-1.0.0.tgz sha256:${digest}`);
  });

  test('packaging local charts loads neither the registration path nor the git client (start-up cost)', async () => {
    // A module hook that names every module the run loads, on stderr.
    const hook = join(tmp.path, 'trace-modules.mjs');
    await writeFile(
      hook,
      "import { registerHooks } from 'node:module';\nregisterHooks({ resolve(s, c, next) { const r = next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; } });\n",
    );
    const loaded = async (extra: string[]) => {
      const dest = join(tmp.path, `out-modules-${extra.length}`);
      const r = await chartsync(['package', join(tmp.path, 'src/alpha'), '-d', dest, ...extra], {
        NODE_OPTIONS: `--import=${hook}`,
      });
      assert.equal(r.code, 0, r.stderr);
      return r.stderr;
    };
    const plain = await loaded([]);
    assert.match(plain, /LOADED .*chart\/package\.js/);
    for (const heavy of ['registry/registration.js', 'simple-git', 'zod', 'node-cron'])
      assert.ok(!plain.includes(heavy), `${heavy} loaded by a plain package run`);
    // The check is not blind: a --repo flag does take the registration path.
    assert.match(await loaded(['--repo', 'stable=https://charts.example.com']), /registry\/registration\.js/);
  });

  test('with several charts, the main thread hands them to build threads without loading the chart engine (YAML libraries)', async () => {
    const hook = join(tmp.path, 'trace-main-modules.mjs');
    await writeFile(
      hook,
      "import { registerHooks } from 'node:module';\nimport { isMainThread } from 'node:worker_threads';\nregisterHooks({ resolve(s, c, next) { const r = next(s, c); process.stderr.write((isMainThread ? 'MAIN ' : 'THREAD ') + r.url + '\\n'); return r; } });\n",
    );
    const dest = join(tmp.path, 'out-main-modules');
    const r = await chartsync(
      ['package', join(tmp.path, 'src/alpha'), join(tmp.path, 'src/beta'), '-d', dest],
      {
        NODE_OPTIONS: `--import=${hook}`,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const main = r.stderr.split('\n').filter((l) => l.startsWith('MAIN '));
    assert.ok(
      main.some((l) => l.includes('build/pool.js')),
      'the hook sees the main thread',
    );
    for (const engine of ['/yaml/', '/js-yaml/', 'chart/yaml.js', 'chart/load-files.js'])
      assert.ok(
        !main.some((l) => l.includes(engine)),
        `${engine} loaded on the main thread:\n${main.join('\n')}`,
      );
  });

  test('an invalid chart: non-zero exit, a message naming chart, file and problem; valid ones still packaged', async () => {
    const dest = join(tmp.path, 'out-bad');
    const r = await chartsync([
      'package',
      join(tmp.path, 'src/bad'),
      join(tmp.path, 'src/beta'),
      '--destination',
      dest,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chart bad: Chart\.yaml: version "nope" is not a valid SemVer 2 version/);
    assert.match(r.stdout, /^beta-0\.2\.0\.tgz sha256:/);
  });

  test('file names that are not UTF-8: a chart packaging one fails alone, naming it; ignored ones and renamed subchart dirs package as helm does', async () => {
    const src = join(tmp.path, 'bytes');
    const cy = (name: string, extra = '') =>
      `${chartYaml({ apiVersion: 'v2', name, version: '1.0.0' })}${extra}`;
    const files = (name: string) => ({
      [`${name}/Chart.yaml`]: cy(name),
      [`${name}/templates/cm.yaml`]: 'a: 1\n',
    });
    writeByteTree(src, {
      ...files('bad'),
      'bad/templates/\xff.txt': 'x\n',
      ...files('badsub'),
      'badsub/Chart.yaml': cy('badsub', 'dependencies:\n- name: sub\n  version: 0.1.0\n'),
      'badsub/charts/sub/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'sub', version: '0.1.0' }),
      'badsub/charts/sub/files/\xfe\xff/a.txt': 'x\n',
      ...files('globbed'),
      'globbed/.helmignore': '*.txt\n',
      'globbed/templates/\xff.txt': 'x\n',
      ...files('literal'),
      'literal/.helmignore': Buffer.from('templates/\xff.txt\n', 'latin1'),
      'literal/templates/\xff.txt': 'x\n',
      ...files('ignoreddir'),
      'ignoreddir/.helmignore': '*.bak\n',
      'ignoreddir/files/\xfe/x.bak': 'x\n',
      ...files('vendored'),
      'vendored/Chart.yaml': cy('vendored', 'dependencies:\n- name: sub\n  version: 0.1.0\n'),
      'vendored/charts/\xfe/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'sub', version: '0.1.0' }),
      'vendored/charts/\xfe/values.yaml': 'a: 1\n',
    });
    const good = ['globbed', 'literal', 'ignoreddir', 'vendored'];
    const dest = join(tmp.path, 'out-bytes');
    // several charts: built on build threads; one: in-process
    const r = await chartsync([
      'package',
      ...['bad', 'badsub', ...good].map((c) => join(src, c)),
      '-d',
      dest,
    ]);
    const alone = await chartsync(['package', join(src, 'bad'), '-d', dest]);
    for (const run of [r, alone]) {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /chart bad: templates\/\\xff\.txt: file name is not valid UTF-8/);
      assert.doesNotMatch(run.stderr, /\uFFFD|ENOENT|lstat/);
    }
    assert.match(
      r.stderr,
      /chart badsub: charts\/sub\/files\/\\xfe\\xff\/a\.txt: file name is not valid UTF-8/,
    );
    assert.equal(r.stdout.trim().split('\n').length, good.length, r.stdout);
    // helm packages the refused ones (with the raw bytes: a documented difference) ...
    for (const c of ['bad', 'badsub']) assert.ok('data' in (await helm.package(join(src, c))), c);
    // ... and the others exactly as chartsync does
    for (const c of good) {
      const theirs = await helm.package(join(src, c));
      assert.ok('data' in theirs, `${c}: ${'error' in theirs ? theirs.error : ''}`);
      const ours = await readFile(join(dest, `${c}-1.0.0.tgz`));
      assert.deepEqual(compareArchives(theirs.data, ours), [], c);
    }
  });

  test('one chart nested deeper than the main thread stack reaches packages as helm does, up to the 10,000 levels helm reads', async () => {
    const block = (depth: number) =>
      `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k:\n`).join('')}${' '.repeat(depth)}v: 1\n`;
    const flow = (depth: number) => `a: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`;
    // 3,000 block levels (4.5 MB, under helm's 5 MiB per file); 9,999 flow levels under the root
    // map are helm's deepest; one more and both refuse the chart
    const cases: [string, string, boolean][] = [
      ['deep', block(3000), true],
      ['deepflow', flow(9999), true],
      ['toodeep', flow(10_000), false],
    ];
    for (const [name, values, ok] of cases) {
      const dir = join(tmp.path, 'src', name);
      await writeTree(dir, appChart(name, '1.0.0', { 'values.yaml': values }));
      const dest = join(tmp.path, `out-${name}`);
      // one chart per run: the in-process path, whose stack overflows first
      const r = await chartsync(['package', dir, '-d', dest]);
      const theirs = await helm.package(dir);
      if (!ok) {
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /values\.yaml: .*nested deeper than 10000 levels/);
        assert.ok('error' in theirs, 'helm refuses it too');
        continue;
      }
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.ok('data' in theirs, 'error' in theirs ? theirs.error : '');
      assert.deepEqual(
        compareArchives(theirs.data, await readFile(join(dest, `${name}-1.0.0.tgz`))),
        [],
        name,
      );
    }
  });

  test('a missing directory and a usage error', async () => {
    const missing = await chartsync(['package', join(tmp.path, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope/);
    const usage = await chartsync(['package']);
    assert.notEqual(usage.code, 0);
    assert.match(usage.stderr, /at least one chart directory/);
    const badFlag = await chartsync(['package', '--frobnicate', 'x']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /frobnicate/);
    const badRepo = await chartsync(['package', join(tmp.path, 'src/beta'), '--repo', 'no-equals-sign']);
    assert.equal(badRepo.code, 1);
    assert.match(badRepo.stderr, /--repo must be NAME=URL/);
    for (const flag of ['--repo', '--mirror-of']) {
      const twice = await chartsync([
        'package',
        join(tmp.path, 'src/beta'),
        '-d',
        join(tmp.path, 'twice'),
        '--repo',
        'stable=https://charts.example.com/a',
        ...(flag === '--repo' ? [] : ['--mirror-of', 'stable=https://public.example.com/a']),
        flag,
        'stable=https://charts.example.com/b',
      ]);
      assert.equal(twice.code, 1, `${flag} twice`);
      assert.match(twice.stderr, new RegExp(`${flag} stable: given more than once`));
    }
  });

  test('two charts with the same name and version: the first keeps the file, the second fails', async () => {
    const dirs = ['twin-a', 'twin-b'].map((d) => join(tmp.path, 'src', d));
    for (const [i, dir] of dirs.entries()) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: twin\nversion: 1.0.0\n');
      await writeFile(join(dir, 'values.yaml'), `which: ${i}\n`);
    }
    const dest = join(tmp.path, 'twins');
    const r = await chartsync(['package', ...dirs, '-d', dest]);
    assert.equal(r.code, 1);
    const printed = /^twin-1\.0\.0\.tgz sha256:([0-9a-f]{64})\n$/.exec(r.stdout);
    assert.ok(printed, r.stdout);
    assert.match(
      r.stderr,
      /twin-b: twin-1\.0\.0\.tgz is also the package of .*twin-a \(same chart name and version\): not overwritten/,
    );
    const onDisk = createHash('sha256')
      .update(await readFile(join(dest, 'twin-1.0.0.tgz')))
      .digest('hex');
    assert.equal(onDisk, printed[1], 'the printed digest is the archive on disk');
    assert.deepEqual(await readdir(dest), ['twin-1.0.0.tgz'], 'no temp file is left behind');
  });

  test('several charts with the destination inside one of them are refused; one chart into itself is fine', async () => {
    const dirs = ['nest-a', 'nest-b'].map((d) => join(tmp.path, 'src', d));
    for (const dir of dirs) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'Chart.yaml'), `apiVersion: v2\nname: ${basename(dir)}\nversion: 1.0.0\n`);
    }
    const inside = join(dirs[0] as string, 'dist');
    const r = await chartsync(['package', ...dirs, '-d', inside]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the destination .*nest-a\/dist is inside the chart directory .*nest-a: /);
    assert.deepEqual(await readdir(inside), [], 'nothing written');
    const alone = await chartsync(['package', dirs[0] as string, '-d', inside]);
    assert.equal(alone.code, 0, alone.stderr);
  });

  test('SOURCE_DATE_EPOCH must be a number', async () => {
    const r = await chartsync(['package', join(tmp.path, 'src/beta'), '-d', join(tmp.path, 'x')], {
      SOURCE_DATE_EPOCH: 'yesterday',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SOURCE_DATE_EPOCH/);
  });

  test('--help on every command, and the command list', async () => {
    for (const command of ['package', 'index']) {
      const r = await chartsync([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^Usage: chartsync ${command}`));
    }
    const top = await chartsync(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /package\s+package chart directories/);
    const unknown = await chartsync(['frob']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frob"/);
  });
});

describe('chartsync index', () => {
  test('writes index.yaml with the same entries as `helm repo index` (newest first by SemVer)', async () => {
    const ours = join(tmp.path, 'repo-ours');
    const theirs = join(tmp.path, 'repo-helm');
    const dirs = ['alpha', 'alpha2', 'alpha3', 'beta'].map((d) => join(tmp.path, 'src', d));
    const r = await chartsync(['package', ...dirs, '-d', ours]);
    assert.equal(r.code, 0, r.stderr);
    await mkdir(join(ours, 'sub'));
    await copyFile(join(ours, 'beta-0.2.0.tgz'), join(ours, 'sub/beta-0.2.0.tgz'));
    await mkdir(theirs);
    await mkdir(join(theirs, 'sub'));
    for (const f of await readdir(ours))
      if (f.endsWith('.tgz')) await copyFile(join(ours, f), join(theirs, f));
    await copyFile(join(ours, 'sub/beta-0.2.0.tgz'), join(theirs, 'sub/beta-0.2.0.tgz'));

    const url = 'https://charts.example.com/team';
    const idx = await chartsync(['index', ours, '--url', url]);
    assert.equal(idx.code, 0, idx.stderr);
    await helm.run(['repo', 'index', theirs, '--url', url]);

    const normalise = (text: string) => {
      const doc = parseGoYaml(text, 'index.yaml') as Record<string, unknown>;
      const entries = doc.entries as Record<string, Record<string, unknown>[]>;
      for (const list of Object.values(entries)) for (const e of list) delete e.created;
      delete doc.generated;
      return doc;
    };
    const a = normalise(await readFile(join(ours, 'index.yaml'), 'utf8'));
    const b = normalise(await readFile(join(theirs, 'index.yaml'), 'utf8'));
    assert.deepEqual(a, b);
    const alpha = (a.entries as Record<string, { version: string }[]>).alpha?.map((e) => e.version);
    assert.deepEqual(alpha, ['1.10.0', '1.9.0-rc.1', '1.0.0']);
  });

  test('archive names needing escapes get the URLs `helm repo index` writes, with and without --url', async () => {
    const archive = await readFile(join(tmp.path, 'repo-ours', 'beta-0.2.0.tgz'));
    const names = ['odd name 100%!.tgz', 'sub dir/a#b%(1).tgz', 'c:d/x?.tgz', 'ü/é.tgz'];
    const [ours, theirs] = [join(tmp.path, 'odd-ours'), join(tmp.path, 'odd-helm')];
    for (const dir of [ours, theirs]) {
      for (const name of names) {
        await mkdir(join(dir, name, '..'), { recursive: true });
        await writeFile(join(dir, name), archive);
      }
    }
    const urls = async (dir: string) => {
      const doc = parseGoYaml(await readFile(join(dir, 'index.yaml'), 'utf8'), 'index.yaml') as {
        entries: Record<string, { urls: string[] }[]>;
      };
      return (doc.entries.beta ?? []).flatMap((e) => e.urls).sort();
    };
    const bases = ['https://charts.example.com/a b/%7Eteam', 'my charts/x', '/abs path', './rel'];
    for (const flags of [[], ...bases.map((url) => ['--url', url])]) {
      const idx = await chartsync(['index', ours, ...flags]);
      assert.equal(idx.code, 0, idx.stderr);
      await helm.run(['repo', 'index', theirs, ...flags]);
      assert.deepEqual(await urls(ours), await urls(theirs), `flags: ${flags.join(' ')}`);
    }
  });

  test('symbolic links to archives and to directories are indexed, as `helm repo index` does', async () => {
    const archive = await readFile(join(tmp.path, 'repo-ours', 'beta-0.2.0.tgz'));
    const elsewhere = join(tmp.path, 'links-target');
    await mkdir(join(elsewhere, 'dir'), { recursive: true });
    await writeFile(join(elsewhere, 'beta.tgz'), archive);
    await writeFile(join(elsewhere, 'dir', 'inner.tgz'), archive);
    const [ours, theirs] = [join(tmp.path, 'links-ours'), join(tmp.path, 'links-helm')];
    for (const dir of [ours, theirs]) {
      await mkdir(dir);
      await symlink(join(elsewhere, 'beta.tgz'), join(dir, 'linked.tgz'));
      await symlink(join(elsewhere, 'dir'), join(dir, 'linkdir'));
      await symlink(join(elsewhere, 'missing.tgz'), join(dir, 'dangling.tgz'));
      await symlink(join(dir, 'loop'), join(dir, 'loop'));
    }
    const urls = async (dir: string) => {
      const doc = parseGoYaml(await readFile(join(dir, 'index.yaml'), 'utf8'), 'index.yaml') as {
        entries: Record<string, { urls: string[] }[]>;
      };
      return (doc.entries.beta ?? []).flatMap((e) => e.urls).sort();
    };
    const idx = await chartsync(['index', ours]);
    assert.equal(idx.code, 0, idx.stderr);
    await helm.run(['repo', 'index', theirs]);
    assert.deepEqual(await urls(ours), ['linkdir/inner.tgz', 'linked.tgz']);
    assert.deepEqual(await urls(ours), await urls(theirs));
  });

  test('a .tgz too large to be a chart, or unreadable, is skipped, as helm skips it', async () => {
    const dir = join(tmp.path, 'huge-tgz');
    await mkdir(dir);
    await copyFile(join(tmp.path, 'repo-ours', 'beta-0.2.0.tgz'), join(dir, 'beta-0.2.0.tgz'));
    // sparse: 3 GiB on paper, nothing on disk
    execFileSync('truncate', ['-s', '3G', join(dir, 'disk-image.tgz')]);
    // unreadable: reading it fails with EIO
    await symlink('/proc/self/mem', join(dir, 'unreadable.tgz'));
    const idx = await chartsync(['index', dir]);
    assert.equal(idx.code, 0, idx.stderr);
    assert.match(idx.stdout, /index\.yaml: 1 chart version\(s\)/);
  });

  test('the index is accepted by helm as a repository', async () => {
    const dir = join(tmp.path, 'repo-ours');
    const { createServer } = await import('node:http');
    const server = createServer(async (req, res) => {
      try {
        res.end(await readFile(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const idx = await chartsync(['index', dir, '--url', `http://127.0.0.1:${port}`]);
      assert.equal(idx.code, 0);
      await helm.run(['repo', 'add', 'ours', `http://127.0.0.1:${port}`]);
      const search = await helm.run(['search', 'repo', 'ours/alpha', '--versions']);
      assert.match(search, /ours\/alpha\s+1\.10\.0/);
      const pulled = join(tmp.path, 'pulled');
      await mkdir(pulled);
      await helm.run(['pull', 'ours/beta', '--version', '0.2.0', '-d', pulled]);
      assert.ok((await readdir(pulled)).includes('beta-0.2.0.tgz'));
    } finally {
      server.close();
    }
  });
});
