/**
 * `chartsync` as a pipeline runs it: `sync --json` writes the sync result and nothing else to
 * stdout (logs go to stderr, even at LOG_LEVEL=debug), flag values go through the same
 * registration path as the API (a `--repo` URL with a space is refused), and every command
 * refuses bad flags with a message naming them and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FixtureRepo, fileUrl, RepoRoot } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { chartsyncScript } from '../harness/sidecar.ts';
import { chartFiles } from './fixtures.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function chartsync(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [chartsyncScript, ...args],
      { env: { ...process.env, ...env }, ...(cwd ? { cwd } : {}) },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let tmp: { path: string; cleanup: () => Promise<void> };
let repo: FixtureRepo;

before(async () => {
  tmp = await tempDir('chartsync-cli-sync-');
  await mkdir(join(tmp.path, 'repos'), { recursive: true });
  repo = await new RepoRoot(join(tmp.path, 'repos')).create('charts', chartFiles('app', 'app'));
});
after(async () => {
  await tmp?.cleanup();
});

describe('chartsync sync', () => {
  test('--json: stdout is exactly the JSON result, log lines go to stderr', async () => {
    for (const level of ['debug', 'info']) {
      const storage = join(tmp.path, `storage-${level}`);
      const r = await chartsync(
        ['sync', '--name', 'charts', '--git', fileUrl(repo), '--storage-dir', storage, '--json'],
        { LOG_LEVEL: level },
      );
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { name: string; charts: { name: string; action: string }[] };
      assert.equal(result.name, 'charts');
      assert.deepEqual(
        result.charts.map((c) => [c.name, c.action]),
        [['app', 'published']],
      );
      assert.match(r.stderr, /sync started|repository registered/, 'the logs are on stderr');
    }
  });

  test('--repo with a space, bad credentials forms and bad names are refused before anything runs', async () => {
    const storage = join(tmp.path, 'storage-bad');
    const base = ['sync', '--name', 'charts', '--git', fileUrl(repo), '--storage-dir', storage];
    for (const [extra, why] of [
      [['--repo', 'stable=https://charts.exa mple.com/x'], /--repo stable: .*url/],
      [['--repo', 'stable=https://u:pa/ss@charts.example.com/x'], /--repo stable: url: /],
      [['--repo', 'https://u:secret-pw@charts.example.com'], /--repo must be NAME=URL/],
      [['--repo', 'Bad_Name=https://charts.example.com'], /--repo Bad_Name: name: must be a DNS-1123 label/],
    ] as [string[], RegExp][]) {
      const r = await chartsync([...base, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, '');
      assert.ok(!r.stderr.includes('secret-pw') && !r.stderr.includes('pa/ss'), r.stderr);
    }
    const ssh = await chartsync([
      'sync',
      '--name',
      'x',
      '--git',
      'ssh://git:pw-9f@h/x',
      '--storage-dir',
      storage,
    ]);
    assert.equal(ssh.code, 2);
    assert.match(ssh.stderr, /git: ssh URLs cannot carry a password/);
    assert.ok(!ssh.stderr.includes('pw-9f'));
  });
});

describe('chartsync sync --git with a local path', () => {
  test('a relative path means one from the working directory (git itself runs in the checkout)', async () => {
    const storage = join(tmp.path, 'storage-relative');
    const r = await chartsync(
      ['sync', '--name', 'rel', '--git', './charts.git', '--storage-dir', storage, '--json'],
      {},
      join(tmp.path, 'repos'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { charts: { name: string }[] }).charts.map((c) => c.name),
      ['app'],
    );
  });

  test('a relative path through a link then .. means what git reads (the parent of the link target)', async () => {
    const { symlink } = await import('node:fs/promises');
    const from = join(tmp.path, 'elsewhere');
    await mkdir(from, { recursive: true });
    // lnk/.. is charts.git (the parent of its refs/), not `elsewhere`
    await symlink(join(tmp.path, 'repos', 'charts.git', 'refs'), join(from, 'lnk'));
    const storage = join(tmp.path, 'storage-link');
    const r = await chartsync(
      ['sync', '--name', 'lnk', '--git', 'lnk/..', '--storage-dir', storage, '--json'],
      {},
      from,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { charts: { name: string }[] }).charts.map((c) => c.name),
      ['app'],
    );
  });

  test("a path inside the storage dir (the command's own clones) is refused, exit 2", async () => {
    const storage = join(tmp.path, 'storage-own');
    const first = await chartsync(['sync', '--name', 'a', '--git', fileUrl(repo), '--storage-dir', storage]);
    assert.equal(first.code, 0, first.stderr);
    const clone = join(storage, '.chartsync', 'clones', 'a');
    const r = await chartsync(['sync', '--name', 'b', '--git', clone, '--storage-dir', storage]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /data or storage directory/);
  });
});

describe('bad flags, every command', () => {
  test('unknown flags, missing values, stray arguments and booleans with values exit non-zero naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['sync', '--frobnicate'], /--frobnicate/],
      [['sync', '--name'], /--name/],
      [['sync', '--json=yes', '--name', 'a'], /--json/],
      [['sync', 'stray', '--name', 'a'], /stray|positional/i],
      [['serve', '--frobnicate'], /--frobnicate/],
      [['serve', '--port'], /--port/],
      [['serve', 'stray'], /stray|positional/i],
      [['package', '--frobnicate', 'x'], /--frobnicate/],
      [['package', '--destination'], /--destination/],
      [['index', '--frobnicate', 'x'], /--frobnicate/],
      [['index', 'a', 'b'], /exactly one directory/],
      [['nosuchcommand'], /unknown command/],
    ];
    for (const [args, why] of cases) {
      const r = await chartsync(args);
      assert.notEqual(r.code, 0, `${args.join(' ')}: exit 0\n${r.stdout}`);
      assert.match(r.stderr, why, args.join(' '));
    }
  });
});
