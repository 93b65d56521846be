/**
 * A sync of many charts that depend on the same `oci://` repository asks the registry once per
 * sync and build thread — one bearer token, one tag listing, one manifest — not once per chart, although
 * every chart is built in a build thread of its own task (the run's caches are keyed by the
 * sync, chart/dependencies/run-cache.ts). The next sync lists the tags afresh. Counted on the
 * real registry (token auth) through a forwarding proxy and the token issuer's log.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lockedVersions } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { type GitServers, startGitServers } from '../harness/git-server.ts';
import { Helm } from '../harness/helm.ts';
import { OciFaultProxy } from '../harness/oci-fault-proxy.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

const CHARTS = 12;
const THREADS = 2;

describe('dependency lookups are shared by the charts of one sync', () => {
  let registry: OciRegistry;
  let proxy: OciFaultProxy;
  let git: GitServers;
  let sidecar: SidecarProcess;
  let helm: Helm;
  let tmp: { path: string; cleanup: () => Promise<void> };

  async function pushCommon(version: string) {
    const src = await writeChart(join(tmp.path, 'lib', version, 'common'), {
      name: 'common',
      version,
      metadata: { type: 'library' },
    });
    const archive = await helm.packageTo(src, join(tmp.path, 'lib-out', version));
    await helm.all(['push', archive, `${registry.url}/lib`, '--plain-http']);
  }

  before(async () => {
    tmp = await tempDir('chartsync-oci-sync-cache-');
    registry = await OciRegistry.start({ auth: 'token' });
    proxy = await new OciFaultProxy(registry.host).start();
    git = await startGitServers({});
    helm = new Helm(join(tmp.path, 'helm-home'));
    await helm.run([
      'registry',
      'login',
      registry.host,
      '--username',
      registry.user.username,
      '--password',
      registry.user.password,
      '--plain-http',
    ]);
    await pushCommon('1.0.0');
    await pushCommon('1.1.0');
    sidecar = await startSidecarProcess({
      readyTimeoutMs: 60_000,
      args: ['--storage-dir', join(tmp.path, 'storage'), '--allow-local-git'],
      env: {
        CHARTSYNC_BUILD_THREADS: String(THREADS),
        CHARTSYNC_OCI_CA_FILE: '',
        CHARTSYNC_OCI_PLAIN_HTTP: '',
      },
    });
  });
  after(async () => {
    await sidecar?.stop();
    await proxy?.stop();
    await git?.stop();
    await registry?.cleanup();
    await tmp?.cleanup();
  });

  const charts = (version: string) =>
    Object.fromEntries(
      Array.from({ length: CHARTS }, (_, i) => [
        `charts/app${i}/Chart.yaml`,
        `apiVersion: v2\nname: app${i}\nversion: ${version}\ndependencies:\n- name: common\n  version: 1.x.x\n  repository: ${proxy.url}/lib\n`,
      ]),
    );
  // Answered listings (with a token): a first try without one is answered 401 and repeated.
  const tagLists = () =>
    proxy.requests.filter((r) => r.authorized && r.path.startsWith('/v2/lib/common/tags/list')).length;
  const manifests = () =>
    proxy.requests.filter((r) => r.authorized && r.path.startsWith('/v2/lib/common/manifests/')).length;
  const tokens = () =>
    registry.tokenRequests.filter(
      (t) => t.user === registry.user.username && t.scope.includes('repository:lib/common:pull'),
    ).length;

  test(`${CHARTS} charts on ${THREADS} build threads: at most one token, one tag listing and one manifest request per thread; the next sync lists afresh`, async () => {
    await sidecar.client().upsertDependency({
      name: 'hub',
      url: `${proxy.url}/lib`,
      insecurePlainHttp: true,
      username: registry.user.username,
      password: registry.user.password,
    });
    const repo = await git.repos.create('many', charts('1.0.0'));
    const [lists0, tokens0, manifests0] = [tagLists(), tokens(), manifests()];
    const first = await sidecar.client().upsertRepo({ name: 'many', git: `file://${repo.bare}` });
    assert.equal(first.charts.filter((c) => c.action === 'published').length, CHARTS, JSON.stringify(first));
    const [lists1, tokens1, manifests1] = [tagLists() - lists0, tokens() - tokens0, manifests() - manifests0];
    console.log(
      `first sync of ${CHARTS} charts: ${lists1} tag listings, ${tokens1} token requests, ${manifests1} manifest requests`,
    );
    assert.ok(manifests1 >= 1 && manifests1 <= THREADS, `manifest requests: ${manifests1}`);
    assert.ok(lists1 >= 1 && lists1 <= THREADS, `tag listings: ${lists1}`);
    assert.ok(tokens1 >= 1 && tokens1 <= THREADS, `token requests: ${tokens1}`);

    // A new tag and a new commit: the next sync is a new run and sees the new tag.
    await pushCommon('1.2.0');
    await repo.write(charts('1.0.1'));
    await repo.commit('bump');
    await repo.push();
    const [lists2] = [tagLists()];
    const second = await sidecar.client().updateRepo('many');
    assert.equal(
      second.charts.filter((c) => c.action === 'published').length,
      CHARTS,
      JSON.stringify(second),
    );
    const listed = tagLists() - lists2;
    assert.ok(listed >= 1 && listed <= THREADS, `second sync tag listings: ${listed}`);
    const archive = await readFile(join(tmp.path, 'storage', 'many', 'app0-1.0.1.tgz'));
    assert.deepEqual(lockedVersions(archive, 'app0'), ['1.2.0']);
  });
});
