/**
 * chartsync's OCI push against the real helm and the real Distribution registry: the same
 * manifest digest as `helm push` of the same archive (helm takes the `created` annotation from
 * the archive file's mtime, which the test sets to chartsync's entry time, so helm's output is
 * deterministic here), and helm pulls and templates what chartsync pushed. Plain HTTP, TLS with
 * a test CA, htpasswd and token auth.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadChartArchive, packageChart } from '@chartsync/sidecar';
import {
  chartArtifact,
  chartRepository,
  OciClient,
  pullChart,
  pushChart,
  rfc3339Seconds,
} from '@chartsync/sidecar/oci';
import { archiveEntryTime } from '@chartsync/sidecar/publish';
import { parse as parseYaml } from 'yaml';
import { writeChart } from '../deps/fixtures.ts';
import { Helm } from '../harness/helm.ts';
import { bothHelms } from '../harness/helm4.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';

const MTIME = new Date('2024-05-06T07:08:09Z');

interface Fixture {
  work: string;
  helm: Helm;
  cleanup: () => Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const tmp = await tempDir('chartsync-oci-push-');
  const helm = new Helm(join(tmp.path, 'helm-home'));
  helm.env.TZ = 'UTC';
  return { work: tmp.path, helm, cleanup: tmp.cleanup };
}

/** A chart with every field helm turns into an annotation, packaged by chartsync into a file. */
async function packaged(
  f: Fixture,
  name: string,
  version: string,
  metadata: Record<string, unknown> = {},
  files: Record<string, string> = {},
) {
  const dir = await writeChart(join(f.work, 'src', `${name}-${version}`, name), {
    name,
    version,
    files,
    metadata: {
      home: 'https://example.com/home',
      sources: ['https://example.com/src', 'https://example.com/other'],
      maintainers: [
        { name: 'Ann', email: 'ann@example.com' },
        { name: 'Bob' },
        { email: 'c@example.com', url: 'https://c' },
      ],
      keywords: ['a', 'b'],
      appVersion: '1.2.3',
      annotations: { 'example.com/x': 'y', 'org.opencontainers.image.title': 'ignored by helm' },
      icon: 'https://example.com/icon.png',
      kubeVersion: '>=1.20.0',
      ...metadata,
    },
  });
  const pkg = await packageChart(dir, { mtime: MTIME });
  const file = join(f.work, 'out', `${pkg.fileName}`);
  await mkdir(join(f.work, 'out'), { recursive: true });
  await writeFile(file, pkg.data);
  // helm push takes `created` from the file's mtime: give it chartsync's entry time.
  await utimes(file, MTIME, MTIME);
  return { pkg, file };
}

function pushedDigest(output: string): string {
  const m = /Digest: (sha256:[a-f0-9]{64})/.exec(output);
  assert.ok(m, `helm push printed a digest: ${output}`);
  return m[1] as string;
}

