import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  archiveUrl,
  availableVersions,
  chooseVersion,
  findVersion,
  parseConstraint,
  parseIndex,
  resolveRepositoryRef,
  urlEqual,
} from '@chartsync/sidecar/chart/dependencies';

const index = parseIndex(
  Buffer.from(`apiVersion: v1
entries:
  redis:
  - {name: redis, version: 1.2.0, urls: [redis-1.2.0.tgz], digest: abc}
  - {name: redis, version: 2.0.0, urls: [redis-2.0.0.tgz]}
  - {name: redis, version: 1.10.0, urls: []}
  - {name: redis, version: not-semver, urls: [x.tgz]}
  - {name: redis, version: 1.9.0-rc.1, urls: [redis-1.9.0-rc.1.tgz]}
  - {name: redis, version: v1.3, urls: [redis-1.3.tgz]}
`),
  'test index',
);

describe('repository index', () => {
  test('keeps valid entries, newest first by SemVer', () => {
    assert.deepEqual(
      index.entries.get('redis')?.map((e) => e.version),
      ['2.0.0', '1.10.0', '1.9.0-rc.1', 'v1.3', '1.2.0'],
    );
    assert.equal(availableVersions(index, 'redis'), '2.0.0, 1.10.0, 1.9.0-rc.1, v1.3, 1.2.0');
    assert.equal(availableVersions(index, 'nope'), 'none');
  });

  test('chooses the highest satisfying version that has URLs, and keeps its original text', () => {
    assert.equal(chooseVersion(index, 'redis', parseConstraint('^1.0'))?.version, 'v1.3');
    assert.equal(chooseVersion(index, 'redis', parseConstraint('>=1.0.0-0 <2'))?.version, '1.9.0-rc.1');
    assert.equal(chooseVersion(index, 'redis', parseConstraint('^3')), undefined);
    assert.equal(findVersion(index, 'redis', '1.3.0')?.version, 'v1.3');
  });

  test('refuses an index that is not one', () => {
    assert.throws(
      () => parseIndex(Buffer.from('entries: {}\n'), 'x/index.yaml'),
      /x\/index.yaml: index.yaml has no apiVersion/,
    );
    assert.throws(() => parseIndex(Buffer.from('a: [\n'), 'x/index.yaml'), /invalid index.yaml/);
    // Whatever a server sent is not echoed back into errors (they reach API answers).
    assert.throws(
      () => parseIndex(Buffer.from('apiVersion: v1\nentries: {a: b: SECRET-TOKEN}\n'), 'x/index.yaml'),
      (err: Error) =>
        err.message.startsWith('x/index.yaml: invalid index.yaml:') && !err.message.includes('SECRET'),
    );
    assert.throws(() => parseIndex(Buffer.from('<html>login</html>'), 'x/index.yaml'), /not a mapping/);
  });

  test('archive URLs: relative ones join the repository path; hostile ones are refused', () => {
    const entry = (url: string) => ({
      name: 'redis',
      version: '1.0.0',
      parsed: undefined as never,
      urls: [url],
    });
    assert.equal(
      archiveUrl('http://h:1/charts', entry('redis-1.0.0.tgz')),
      'http://h:1/charts/redis-1.0.0.tgz',
    );
    assert.equal(archiveUrl('http://h:1/charts/', entry('sub/r.tgz')), 'http://h:1/charts/sub/r.tgz');
    // the repository URL's query (a token) goes with relative archive URLs, as helm sends it
    assert.equal(
      archiveUrl('http://h:1/charts/?sig=t0k#f', entry('sub/r.tgz')),
      'http://h:1/charts/sub/r.tgz?sig=t0k',
    );
    assert.equal(archiveUrl('http://h:1/charts', entry('r.tgz?v=2')), 'http://h:1/charts/r.tgz?v=2');
    assert.equal(
      archiveUrl('http://h:1/charts', entry('https://cdn.example/r.tgz')),
      'https://cdn.example/r.tgz',
    );
    for (const bad of [
      '../secret.tgz',
      'a/../../b.tgz',
      '%2e%2e/x.tgz',
      'file:///etc/passwd',
      'ftp://h/x.tgz',
      'https://h/a/../b.tgz',
    ]) {
      assert.throws(
        () => archiveUrl('http://h:1/charts', entry(bad)),
        /index entry redis 1.0.0 has a refused URL/,
        bad,
      );
    }
  });
});

