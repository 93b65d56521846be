/**
 * The CLI with oci:// dependencies: `chartsync package --dependency-update` and `chartsync sync`
 * take `--repo NAME=oci://…`, `--mirror-of NAME=PREFIX`, and the registry's credentials from
 * REPO_<NAME>_USERNAME / REPO_<NAME>_PASSWORD; against the real registry with htpasswd auth.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeChart } from '../deps/fixtures.ts';
import { type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';
import { chartsyncScript } from '../harness/sidecar.ts';

const run = promisify(execFile);
const PUBLIC = 'oci://registry-1.docker.io/bitnamicharts';

async function chartsync(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(process.execPath, [chartsyncScript, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('CLI: oci:// repositories, mirrors and credentials', () => {
  let registry: OciRegistry;
  let git: GitServers;
  let work: string;
  let cleanup: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let chartDir: string;
  before(async () => {
    registry = await OciRegistry.start({ auth: 'htpasswd' });
    git = await startGitServers({});
    const tmp = await tempDir('chartsync-oci-cli-');
    work = tmp.path;
    cleanup = tmp.cleanup;
    const helm = new Helm(join(work, 'helm-home'));
    const src = await writeChart(join(work, 'lib', 'common'), {
      name: 'common',
      version: '2.4.0',
      metadata: { type: 'library' },
    });
    await writeFile(join(src, 'templates/configmap.yaml'), '');
    const out = join(work, 'lib-out');
    await mkdir(out, { recursive: true });
    const archive = await helm.packageTo(src, out);
    const login = [
      '--username',
      registry.user.username,
      '--password',
      registry.user.password,
      '--plain-http',
    ];
    await helm.all(['push', archive, `${registry.url}/mirror`, ...login]);
    chartDir = await writeChart(join(work, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'common', version: '2.x.x', repository: PUBLIC }],
    });
    env = {
      CHARTSYNC_OCI_PLAIN_HTTP: registry.host,
      REPO_HUB_USERNAME: registry.user.username,
      REPO_HUB_PASSWORD: registry.user.password,
      SOURCE_DATE_EPOCH: '1700000000',
    };
  });
  after(async () => {
    await registry?.cleanup();
    await git?.stop();
    await cleanup?.();
  });

  const flags = () => ['--repo', `hub=${registry.url}/mirror`, '--mirror-of', `hub=${PUBLIC}`];

  test('package --dependency-update resolves a public oci:// dependency from the mirror with credentials', async () => {
    const dest = join(work, 'dest');
    const r = await chartsync(['package', chartDir, '--dependency-update', ...flags(), '-d', dest], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app-1\.0\.0\.tgz sha256:[a-f0-9]{64}$/m);
    assert.deepEqual(await readdir(dest), ['app-1.0.0.tgz']);
  });

  test('wrong credentials: exit 1, the registry named, the secret nowhere', async () => {
    const secret = 'not-the-Password-42';
    const r = await chartsync(
      ['package', chartDir, '--dependency-update', ...flags(), '-d', join(work, 'x')],
      {
        ...env,
        REPO_HUB_PASSWORD: secret,
      },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`oci://${registry.host.replace(/\./g, '\\.')}/mirror/common`));
    assert.match(r.stderr, /authentication failed/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(secret));
  });

  test('bad flags are refused naming the flag', async () => {
    const bad = await chartsync(['package', chartDir, '--repo', 'hub=oci://Bad_Host/x'], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--repo hub: .*oci:\/\/host/);
    const orphan = await chartsync(['package', chartDir, '--mirror-of', `nope=${PUBLIC}`], env);
    assert.match(orphan.stderr, /--mirror-of nope: no --repo nope=URL is given/);
  });

  test('sync --repo/--mirror-of publishes a chart with an oci:// dependency into a storage dir', async () => {
    const repo = await git.repos.create('withdeps', {
      'charts/app/Chart.yaml': `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 2.x.x\n  repository: ${PUBLIC}\n`,
      'charts/app/values.yaml': 'a: 1\n',
    });
    const storage = join(work, 'storage');
    const r = await chartsync(
      [
        'sync',
        '--name',
        'withdeps',
        '--git',
        `file://${repo.bare}`,
        '--storage-dir',
        storage,
        ...flags(),
        '--json',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout);
    assert.equal(result.charts[0].action, 'published');
    assert.deepEqual((await readdir(join(storage, 'withdeps'))).sort(), ['app-1.0.0.tgz', 'index.yaml']);
  });
});