describe('OCI push: chartsync writes what helm push writes', () => {
  let registry: OciRegistry;
  let f: Fixture;
  let client: OciClient;
  before(async () => {
    registry = await OciRegistry.start();
    f = await fixture();
    client = new OciClient({ plainHttp: [registry.host] });
  });
  after(async () => {
    await registry?.cleanup();
    await f?.cleanup();
  });

  test('the archive entry time is the packaging mtime', async () => {
    const { pkg } = await packaged(f, 'timecheck', '0.1.0');
    assert.equal(archiveEntryTime(pkg.data).getTime(), MTIME.getTime());
  });

  const vendoredSub = { 'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 1.0.3\n' };
  for (const [name, version, extra, files] of [
    ['full', '1.0.0', {}, {}],
    ['plus', '1.0.0+build.7', {}, {}],
    [
      'minimal',
      '0.0.1-rc.1',
      {
        home: '',
        sources: [],
        maintainers: [],
        keywords: [],
        annotations: {},
        icon: '',
        appVersion: '',
        kubeVersion: '',
      },
      {},
    ],
    [
      'deps',
      '2.0.0',
      {
        dependencies: [
          {
            name: 'sub',
            version: '~1.0',
            repository: 'oci://example.com/charts',
            alias: 'x',
            condition: 'x.enabled',
            tags: ['t'],
            'import-values': ['a', { child: 'c', parent: 'p' }],
          },
        ],
        type: 'application',
        deprecated: true,
      },
      vendoredSub,
    ],
  ] as const) {
    test(`same manifest digest as helm 3 and helm 4 push; both pull and show it: ${name} ${version}`, async () => {
      const { pkg, file } = await packaged(f, name, version, extra as Record<string, unknown>, files);
      const out = await f.helm.all(['push', file, `${registry.url}/helm`, '--plain-http']);
      const helmDigest = pushedDigest(out);
      const helm4 = bothHelms(join(f.work, 'helms'))[1]?.helm as Helm;
      const out4 = await helm4.all(['push', file, `${registry.url}/helm4`, '--plain-http']);
      assert.equal(pushedDigest(out4), helmDigest, 'helm 4 pushes the same manifest as helm 3');
      const repo = chartRepository(`${registry.url}/chartsync`, name);
      const meta = (await loadChartArchive(pkg.data, pkg.fileName)).metadata;
      const artifact = chartArtifact(pkg.data, meta, rfc3339Seconds(archiveEntryTime(pkg.data)));
      const tag = version.replaceAll('+', '_');
      const ours = await pushChart(client, repo, tag, artifact);
      assert.equal(ours, helmDigest, 'manifest digest');
      const helmManifest = await client.manifest(chartRepository(`${registry.url}/helm`, name), tag);
      assert.ok(helmManifest);
      assert.equal(artifact.manifest.toString(), helmManifest.data.toString(), 'manifest bytes');
      // What chartsync pushed pulls back as the same archive, through helm and through chartsync.
      const pulled = await pullChart(client, repo, tag, 'test');
      assert.ok(pulled.data.equals(pkg.data));
      for (const { label, helm } of bothHelms(join(f.work, 'helms'))) {
        const ref = `${registry.url}/chartsync/${name}`;
        const dest = join(f.work, `pulled-${name}-${label.replace(' ', '')}`);
        await mkdir(dest, { recursive: true });
        await helm.run(['pull', ref, '--version', version, '--plain-http', '-d', dest]);
        assert.ok(
          (await readFile(join(dest, pkg.fileName))).equals(pkg.data),
          `${label} pull gives the archive back`,
        );
        const shown = parseYaml(await helm.run(['show', 'chart', ref, '--version', version, '--plain-http']));
        assert.deepEqual([shown.name, shown.version], [name, version], `${label} show chart`);
      }
    });
  }

  test('helm template renders what chartsync pushed', async () => {
    const { pkg } = await packaged(f, 'tmpl', '3.1.4');
    const meta = (await loadChartArchive(pkg.data, pkg.fileName)).metadata;
    const repo = chartRepository(`${registry.url}/chartsync`, 'tmpl');
    await pushChart(client, repo, '3.1.4', chartArtifact(pkg.data, meta, rfc3339Seconds(MTIME)));
    const out = await f.helm.run([
      'template',
      'rel',
      `${registry.url}/chartsync/tmpl`,
      '--version',
      '3.1.4',
      '--plain-http',
    ]);
    assert.match(out, /name: rel-tmpl/);
  });
});

