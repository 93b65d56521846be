/** Unit tests of the sidecar's pure parts: coalescing, pruning decisions, input schemas, schedules, index order, tokens. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cronForMinutes } from '@chartsync/api';
import { dependencySchema, repoSchema } from '@chartsync/api/schemas';
import type { IndexInput } from '@chartsync/sidecar';
import { parseIndex, serializeIndex, withEntry, withoutVersion } from '@chartsync/sidecar/publish';
import { tokenMatches } from '@chartsync/sidecar/server';
import { scheduleOf } from '@chartsync/sidecar/standalone';
import { Coalescer, FileClaims, placePackage, prunable } from '@chartsync/sidecar/sync';

describe('Coalescer', () => {
  test('a burst during a run joins one follow-up run; each caller gets a run that started after it asked', async () => {
    const c = new Coalescer<number>();
    let runs = 0;
    const gates: (() => void)[] = [];
    const task = () =>
      new Promise<number>((resolve) => {
        const n = ++runs;
        gates.push(() => resolve(n));
      });
    const first = c.run(task);
    const burst = [c.run(task), c.run(task), c.run(task)];
    assert.equal(runs, 1);
    gates.shift()?.();
    assert.equal(await first, 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 2, 'exactly one follow-up run');
    gates.shift()?.();
    assert.deepEqual(await Promise.all(burst), [2, 2, 2]);
    assert.equal(c.busy, false);
  });

  test('a failed run does not stop the follow-up', async () => {
    const c = new Coalescer<string>();
    let fail!: (e: Error) => void;
    const first = c.run(() => new Promise((_r, reject) => (fail = reject)));
    const second = c.run(async () => 'ok');
    fail(new Error('boom'));
    await assert.rejects(first, /boom/);
    assert.equal(await second, 'ok');
  });
});

describe('sync plan', () => {
  const published = new Map([['app@1.0.0', { name: 'app', version: '1.0.0', digest: 'aa' }]]);
  test('a package is published when absent, unchanged when identical, compared when the digest differs', () => {
    assert.equal(placePackage({ name: 'app', version: '1.1.0', digest: 'bb' }, published), 'publish');
    assert.equal(placePackage({ name: 'app', version: '1.0.0', digest: 'aa' }, published), 'unchanged');
    assert.equal(placePackage({ name: 'app', version: '1.0.0', digest: 'bb' }, published), 'compare');
  });
  test('pruning removes every version of charts gone from git and keeps the rest', () => {
    const all = [
      { name: 'app', version: '1.0.0', digest: 'a' },
      { name: 'app', version: '2.0.0', digest: 'b' },
      { name: 'gone', version: '0.1.0', digest: 'c' },
      { name: 'gone', version: '0.2.0', digest: 'd' },
    ];
    assert.deepEqual(prunable(all, new Set(['app'])), [
      { name: 'gone', version: '0.1.0' },
      { name: 'gone', version: '0.2.0' },
    ]);
  });

  test('a version whose archive file another kept version also maps to is not pruned (it would delete that archive)', () => {
    const all = [
      { name: 'a', version: '1-1.0-x', digest: 'a' },
      { name: 'a-1', version: '1.0-x', digest: 'a' },
      { name: 'gone', version: '1.0.0', digest: 'g' },
    ];
    assert.deepEqual(prunable(all, new Set(['a'])), [{ name: 'gone', version: '1.0.0' }]);
  });

  test('FileClaims: the published holder of a file name wins, the same version may claim again, case folds', () => {
    const claims = new FileClaims([{ name: 'a-1', version: '1.0-x', digest: 'd' }]);
    assert.equal(claims.claim({ name: 'a-1', version: '1.0-x' }, 'in x'), undefined);
    assert.match(
      claims.claim({ name: 'a', version: '1-1.0-x' }, 'in y') ?? '',
      /a-1-1\.0-x\.tgz.*a-1 1\.0-x \(published\)/,
    );
    assert.equal(claims.claim({ name: 'App', version: '1.0.0' }, 'in p'), undefined);
    assert.match(claims.claim({ name: 'app', version: '1.0.0' }, 'in q') ?? '', /App 1\.0\.0 \(in p\)/);
  });
});

describe('input schemas', () => {
  test('the PoC form: name + addr for a dependency', () => {
    assert.deepEqual(
      dependencySchema.parse({ name: 'bitnami', addr: 'https://charts.bitnami.com/bitnami/' }),
      {
        name: 'bitnami',
        // kept as written: `@bitnami` locks it, as `helm repo add bitnami URL/` does
        url: 'https://charts.bitnami.com/bitnami/',
      },
    );
  });
  test('form spellings of lists, booleans and numbers', () => {
    const parsed = repoSchema.parse({
      name: 'r',
      git: 'https://x/y',
      paths: 'charts,more/',
      prune: 'false',
      everyMinutes: '15',
    });
    assert.deepEqual(parsed.paths, ['charts', 'more']);
    assert.equal(parsed.prune, false);
    assert.equal(parsed.everyMinutes, 15);
    assert.deepEqual(repoSchema.parse({ name: 'r', git: 'x', paths: ['a', 'b/c'] }).paths, ['a', 'b/c']);
  });
  test('errors name the field and the rule', () => {
    const bad = repoSchema.safeParse({ name: 'Bad_Name', paths: ['../etc'] });
    assert.equal(bad.success, false);
    const text = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') ?? '';
    assert.match(text, /name: must be a DNS-1123 label/);
    assert.match(text, /git: is required/);
    assert.match(text, /paths\.0: must not leave the repository/);
    assert.equal(repoSchema.safeParse({ name: 'dependency', git: 'x' }).success, false);
    assert.equal(dependencySchema.safeParse({ name: 'd' }).error?.issues[0]?.path[0], 'url');
  });
});

describe('schedules', () => {
  test('everyMinutes maps to exact cron forms and refuses the rest', () => {
    assert.equal(scheduleOf({ everyMinutes: 15 }), '*/15 * * * *');
    assert.equal(cronForMinutes(1), '* * * * *');
    assert.equal(cronForMinutes(60), '0 * * * *');
    assert.equal(cronForMinutes(120), '0 */2 * * *');
    assert.equal(cronForMinutes(1440), '0 0 * * *');
    assert.throws(() => cronForMinutes(7), /use "schedule"/);
    assert.throws(() => scheduleOf({ schedule: 'not cron' }), /not a valid cron expression/);
    assert.equal(scheduleOf({}), undefined);
  });
});

