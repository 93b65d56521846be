/** Unit tests of the engine's pure parts: .helmignore rules, versions, discovery, index, mtimes. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildIndex,
  type ChartError,
  type ChartMetadata,
  chartMtime,
  checkYamlDocument,
  compareArchives,
  compareVersions,
  DiscoveryError,
  decodeName,
  discoverCharts,
  FIXED_EPOCH,
  flowNestingOver,
  type LoadedChart,
  lastCommitTime,
  loadChartArchive,
  marshalIndex,
  mayHoldOddKey,
  nameBytes,
  parseGoYaml,
  parseHelmignore,
  parseVersion,
  parseYaml,
  saveChart,
  showName,
  sourceDateEpoch,
  writeChartArchive,
} from '@chartsync/sidecar';
import { chartYaml, rawTarGz, writeByteTree, writeTree } from '../../harness/chart-fixtures.ts';
import { tempDir } from '../../harness/paths.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('chartsync-units-');
});
after(() => tmp.cleanup());

describe('.helmignore rules', () => {
  test('first deciding rule wins; basename vs path vs anchored patterns', () => {
    const rules = parseHelmignore('*.md\n/top.txt\ndocs/*.txt\nbuild/\n');
    assert.equal(rules.ignores('a/b/README.md', false), true);
    assert.equal(rules.ignores('top.txt', false), true);
    assert.equal(rules.ignores('sub/top.txt', false), false);
    assert.equal(rules.ignores('docs/x.txt', false), true);
    assert.equal(rules.ignores('sub/docs/x.txt', false), false);
    assert.equal(rules.ignores('build', true), true);
    assert.equal(rules.ignores('build', false), false);
  });

  test('negation ignores everything not matching; a negated dir rule ignores all files', () => {
    const neg = parseHelmignore('!*.yaml\n');
    assert.equal(neg.ignores('values.yaml', false), false);
    assert.equal(neg.ignores('README.md', false), true);
    assert.equal(neg.ignores('templates', true), true);
    const negDir = parseHelmignore('!templates/\n');
    assert.equal(negDir.ignores('Chart.yaml', false), true);
    assert.equal(negDir.ignores('templates', true), false);
  });

  test('the default rule, BOM, CRLF, comments and errors with line numbers', () => {
    const rules = parseHelmignore('\uFEFF# c\r\n*.bak\r\n');
    assert.equal(rules.ignores('templates/.x', false), true);
    assert.equal(rules.ignores('templates/a/.x', false), false);
    assert.equal(rules.ignores('a.bak', false), true);
    assert.throws(() => parseHelmignore('ok\ndocs/**\n'), /line 2: double-star/);
    assert.throws(() => parseHelmignore('[\n'), /line 1: syntax error in pattern/);
  });
});

describe('versions', () => {
  test('helm-accepted forms and refusals', () => {
    for (const v of ['1.2.3', 'v1.2.3', '1.2', '1', '01.2.3', '1.0.0-rc.1+build.5']) {
      assert.equal(typeof parseVersion(v), 'object', v);
    }
    for (const v of ['', 'abc', '1.2.3.4', '1.0.0-01', '1.0.0+', 'x'.repeat(300)]) {
      assert.equal(typeof parseVersion(v), 'string', v);
    }
  });

  test('SemVer precedence', () => {
    const sorted = [
      '1.0.0',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-beta',
      '1.0.0-alpha.beta',
      '1.10.0',
      '1.9.0',
      '0.1.0',
    ]
      .map((v) => ({ v, p: parseVersion(v) }))
      .sort((a, b) => compareVersions(a.p as never, b.p as never))
      .map((x) => x.v);
    assert.deepEqual(sorted, [
      '0.1.0',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0',
      '1.9.0',
      '1.10.0',
    ]);
  });
});

describe('discoverCharts', () => {
  test('finds chart dirs, not subcharts nor .git, sorted; paths restrict and may not escape', async () => {
    const root = join(tmp.path, 'repo');
    const cy = (name: string) => chartYaml({ apiVersion: 'v2', name, version: '1.0.0' });
    await writeTree(root, {
      'charts/b/Chart.yaml': cy('b'),
      'charts/a/Chart.yaml': cy('a'),
      'charts/a/charts/sub/Chart.yaml': cy('sub'),
      'other/deep/c/Chart.yaml': cy('c'),
      '.git/x/Chart.yaml': cy('git'),
      'README.md': '',
    });
    assert.deepEqual(await discoverCharts(root), ['charts/a', 'charts/b', 'other/deep/c']);
    assert.deepEqual(await discoverCharts(root, ['other', 'charts/b/']), ['charts/b', 'other/deep/c']);
    assert.deepEqual(await discoverCharts(root, ['charts', 'charts/a']), ['charts/a', 'charts/b']);
    await assert.rejects(discoverCharts(root, ['../etc']), DiscoveryError);
    await assert.rejects(discoverCharts(root, ['/etc']), /leaves the repository/);
    await assert.rejects(discoverCharts(root, ['missing']), /not a directory/);
    await assert.rejects(discoverCharts(root, ['.git']), /inside \.git/);
  });

  test('paths through symlinks: followed to the real directory inside, refused outside; linked dirs are not scanned', async () => {
    const root = join(tmp.path, 'links');
    const outside = join(tmp.path, 'links-outside');
    const cy = (name: string) => chartYaml({ apiVersion: 'v2', name, version: '1.0.0' });
    await writeTree(root, { 'real/a/Chart.yaml': cy('a') });
    await writeTree(outside, { 'secret/Chart.yaml': cy('secret') });
    await symlink('real', join(root, 'alias'));
    await symlink(outside, join(root, 'out'));
    await symlink('/', join(root, 'esc'));
    await symlink('..', join(root, 'up'));
    await symlink(join(outside, 'secret'), join(root, 'real/linked-chart'));
    assert.deepEqual(await discoverCharts(root), ['real/a'], 'symlinked chart dirs are not discovered');
    assert.deepEqual(await discoverCharts(root, ['alias']), ['real/a']);
    for (const p of ['out', 'out/secret', `esc${outside}`, 'up/links-outside', 'alias/../up']) {
      const err = await discoverCharts(root, [p]).then(
        () => assert.fail(`${p} accepted`),
        (e: unknown) => e as DiscoveryError,
      );
      assert.ok(err instanceof DiscoveryError, String(err));
      assert.equal(err.kind, 'escape', p);
    }
  });
});

describe('names that are not UTF-8', () => {
  const latin1 = (s: string) => decodeName(Buffer.from(s, 'latin1'));

  test('a name read as bytes keeps them: decoded, shown as \\xNN, and encoded back exactly', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 12));
      assert.deepEqual(nameBytes(decodeName(bytes)), bytes, bytes.toString('hex'));
    }
    // valid UTF-8 (also 4-byte sequences, whose low surrogate is in the escape range) reads as usual
    assert.equal(decodeName(Buffer.from('é💀x')), 'é💀x');
    assert.equal(showName(decodeName(Buffer.from('é💀x'))), 'é💀x');
    // Go's rules: overlong, surrogate and truncated sequences are bytes, one escape each
    assert.equal(showName(latin1('docs/\xff/a')), 'docs/\\xff/a');
    assert.equal(showName(latin1('\xc0\xaf\xed\xa0\x80\xe2\x82')), '\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82');
  });

  test('.helmignore matches them bytewise, as helm: globs, `?` as one byte, and a literal byte', () => {
    const names = ['templates/\xff.txt', 'files/\xfe/x.bak', 'a\xfd'].map(latin1);
    const [tpl, bak, short] = names as [string, string, string];
    assert.equal(parseHelmignore('*.txt\n').ignores(tpl, false), true);
    assert.equal(parseHelmignore('files/*/\n').ignores(latin1('files/\xfe'), true), true);
    assert.equal(parseHelmignore('*.bak\n').ignores(bak, false), true);
    assert.equal(parseHelmignore('a?\n').ignores(short, false), true, 'an invalid byte is one rune for Go');
    const literal = parseHelmignore(latin1('templates/\xff.txt\n'));
    assert.equal(literal.ignores(tpl, false), true);
    assert.equal(literal.ignores('templates/\uFFFD.txt', false), false, 'U+FFFD is not the byte 0xff');
  });
});

