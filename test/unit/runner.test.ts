/** The test runner's suite split: `unit` needs no built tools; tools follow the import graph. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../harness/paths.ts';

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
