/**
 * A bitnami-shaped corpus generated here: dozens of charts that depend on a `common` library
 * (and some on `redis`) by the public `oci://registry-1.docker.io/bitnamicharts` URL, with the
 * constraints such charts use (`2.x.x`, `~2.19.0`, exact, `>=`), aliases, tags, conditions, and
 * committed Chart.lock files. chartsync resolves them through `mirrorOf` from the local real
 * registry (air-gapped); helm 3 and helm 4, which have no mirrors, each package a copy whose repository URLs (and
 * lock digests) name the local registry. Every file of every archive is identical, and
 * Chart.yaml / Chart.lock are equal as data once the URL is mapped back (the lock digest hashes
 * the URL, so it differs by construction; helm accepting the rewritten locks shows the digests
 * are computed as helm computes them).
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packageChart } from '@chartsync/sidecar';
import { hashReq } from '@chartsync/sidecar/chart/dependencies';
import { parse, stringify } from 'yaml';
import { entries, MTIME } from '../deps/compare.ts';
import { writeChart } from '../deps/fixtures.ts';
import { Helm } from '../harness/helm.ts';
import { bothHelms } from '../harness/helm4.ts';
import { OciRegistry } from '../harness/oci-registry.ts';
import { tempDir } from '../harness/paths.ts';

type Deps = Parameters<typeof hashReq>[0];

const PUBLIC = 'oci://registry-1.docker.io/bitnamicharts';
const COMMON = ['1.17.1', '2.2.0', '2.13.3', '2.19.1', '2.19.3', '2.26.0', '2.31.4'];
const REDIS = ['19.6.4', '20.1.0', '20.3.0'];
const CHARTS = 30;

interface CorpusChart {
  name: string;
  deps: Record<string, unknown>[];
  lock?: { name: string; version: string }[];
}

/** The corpus: deterministic variety over the shapes bitnami charts have. */
function corpus(): CorpusChart[] {
  const constraints = ['2.x.x', '2.x.x', '~2.19.0', '2.13.3', '>=2.0.0 <2.20.0', '^1.16.0'];
  return Array.from({ length: CHARTS }, (_, i) => {
    const deps: Record<string, unknown>[] = [];
    if (i % 5 === 3)
      deps.push({ name: 'redis', version: '20.x.x', repository: PUBLIC, condition: 'redis.enabled' });
    deps.push({
      name: 'common',
      version: constraints[i % constraints.length],
      repository: PUBLIC,
      tags: ['bitnami-common'],
      ...(i % 7 === 2 ? { alias: 'lib' } : {}),
    });
    const chart: CorpusChart = { name: `app-${String(i).padStart(2, '0')}`, deps };
    // Every fourth chart commits a lock pinning an older common than the constraint would pick.
    if (i % 4 === 0 && deps.every((d) => d.version !== '^1.16.0')) {
      chart.lock = deps.map((d) => ({
        name: d.name as string,
        version: d.name === 'redis' ? '20.1.0' : lockVersion(d.version as string),
      }));
    }
    return chart;
  });
}

function lockVersion(constraint: string): string {
  return constraint === '~2.19.0' ? '2.19.1' : constraint === '2.13.3' ? '2.13.3' : '2.2.0';
}

function lockFile(
  deps: Record<string, unknown>[],
  locked: { name: string; version: string }[],
  url: string,
): string {
  const hashedDeps = deps.map((d) => ({ ...d, repository: url }));
  const lockedDeps = locked.map((l) => ({ ...l, repository: url }));
  return stringify({
    dependencies: lockedDeps,
    digest: hashReq(hashedDeps as Deps, lockedDeps),
    generated: '2024-10-16T12:52:44.017944+02:00',
  });
}