describe('discoverCharts with names that are not UTF-8', () => {
  test('such directories are skipped with their subtree, at any depth, and reported checkout-relative', async () => {
    const root = join(tmp.path, 'bytes');
    const cy = (name: string) => chartYaml({ apiVersion: 'v2', name, version: '1.0.0' });
    writeByteTree(root, {
      'charts/good/Chart.yaml': cy('good'),
      'charts/good/templates/\xff.txt': 'inside a chart: the loader decides\n',
      'charts/\xfd/Chart.yaml': cy('unnameable'),
      'charts/\xfc/nested/Chart.yaml': cy('below'),
      '\xfe/hidden/Chart.yaml': cy('hidden'),
      'docs/\xff/readme.txt': 'x\n',
      'a/b/c/\xc3\x28/d/readme.txt': 'x\n',
      'a/b/ok/Chart.yaml': cy('ok'),
    });
    const skipped: string[] = [];
    const onSkip = (d: string) => skipped.push(d);
    assert.deepEqual(await discoverCharts(root, undefined, { onSkip }), ['a/b/ok', 'charts/good']);
    assert.deepEqual(skipped.sort(), ['\\xfe', 'a/b/c/\\xc3(', 'charts/\\xfc', 'charts/\\xfd', 'docs/\\xff']);
    assert.deepEqual(await discoverCharts(root, ['charts']), ['charts/good']);
    // a `paths` entry that leads to such a directory (through a link) names it, 400-class
    await symlink(Buffer.from('charts/\xfd', 'latin1'), join(root, 'alias'));
    const err = await discoverCharts(root, ['alias']).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as DiscoveryError,
    );
    assert.ok(err instanceof DiscoveryError, String(err));
    assert.equal(err.kind, 'missing');
    assert.match(err.message, /"alias" leads to charts\/\\xfd, whose name is not valid UTF-8/);
  });
});