describe('OCI push: auth modes and TLS of the real registry', () => {
  for (const mode of [
    { auth: 'htpasswd', tls: false },
    { auth: 'token', tls: false },
    { auth: 'token', tls: true },
    { auth: 'none', tls: true },
  ] as const) {
    test(`${mode.auth} auth over ${mode.tls ? 'TLS with a test CA' : 'plain HTTP'}`, async () => {
      const registry = await OciRegistry.start(mode);
      const f = await fixture();
      try {
        const { pkg } = await packaged(f, 'authchart', '1.0.0');
        const meta = (await loadChartArchive(pkg.data, pkg.fileName)).metadata;
        const repo = chartRepository(`${registry.url}/team`, 'authchart');
        const caCerts = registry.tls ? await readFile(registry.tls.caFile, 'utf8') : undefined;
        const base = { ...(registry.tls ? { caCerts } : { plainHttp: [registry.host] }) };
        const creds = new OciClient({
          ...base,
          credentials: (h) => (h === registry.host ? registry.user : undefined),
        });
        const digest = await pushChart(
          creds,
          repo,
          '1.0.0',
          chartArtifact(pkg.data, meta, rfc3339Seconds(MTIME)),
        );
        assert.ok((await pullChart(creds, repo, '1.0.0', 'test')).data.equals(pkg.data));
        if (mode.auth !== 'none') {
          await assert.rejects(pullChart(new OciClient(base), repo, '1.0.0', 'test'), (err: Error) => {
            assert.match(err.message, new RegExp(`${registry.host.replace('.', '\\.')}`));
            assert.match(err.message, /credentials|authentication|denied/);
            return true;
          });
          const wrong = new OciClient({
            ...base,
            credentials: () => ({ username: registry.user.username, password: 'wrong-pass-123' }),
          });
          await assert.rejects(pullChart(wrong, repo, '1.0.0', 'test'), (err: Error) => {
            assert.match(err.message, /authentication failed|refused the configured credentials/);
            assert.doesNotMatch(err.message, /wrong-pass-123/);
            return true;
          });
        }
        if (registry.tls) {
          // Without the test CA the registry's certificate is not trusted.
          await assert.rejects(new OciClient({}).tags(repo), /request failed/);
          // helm with the same CA sees the same manifest.
          const loginArgs =
            mode.auth === 'none'
              ? []
              : ['--username', registry.user.username, '--password', registry.user.password];
          if (loginArgs.length)
            await f.helm.run([
              'registry',
              'login',
              registry.host,
              ...loginArgs,
              '--ca-file',
              registry.tls.caFile,
            ]);
          const dest = join(f.work, 'pulled');
          await mkdir(dest, { recursive: true });
          const out = await f.helm.all([
            'pull',
            `${registry.url}/team/authchart`,
            '--version',
            '1.0.0',
            '--ca-file',
            registry.tls.caFile,
            '-d',
            dest,
          ]);
          assert.match(out, new RegExp(digest));
        } else {
          // https is the default: a plain-HTTP registry is reached only when allowed.
          await assert.rejects(
            new OciClient({ credentials: () => registry.user }).tags(repo),
            /request failed/,
          );
        }
        if (mode.auth === 'token') {
          const scopes = registry.tokenRequests.flatMap((r) => r.scope);
          assert.ok(
            scopes.includes('repository:team/authchart:pull,push'),
            `push scope requested: ${scopes.join(' ')}`,
          );
          assert.ok(scopes.includes('repository:team/authchart:pull'));
        }
      } finally {
        await registry.cleanup();
        await f.cleanup();
      }
    });
  }
});

describe('OCI: anonymous bearer tokens (public repositories)', () => {
  test('an anonymous client gets a pull token and pulls; pushing needs credentials', async () => {
    const registry = await OciRegistry.start({ auth: 'token', anonymousPull: true });
    const f = await fixture();
    try {
      const { pkg } = await packaged(f, 'public', '1.0.0');
      const meta = (await loadChartArchive(pkg.data, pkg.fileName)).metadata;
      const repo = chartRepository(`${registry.url}/pub`, 'public');
      const artifact = chartArtifact(pkg.data, meta, rfc3339Seconds(MTIME));
      const anonymous = new OciClient({ plainHttp: [registry.host] });
      await assert.rejects(
        pushChart(anonymous, repo, '1.0.0', artifact),
        /access denied|authentication failed|denied/,
      );
      const owner = new OciClient({ plainHttp: [registry.host], credentials: () => registry.user });
      await pushChart(owner, repo, '1.0.0', artifact);
      const before = registry.tokenRequests.length;
      assert.ok((await pullChart(anonymous, repo, '1.0.0', 'test')).data.equals(pkg.data));
      const asked = registry.tokenRequests.slice(before);
      assert.ok(asked.length > 0 && asked.every((r) => r.user === undefined), 'tokens asked for anonymously');
      assert.ok(asked.some((r) => r.scope.includes('repository:pub/public:pull')));
    } finally {
      await registry.cleanup();
      await f.cleanup();
    }
  });
});
