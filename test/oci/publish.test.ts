/**
 * The `oci` publishing target end to end: the real `chartsync serve --oci-url`, a real git
 * repository, the real Distribution registry (htpasswd auth) behind a fault injector, and the
 * real helm as the user. Same sync rules as the other targets: unchanged charts are not
 * pushed, a tag that exists with other content (even an image index) is never overwritten
 * (conflict) and fails only that chart, prune deletes
 * only what this repo pushed, a registry that fails mid-push leaves nothing half-published and
 * the next sync completes; wrong credentials fail clearly without the secret showing anywhere.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartRepository, OciClient } from '@chartsync/sidecar/oci';
import { writeChart } from '../deps/fixtures.ts';
import { type FixtureRepo, type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { bothHelms } from '../harness/helm4.ts';
import { OciFaultProxy } from '../harness/oci-fault-proxy.ts';
import { moveTagToImageIndex, OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';
import { chartFiles } from '../sidecar/fixtures.ts';

let tmp: { path: string; cleanup: () => Promise<void> };
let git: GitServers;
let registry: OciRegistry;
let proxy: OciFaultProxy;
let helm: Helm;
let admin: OciClient;

before(async () => {
  tmp = await tempDir('chartsync-oci-publish-');
  git = await startGitServers({});
  registry = await OciRegistry.start({ auth: 'htpasswd' });
  proxy = await new OciFaultProxy(registry.host).start();
  helm = new Helm(join(tmp.path, 'helm-home'));
  admin = new OciClient({ plainHttp: [registry.host], credentials: () => registry.user });
});
after(async () => {
  await proxy?.stop();
  await registry?.cleanup();
  await git?.stop();
  await tmp?.cleanup();
});

async function sidecarFor(name: string, env: NodeJS.ProcessEnv = {}): Promise<SidecarProcess> {
  return startSidecarProcess({
    args: ['--oci-url', `${proxy.url}/cs`, '--data-dir', join(tmp.path, `${name}-data`), '--allow-local-git'],
    env: {
      CHARTSYNC_OCI_PLAIN_HTTP: proxy.host,
      OCI_USERNAME: registry.user.username,
      OCI_PASSWORD: registry.user.password,
      ...env,
    },
  });
}

const creds = () => [
  '--username',
  registry.user.username,
  '--password',
  registry.user.password,
  '--plain-http',
];

/** The manifest digest a tag points to, straight from the registry (not through the proxy). */
async function tagDigest(path: string, tag: string): Promise<string | undefined> {
  const found = await admin.manifest(
    chartRepository(`${registry.url}/${path.replace(/\/[^/]+$/, '')}`, path.split('/').pop() as string),
    tag,
  );
  return found?.digest;
}