describe('index', () => {
  const md = (name: string, version: string): ChartMetadata => ({ apiVersion: 'v2', name, version });
  test('entries newest first, urls joined to the base URL, Go time format', () => {
    const generated = new Date('2024-05-06T07:08:09.120Z');
    const index = buildIndex(
      [
        { metadata: md('a', '1.2.0'), fileName: 'a-1.2.0.tgz', digest: 'd1' },
        {
          metadata: md('a', '1.10.0'),
          fileName: 'a-1.10.0.tgz',
          digest: 'd2',
          created: new Date('2024-01-01T00:00:00Z'),
        },
        { metadata: md('a', '1.10.0-rc.1'), fileName: 'a-1.10.0-rc.1.tgz', digest: 'd3' },
      ],
      { baseUrl: 'https://x.example/charts/', generated },
    );
    assert.deepEqual(
      index.entries.a?.map((e) => e.metadata.version),
      ['1.10.0', '1.10.0-rc.1', '1.2.0'],
    );
    assert.deepEqual(index.entries.a?.[0]?.urls, ['https://x.example/charts/a-1.10.0.tgz']);
    assert.equal(index.entries.a?.[0]?.created, '2024-01-01T00:00:00Z');
    assert.equal(index.generated, '2024-05-06T07:08:09.12Z');
    const text = marshalIndex(index).toString();
    assert.match(text, /^apiVersion: v1\nentries:\n {2}a:\n {2}- apiVersion: v2\n/);
    assert.match(text, /generated: "2024-05-06T07:08:09.12Z"\n$/);
  });

  test('an entry emitted before is reused only while its content is the same', () => {
    const long = (word: string) => `${word} `.repeat(30).trim(); // folded by go-yaml past column 80
    const input = (description: string, digest: string) =>
      buildIndex(
        [
          { metadata: { ...md('b', '2.0.0'), description }, fileName: 'b-2.0.0.tgz', digest },
          {
            metadata: { ...md('a', '1.0.0'), description: long('same') },
            fileName: 'a-1.0.0.tgz',
            digest: 'd',
          },
        ],
        { generated: new Date('2024-05-06T07:08:09Z') },
      );
    const first = marshalIndex(input(long('old'), 'd1')).toString();
    const changed = marshalIndex(input(long('new'), 'd2')).toString();
    assert.match(changed, /description: new new/);
    assert.match(changed, /digest: d2\n/);
    assert.doesNotMatch(changed, /old|digest: d1/);
    assert.equal(changed.replaceAll('new', 'old').replace('digest: d2', 'digest: d1'), first);
    assert.equal(marshalIndex(input(long('old'), 'd1')).toString(), first);
  });

  test('invalid metadata is refused', () => {
    assert.throws(
      () => buildIndex([{ metadata: md('', '1.0.0'), fileName: 'x.tgz', digest: 'd' }]),
      /name is required/,
    );
  });
});