describe('bitnami-shaped corpus through an oci:// mirror: every archive as helm builds it', () => {
  let registry: OciRegistry;
  let helm: Helm;
  let helms: ReturnType<typeof bothHelms>;
  let work: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    registry = await OciRegistry.start();
    const tmp = await tempDir('chartsync-oci-corpus-');
    work = tmp.path;
    cleanup = tmp.cleanup;
    helm = new Helm(join(work, 'helm-home'));
    helms = bothHelms(join(work, 'helms'));
    const out = join(work, 'lib-out');
    await mkdir(out, { recursive: true });
    for (const [name, versions, type] of [
      ['common', COMMON, 'library'],
      ['redis', REDIS, 'application'],
    ] as const) {
      for (const version of versions) {
        const src = await writeChart(join(work, 'lib-src', `${name}-${version}`, name), {
          name,
          version,
          metadata: { type },
          files: { 'templates/_helpers.tpl': `{{- define "${name}.version" -}}${version}{{- end -}}\n` },
        });
        if (type === 'library') await writeFile(join(src, 'templates/configmap.yaml'), '');
        await helm.run([
          'push',
          await helm.packageTo(src, out),
          `${registry.url}/bitnamicharts`,
          '--plain-http',
        ]);
      }
    }
  });
  after(async () => {
    await registry?.cleanup();
    await cleanup?.();
  });

  test(`${CHARTS} charts resolve from the mirror exactly as helm 3 and helm 4 resolve them from the registry`, async () => {
    const local = `${registry.url}/bitnamicharts`;
    const repositories = [{ name: 'bitnami-mirror', url: local, mirrorOf: PUBLIC }];
    const opts = {
      mtime: MTIME,
      dependencyUpdate: true,
      repositories,
      oci: { plainHttp: [registry.host] },
      cacheDir: join(work, 'cache'),
    };
    const chosen = new Map<string, string[]>();
    for (const c of corpus()) {
      const dir = await writeChart(join(work, 'corpus', c.name), {
        name: c.name,
        version: '1.0.0',
        dependencies: c.deps,
      });
      if (c.lock) await writeFile(join(dir, 'Chart.lock'), lockFile(c.deps, c.lock, PUBLIC));
      // chartsync: the public URL, resolved through the mirror.
      const ours = await packageChart(dir, opts);
      // helm 3 and helm 4: a copy naming the local registry (the lock rewritten and re-hashed likewise).
      for (const { label, helm: h } of helms) {
        const copy = join(work, 'helm-corpus', label.replace(' ', ''), c.name);
        await cp(dir, copy, { recursive: true });
        const yaml = parse(await readFile(join(copy, 'Chart.yaml'), 'utf8'));
        yaml.dependencies = yaml.dependencies.map((d: Record<string, unknown>) => ({
          ...d,
          repository: local,
        }));
        await writeFile(join(copy, 'Chart.yaml'), stringify(yaml));
        if (c.lock) await writeFile(join(copy, 'Chart.lock'), lockFile(c.deps, c.lock, local));
        await h.run(['dependency', 'build', copy, '--plain-http']);
        const helmOut = join(work, 'helm-out', label.replace(' ', ''), c.name);
        await mkdir(helmOut, { recursive: true });
        const theirs = await readFile(await h.packageTo(copy, helmOut));

        const [a, b] = [entries(ours.data), entries(theirs)];
        const who = `${c.name} (${label})`;
        assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${who}: same file set`);
        for (const [path, data] of a) {
          const other = b.get(path) as Buffer;
          if (path === `${c.name}/Chart.yaml` || path === `${c.name}/Chart.lock`) {
            const mine = parse(data.toString());
            const theirs = parse(other.toString().replaceAll(local, PUBLIC));
            if (path.endsWith('Chart.lock')) {
              for (const doc of [mine, theirs]) {
                delete doc.generated;
                delete doc.digest;
              }
              chosen.set(
                c.name,
                mine.dependencies.map((d: { version: string }) => d.version),
              );
              if (c.lock)
                assert.deepEqual(
                  mine.dependencies.map((d: { version: string }) => d.version),
                  c.lock.map((l) => l.version),
                  `${who}: the lock pins`,
                );
            }
            assert.deepEqual(mine, theirs, `${who}: ${path} equal as data (URL mapped)`);
          } else {
            assert.ok(data.equals(other), `${who}: ${path} byte-identical`);
          }
        }
      }
      const a = entries(ours.data);
      // The lock names the public URL (so the chart stays portable), hashed as helm hashes it.
      const lock = parse((a.get(`${c.name}/Chart.lock`) as Buffer).toString());
      assert.ok(lock.dependencies.every((d: { repository: string }) => d.repository === PUBLIC));
      assert.equal(lock.digest, hashReq(c.deps as unknown as Deps, lock.dependencies));
    }
    // Sanity: the corpus exercised the interesting choices.
    const all = new Set([...chosen.values()].flat());
    for (const v of ['2.31.4', '2.19.3', '2.13.3', '1.17.1', '2.2.0', '20.3.0', '20.1.0'])
      assert.ok(all.has(v), `some chart locked ${v}`);
  });
});
