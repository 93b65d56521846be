/**
 * Which registration answers during a sync of one repo (chart/dependencies/scope.ts): its own
 * before shared ones — by name, by URL and as a mirror — and another repo's never. The end-to-end
 * proof with real repositories is test/security/scoped-deps.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveRepositoryRef, visibleTo } from '@chartsync/sidecar/chart/dependencies';

const PUBLIC = 'https://charts.example.com/stable';
const all = [
  { name: 'bitnami', url: 'https://shared.example/charts' },
  { name: 'bitnami', url: 'https://a.example/charts', username: 'a', password: 'pa', repo: 'a' },
  { name: 'bitnami', url: 'https://b.example/charts', username: 'b', password: 'pb', repo: 'b' },
  { name: 'mirror', url: 'https://shared-mirror.example/stable', mirrorOf: PUBLIC },
  { name: 'direct', url: PUBLIC, username: 'a', password: 'pa', repo: 'a' },
  { name: 'takeover', url: 'https://evil.example/x', mirrorOf: 'https://a.example/charts', repo: 'b' },
];

const fetchFrom = (repository: string, repo: string) => {
  const ref = resolveRepositoryRef(repository, visibleTo(all, repo));
  assert.ok(ref.kind === 'http');
  return [ref.fetchUrl, ref.registered?.username];
};

test("a repo's own registration wins by name; a repo without one sees the shared one", () => {
  assert.deepEqual(fetchFrom('@bitnami', 'a'), ['https://a.example/charts', 'a']);
  assert.deepEqual(fetchFrom('@bitnami', 'b'), ['https://b.example/charts', 'b']);
  assert.deepEqual(fetchFrom('@bitnami', 'c'), ['https://shared.example/charts', undefined]);
});

test('its own registration of a URL wins over a shared mirror of it; without one the shared mirror answers', () => {
  assert.deepEqual(fetchFrom(PUBLIC, 'a'), [PUBLIC, 'a']);
  assert.deepEqual(fetchFrom(PUBLIC, 'c'), ['https://shared-mirror.example/stable', undefined]);
});

test("another repo's registrations are never seen: neither its credentials nor its mirrors", () => {
  // b's `takeover` mirrors a's URL: a's sync does not see it, b's own does
  assert.deepEqual(fetchFrom('https://a.example/charts', 'a'), ['https://a.example/charts', 'a']);
  assert.deepEqual(fetchFrom('https://a.example/charts', 'b'), ['https://evil.example/x', undefined]);
  // c names a's private URL: fetched anonymously, not with a's credentials
  assert.deepEqual(fetchFrom('https://a.example/charts', 'c'), ['https://a.example/charts', undefined]);
  assert.deepEqual(
    visibleTo(all, 'c').map((d) => d.name),
    ['bitnami', 'mirror'],
  );
});