describe('archive mtimes', () => {
  test('SOURCE_DATE_EPOCH, else the last commit touching the chart, else the fixed epoch', async () => {
    assert.equal(sourceDateEpoch({})?.getTime(), undefined);
    assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' })?.getTime(), 1700000000000);
    assert.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: '-1' }), /SOURCE_DATE_EPOCH/);

    const repo = join(tmp.path, 'git');
    await writeTree(repo, { 'chart/Chart.yaml': 'x', 'other/file': 'y' });
    const git = (args: string[], date: string) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: repo,
        env: { ...process.env, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date },
      });
    git(['init', '-q'], '2020-01-01T00:00:00Z');
    git(['add', 'chart'], '2020-01-01T00:00:00Z');
    git(['commit', '-q', '-m', 'chart'], '2021-02-03T04:05:06Z');
    git(['add', 'other'], '2022-01-01T00:00:00Z');
    git(['commit', '-q', '-m', 'other'], '2022-01-01T00:00:00Z');
    assert.equal((await lastCommitTime(join(repo, 'chart')))?.toISOString(), '2021-02-03T04:05:06.000Z');
    assert.equal((await chartMtime(join(repo, 'chart'), {})).toISOString(), '2021-02-03T04:05:06.000Z');
    assert.equal((await chartMtime(join(repo, 'chart'), { SOURCE_DATE_EPOCH: '0' })).getTime(), 0);
    const outside = join(tmp.path, 'nogit');
    await writeTree(outside, { f: '' });
    assert.equal((await chartMtime(outside, {})).getTime(), FIXED_EPOCH.getTime());
  });
});

