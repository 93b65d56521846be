import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { parseFullIndex, parseIndex, scanIndex } from '@chartsync/sidecar/chart/dependencies';
import { parse, stringify } from 'yaml';
import type { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { startRepo } from './fixtures.ts';

const view = (index: ReturnType<typeof parseFullIndex>) =>
  [...index.entries].map(([name, list]) => [
    name,
    list.map(({ version, urls, digest }) => ({ version, urls, digest })),
  ]);

/** The lean scanner must read exactly what the full YAML parse reads. */
function assertSameAsFullParse(text: string): void {
  assert.ok(scanIndex(text), 'the scanner handles this layout');
  assert.deepEqual(view(parseIndex(Buffer.from(text), 'i')), view(parseFullIndex(text, 'i')));
}

describe('lean index.yaml scanner', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let repo: ChartRepoServer;
  let helmIndex: string;

  before(async () => {
    tmp = await tempDir('deps-scan-');
    const helm = new Helm(join(tmp.path, 'home'));
    // Rich metadata as public indexes carry it: annotations with block scalars, long folded
    // descriptions, maintainers, keywords, dependencies; helm repo index writes it all out.
    const metadata = {
      annotations: { 'artifacthub.io/images': '- name: x\n  image: docker.io/x:1\nversion: 9.9.9\n' },
      description: `A long description ${'that wraps over several lines '.repeat(8)}`,
      maintainers: [{ name: 'Someone', url: 'https://example.com' }],
      keywords: ['db', 'cache'],
      home: 'https://example.com',
    };
    repo = await startRepo(helm, tmp.path, join(tmp.path, 'repo'), [
      { name: 'alpha', version: '1.0.0', metadata },
      { name: 'alpha', version: '1.1.0-rc.1', metadata },
      { name: 'beta', version: '0.1.0', metadata },
    ]);
    helmIndex = await readFile(join(repo.dir, 'index.yaml'), 'utf8');
  });
  after(async () => {
    await repo?.close();
    await tmp?.cleanup();
  });

  test('reads what helm repo index writes', () => {
    assert.match(helmIndex, /artifacthub\.io\/images: \|/);
    assert.match(helmIndex, /maintainers:\n {4}- name: Someone/);
    assertSameAsFullParse(helmIndex);
    assert.deepEqual(
      view(parseIndex(Buffer.from(helmIndex), 'i')).map(([name]) => name),
      ['alpha', 'beta'],
    );
  });

  test('reads rich entries, indented sequences, comments, quotes and CRLF the same as a full parse', async () => {
    const doc = parse(helmIndex);
    for (const list of Object.values(doc.entries) as Record<string, unknown>[][]) {
      for (const e of list) {
        Object.assign(e, {
          annotations: { 'artifacthub.io/images': '- name: x\n  image: docker.io/x:1\nversion: 9.9.9\n' },
          description: `A long description ${'that wraps over several lines '.repeat(8)}`,
          maintainers: [{ name: 'Someone', url: 'https://example.com' }],
          keywords: ['db', 'cache'],
        });
      }
    }
    const indented = stringify(doc, { indentSeq: true });
    const flat = stringify(doc, { indentSeq: false });
    assertSameAsFullParse(indented);
    assertSameAsFullParse(flat);
    assertSameAsFullParse(`# a comment\n---\n${flat.replace(/\n/g, '\r\n')}`);
    assertSameAsFullParse(
      flat.replace(/version: (\S+)/g, "version: '$1' # quoted").replace(/digest: (\S+)/g, 'digest: "$1"'),
    );
  });

  test('leaves other layouts to the full parser', () => {
    const cases = [
      '{"apiVersion":"v1","entries":{"a":[{"version":"1.0.0","urls":["a.tgz"]}]}}',
      'apiVersion: v1\nentries: {a: [{name: a, version: 1.0.0, urls: [a.tgz]}]}\n',
      'apiVersion: v1\nentries:\n  a:\n  - &x\n    version: 1.0.0\n    urls: [a.tgz]\n',
      'apiVersion: v1\nentries:\n  a:\n  - version: 1.10\n    urls:\n    - a.tgz\n',
      'apiVersion: v1\nentries:\n  a:\n  - version: |\n      1.0.0\n    urls:\n    - a.tgz\n',
      'apiVersion: v1\nentries:\n  a:\n  - version: 1.0.0\n    digest: null\n    urls:\n    - a.tgz\n',
    ];
    for (const text of cases) {
      assert.equal(scanIndex(text), undefined, text);
      assert.doesNotThrow(() => parseIndex(Buffer.from(text), 'i'), text);
    }
    // Invalid YAML is not made valid by the scanner: the full parser reports it.
    assert.throws(() => parseIndex(Buffer.from('apiVersion: v1\nentries:\n\ta:\n'), 'i'), /Tabs/);
    assert.deepEqual(view(parseIndex(Buffer.from(cases[1] as string), 'i')), [
      ['a', [{ version: '1.0.0', urls: ['a.tgz'], digest: undefined }]],
    ]);
  });

  test('a key given twice refuses the index, as helm refuses it, instead of keeping the last', () => {
    const entry = (v: string) => `  - version: ${v}\n    urls:\n    - a-${v}.tgz\n`;
    const cases = [
      `apiVersion: v1\nentries:\n  a:\n${entry('1.0.0')}  a:\n${entry('9.0.0')}`,
      `apiVersion: v1\nentries:\n  a:\n  - version: 1.0.0\n    version: 9.0.0\n    urls:\n    - a.tgz\n`,
      `apiVersion: v1\nentries:\n  a:\n${entry('1.0.0')}entries:\n  a:\n${entry('9.0.0')}`,
    ];
    for (const text of cases) {
      assert.equal(scanIndex(text), undefined, text);
      assert.throws(
        () => parseIndex(Buffer.from(text), 'i'),
        /i: invalid index\.yaml: Map keys must be unique/,
        text,
      );
    }
  });

  test('entries helm drops as invalid (no name, a name with "/", an unknown type) are not candidates', () => {
    const entry = (v: string, extra: string) => `  - version: ${v}\n${extra}    urls:\n    - a-${v}.tgz\n`;
    const text = `apiVersion: v1\nentries:\n  a:\n${[
      entry('5.0.0', ''),
      entry('4.0.0', '    name: ""\n'),
      entry('3.0.0', '    name: x/a\n'),
      entry('2.0.0', '    name: a\n    type: plugin\n'),
      entry('1.1.0', '    name: a\n    type: library\n'),
      entry('1.0.0', '    name: a\n'),
    ].join('')}`;
    assertSameAsFullParse(text);
    assert.deepEqual(
      parseIndex(Buffer.from(text), 'i')
        .entries.get('a')
        ?.map((e) => e.version),
      ['1.1.0', '1.0.0'],
    );
  });

  test("a large JSON index (helm repo index --json) is read within a build thread's heap", async () => {
    const entries: Record<string, unknown[]> = {};
    for (let c = 0; c < 150; c++) {
      entries[`chart${c}`] = Array.from({ length: 100 }, (_, v) => ({
        apiVersion: 'v2',
        name: `chart${c}`,
        version: `1.${v}.0`,
        description: 'd'.repeat(300),
        urls: [`chart${c}-1.${v}.0.tgz`],
        digest: 'a'.repeat(64),
      }));
    }
    const file = join(tmp.path, 'index.json.yaml');
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', entries }));
    // The YAML parser's document tree of these 7 MiB outgrew a 256 MiB heap; a build thread has 512.
    const module = import.meta.resolve('@chartsync/sidecar/chart/dependencies');
    const code = `import { readFileSync } from 'node:fs';
      import { parentPort } from 'node:worker_threads';
      const { parseIndex } = await import(${JSON.stringify(module)});
      const index = parseIndex(readFileSync(${JSON.stringify(file)}), 'i');
      parentPort.postMessage([index.entries.size, index.entries.get('chart7')[0].version]);`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const result = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.deepEqual(result, [150, '1.99.0']);
  });

  test('a public-sized index (100 charts x 100 versions) is scanned whole and ordered', () => {
    let text = 'apiVersion: v1\nentries:\n';
    for (let c = 0; c < 100; c++) {
      text += `  chart${c}:\n`;
      for (let v = 0; v < 100; v++) {
        text += `  - annotations:\n      images: |\n        - image: x\n    description: chart ${c}\n    digest: ${'a'.repeat(64)}\n    name: chart${c}\n    urls:\n    - https://x/chart${c}-1.${v}.0.tgz\n    version: 1.${v}.0\n`;
      }
    }
    // Speed is a benchmark's business (bench/), not a timed assertion that fails on a loaded CI.
    const index = parseIndex(Buffer.from(text), 'big');
    assert.equal(index.entries.size, 100);
    assert.equal(index.entries.get('chart7')?.[0]?.version, '1.99.0');
    assert.equal(index.entries.get('chart99')?.length, 100);
  });
});
