/**
 * Hostile or broken registries while resolving `oci://` dependencies, with the real registry
 * behind a fault injector: a manifest whose content does not match its digest, a chart layer
 * whose bytes do not match, a layer larger than the limit, a tag that moves, a registry that
 * is down, a tag list whose pagination loops, never ends or leads to another origin. Each fails (or succeeds) clearly,
 * naming the chart, the dependency and the registry.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageChart } from '@chartsync/sidecar';
import { MTIME } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { Helm } from '../harness/helm.ts';
import { OciFaultProxy } from '../harness/oci-fault-proxy.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';

describe('oci:// dependencies from a broken or hostile registry', () => {
  let registry: OciRegistry;
  let proxy: OciFaultProxy;
  let helm: Helm;
  let work: string;
  let cleanup: () => Promise<void>;
  let chartDir: string;
  let counter = 0;

  const opts = () => ({
    mtime: MTIME,
    dependencyUpdate: true,
    repositories: [],
    oci: { plainHttp: [proxy.host, registry.host] },
    cacheDir: join(work, `cache-${counter++}`),
  });

  async function push(name: string, version: string, values: string) {
    const src = await writeChart(join(work, 'src', `${name}-${version}-${counter++}`, name), {
      name,
      version,
      files: { 'values.yaml': values },
    });
    const out = join(work, 'out', String(counter++));
    await mkdir(out, { recursive: true });
    await helm.run(['push', await helm.packageTo(src, out), `${registry.url}/charts`, '--plain-http']);
  }

  before(async () => {
    registry = await OciRegistry.start();
    proxy = await new OciFaultProxy(registry.host).start();
    const tmp = await tempDir('chartsync-oci-faults-');
    work = tmp.path;
    cleanup = tmp.cleanup;
    helm = new Helm(join(work, 'helm-home'));
    await push('common', '2.0.0', 'original: true\n');
    chartDir = await writeChart(join(work, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: [{ name: 'common', version: '2.x.x', repository: `${proxy.url}/charts` }],
    });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.cleanup();
    await cleanup?.();
  });

  test("a manifest whose content does not match the registry's digest is refused", async () => {
    proxy.rules = [
      {
        method: 'GET',
        path: /\/manifests\/2\.0\.0$/,
        action: {
          kind: 'rewrite',
          body: (b) => Buffer.from(b.toString().replace('"schemaVersion":2', '"schemaVersion": 2')),
        },
      },
    ];
    await assert.rejects(packageChart(chartDir, opts()), (err: Error & { reason?: string }) => {
      assert.match(err.message, /chart app: Chart\.yaml: dependency 'common'/);
      assert.match(err.message, /manifest 2\.0\.0: digest mismatch/);
      assert.equal(err.reason, 'DependencyUnresolved');
      return true;
    });
    proxy.rules = [];
  });

  test('a chart layer whose bytes do not match its digest is refused', async () => {
    proxy.rules = [
      {
        method: 'GET',
        path: /\/blobs\/sha256:/,
        action: {
          kind: 'rewrite',
          body: (b) =>
            b[0] === 0x1f
              ? Buffer.concat([b.subarray(0, b.length - 1), Buffer.from([(b.at(-1) ?? 0) ^ 1])])
              : b,
        },
      },
    ];
    await assert.rejects(packageChart(chartDir, opts()), /blob sha256:[a-f0-9]{64}: digest mismatch/);
    proxy.rules = [];
  });

  test('a layer larger than the limit is refused before it is downloaded', async () => {
    const huge = {
      schemaVersion: 2,
      config: {
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
        digest: `sha256:${'a'.repeat(64)}`,
        size: 10,
      },
      layers: [
        {
          mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
          digest: `sha256:${'b'.repeat(64)}`,
          size: 5 * 1024 ** 3,
        },
      ],
    };
    proxy.rules = [
      {
        method: 'GET',
        path: /\/manifests\/2\.0\.0$/,
        action: {
          kind: 'answer',
          status: 200,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          body: JSON.stringify(huge),
        },
      },
    ];
    const before = proxy.requests.length;
    await assert.rejects(
      packageChart(chartDir, opts()),
      /of 5368709120 bytes exceeds the 104857600-byte limit/,
    );
    assert.ok(!proxy.requests.slice(before).some((r) => r.path.includes('/blobs/')), 'no blob was requested');
    proxy.rules = [];
  });

  test('a blob longer than its descriptor says is cut at the declared size and refused', async () => {
    proxy.rules = [
      {
        method: 'GET',
        path: /\/blobs\/sha256:/,
        action: {
          kind: 'rewrite',
          body: (b) => (b[0] === 0x1f ? Buffer.concat([b, Buffer.alloc(4096)]) : b),
        },
      },
    ];
    await assert.rejects(packageChart(chartDir, opts()), /exceeds the \d+-byte limit|digest mismatch/);
    proxy.rules = [];
  });

  test('a tag that moves: the next resolution takes the new content (the cache is keyed by digest, not tag)', async () => {
    const cacheDir = join(work, 'moving-cache');
    const first = await packageChart(chartDir, { ...opts(), cacheDir });
    await push('common', '2.0.0', 'moved: true\n');
    const second = await packageChart(chartDir, { ...opts(), cacheDir });
    assert.notEqual(first.digest, second.digest);
    const { entries } = await import('../deps/compare.ts');
    const files = entries(second.data);
    assert.equal(files.get('app/charts/common/values.yaml')?.toString(), 'moved: true\n');
  });

  test('a registry that is down or answers 5xx fails naming it', async () => {
    proxy.rules = [
      {
        path: /\/v2\//,
        action: {
          kind: 'answer',
          status: 503,
          body: '{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}',
        },
      },
    ];
    await assert.rejects(packageChart(chartDir, opts()), (err: Error) => {
      assert.match(err.message, new RegExp(`oci://${proxy.host.replace(/\./g, '\\.')}/charts/common`));
      assert.match(err.message, /HTTP 503: UNAVAILABLE maintenance/);
      return true;
    });
    proxy.rules = [{ path: /./, action: { kind: 'reset' } }];
    await assert.rejects(packageChart(chartDir, opts()), /request failed/);
    proxy.rules = [];
  });

  test('a tag list whose next page links back to a page already read is refused, not read 1000 times', async () => {
    const page = (link: string) => ({
      kind: 'answer' as const,
      status: 200,
      headers: { 'content-type': 'application/json', link: `<${link}>; rel="next"` },
      body: JSON.stringify({ name: 'charts/common', tags: ['2.0.0'] }),
    });
    proxy.rules = [
      { method: 'GET', path: /\/tags\/list$/, action: page('/v2/charts/common/tags/list?n=1000&last=2.0.0') },
    ];
    const before = proxy.requests.length;
    await assert.rejects(packageChart(chartDir, opts()), (err: Error & { reason?: string }) => {
      assert.match(err.message, /dependency 'common'/);
      assert.match(err.message, /tag list links back to a page already read/);
      assert.equal(err.reason, 'DependencyUnresolved');
      return true;
    });
    assert.ok(proxy.requests.length - before <= 3, `${proxy.requests.length - before} requests`);
    proxy.rules = [];
  });

  test('a tag list padded page after page is cut at 16 MiB in all', async () => {
    const padded = JSON.stringify({
      name: 'charts/common',
      tags: ['2.0.0', 'x'.repeat(4 * 1024 * 1024 - 64)],
    });
    proxy.rules = [1, 2, 3, 4, 5, 6].map((n) => ({
      method: 'GET',
      path: /\/tags\/list$/,
      times: 1,
      action: {
        kind: 'answer' as const,
        status: 200,
        headers: {
          'content-type': 'application/json',
          link: `</v2/charts/common/tags/list?last=${n}>; rel="next"`,
        },
        body: padded,
      },
    }));
    const before = proxy.requests.length;
    await assert.rejects(packageChart(chartDir, opts()), /the tag list exceeds 16777216 bytes over 5 pages/);
    assert.equal(proxy.requests.length - before, 5);
    proxy.rules = [];
  });

  test('a tag list whose next page is on another origin fails; it is neither followed nor cut short silently', async () => {
    proxy.rules = [
      {
        method: 'GET',
        path: /\/tags\/list$/,
        action: {
          kind: 'answer',
          status: 200,
          headers: {
            'content-type': 'application/json',
            link: '<http://127.0.0.1:9/v2/charts/common/tags/list?last=2.0.0>; rel="next"',
          },
          body: JSON.stringify({ name: 'charts/common', tags: ['2.0.0'] }),
        },
      },
    ];
    await assert.rejects(
      packageChart(chartDir, opts()),
      /the tag list's next page is on another origin \(http:\/\/127\.0\.0\.1:9\); not followed/,
    );
    proxy.rules = [];
  });
});
