/**
 * Conformance with the real `helm package`: every chart below is packaged by both tools and
 * must give the same file set, the same bytes, and a Chart.yaml with the same data.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listArchive } from '@chartsync/sidecar';
import { appChart, chartYaml, type FileTree, libraryChart, writeTree } from '../harness/chart-fixtures.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { assertBothRefuse, assertConforms } from './conform.ts';

const BOM = '\uFEFF';

let helm: Helm;
let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;

before(async () => {
  helm = await createHelm();
  tmp = await tempDir('chartsync-conformance-');
});
after(async () => {
  await tmp.cleanup();
  await helm.cleanup();
});

/** Writes a chart into a fresh directory and returns its path. */
async function chart(tree: FileTree, name = 'chart'): Promise<string> {
  const dir = join(tmp.path, `${n++}`, name);
  await writeTree(dir, tree);
  return dir;
}

function names(data: Buffer): string[] {
  return [...listArchive(data).keys()].sort();
}

describe('helm package conformance', () => {
  test('the chart `helm create` writes, with its .helmignore', async () => {
    const parent = join(tmp.path, `${n++}`);
    await writeTree(parent, { '.keep': '' });
    await helm.run(['create', 'created'], { cwd: parent });
    await writeTree(join(parent, 'created'), {
      'README.md': '# created\n',
      LICENSE: 'Apache-2.0\n',
      'ci/ci-values.yaml': 'replicaCount: 2\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      'notes.orig': 'ignored by helm create .helmignore\n',
      '.vscode/settings.json': '{}\n',
    });
    const p = await assertConforms(helm, join(parent, 'created'));
    const files = names(p.data);
    assert.ok(files.includes('created/README.md'));
    assert.ok(!files.some((f) => f.includes('.git/') || f.endsWith('.orig') || f.includes('.vscode')));
  });

  test('every .helmignore form: globs, anchored, dir-only, classes, comments, spaces', async () => {
    const dir = await chart(
      appChart('ignores', '1.0.0', {
        '.helmignore': [
          '# comment',
          '',
          '*.bak',
          '/rootonly.txt',
          'docs/',
          'secret?.txt',
          '[ab]*.md',
          '[!c]x.cfg',
          '[^d]y.cfg',
          'nested/*.tmp',
          'onlydir/',
          '   padded.txt   ',
          'esc\\*aped',
          '\tTAB.txt',
          'templates/skip-*.yaml',
          '*.txt~',
        ].join('\n'),
        'a.bak': 'x',
        'sub/b.bak': 'x',
        'rootonly.txt': 'x',
        'sub/rootonly.txt': 'kept: anchored rule only matches at the root',
        'docs/guide.md': 'x',
        'sub/docs/guide.md': 'x',
        'secret1.txt': 'x',
        'secret12.txt': 'kept',
        'alpha.md': 'x',
        'beta.md': 'x',
        'gamma.md': 'kept',
        'ax.cfg': 'x',
        'cx.cfg': 'x',
        'ay.cfg': 'x',
        'dy.cfg': 'x',
        'nested/a.tmp': 'x',
        'nested/deeper/a.tmp': 'kept: * does not cross /',
        'onlydir/file': 'x',
        'sub/onlydir': 'a file named like a dir-only rule is kept',
        'padded.txt': 'x',
        'esc*aped': 'x',
        'TAB.txt': 'x',
        'templates/skip-me.yaml': 'x',
        'templates/keep-me.yaml': 'kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: keep\n',
        'notes.txt~': 'x',
      }),
    );
    const p = await assertConforms(helm, dir);
    const files = names(p.data);
    assert.ok(files.includes('ignores/sub/rootonly.txt'));
    assert.ok(files.includes('ignores/nested/deeper/a.tmp'));
    assert.ok(!files.includes('ignores/a.bak'));
  });

  test('negation rules ignore everything that does not match (helm, not gitignore)', async () => {
    const dir = await chart({
      'Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'negation', version: '0.1.0' }),
      'values.yaml': 'a: 1\n',
      '.helmignore': '!*.yaml\n',
      'keep.yaml': 'a: 1\n',
      'drop.txt': 'x',
      'templates/cm.yaml': 'x',
    });
    const p = await assertConforms(helm, dir);
    assert.deepEqual(names(p.data), ['negation/Chart.yaml', 'negation/keep.yaml', 'negation/values.yaml']);
  });

  test('a negated dir rule ignores every file, Chart.yaml included: both refuse', async () => {
    const dir = await chart({
      'Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'negdir', version: '0.1.0' }),
      '.helmignore': '!templates/\n',
    });
    const message = await assertBothRefuse(helm, dir);
    assert.match(message, /Chart\.yaml/);
  });

  test('`**` in .helmignore is refused by both', async () => {
    const dir = await chart(appChart('stars', '1.0.0', { '.helmignore': 'docs/**\n' }));
    const message = await assertBothRefuse(helm, dir);
    assert.match(message, /\.helmignore/);
    assert.match(message, /\*\*/);
  });

  test('hidden files under templates/ are ignored by default, elsewhere kept', async () => {
    const dir = await chart(
      appChart('hidden', '1.0.0', {
        'templates/.hidden.yaml': 'x',
        'templates/.dir/inner.yaml': 'x',
        'templates/sub/.also-hidden': 'x',
        'templates/sub/visible.tpl': '{{- define "x" -}}x{{- end -}}\n',
        '.hidden-at-root': 'kept',
        'files/.hidden': 'kept',
      }),
    );
    const files = names((await assertConforms(helm, dir)).data);
    assert.ok(files.includes('hidden/.hidden-at-root'));
    assert.ok(!files.includes('hidden/templates/.hidden.yaml'));
    assert.ok(
      files.includes('hidden/templates/sub/.also-hidden'),
      'the default rule only matches directly under templates/',
    );
  });

  test('subcharts as directories and .tgz archives, with _/. prefixed and .prov entries', async () => {
    const tgzSource = await chart(appChart('fromtgz', '2.1.0'), 'fromtgz');
    const packed = await helm.package(tgzSource);
    assert.ok('data' in packed);
    const dir = await chart(
      appChart('umbrella', '1.0.0', {
        'Chart.yaml': chartYaml({
          apiVersion: 'v2',
          name: 'umbrella',
          version: '1.0.0',
          dependencies:
            '\n  - name: subdir\n    version: 0.1.0\n  - name: fromtgz\n    version: ">=2.0.0"\n    repository: https://example.com/charts',
        }),
        'charts/subdir/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'subdir', version: '0.1.0' }),
        'charts/subdir/values.yaml': 'sub: true\n',
        'charts/subdir/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n',
        'charts/subdir/templates/.hidden-in-sub': 'kept: the default rule is relative to the top chart',
        'charts/subdir/.helmignore': '*.md\n',
        'charts/subdir/README.md': 'kept: subchart .helmignore files are not read by helm',
        'charts/fromtgz-2.1.0.tgz': packed.data,
        'charts/fromtgz-2.1.0.tgz.prov': 'signature',
        'charts/_skipped/Chart.yaml': 'not: a chart',
        'charts/.hidden/Chart.yaml': 'not: a chart',
      }),
    );
    const files = names((await assertConforms(helm, dir)).data);
    assert.ok(
      files.includes('umbrella/charts/fromtgz/Chart.yaml'),
      'a .tgz subchart is written as a directory',
    );
    assert.ok(files.includes('umbrella/charts/subdir/README.md'));
    assert.ok(files.includes('umbrella/charts/fromtgz-2.1.0.tgz.prov'));
  });

  test('library chart, and an application vendoring it', async () => {
    const lib = await chart(libraryChart('common', '2.0.0'), 'common');
    await assertConforms(helm, lib);
    const app = await chart(
      appChart('uses-lib', '1.0.0', {
        'Chart.yaml': chartYaml({
          apiVersion: 'v2',
          name: 'uses-lib',
          version: '1.0.0',
          dependencies: '\n  - name: common\n    version: 2.x\n    repository: file://../common',
        }),
        'charts/common/Chart.yaml': chartYaml({
          apiVersion: 'v2',
          name: 'common',
          version: '2.0.0',
          type: 'library',
        }),
        'charts/common/templates/_names.tpl': '{{- define "common.name" -}}x{{- end -}}\n',
      }),
    );
    await assertConforms(helm, app);
  });

  test('apiVersion v1 with requirements.yaml and requirements.lock', async () => {
    const dir = await chart({
      'Chart.yaml': chartYaml({
        apiVersion: 'v1',
        name: 'legacy',
        version: '0.3.0',
        appVersion: '1.0',
        description: 'v1',
      }),
      'requirements.yaml':
        'dependencies:\n- name: dep\n  version: 1.0.0\n  repository: https://example.com\n',
      'requirements.lock':
        'dependencies:\n- name: dep\n  repository: https://example.com\n  version: 1.0.0\ndigest: sha256:abc\ngenerated: "2020-01-01T00:00:00.000000Z"\n',
      'values.yaml': 'x: 1\n',
      'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\n',
      'charts/dep/Chart.yaml': chartYaml({ apiVersion: 'v1', name: 'dep', version: '1.0.0' }),
    });
    const files = names((await assertConforms(helm, dir)).data);
    assert.ok(files.includes('legacy/requirements.yaml'));
    assert.ok(files.includes('legacy/requirements.lock'));
  });

  test('v2 chart with Chart.lock: the re-marshalled lock is byte-identical', async () => {
    const dir = await chart(
      appChart('locked', '1.0.0', {
        'Chart.yaml': chartYaml({
          apiVersion: 'v2',
          name: 'locked',
          version: '1.0.0',
          dependencies:
            '\n- name: dep\n  version: ~1.0.0\n  repository: "@stable"\n- name: other\n  alias: second\n  version: 2.0.0\n  repository: oci://registry.example/charts',
        }),
        'Chart.lock':
          'dependencies:\n- name: dep\n  repository: "@stable"\n  version: 1.0.3\n- name: other\n  repository: oci://registry.example/charts\n  version: 2.0.0\ndigest: sha256:0123\ngenerated: "2024-03-05T10:49:14.035400+01:00"\n',
        'charts/dep/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'dep', version: '1.0.3' }),
        'charts/other-2.0.0/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'other', version: '2.0.0' }),
      }),
    );
    const files = listArchive((await assertConforms(helm, dir)).data);
    assert.ok(files.has('locked/Chart.lock'));
  });

  test('crds/, values.schema.json, unusual file names, empty dirs, BOMs, CRLF, long paths, symlinks inside', async () => {
    const longDir = `files/${'very-long-directory-name/'.repeat(6)}`;
    const dir = await chart(
      appChart('assorted', '1.0.0', {
        'crds/crd.yaml':
          'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n',
        'values.schema.json': '{"$schema":"https://json-schema.org/draft-07/schema#","type":"object"}\n',
        'files/with space.txt': 'spaces',
        'files/ünïcødé-日本語.txt': 'unicode',
        'files/emoji-😀.txt': 'astral',
        'files/empty.txt': '',
        'files/crlf.txt': 'line1\r\nline2\r\n',
        'files/bom.txt': `${BOM}bom text`,
        'templates/bom.yaml': `${BOM}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bom\n`,
        emptydir: { dir: true },
        'files/nested-empty/deeper': { dir: true },
        [`${longDir}file-with-a-long-name-as-well.yaml`]: 'long: path\n',
        'files/link-to-readme': { symlink: 'with space.txt' },
        'linked-files': { symlink: 'files' },
        'values.yaml': `${BOM}replicaCount: 1\nimage:\n  repository: nginx\n  tag: ""\nservice:\n  port: 80\n`,
      }),
    );
    const files = names((await assertConforms(helm, dir)).data);
    assert.ok(files.includes('assorted/files/ünïcødé-日本語.txt'));
    assert.ok(files.includes('assorted/linked-files/with space.txt'));
  });

  test('Chart.yaml typing quirks: floats, loose versions, unknown keys, annotations, long text', async () => {
    const dir = await chart({
      'Chart.yaml': [
        'apiVersion: v2',
        'name: quirks',
        'version: 1.2',
        'appVersion: 1.10',
        'kubeVersion: ">=1.22.0-0"',
        `description: 'A description that is long enough to be folded by go-yaml at eighty columns: it has "quotes", # hashes and: colons'`,
        'home: https://example.com',
        'deprecated: yes',
        'keywords: [web, 2024, true, "on"]',
        'sources:\n  - https://github.com/example/one',
        'maintainers:\n  - name: Ann\n    email: ann@example.com\n  - name: "Bob\\tTab"',
        'annotations:\n  artifacthub.io/changes: |\n    - kind: added\n      description: thing\n  category: Database\n  number: 42\n  flag: off',
        'unknownKey: dropped',
        'icon: data:image/png;base64,AAAA',
        'Type: application',
      ].join('\n'),
      'templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q\n',
    });
    const p = await assertConforms(helm, dir);
    assert.equal(p.fileName, 'quirks-1.2.tgz');
    assert.equal(p.metadata.appVersion, '1.1');
  });
  test('a bitnami-style chart: vendored charts/common, Chart.lock, annotations, tags, schema, README, ci/', async () => {
    const parent = join(tmp.path, `${n++}`);
    await writeTree(parent, { '.keep': '' });
    await helm.run(['create', 'redis'], { cwd: parent });
    const dir = join(parent, 'redis');
    await writeTree(dir, {
      'Chart.yaml': [
        '# Copyright Broadcom, Inc. All Rights Reserved.',
        '# SPDX-License-Identifier: APACHE-2.0',
        '',
        'annotations:',
        '  category: Database',
        '  licenses: Apache-2.0',
        '  images: |',
        '    - name: os-shell',
        '      image: docker.io/bitnami/os-shell:12-debian-12-r30',
        '    - name: redis',
        '      image: docker.io/bitnami/redis:7.4.1-debian-12-r0',
        'apiVersion: v2',
        'appVersion: 7.4.1',
        'dependencies:',
        '- name: common',
        '  repository: oci://registry-1.docker.io/bitnamicharts',
        '  tags:',
        '  - bitnami-common',
        '  version: 2.x.x',
        'description: Redis(R) is an open source, advanced key-value store. It is often referred to as a data structure server since keys can contain strings, hashes, lists, sets and sorted sets.',
        'home: https://bitnami.com',
        'icon: https://bitnami.com/assets/stacks/redis/img/redis-stack-220x234.png',
        'keywords:',
        '- redis',
        '- keyvalue',
        '- database',
        'maintainers:',
        '- name: Broadcom, Inc. All Rights Reserved.',
        '  url: https://github.com/bitnami/charts',
        'name: redis',
        'sources:',
        '- https://github.com/bitnami/charts/tree/main/bitnami/redis',
        'version: 20.2.1',
      ].join('\n'),
      'Chart.lock':
        'dependencies:\n- name: common\n  repository: oci://registry-1.docker.io/bitnamicharts\n  version: 2.26.0\ndigest: sha256:5ff7837915aef0067bd32271ee2b10c990774c16cf4b2ed5be3e4ab6cd4f3e7a\ngenerated: "2024-10-16T12:52:44.017944+02:00"\n',
      'charts/common/Chart.yaml': chartYaml({
        apiVersion: 'v2',
        name: 'common',
        version: '2.26.0',
        type: 'library',
        appVersion: '2.26.0',
      }),
      'charts/common/templates/_names.tpl':
        '{{- define "common.names.name" -}}{{ .Chart.Name }}{{- end -}}\n',
      'charts/common/values.yaml': 'exampleValue: common-chart\n',
      'README.md': '# Bitnami package for Redis(R)\n',
      'values.schema.json': '{"$schema": "http://json-schema.org/schema#", "type": "object"}\n',
      'ci/extra-flags-values.yaml': 'master:\n  extraFlags:\n  - --maxmemory-policy allkeys-lru\n',
      'templates/NOTES.txt': 'CHART NAME: {{ .Chart.Name }}\n',
    });
    const files = names((await assertConforms(helm, dir)).data);
    assert.ok(files.includes('redis/charts/common/templates/_names.tpl'));
    assert.ok(files.includes('redis/Chart.lock'));
  });
});
