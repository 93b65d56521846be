/**
 * Dependency repositories scoped to one git repo (`POST /repo/dependency` with `repo`): the
 * tenant boundary of docs/security.md. Real parts: the sidecar process, git over file://, and
 * chart repositories whose index the real `helm repo index` wrote, two of them behind basic auth.
 * Tenants A and B register dependency repositories of the same name at different URLs with
 * different credentials; each sync resolves from its own. B's scoped `mirrorOf` of A's URL does
 * not reach A's sync, B's chart naming A's private URL is not fetched with A's credentials,
 * shared registrations still serve every repo, and `DELETE /repo/A` removes A's registrations.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { entries } from '../deps/compare.ts';
import { ChartRepoServer } from '../harness/chart-repo-server.ts';
import { fileUrl, type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

const AUTH_A = { username: 'tenant-a', password: 'a-secret-51f0' };
const AUTH_B = { username: 'tenant-b', password: 'b-secret-9d2e' };

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let helm: Helm;
/** A's private repository, B's private repository, an attacker's mirror, a public one. */
let privA: ChartRepoServer;
let privB: ChartRepoServer;
let evil: ChartRepoServer;
let pub: ChartRepoServer;
let sidecar: SidecarProcess;
let storage: string;

/** A chart repository serving chart `shared` 1.0.0 whose values say `greeting`. */
async function chartRepo(label: string, greeting: string, auth?: { username: string; password: string }) {
  const dir = join(tmp.path, `repo-${label}`);
  await mkdir(dir, { recursive: true });
  const src = await tempDir('chartsync-scoped-src-');
  for (const [path, content] of Object.entries(chartFiles('shared', 'shared', { greeting }))) {
    await mkdir(join(src.path, path, '..'), { recursive: true });
    await writeFile(join(src.path, path), content);
  }
  await helm.run(['package', join(src.path, 'shared'), '--destination', dir]);
  await src.cleanup();
  return ChartRepoServer.start({ dir, ...(auth ? { auth } : {}) });
}

/** A git repo with chart `app` depending on `shared` from `repository`. */
async function gitRepo(name: string, repository: string): Promise<string> {
  const dir = await git.repos.create(
    name,
    chartFiles('app', 'app', { dependencies: [{ name: 'shared', version: '1.x', repository }] }),
  );
  return fileUrl(dir);
}

/** The greeting of the `shared` subchart inside what repo `repo` published. */
async function publishedGreeting(repo: string): Promise<string> {
  const app = entries(await readFile(join(storage, repo, 'app-1.0.0.tgz')));
  const values = app.get('app/charts/shared/values.yaml');
  assert.ok(values, `${repo}: the package holds the dependency: ${[...app.keys()].join(', ')}`);
  return String(values);
}

