/**
 * `POST /repo/dependency` with `oci://` repositories on the running sidecar: a mirror of the
 * public bitnami prefix in the real registry (htpasswd auth), a git repository whose chart names
 * the public `oci://` URL, a sync that publishes it (local target); the registration never shows
 * the password; malformed oci:// URLs are refused with 400 InvalidInput naming the field.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeChart } from '../deps/fixtures.ts';
import { type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

const PUBLIC = 'oci://registry-1.docker.io/bitnamicharts';

describe('POST /repo/dependency with oci:// repositories', () => {
  let registry: OciRegistry;
  let git: GitServers;
  let sidecar: SidecarProcess;
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('chartsync-oci-api-');
    registry = await OciRegistry.start({ auth: 'htpasswd' });
    git = await startGitServers({});
    const helm = new Helm(join(tmp.path, 'helm-home'));
    const src = await writeChart(join(tmp.path, 'lib', 'common'), {
      name: 'common',
      version: '2.7.1',
      metadata: { type: 'library' },
    });
    await writeFile(join(src, 'templates/configmap.yaml'), '');
    const out = join(tmp.path, 'lib-out');
    await mkdir(out, { recursive: true });
    const login = [
      '--username',
      registry.user.username,
      '--password',
      registry.user.password,
      '--plain-http',
    ];
    await helm.all([
      'push',
      await helm.packageTo(src, out),
      `${registry.url}/mirror/bitnamicharts`,
      ...login,
    ]);
    sidecar = await startSidecarProcess({
      args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-local-git'],
      env: { CHARTSYNC_OCI_PLAIN_HTTP: registry.host },
    });
  });
  after(async () => {
    await sidecar?.stop();
    await git?.stop();
    await registry?.cleanup();
    await tmp?.cleanup();
  });

  test('a chart naming the public oci:// URL is published through the registered mirror', async () => {
    const client = sidecar.client();
    await client.upsertDependency({
      name: 'hub',
      url: `${registry.url}/mirror`,
      mirrorOf: 'oci://registry-1.docker.io',
      username: registry.user.username,
      password: registry.user.password,
    });
    const listed = JSON.stringify(await client.listDependencies());
    assert.match(listed, /"mirrorOf":"oci:\/\/registry-1\.docker\.io"/);
    assert.ok(!listed.includes(registry.user.password), 'no password in the listing');
    const repo = await git.repos.create('bitnamish', {
      'charts/app/Chart.yaml': `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 2.x.x\n  repository: ${PUBLIC}\n`,
      'charts/app/values.yaml': 'a: 1\n',
    });
    const result = await client.upsertRepo({ name: 'bitnamish', git: `file://${repo.bare}` });
    assert.equal(result.charts[0]?.action, 'published', JSON.stringify(result));
    const index = await (await fetch(`${sidecar.url}/charts/bitnamish/index.yaml`)).text();
    assert.match(index, /app/);
    assert.ok(!sidecar.logs.join('\n').includes(registry.user.password), 'no password in the logs');
  });

  test('malformed oci:// URLs are refused with 400 naming the field', async () => {
    for (const [field, value] of [
      ['url', 'oci://user:pw@registry.example/charts'],
      ['url', 'oci://registry.example/Upper/Case'],
      ['mirrorOf', 'oci://registry.example/a?b=c'],
      ['url', 'ftp://registry.example/charts'],
    ] as const) {
      const body = { name: 'bad', url: 'oci://registry.example/ok', [field]: value };
      const res = await fetch(`${sidecar.url}/repo/dependency`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, `${field}=${value}`);
      const answer = (await res.json()) as { reason: string; message: string };
      assert.equal(answer.reason, 'InvalidInput');
      assert.match(answer.message, new RegExp(field));
      assert.ok(!answer.message.includes('pw@'), 'the URL with credentials is not echoed');
    }
  });
});