describe('compareArchives', () => {
  const base = (): LoadedChart => ({
    metadata: { apiVersion: 'v2', name: 'cmp', version: '1.0.0', description: 'x' },
    files: [
      { name: 'values.yaml', data: Buffer.from('a: 1\n') },
      { name: 'templates/cm.yaml', data: Buffer.from('kind: ConfigMap\n') },
    ],
    dependencies: [],
    source: 'mem',
  });

  test('identical charts have no differences; entry times do not matter', async () => {
    const a = await saveChart(base(), FIXED_EPOCH);
    const b = await saveChart(base(), new Date());
    assert.deepEqual(compareArchives(a, b), []);
  });

  test('missing, unexpected and changed files, and Chart.yaml data are reported', async () => {
    const a = await saveChart(base(), FIXED_EPOCH);
    const changed = base();
    changed.metadata.description = 'y';
    changed.files = [
      { name: 'values.yaml', data: Buffer.from('a: 2\n') },
      { name: 'templates/extra.yaml', data: Buffer.from('x') },
    ];
    const diffs = compareArchives(a, await saveChart(changed, FIXED_EPOCH));
    assert.deepEqual(
      diffs.map((d) => [d.file, d.problem.split(/[:(]/)[0]?.trim()]),
      [
        ['cmp/Chart.yaml', 'Chart.yaml data differs'],
        ['cmp/templates/cm.yaml', 'missing'],
        ['cmp/templates/extra.yaml', 'unexpected'],
        ['cmp/values.yaml', 'content differs'],
      ],
    );
  });

  test('an archive and the subchart archives nested in it unpack within one budget: 5 nested copies of 30 MiB fail', async () => {
    const MiB = 1024 * 1024;
    const inner = rawTarGz([
      { path: 'l1/Chart.yaml', data: 'apiVersion: v2\nname: l1\nversion: 1.0.0\n' },
      ...Array.from({ length: 6 }, (_, i) => ({ path: `l1/f${i}`, data: Buffer.alloc(5 * MiB - 1024) })),
    ]);
    const outer = (copies: number) =>
      rawTarGz([
        { path: 'l2/Chart.yaml', data: 'apiVersion: v2\nname: l2\nversion: 1.0.0\n' },
        ...Array.from({ length: copies }, (_, i) => ({ path: `l2/charts/c${i}.tgz`, data: inner })),
      ]);
    // Three copies (90 MiB) are within the cap, as each archive alone is.
    assert.equal((await loadChartArchive(outer(3), 'l2.tgz')).dependencies.length, 3);
    await assert.rejects(loadChartArchive(outer(5), 'l2.tgz'), (err: ChartError) => {
      assert.equal(err.reason, 'ChartTooLarge');
      assert.match(err.message, /charts\/c\d\.tgz.*larger than the maximum size/);
      return true;
    });
  });

  test('a Chart.yaml that only differs in formatting passes unless exactChartYaml', () => {
    const tgz = (chartYamlText: string) =>
      rawTarGz([
        { path: 'c/Chart.yaml', data: chartYamlText },
        { path: 'c/values.yaml', data: '' },
      ]);
    const a = tgz('apiVersion: v2\nname: c\nversion: 1.0.0\n');
    const b = tgz('name: c\nversion: "1.0.0"\napiVersion: v2\n');
    assert.deepEqual(compareArchives(a, b), []);
    assert.equal(compareArchives(a, b, { exactChartYaml: true }).length, 1);
  });

  test('a path written more than once is compared as a multiset: order is free, a dropped or changed copy is not', () => {
    const tgz = (...subVersions: string[]) =>
      rawTarGz([
        { path: 'c/Chart.yaml', data: 'apiVersion: v2\nname: c\nversion: 1.0.0\n' },
        ...subVersions.map((v) => ({
          path: 'c/charts/s/Chart.yaml',
          data: `apiVersion: v2\nname: s\nversion: ${v}\n`,
        })),
      ]);
    // Two subchart directories named alike both land in charts/s/, in helm's random order.
    assert.deepEqual(compareArchives(tgz('1.0.0', '2.0.0'), tgz('2.0.0', '1.0.0')), []);
    assert.deepEqual(
      compareArchives(tgz('1.0.0', '2.0.0'), tgz('2.0.0')).map((d) => [d.file, d.problem]),
      [['c/charts/s/Chart.yaml', 'written 2 times vs 1 times']],
    );
    const changed = compareArchives(tgz('1.0.0', '2.0.0'), tgz('2.0.0', '3.0.0'));
    assert.equal(changed.length, 1);
    assert.match(changed[0]?.problem ?? '', /^entry 1 of 2 \(by content\): Chart\.yaml data differs/);
  });

  test("lockAsData: lock files equal but for helm's clock-stamped `generated` pass; other changes do not", () => {
    const lock = (version: string, generated: string) =>
      `dependencies:\n- name: d\n  repository: https://x\n  version: ${version}\ndigest: sha256:1\ngenerated: "${generated}"\n`;
    const tgz = (lockText: string) =>
      rawTarGz([
        { path: 'c/Chart.yaml', data: 'apiVersion: v2\nname: c\nversion: 1.0.0\n' },
        { path: 'c/Chart.lock', data: lockText },
      ]);
    const a = tgz(lock('1.0.0', '2024-01-01T00:00:00Z'));
    const later = tgz(lock('1.0.0', '2026-11-27T10:00:00.123Z'));
    assert.equal(compareArchives(a, later).length, 1, 'byte comparison by default');
    assert.deepEqual(compareArchives(a, later, { lockAsData: true }), []);
    const other = compareArchives(a, tgz(lock('1.0.1', '2024-01-01T00:00:00Z')), { lockAsData: true });
    assert.deepEqual(
      other.map((d) => [d.file, d.problem.split(':')[0]]),
      [['c/Chart.lock', 'lock data differs']],
    );
  });
});

describe('mayHoldOddKey', () => {
  // The pattern it replaced (backtracking over every run of spaces): the one pass must agree.
  const PATTERN = /(^|[\s{,[])(~|null|Null|NULL)?\s*:(\s|$)|^\s*\?(\s|$)|[\]}]\s*:(\s|$)/m;
  test('finds null, explicit and collection keys, and nothing else', () => {
    for (const odd of [
      '~: a',
      'a:\n  null: 1',
      ': x',
      'k: {a: 1, : 2}',
      '? a\n: b',
      '  ?',
      '[a]: x',
      '{a: 1}: y',
      'a : b',
    ])
      assert.equal(mayHoldOddKey(odd), true, odd);
    for (const plain of ['a: 1', 'a:b', 'k: "x?"', 'url: http://x', 'nulls: 1', 'x~: 1', 'a?: 1', ''])
      assert.equal(mayHoldOddKey(plain), false, plain);
  });
  test('agrees with the pattern on 20,000 random texts of the characters that decide', () => {
    const alphabet = [
      ' ',
      '\t',
      '\n',
      '\r',
      '\u2028',
      '\u00a0',
      ':',
      '?',
      '~',
      '{',
      '}',
      '[',
      ']',
      ',',
      'a',
      'null',
      'Null',
      'NULL',
      'nul',
      '#',
      '-',
      '"',
    ];
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let odd = 0;
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      for (let len = rand(12); len > 0; len--) text += alphabet[rand(alphabet.length)];
      assert.equal(mayHoldOddKey(text), PATTERN.test(text), JSON.stringify(text));
      if (PATTERN.test(text)) odd++;
    }
    assert.ok(odd > 1_000 && odd < 19_000, `both verdicts drawn (${odd} odd)`);
  });
});