const basic = (a: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;

before(async () => {
  tmp = await tempDir('chartsync-scoped-');
  helm = new Helm(tmp.path);
  privA = await chartRepo('a', 'from A', AUTH_A);
  privB = await chartRepo('b', 'from B', AUTH_B);
  evil = await chartRepo('evil', 'injected by B');
  pub = await chartRepo('pub', 'public');
  git = await startGitServers();
  storage = join(tmp.path, 'storage');
  sidecar = await startSidecarProcess({
    args: ['--storage-dir', storage, '--data-dir', join(tmp.path, 'data'), '--allow-local-git'],
  });
});
after(async () => {
  await sidecar?.stop();
  for (const s of [privA, privB, evil, pub]) await s?.close();
  await git?.stop();
  await tmp?.cleanup();
});

test('two repos with scoped registrations of one name: each sync resolves from its own, with its own credentials', async () => {
  const c = sidecar.client();
  await c.upsertDependency({ name: 'bitnami', url: privA.url, ...AUTH_A, repo: 'tenant-a' });
  await c.upsertDependency({ name: 'bitnami', url: privB.url, ...AUTH_B, repo: 'tenant-b' });
  // a shared registration of the same name: each tenant's own wins over it
  await c.upsertDependency({ name: 'bitnami', url: pub.url });

  const a = await c.upsertRepo({ name: 'tenant-a', git: await gitRepo('tenant-a', '@bitnami') });
  const b = await c.upsertRepo({ name: 'tenant-b', git: await gitRepo('tenant-b', '@bitnami') });
  const other = await c.upsertRepo({ name: 'other', git: await gitRepo('other', '@bitnami') });
  for (const r of [a, b, other]) assert.equal(r.charts[0]?.action, 'published', JSON.stringify(r));
  assert.match(await publishedGreeting('tenant-a'), /from A/);
  assert.match(await publishedGreeting('tenant-b'), /from B/);
  assert.match(await publishedGreeting('other'), /public/, 'a repo without its own sees the shared one');
  assert.ok(
    privA.requests.every((r) => r.authorization === basic(AUTH_A)),
    "A's repository saw only A's credentials",
  );
  assert.ok(
    privB.requests.every((r) => r.authorization === basic(AUTH_B)),
    "B's repository saw only B's credentials",
  );

  // listed with their scope, never their secrets
  const listed = await c.listDependencies();
  const bitnami = listed.filter((d) => d.name === 'bitnami').map((d) => [d.repo ?? '', d.url]);
  assert.deepEqual(bitnami, [
    ['', pub.url],
    ['tenant-a', privA.url],
    ['tenant-b', privB.url],
  ]);
  assert.doesNotMatch(JSON.stringify(listed), /secret/);
});

test("B's scoped mirrorOf of A's repository URL does not reach A's sync", async () => {
  const c = sidecar.client();
  await c.upsertDependency({ name: 'direct', url: privA.url, ...AUTH_A, repo: 'mirror-a' });
  await c.upsertDependency({ name: 'takeover', url: evil.url, mirrorOf: privA.url, repo: 'mirror-b' });
  const evilBefore = evil.requests.length;
  const a = await c.upsertRepo({ name: 'mirror-a', git: await gitRepo('mirror-a', privA.url) });
  assert.equal(a.charts[0]?.action, 'published', JSON.stringify(a));
  assert.match(await publishedGreeting('mirror-a'), /from A/);
  assert.equal(evil.requests.length, evilBefore, "the other tenant's mirror was never asked");

  // B's own sync does use B's mirror: the scope is B's, not nobody's
  const b = await c.upsertRepo({ name: 'mirror-b', git: await gitRepo('mirror-b', privA.url) });
  assert.equal(b.charts[0]?.action, 'published', JSON.stringify(b));
  assert.match(await publishedGreeting('mirror-b'), /injected by B/);
});

test("B's chart naming A's private repository URL is not fetched with A's credentials", async () => {
  const c = sidecar.client();
  await c.upsertDependency({ name: 'private', url: privA.url, ...AUTH_A, repo: 'owner-a' });
  const seen = privA.requests.length;
  const b = await c.upsertRepo({ name: 'thief-b', git: await gitRepo('thief-b', privA.url) });
  assert.equal(b.charts[0]?.action, 'failed', JSON.stringify(b));
  assert.equal(b.charts[0]?.reason, 'DependencyUnresolved');
  const during = privA.requests.slice(seen);
  assert.ok(during.length > 0, "B's sync did ask A's repository");
  assert.ok(
    during.every((r) => r.authorization === undefined),
    `B's sync sent credentials: ${JSON.stringify(during)}`,
  );
  const a = await c.upsertRepo({ name: 'owner-a', git: await gitRepo('owner-a', privA.url) });
  assert.equal(a.charts[0]?.action, 'published', JSON.stringify(a));
});

test('deleting a scoped registration or its repo removes only that scope', async () => {
  const c = sidecar.client();
  await c.upsertDependency({ name: 'gone', url: pub.url, repo: 'tenant-b' });
  await c.upsertDependency({ name: 'gone', url: pub.url });
  await c.deleteDependency('gone', 'tenant-b');
  const scopes = async (name: string) =>
    (await c.listDependencies()).filter((d) => d.name === name).map((d) => d.repo ?? '');
  assert.deepEqual(await scopes('gone'), [''], 'the shared one of that name stays');
  await c.deleteDependency('gone');
  assert.deepEqual(await scopes('gone'), []);
  const missing = await fetch(`${sidecar.url}/repo/dependency/bitnami?repo=nobody`, { method: 'DELETE' });
  assert.equal(missing.status, 404);
  const bad = await fetch(`${sidecar.url}/repo/dependency/bitnami?repo=Not_A_Name`, { method: 'DELETE' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /repo/);
  const refused = await fetch(`${sidecar.url}/repo/dependency`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', url: pub.url, repo: 'Bad Name' }),
  });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /repo: /, 'the message names the field');

  await c.deleteRepo('tenant-a');
  assert.deepEqual(await scopes('bitnami'), ['', 'tenant-b'], "A's scoped registration went with A");
});

test('a registry file of an older version (no scopes) loads its dependency repositories as shared', async () => {
  const data = join(tmp.path, 'legacy-data');
  await mkdir(data, { recursive: true });
  await writeFile(
    join(data, 'registry.json'),
    JSON.stringify({
      version: 1,
      dependencies: { old: { name: 'old', url: privA.url, ...AUTH_A } },
      repos: {},
    }),
    { mode: 0o600 },
  );
  const legacyStorage = join(tmp.path, 'legacy-storage');
  const own = await startSidecarProcess({
    args: ['--storage-dir', legacyStorage, '--data-dir', data, '--allow-local-git'],
  });
  try {
    const c = own.client();
    assert.deepEqual(
      (await c.listDependencies()).map((d) => [d.name, d.repo ?? '']),
      [['old', '']],
    );
    for (const name of ['legacy-one', 'legacy-two']) {
      const r = await c.upsertRepo({ name, git: await gitRepo(name, '@old') });
      assert.equal(r.charts[0]?.action, 'published', JSON.stringify(r));
    }
    await c.upsertDependency({ name: 'old', url: pub.url, repo: 'legacy-two' });
    const asked = pub.requests.length;
    const again = await c.updateRepo('legacy-two');
    // its own registration now wins: rebuilt from the public repository, other content under
    // the same version (so reported as conflict, the published package kept)
    assert.ok(pub.requests.length > asked, 'resolved from its own registration');
    assert.equal(again.charts[0]?.action, 'conflict', JSON.stringify(again));
    assert.equal((await c.updateRepo('legacy-one')).changed, false, 'the shared one still serves the other');
    await c.deleteDependency('old');
    assert.deepEqual(
      (await c.listDependencies()).map((d) => [d.name, d.repo ?? '']),
      [['old', 'legacy-two']],
    );
  } finally {
    await own.stop();
  }
});