/** Someone else's push of `name` at `version` with the real helm (other content than chartsync's). */
async function foreignPush(path: string, name: string, version: string): Promise<string> {
  const src = await writeChart(
    join(tmp.path, 'foreign', `${path}-${name}-${version}`.replace(/\//g, '_'), name),
    {
      name,
      version,
      files: { 'values.yaml': 'foreign: true\n' },
    },
  );
  const out = join(tmp.path, 'foreign-out', Math.random().toString(36).slice(2));
  await mkdir(out, { recursive: true });
  const archive = await helm.packageTo(src, out);
  await helm.run(['push', archive, `${registry.url}/${path}`, ...creds()]);
  return (await tagDigest(`${path}/${name}`, version)) as string;
}

describe('publishing to an OCI registry', () => {
  let repo: FixtureRepo;
  let sidecar: SidecarProcess;
  before(async () => {
    repo = await git.repos.create('team', {
      ...chartFiles('charts/app', 'app'),
      ...chartFiles('charts/lib', 'lib', { version: '0.1.0+build.5' }),
      ...chartFiles('charts/taken', 'taken'),
    });
    sidecar = await sidecarFor('team');
  });
  after(async () => {
    await sidecar?.stop();
  });

  test('a sync pushes each chart as <prefix>/<repo>/<name>:<version>; helm 3 and helm 4 pull, show and template it', async () => {
    const foreign = await foreignPush('cs/team', 'taken', '1.0.0');
    const result = await sidecar.client().upsertRepo({ name: 'team', git: `file://${repo.bare}` });
    const by = Object.fromEntries(result.charts.map((c) => [c.name, c]));
    assert.equal(by.app?.action, 'published');
    assert.equal(by.lib?.action, 'published');
    // The tag was pushed by someone else with other content: a conflict, never overwritten.
    assert.equal(by.taken?.action, 'conflict');
    assert.match(by.taken?.error ?? '', /already published with different content/);
    assert.equal(await tagDigest('cs/team/taken', '1.0.0'), foreign);

    for (const { label, helm: h } of bothHelms(join(tmp.path, 'helms'))) {
      const dest = join(tmp.path, `pulled-${label.replace(' ', '')}`);
      await mkdir(dest, { recursive: true });
      const lib = `${registry.url}/cs/team/lib`;
      await h.run(['pull', lib, '--version', '0.1.0+build.5', '-d', dest, ...creds()]);
      const pulled = await readFile(join(dest, 'lib-0.1.0+build.5.tgz'));
      assert.equal(by.lib?.digest, createHash('sha256').update(pulled).digest('hex'), `${label} pull`);
      const shown = await h.run(['show', 'chart', lib, '--version', '0.1.0+build.5', ...creds()]);
      assert.match(shown, /^version: 0\.1\.0\+build\.5$/m, `${label} show chart`);
      const stdout = await h.run([
        'template',
        'r',
        `${registry.url}/cs/team/app`,
        '--version',
        '1.0.0',
        ...creds(),
      ]);
      assert.match(stdout, /greeting: "hello from app"/, `${label} template`);
    }
  });

  test('an update without changes pushes nothing; changed content under a published version is a conflict', async () => {
    const pushesBefore = proxy.requests.filter((r) => r.method === 'PUT').length;
    await repo.write({ 'README.md': 'touch\n' });
    await repo.commit('unrelated change');
    await repo.push();
    const again = await sidecar.client().updateRepo('team');
    assert.equal(again.charts.find((c) => c.name === 'app')?.action, 'unchanged');
    assert.equal(
      proxy.requests.filter((r) => r.method === 'PUT').length,
      pushesBefore,
      'no manifest or blob PUT',
    );

    const appBefore = await tagDigest('cs/team/app', '1.0.0');
    await repo.write(chartFiles('charts/app', 'app', { greeting: 'changed, same version' }));
    await repo.commit('app changed without a version bump');
    await repo.push();
    const changed = await sidecar.client().updateRepo('team');
    const app = changed.charts.find((c) => c.name === 'app');
    assert.equal(app?.action, 'conflict');
    assert.equal(await tagDigest('cs/team/app', '1.0.0'), appBefore, 'the published manifest is kept');
    await repo.write(chartFiles('charts/app', 'app'));
    await repo.commit('app restored');
    await repo.push();
  });

  test('a tag moved by someone else is a conflict and is never deleted by prune', async () => {
    const moved = await foreignPush('cs/team', 'app', '1.0.0');
    await repo.write(chartFiles('charts/app', 'app', { greeting: 'rebuild' }));
    await repo.commit('rebuild app');
    await repo.push();
    const result = await sidecar.client().updateRepo('team');
    assert.equal(result.charts.find((c) => c.name === 'app')?.action, 'conflict');
    assert.equal(await tagDigest('cs/team/app', '1.0.0'), moved);
    await repo.remove(['charts/app']);
    await repo.commit('app removed');
    await repo.push();
    await sidecar.client().updateRepo('team');
    assert.equal(await tagDigest('cs/team/app', '1.0.0'), moved, "someone else's tag survives the prune");
  });

  test('prune deletes the manifests this repo pushed, and only those', async () => {
    const libDigest = await tagDigest('cs/team/lib', '0.1.0_build.5');
    assert.ok(libDigest);
    await repo.remove(['charts/lib', 'charts/taken']);
    await repo.commit('lib and taken removed');
    await repo.push();
    const result = await sidecar.client().updateRepo('team');
    assert.equal(result.charts.find((c) => c.name === 'lib')?.action, 'pruned');
    assert.equal(await tagDigest('cs/team/lib', '0.1.0_build.5'), undefined);
    assert.ok(await tagDigest('cs/team/taken', '1.0.0'), 'the foreign taken:1.0.0 stays');
  });
});

describe('a tag someone moved to an image index', () => {
  test('that chart is a conflict; the sync goes on for the others and prune leaves the tag', async () => {
    const repo = await git.repos.create('indexed', {
      ...chartFiles('charts/app', 'app'),
      ...chartFiles('charts/lib', 'lib'),
    });
    const sidecar = await sidecarFor('indexed');
    try {
      await sidecar.client().upsertRepo({ name: 'indexed', git: `file://${repo.bare}` });
      const oci = chartRepository(`${registry.url}/cs/indexed`, 'app');
      const moved = await moveTagToImageIndex(admin, oci, '1.0.0');
      await repo.write({
        ...chartFiles('charts/app', 'app', { greeting: 'rebuilt' }),
        ...chartFiles('charts/third', 'third'),
      });
      await repo.commit('app rebuilt, third added');
      await repo.push();
      const result = await sidecar.client().updateRepo('indexed');
      const by = Object.fromEntries(result.charts.map((c) => [c.name, c]));
      assert.equal(by.app?.action, 'conflict', JSON.stringify(result));
      assert.equal(by.third?.action, 'published', JSON.stringify(result));
      await repo.remove(['charts/app']);
      await repo.commit('app removed');
      await repo.push();
      await sidecar.client().updateRepo('indexed');
      assert.equal(await tagDigest('cs/indexed/app', '1.0.0').catch(() => 'not a chart'), 'not a chart');
      const head = await fetch(`${registry.baseUrl}/v2/cs/indexed/app/manifests/1.0.0`, {
        method: 'HEAD',
        headers: {
          accept: 'application/vnd.oci.image.index.v1+json',
          authorization: `Basic ${Buffer.from(`${registry.user.username}:${registry.user.password}`).toString('base64')}`,
        },
      });
      assert.equal(head.headers.get('docker-content-digest'), moved, 'the moved tag is left alone');
    } finally {
      await sidecar.stop();
    }
  });
});

describe('registry faults while publishing', () => {
  test('registry down mid-push: nothing half-published, what was published stays, the next sync completes', async () => {
    const repo = await git.repos.create('midpush', chartFiles('charts/one', 'one'));
    const sidecar = await sidecarFor('midpush');
    try {
      await sidecar.client().upsertRepo({ name: 'midpush', git: `file://${repo.bare}` });
      const one = await tagDigest('cs/midpush/one', '1.0.0');
      await repo.write(chartFiles('charts/two', 'two'));
      await repo.write(chartFiles('charts/one', 'one', { version: '1.1.0' }));
      await repo.commit('two charts more');
      await repo.push();
      // Blobs go through, every manifest PUT has its connection cut (the registry "dies" there).
      proxy.rules = [{ method: 'PUT', path: /\/manifests\//, action: { kind: 'reset' } }];
      const failed = await sidecar
        .client()
        .updateRepo('midpush')
        .then(
          (r) => assert.fail(`the sync should fail: ${JSON.stringify(r)}`),
          (e: Error & { reason?: string }) => e,
        );
      proxy.rules = [];
      assert.equal(failed.reason, 'PublishFailed');
      assert.match(failed.message, /two@1\.0\.0/);
      assert.equal(await tagDigest('cs/midpush/two', '1.0.0'), undefined, 'no tag for an incomplete push');
      assert.equal(await tagDigest('cs/midpush/one', '1.1.0'), undefined);
      assert.equal(await tagDigest('cs/midpush/one', '1.0.0'), one, 'what was published stays');
      const next = await sidecar.client().updateRepo('midpush');
      const by = Object.fromEntries(next.charts.map((c) => [`${c.name}@${c.version}`, c.action]));
      assert.equal(by['two@1.0.0'], 'published');
      assert.equal(by['one@1.1.0'], 'published');
      assert.ok(await tagDigest('cs/midpush/two', '1.0.0'));
    } finally {
      proxy.rules = [];
      await sidecar.stop();
    }
  });

  test('wrong credentials: the chart fails with PublishFailed naming the registry; the secret is nowhere', async () => {
    const secret = 'Wr0ng-S3cret-for-the-test';
    const repo = await git.repos.create('badcreds', chartFiles('charts/one', 'one'));
    const sidecar = await sidecarFor('badcreds', { OCI_PASSWORD: secret });
    try {
      const result = await sidecar
        .client()
        .upsertRepo({ name: 'badcreds', git: `file://${repo.bare}` })
        .catch((e: Error) => e);
      const text = `${(result as Error).message} ${JSON.stringify(result)}`;
      assert.match(text, /PublishFailed/);
      assert.match(text, new RegExp(`oci://${proxy.host.replace(/\./g, '\\.')}/cs/badcreds/one`));
      assert.match(text, /authentication failed/);
      const view = JSON.stringify(await sidecar.client().getRepo('badcreds'));
      for (const where of [text, view, sidecar.logs.join('\n')]) {
        assert.ok(!where.includes(secret), 'no secret');
        assert.ok(
          !where.includes(Buffer.from(`${registry.user.username}:${secret}`).toString('base64')),
          'no basic header',
        );
      }
    } finally {
      await sidecar.stop();
    }
  });
});