describe('repository references', () => {
  const repos = [
    { name: 'stable', url: 'https://charts.example.com/stable/' },
    { name: 'mirror', url: 'http://mirror.local/bitnami', mirrorOf: 'https://charts.bitnami.com/bitnami' },
  ];

  test('URL equality ignores a trailing slash, like helm', () => {
    assert.ok(urlEqual('https://charts.example.com/stable', 'https://charts.example.com/stable/'));
    assert.ok(!urlEqual('https://charts.example.com/stable', 'https://charts.example.com/other'));
  });

  test('classifies every form of repository', () => {
    assert.deepEqual(resolveRepositoryRef(undefined, repos), { kind: 'vendored' });
    assert.deepEqual(resolveRepositoryRef('file://../common', repos), { kind: 'file', path: '../common' });
    const byName = resolveRepositoryRef('@stable', repos);
    assert.equal(byName.kind === 'http' && byName.url, 'https://charts.example.com/stable/');
    const byAlias = resolveRepositoryRef('alias:stable', repos);
    assert.equal(byAlias.kind === 'http' && byAlias.registered?.name, 'stable');
    const byUrl = resolveRepositoryRef('https://charts.example.com/stable', repos);
    assert.equal(byUrl.kind === 'http' && byUrl.registered?.name, 'stable');
    const unregistered = resolveRepositoryRef('https://elsewhere.example/charts', repos);
    assert.deepEqual(unregistered, {
      kind: 'http',
      url: 'https://elsewhere.example/charts',
      fetchUrl: 'https://elsewhere.example/charts',
    });
  });

  test('a mirror answers for the public URL it mirrors, which the lock keeps', () => {
    const ref = resolveRepositoryRef('https://charts.bitnami.com/bitnami', repos);
    assert.equal(ref.kind, 'http');
    if (ref.kind !== 'http') return;
    assert.equal(ref.url, 'https://charts.bitnami.com/bitnami');
    assert.equal(ref.fetchUrl, 'http://mirror.local/bitnami');
  });

  test('unknown names and unsupported schemes are refused clearly', () => {
    assert.throws(
      () => resolveRepositoryRef('@nope', repos),
      /no dependency repository named 'nope' is registered \(registered: stable, mirror\)/,
    );
    assert.throws(() => resolveRepositoryRef('stable', repos), /neither an http\(s\) URL, an oci:\/\/ URL/);
    assert.throws(
      () => resolveRepositoryRef('oci://user:s3cret@r.example/charts', repos),
      (e: Error) => /user info .* is not allowed/.test(e.message) && !/s3cret/.test(e.message),
    );
    assert.throws(
      () => resolveRepositoryRef('oci://r.example/Charts', repos),
      /repository path 'Charts' is not valid/,
    );
  });

  test('oci:// repositories and oci:// mirrors (prefixes, either kind of mirror)', () => {
    const oci = [
      {
        name: 'hub',
        url: 'oci://mirror.local:5000/bitnamicharts',
        mirrorOf: 'oci://registry-1.docker.io/bitnamicharts',
      },
      { name: 'whole', url: 'https://charts.internal/ghcr', mirrorOf: 'oci://ghcr.io' },
      {
        name: 'to-oci',
        url: 'oci://mirror.local:5000/stable',
        mirrorOf: 'https://charts.example.org/stable',
      },
      { name: 'direct', url: 'oci://private.example/team', username: 'u', password: 'p' },
    ];
    assert.deepEqual(resolveRepositoryRef('oci://unknown.example/x', oci), {
      kind: 'oci',
      url: 'oci://unknown.example/x',
      fetchUrl: 'oci://unknown.example/x',
    });
    const mirrored = resolveRepositoryRef('oci://registry-1.docker.io/bitnamicharts', oci);
    assert.equal(mirrored.kind, 'oci');
    assert.equal(mirrored.kind === 'oci' && mirrored.fetchUrl, 'oci://mirror.local:5000/bitnamicharts');
    assert.equal(mirrored.kind === 'oci' && mirrored.url, 'oci://registry-1.docker.io/bitnamicharts');
    // A prefix covers what lies below it, on path-segment boundaries only.
    const below = resolveRepositoryRef('oci://ghcr.io/org/charts', oci);
    assert.deepEqual(
      [below.kind, below.kind === 'http' && below.fetchUrl],
      ['http', 'https://charts.internal/ghcr/org/charts'],
    );
    const notBelow = resolveRepositoryRef('oci://registry-1.docker.io/bitnamicharts-other', oci);
    assert.equal(
      notBelow.kind === 'oci' && notBelow.fetchUrl,
      'oci://registry-1.docker.io/bitnamicharts-other',
    );
    // An http(s) repository can be mirrored by an OCI registry.
    const toOci = resolveRepositoryRef('https://charts.example.org/stable/', oci);
    assert.deepEqual(
      [toOci.kind, toOci.kind === 'oci' && toOci.fetchUrl],
      ['oci', 'oci://mirror.local:5000/stable'],
    );
    const named = resolveRepositoryRef('@direct', oci);
    assert.equal(named.kind === 'oci' && named.registered?.name, 'direct');
  });
});