describe('parseYaml', () => {
  test('parses YAML 1.2, refuses alias bombs, names file and line on errors', () => {
    assert.deepEqual(parseYaml('a: yes\nb: [1, 2]\n', 'c.yaml'), { a: 'yes', b: [1, 2] });
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((k, i) => {
        const prev = 'abcdefgh'[i] as string;
        return `${k}: &${k} [${Array(10).fill(`*${prev}`).join(', ')}]`;
      }),
    ].join('\n');
    assert.throws(() => parseYaml(bomb, 'bomb.yaml'), /bomb\.yaml: .*alias/);
    assert.throws(() => parseYaml('a: [1\n', 'bad.yaml'), /^YamlError: bad\.yaml:\d+: |bad\.yaml:\d+: /);
  });
});

describe('archive writing', () => {
  test('the reclaim hook runs after each large file (build threads free its buffer there), not for small ones', async () => {
    let calls = 0;
    const chart: LoadedChart = {
      metadata: { apiVersion: 'v2', name: 'files', version: '1.0.0' },
      files: [
        { name: 'values.yaml', data: Buffer.from('a: 1\n') },
        { name: 'data/a.bin', data: randomBytes(2 * 1024 * 1024) },
        { name: 'data/b.bin', data: randomBytes(2 * 1024 * 1024) },
        { name: 'data/small.txt', data: Buffer.from('x') },
      ],
      dependencies: [],
      source: 'mem',
    };
    await writeChartArchive(chart, FIXED_EPOCH, join(tmp.path, 'reclaim.tgz'), () => calls++);
    assert.equal(calls, 2);
  });

  // Small archives are compressed in memory in one call, large ones streamed: the bytes, the
  // digest and the size must not depend on which way a chart went.
  for (const [label, bytes] of [
    ['small (in memory)', 64 * 1024],
    ['large (streamed past the in-memory limit)', 12 * 1024 * 1024],
  ] as const) {
    test(`${label}: the file, digest and size are saveChart's bytes`, async () => {
      const chart = (): LoadedChart => ({
        metadata: { apiVersion: 'v2', name: 'big', version: '1.0.0' },
        files: [
          { name: 'values.yaml', data: Buffer.from('a: 1\n') },
          { name: 'data/blob.bin', data: randomBytes(bytes) },
          { name: 'templates/cm.yaml', data: Buffer.from('kind: ConfigMap\n') },
        ],
        dependencies: [],
        source: 'mem',
      });
      const c = chart();
      const expected = await saveChart(c, FIXED_EPOCH);
      const path = join(tmp.path, `archive-${bytes}.tgz`);
      const written = await writeChartArchive(c, FIXED_EPOCH, path);
      const data = await readFile(path);
      assert.ok(data.equals(expected), 'same bytes as saveChart');
      assert.equal(written.size, data.length);
      assert.equal(written.digest, createHash('sha256').update(data).digest('hex'));
    });
  }
});

describe('flow nesting, counted before any parse (the parsers recurse and allocate per level)', () => {
  const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
  const cases: [string, string, boolean][] = [
    ['10,001 levels', `a: ${deep(10_001)}`, true],
    ['10,000 levels', `a: ${deep(10_000)}`, false],
    ['maps in a list item', `- ${'{a: '.repeat(10_001)}1${'}'.repeat(10_001)}`, true],
    // what a rule about where a collection starts would miss: each of these was a way past one
    ['behind a tag', `x: !!seq ${deep(10_001)}`, true],
    ['behind an anchor', `x: &a ${deep(10_001)}`, true],
    ['after a byte order mark', `\uFEFF${deep(10_001)}`, true],
    ['after a quote in a plain scalar', `k: a "\nx: ${deep(10_001)}\ny: b "\n`, true],
    ['after a quoted # on the same line', `x: ["a #", ${deep(10_001)}]`, true],
    // brackets closed again, however many, never add up
    ['many closed brackets', `a: "${'[]'.repeat(50_000)}"`, false],
  ];
  for (const [what, text, over] of cases)
    test(`${what}: ${over ? 'over' : 'not over'}`, () => assert.equal(flowNestingOver(text, 10_000), over));

  test('a million levels in 2 MB are refused as helm refuses them, before the parser starts', () => {
    const text = `a: ${deep(1_000_000)}`;
    assert.throws(
      () => checkYamlDocument(text, 'values.yaml'),
      /values\.yaml: values nested deeper than 10000 levels/,
    );
    assert.throws(
      () => parseGoYaml(`apiVersion: v2\nx: ${deep(200_000)}\n`, 'Chart.yaml'),
      /nested deeper than 10000/,
    );
  });
});