describe('index file', () => {
  test('versions newest first by SemVer, a re-added version replaces the old entry, removal drops empty charts', () => {
    let index: IndexInput[] = [];
    for (const version of ['1.2.0', '1.10.0', '1.9.0-rc.1', '1.2.0']) {
      const metadata = { apiVersion: 'v2', name: 'app', version };
      index = withEntry(index, { metadata, fileName: `app-${version}.tgz`, digest: `d-${version}` });
    }
    const text = serializeIndex(index).toString();
    assert.match(text, /^apiVersion: v1\nentries:\n {2}app:\n/);
    const parsed = parseIndex(text, 'index.yaml');
    assert.deepEqual(
      parsed.map((e) => e.metadata.version),
      ['1.10.0', '1.9.0-rc.1', '1.2.0'],
    );
    assert.equal(parsed[0]?.fileName, 'app-1.10.0.tgz');
    for (const v of ['1.2.0', '1.10.0', '1.9.0-rc.1']) index = withoutVersion(index, 'app', v);
    assert.deepEqual(index, []);
  });
});

test('bearer tokens compare by content, whatever their length', () => {
  assert.equal(tokenMatches('secret-token', 'secret-token'), true);
  assert.equal(tokenMatches('secret-token', 'secret-tokeN'), false);
  assert.equal(tokenMatches('secret-token', 'secret'), false);
  assert.equal(tokenMatches('secret-token', ''), false);
});
