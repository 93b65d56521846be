#!/usr/bin/env node
// oci:// dependency benchmark: a real Distribution registry (.tools/bin/registry) holding a
// `common` library (several 2.x versions) and `redis`, pushed by the real helm; a generated
// corpus of 100 charts depending on them by oci:// URL (`2.x.x`, every fifth chart also
// `redis` `20.x.x`), resolved and packaged
//   - by ONE `chartsync package --dependency-update` call over all charts, and
//   - by `helm dependency build --plain-http` + `helm package` per chart, in the same run.
// Prints both times and the ratio, and checks that both produced the same set of archives.
// Usage: node bench/oci.mjs [--charts N]   (needs `pnpm build`)
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadNote, report } from './lib.mjs';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const helm = join(root, '.tools/bin/helm');
const cli = join(root, 'sidecar/bin/chartsync.js');
const countArg = process.argv.indexOf('--charts');
const CHARTS = countArg > 0 ? Number(process.argv[countArg + 1]) : 100;
/** The same bar as packaging without dependencies (bench/package.mjs): one process vs helm per chart. */
const GOAL_RATIO = 5;

// The real helm and registry, built from their Go modules once (cached).
const tools = spawnSync(join(root, 'scripts/tools.sh'), ['helm', 'registry'], { stdio: 'inherit' });
if (tools.status !== 0) process.exit(tools.status ?? 1);
const { OciRegistry } = await import(join(root, 'test/harness/oci-registry.ts'));

const work = await import('node:fs/promises').then((fs) =>
  fs.mkdtemp(join(tmpdir(), 'chartsync-bench-oci-')),
);
const env = {
  PATH: process.env.PATH,
  HOME: work,
  HELM_CACHE_HOME: join(work, 'helm/cache'),
  HELM_CONFIG_HOME: join(work, 'helm/config'),
  HELM_DATA_HOME: join(work, 'helm/data'),
};
const registry = await OciRegistry.start();
try {
  const libs = join(work, 'libs');
  await mkdir(libs, { recursive: true });
  for (const [name, versions, type] of [
    ['common', ['2.0.0', '2.2.0', '2.13.3', '2.19.1', '2.31.4'], 'library'],
    ['redis', ['20.1.0', '20.3.0'], 'application'],
  ]) {
    for (const version of versions) {
      const dir = join(libs, `${name}-${version}`, name);
      await mkdir(join(dir, 'templates'), { recursive: true });
      await writeFile(
        join(dir, 'Chart.yaml'),
        `apiVersion: v2\nname: ${name}\nversion: ${version}\ntype: ${type}\n`,
      );
      await writeFile(join(dir, 'values.yaml'), 'a: 1\n');
      await writeFile(
        join(dir, 'templates/_helpers.tpl'),
        `{{- define "${name}.v" -}}${version}{{- end -}}\n`.repeat(20),
      );
      await run(helm, ['package', dir, '-d', libs], { env });
      await run(
        helm,
        ['push', join(libs, `${name}-${version}.tgz`), `${registry.url}/charts`, '--plain-http'],
        { env },
      );
    }
  }
  await run(helm, ['create', 'template-chart'], { cwd: work, env });
  const charts = [];
  for (let i = 0; i < CHARTS; i++) {
    const name = `app-${String(i).padStart(3, '0')}`;
    const dir = join(work, 'corpus', name);
    await cp(join(work, 'template-chart'), dir, { recursive: true });
    const redis =
      i % 5 === 0
        ? `- name: redis\n  version: 20.x.x\n  repository: ${registry.url}/charts\n  condition: redis.enabled\n`
        : '';
    await writeFile(
      join(dir, 'Chart.yaml'),
      `apiVersion: v2\nname: ${name}\nversion: 1.${i}.0\ntype: application\ndependencies:\n- name: common\n  version: 2.x.x\n  repository: ${registry.url}/charts\n  tags: [bitnami-common]\n${redis}`,
    );
    charts.push(dir);
  }

  const ours = join(work, 'out-chartsync');
  let started = process.hrtime.bigint();
  await run(process.execPath, [cli, 'package', ...charts, '--dependency-update', '-d', ours], {
    env: { ...process.env, CHARTSYNC_OCI_PLAIN_HTTP: registry.host, SOURCE_DATE_EPOCH: '1700000000' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const chartsyncMs = Number(process.hrtime.bigint() - started) / 1e6;

  const theirs = join(work, 'out-helm');
  await cp(join(work, 'corpus'), join(work, 'helm-corpus'), { recursive: true });
  started = process.hrtime.bigint();
  for (const chart of charts) {
    const copy = join(work, 'helm-corpus', chart.split('/').pop());
    await run(helm, ['dependency', 'build', copy, '--plain-http'], { env });
    await run(helm, ['package', copy, '-d', theirs], { env });
  }
  const helmMs = Number(process.hrtime.bigint() - started) / 1e6;

  const [a, b] = [(await readdir(ours)).sort(), (await readdir(theirs)).sort()];
  const same = a.length === CHARTS && JSON.stringify(a) === JSON.stringify(b);
  console.log(`oci:// dependency benchmark: ${await loadNote()}`);
  const pass = report({
    figure: `chartsync package --dependency-update of ${CHARTS} charts with oci:// dependencies`,
    value: `${chartsyncMs.toFixed(0)} ms (${(helmMs / chartsyncMs).toFixed(1)}x faster), same archives: ${same ? 'yes' : `NO (${a.length} vs ${b.length})`}`,
    baseline: `helm dependency build + helm package per chart ${helmMs.toFixed(0)} ms`,
    goal: `>= ${GOAL_RATIO}x faster, same archives`,
    pass: same && helmMs / chartsyncMs >= GOAL_RATIO,
  });
  if (!pass) process.exitCode = 1;
} finally {
  await registry.cleanup();
  await rm(work, { recursive: true, force: true });
}
