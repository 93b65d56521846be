/**
 * TLS CA and plain HTTP per registry, where registries are declared — `POST /repo/dependency`
 * (also as mirrors), the standalone config (`caFile`), the CLI (`--ca-file`, `--plain-http`) and
 * the oci publish target (`--oci-ca-file`, `--oci-plain-http`) — against four real registries:
 * A (TLS, token auth, its own test CA), B (TLS, another test CA), P and Q (plain HTTP). No
 * process-wide CHARTSYNC_OCI_* setting is in effect: a CA is trusted for the registry it was
 * declared for and nowhere else, and plain HTTP is spoken only to a registry allowed it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ChartSyncResult, DependencyRequest } from '@chartsync/api';
import { OciClient } from '@chartsync/sidecar/oci';
import { writeChart } from '../deps/fixtures.ts';
import { type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';
import { chartsyncScript, type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

const run = promisify(execFile);
/** No process-wide OCI default may make a registry trusted or plain behind the test's back. */
const NO_DEFAULTS = { CHARTSYNC_OCI_CA_FILE: '', CHARTSYNC_OCI_PLAIN_HTTP: '' };
const PUBLIC = 'oci://public.example/lib';

async function chartsync(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [chartsyncScript, ...args], {
      env: { ...process.env, ...NO_DEFAULTS, SOURCE_DATE_EPOCH: '1700000000', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('per-registry TLS CA and plain HTTP', () => {
  let a: OciRegistry;
  let b: OciRegistry;
  let p: OciRegistry;
  let q: OciRegistry;
  let caA: string;
  let caB: string;
  let git: GitServers;
  let sidecar: SidecarProcess;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let helm: Helm;

  before(async () => {
    tmp = await tempDir('chartsync-oci-tls-');
    [a, b, p, q] = await Promise.all([
      OciRegistry.start({ auth: 'token', tls: true }),
      OciRegistry.start({ tls: true }),
      OciRegistry.start({}),
      OciRegistry.start({}),
    ]);
    caA = await readFile(a.tls?.caFile as string, 'utf8');
    caB = await readFile(b.tls?.caFile as string, 'utf8');
    assert.notEqual(caA, caB, 'two different test CAs');
    git = await startGitServers({});
    helm = new Helm(join(tmp.path, 'helm-home'));
    const src = await writeChart(join(tmp.path, 'lib', 'common'), {
      name: 'common',
      version: '1.2.0',
      metadata: { type: 'library' },
    });
    await writeFile(join(src, 'templates/configmap.yaml'), '');
    const archive = await helm.packageTo(src, join(tmp.path, 'lib-out'));
    const login = ['--username', a.user.username, '--password', a.user.password];
    await helm.run(['registry', 'login', a.host, ...login, '--ca-file', a.tls?.caFile as string]);
    await helm.all(['push', archive, `${a.url}/lib`, '--ca-file', a.tls?.caFile as string]);
    await helm.all(['push', archive, `${b.url}/lib`, '--ca-file', b.tls?.caFile as string]);
    await helm.all(['push', archive, `${p.url}/lib`, '--plain-http']);
    await helm.all(['push', archive, `${q.url}/lib`, '--plain-http']);
    sidecar = await startSidecarProcess({
      readyTimeoutMs: 60_000,
      args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-local-git'],
      env: NO_DEFAULTS,
    });
  });
  after(async () => {
    await sidecar?.stop();
    await git?.stop();
    await Promise.all([a, b, p, q].map((r) => r?.cleanup()));
    await tmp?.cleanup();
  });

  /** A git repo whose one chart depends on `common` from `repository`; synced, its chart's result. */
  const repos = new Set<string>();
  async function syncChartOn(name: string, repository: string): Promise<ChartSyncResult> {
    const client = sidecar.client();
    if (!repos.has(name)) {
      repos.add(name);
      const repo = await git.repos.create(name, {
        'charts/app/Chart.yaml': `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 1.x.x\n  repository: ${repository}\n`,
      });
      const result = await client.upsertRepo({ name, git: `file://${repo.bare}` });
      return result.charts[0] as ChartSyncResult;
    }
    return (await client.updateRepo(name)).charts[0] as ChartSyncResult;
  }

  const dep = (d: DependencyRequest) => sidecar.client().upsertDependency(d);

  test("a registry's CA is trusted for that registry only", async () => {
    const credsA = { username: a.user.username, password: a.user.password };
    // A with B's CA: A's certificate is not trusted.
    await dep({ name: 'reg-a', url: `${a.url}/lib`, caData: caB, ...credsA });
    let r = await syncChartOn('on-a', `${a.url}/lib`);
    assert.equal(r.action, 'failed', JSON.stringify(r));
    assert.equal(r.reason, 'DependencyUnresolved');
    assert.match(r.error ?? '', new RegExp(a.host.replace(/\./g, '\\.')));
    // A with its own CA — and B's too, in one bundle: A works (token realm included) ...
    await dep({ name: 'reg-a', url: `${a.url}/lib`, caData: caA + caB, ...credsA });
    r = await syncChartOn('on-a', `${a.url}/lib`);
    assert.equal(r.action, 'published', JSON.stringify(r));
    // ... and B, registered without a CA, is not trusted through the CA given for A.
    await dep({ name: 'reg-b', url: `${b.url}/lib` });
    r = await syncChartOn('on-b', `${b.url}/lib`);
    assert.equal(r.action, 'failed', JSON.stringify(r));
    assert.match(r.error ?? '', new RegExp(b.host.replace(/\./g, '\\.')));
    // B with its own CA works.
    await dep({ name: 'reg-b', url: `${b.url}/lib`, caData: caB });
    r = await syncChartOn('on-b', `${b.url}/lib`);
    assert.equal(r.action, 'published', JSON.stringify(r));
    const logs = sidecar.logs.join('\n');
    assert.ok(!logs.includes(a.user.password), 'no password in the logs');
    assert.ok(!logs.includes('BEGIN CERTIFICATE'), 'no CA in the logs');
  });

  test('plain HTTP only for the registry allowed it, mirrors included', async () => {
    // The chart names the public prefix; P mirrors it. Not allowed plain HTTP: https fails.
    await dep({ name: 'mirror-p', url: `${p.url}/lib`, mirrorOf: PUBLIC });
    let r = await syncChartOn('on-p', PUBLIC);
    assert.equal(r.action, 'failed', JSON.stringify(r));
    assert.match(r.error ?? '', new RegExp(`${p.host.replace(/\./g, '\\.')}.*request failed`));
    await dep({ name: 'mirror-p', url: `${p.url}/lib`, mirrorOf: PUBLIC, insecurePlainHttp: true });
    r = await syncChartOn('on-p', PUBLIC);
    assert.equal(r.action, 'published', JSON.stringify(r));
    // Q is registered too, but only P was allowed plain HTTP.
    await dep({ name: 'reg-q', url: `${q.url}/lib` });
    r = await syncChartOn('on-q', `${q.url}/lib`);
    assert.equal(r.action, 'failed', JSON.stringify(r));
    assert.match(r.error ?? '', new RegExp(q.host.replace(/\./g, '\\.')));
    const listed = await sidecar.client().listDependencies();
    const view = (name: string) => listed.find((d) => d.name === name);
    assert.equal(view('mirror-p')?.insecurePlainHttp, true);
    assert.equal(view('reg-q')?.insecurePlainHttp, undefined);
    assert.ok(!JSON.stringify(listed).includes('BEGIN CERTIFICATE'), 'the listing holds no PEM');
  });

  test("a redirect to another origin does not carry the registry's CA", async () => {
    // Two https servers with B's own certificate (so B's CA would vouch for both): the first
    // answers a blob by redirecting to the second, as registries do towards object storage.
    const tlsOpts = {
      cert: await readFile(b.tls?.certFile as string),
      key: await readFile(b.tls?.keyFile as string),
    };
    const blob = Buffer.from('blob behind a redirect');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const storage = createHttpsServer(tlsOpts, (_req, res) => res.end(blob));
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
    const front = createHttpsServer(tlsOpts, (_req, res) =>
      res.writeHead(307, { location: `https://${storageHost}/blob` }).end(),
    );
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    try {
      const repo = { registry: frontHost, path: 'lib/common' };
      const desc = { mediaType: 'application/octet-stream', digest, size: blob.length };
      const onlyFront = new OciClient({ access: (r) => (r === frontHost ? { caCerts: caB } : undefined) });
      await assert.rejects(onlyFront.blob(repo, desc, 1024), (err: Error) => {
        assert.match(err.message, new RegExp(`${storageHost.replace(/\./g, '\\.')}.*request failed`));
        return true;
      });
      // The process-wide CA (CHARTSYNC_OCI_CA_FILE) is trusted everywhere: then the blob arrives.
      const processWide = new OciClient({ caCerts: caB });
      assert.ok((await processWide.blob(repo, desc, 1024)).equals(blob));
    } finally {
      storage.close();
      front.close();
    }
  });

  test('bad CA data and misplaced TLS fields are refused with 400 naming the field', async () => {
    const leaf = await readFile(a.tls?.certFile as string, 'utf8');
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { caData: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' },
        /caData: certificate 1 of 1 is not a valid X\.509/,
      ],
      [{ caData: 'hello' }, /caData: not PEM certificates/],
      [{ caData: `${caA}trailing junk` }, /caData: not PEM certificates/],
      [{ caData: leaf }, /caData: certificate 1 of 1 .* is not a CA certificate/],
      [{ caFile: '/etc/passwd' }, /caFile: is not read from the sidecar's file system/],
      [{ url: 'https://charts.example', caData: caA }, /caData: applies to oci:\/\/ repositories only/],
      [{ url: 'https://charts.example', insecurePlainHttp: true }, /insecurePlainHttp: applies to oci:\/\//],
      [{ insecurePlainHttp: 'maybe' }, /insecurePlainHttp: must be true or false/],
    ];
    for (const [fields, message] of cases) {
      const res = await fetch(`${sidecar.url}/repo/dependency`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bad', url: `${b.url}/lib`, ...fields }),
      });
      assert.equal(res.status, 400, JSON.stringify(fields).slice(0, 80));
      const answer = (await res.json()) as { reason: string; message: string };
      assert.equal(answer.reason, 'InvalidInput');
      assert.match(answer.message, message);
      assert.ok(!answer.message.includes('bm90IGEgY2VydA'), 'the input is not echoed');
    }
    assert.ok(!(await sidecar.client().listDependencies()).some((d) => d.name === 'bad'));
  });

  test('standalone config: caFile (relative to the file) and insecurePlainHttp per dependency; a bad caFile stops the start', async () => {
    const dir = join(tmp.path, 'standalone');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ca-b.pem'), caB);
    const config = (caFile: string) =>
      [
        `storageDir: ./storage`,
        'allowLocalGit: true',
        'dependencies:',
        `- { name: b, url: "${b.url}/lib", caFile: ${caFile} }`,
        `- { name: p, url: "${p.url}/lib", insecurePlainHttp: true }`,
      ].join('\n');
    await writeFile(join(dir, 'bad.pem'), 'not a certificate\n');
    await writeFile(join(dir, 'bad.yaml'), config('./bad.pem'));
    const refused = await chartsync(['serve', '--port', '0', '--config', join(dir, 'bad.yaml')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /dependencies\.0: caFile .*bad\.pem: not PEM certificates/);
    await writeFile(join(dir, 'chartsync.yaml'), config('./ca-b.pem'));
    const standalone = await startSidecarProcess({
      readyTimeoutMs: 60_000,
      args: ['--config', join(dir, 'chartsync.yaml')],
      env: NO_DEFAULTS,
    });
    try {
      const repo = await git.repos.create('standalone-tls', {
        'charts/app/Chart.yaml': `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 1.x.x\n  repository: ${b.url}/lib\n  alias: onb\n- name: common\n  version: 1.x.x\n  repository: ${p.url}/lib\n  alias: onp\n`,
      });
      const result = await standalone
        .client()
        .upsertRepo({ name: 'standalone-tls', git: `file://${repo.bare}` });
      assert.equal(result.charts[0]?.action, 'published', JSON.stringify(result));
    } finally {
      await standalone.stop();
    }
  });

  test('CLI: --ca-file NAME=FILE and --plain-http NAME apply to the named repository only', async () => {
    const chart = await writeChart(join(tmp.path, 'cli-app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [
        { name: 'common', version: '1.x.x', repository: `${b.url}/lib`, alias: 'onb' },
        { name: 'common', version: '1.x.x', repository: `${p.url}/lib`, alias: 'onp' },
      ],
    });
    const repoFlags = ['--repo', `b=${b.url}/lib`, '--repo', `p=${p.url}/lib`];
    const dest = join(tmp.path, 'cli-out');
    const ok = await chartsync([
      'package',
      chart,
      '-u',
      ...repoFlags,
      '--ca-file',
      `b=${b.tls?.caFile}`,
      '--plain-http',
      'p',
      '-d',
      dest,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(await readdir(dest), ['app-1.0.0.tgz']);
    // B's CA declared for P, plain HTTP for B: neither reaches the other.
    const crossed = await chartsync([
      'package',
      chart,
      '-u',
      ...repoFlags,
      '--ca-file',
      `p=${b.tls?.caFile}`,
      '--plain-http',
      'b',
      '-d',
      join(tmp.path, 'x'),
    ]);
    assert.notEqual(crossed.code, 0);
    assert.match(
      crossed.stderr,
      new RegExp(`${b.host.replace(/\./g, '\\.')}|${p.host.replace(/\./g, '\\.')}`),
    );
    const badCa = await chartsync([
      'package',
      chart,
      '-u',
      ...repoFlags,
      '--ca-file',
      `b=${join(tmp.path, 'nope.pem')}`,
    ]);
    assert.notEqual(badCa.code, 0);
    assert.match(badCa.stderr, /--repo b: --ca-file .*nope\.pem: ENOENT/);
    const orphan = await chartsync(['package', chart, '-u', ...repoFlags, '--plain-http', 'zz']);
    assert.match(orphan.stderr, /--plain-http zz: no --repo zz=URL is given/);
    const https = await chartsync([
      'package',
      chart,
      '-u',
      '--repo',
      'h=https://charts.example',
      '--plain-http',
      'h',
    ]);
    assert.match(https.stderr, /--plain-http h: applies to oci:\/\/ repositories only/);
  });

  test('oci publish target: --oci-ca-file trusts that registry, --oci-plain-http allows plain HTTP; a bad CA file stops the start', async () => {
    const bad = await chartsync([
      'serve',
      '--port',
      '0',
      '--oci-url',
      `${b.url}/pub`,
      '--oci-ca-file',
      a.tls?.certFile as string,
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--oci-ca-file .*server\.crt: certificate 1 of 1 .* is not a CA certificate/);
    const repo = await git.repos.create('to-oci', {
      'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
    });
    for (const [target, extra] of [
      [b, ['--oci-ca-file', b.tls?.caFile as string]],
      [p, ['--oci-plain-http']],
    ] as const) {
      const dataDir = join(tmp.path, `data-${target.port}`);
      for (const withSetting of [false, true]) {
        const pub = await startSidecarProcess({
          readyTimeoutMs: 60_000,
          args: [
            '--oci-url',
            `${target.url}/pub`,
            '--allow-local-git',
            '--data-dir',
            dataDir,
            ...(withSetting ? extra : []),
          ],
          env: NO_DEFAULTS,
          waitReady: withSetting,
        });
        try {
          if (!withSetting) {
            const ready = await fetch(`${pub.url}/readyz`);
            assert.equal(ready.status, 503);
            assert.match(
              ((await ready.json()) as { message: string }).message,
              new RegExp(target.host.replace(/\./g, '\\.')),
            );
          }
          const sync = pub.client().upsertRepo({ name: 'to-oci', git: `file://${repo.bare}` });
          if (withSetting) assert.equal((await sync).charts[0]?.action, 'published');
          else
            await assert.rejects(sync, (err: Error & { reason?: string }) => {
              assert.equal(err.reason, 'PublishFailed');
              assert.match(err.message, new RegExp(target.host.replace(/\./g, '\\.')));
              return true;
            });
        } finally {
          await pub.stop();
        }
      }
      const client = new OciClient({ access: () => (target.tls ? { caCerts: caB } : { plainHttp: true }) });
      assert.deepEqual(await client.tags({ registry: target.host, path: 'pub/to-oci/web' }), ['0.1.0']);
    }
  });
});
