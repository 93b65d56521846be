/** The test runner's suite split: `unit` needs no built tools; tools follow the import graph. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot, tempDir } from '../harness/paths.ts';

// @ts-expect-error: plain ESM script without type declarations
const runner = (await import('../scripts/run-tests.mjs')) as {
  selectFiles(args: string[], cwd?: string): string[];
  needs(files: string[]): { tools: string[]; systemDeps: boolean };
};

describe('run-tests.mjs', () => {
  test('the unit suite needs no Go tools and no system packages', () => {
    const files = runner.selectFiles(['unit']);
    assert.ok(files.length >= 5, `unit files: ${files.length}`);
    assert.deepEqual(runner.needs(files), { tools: [], systemDeps: false });
  });

  test('a file gets the tools its imports reach, and only those', () => {
    const file = (p: string) => join(repoRoot, p);
    assert.deepEqual(runner.needs([file('test/operator/resilience.test.ts')]).tools, [
      'etcd',
      'helm',
      'kube-apiserver',
    ]);
    assert.deepEqual(runner.needs([file('test/conformance/package.test.ts')]).tools, ['helm']);
    assert.equal(runner.needs([file('test/git/transports.test.ts')]).systemDeps, true);
    assert.deepEqual(runner.needs([file('test/deps/constraint.test.ts')]).tools, []);
  });

  test('paths and suite names mix; every file once; unknown paths are refused', () => {
    const files = runner.selectFiles(['unit', 'test/unit/smoke.test.ts'], repoRoot);
    assert.equal(new Set(files).size, files.length);
    assert.throws(() => runner.selectFiles(['test/no-such-dir'], repoRoot), /no such test path/);
  });
});

describe('exit-guard.mjs', () => {
  const runFile = (body: string, dir: string) => {
    const file = join(dir, `f${Math.random().toString(36).slice(2)}.test.mjs`);
    writeFileSync(file, `import { test } from 'node:test';\n${body}\n`);
    // Without NODE_TEST_CONTEXT: a run of its own, not a subtest of this one.
    const { NODE_TEST_CONTEXT: _nested, ...rest } = process.env;
    const env = { ...rest, TEST_EXIT_GRACE_MS: '500', TEST_EXIT_BACKSTOP_S: '2' };
    const started = Date.now();
    const r = spawnSync(
      process.execPath,
      ['--test', '--import', join(repoRoot, 'test/harness/exit-guard.mjs'), file],
      { env, encoding: 'utf8' },
    );
    return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
  };

  test('a file that ends normally is not delayed; one holding a handle is ended and names it', async () => {
    const tmp = await tempDir();
    try {
      const ok = runFile("test('ok', () => {});", tmp.path);
      assert.equal(ok.code, 0);
      const held = runFile(
        "import { createServer } from 'node:net';\ntest('leaks a server', () => { createServer().listen(0, '127.0.0.1'); });",
        tmp.path,
      );
      assert.equal(held.code, 0, held.out);
      assert.match(held.out, /still had open handles .*TCPServerWrap/);
    } finally {
      await tmp.cleanup();
    }
  });

  test('a file whose event loop is blocked after its tests is killed by the backstop and fails', async () => {
    const tmp = await tempDir();
    try {
      const stuck = runFile(
        "test('passes, then blocks', () => { setTimeout(() => { for (;;) {} }, 50); });",
        tmp.path,
      );
      assert.notEqual(stuck.code, 0, 'the run fails instead of hanging');
      assert.match(stuck.out, /was stuck \(event loop blocked\)/);
      assert.ok(stuck.ms < 20_000, `ended after ${stuck.ms} ms`);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe('run-tests.mjs: processes the tests leave behind', () => {
  test('a process that outlives its test file (holding its stderr) is named and killed, and the run fails instead of hanging', async () => {
    const tmp = await tempDir();
    // A duration of its own: another run on the machine may be doing the same at the same time.
    const secs = `313.${process.pid}`;
    try {
      const file = join(tmp.path, 'leak.test.ts');
      // Detached and unref'd: the file's process ends, but the sleep keeps the file's stderr
      // pipe open, so `node --test` would wait for it forever (CI's hang).
      writeFileSync(
        file,
        [
          "import { spawn } from 'node:child_process';",
          "import { test } from 'node:test';",
          "test('starts a daemon and forgets it', () => {",
          `  spawn('sleep', ['${secs}'], { detached: true, stdio: ['ignore', 'ignore', 'inherit'] }).unref();`,
          '});',
        ].join('\n'),
      );
      const { NODE_TEST_CONTEXT: _nested, ...rest } = process.env;
      const started = Date.now();
      const r = spawnSync(process.execPath, [join(repoRoot, 'test/scripts/run-tests.mjs'), file], {
        env: { ...rest, TEST_SETTLE_MS: '1000' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.signal, null, `the runner hung (killed after 60 s): ${out}`);
      assert.notEqual(r.status, 0, out);
      assert.match(out, new RegExp(`outlived them.*\\n\\s+\\d+ sleep ${secs.replace('.', '\\.')}`));
      assert.ok(Date.now() - started < 30_000, `ended after ${Date.now() - started} ms`);
      const sleeping = spawnSync('pgrep', ['-f', `^sleep ${secs.replace('.', '\\.')}$`], {
        encoding: 'utf8',
      });
      assert.equal(sleeping.stdout.trim(), '', 'the leaked process was killed');
    } finally {
      await tmp.cleanup();
    }
  });
});
