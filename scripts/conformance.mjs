#!/usr/bin/env node
// Packages every chart under a directory with both the real `helm package` and chartsync and
// compares the archives: same file set, identical bytes, Chart.yaml equal as data.
// Usage: node scripts/conformance.mjs <dir-with-charts> [--helm PATH] [--dependency-build] [--json]
//   --dependency-build  run `helm dependency build` in each chart first (writes charts/ and
//                       Chart.lock in place, as you would before `helm package`)
// Prints one line per chart (OK, DIFF, BOTH-REFUSE, HELM-ONLY, CHARTSYNC-ONLY) and a summary;
// exits 1 when any chart packages differently. Needs `pnpm build` first.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const engine = join(repoRoot, 'sidecar/dist/chart/index.js');
if (!existsSync(engine)) {
  console.error('conformance: sidecar is not built; run `pnpm build` first');
  process.exit(2);
}
const { compareArchives, discoverCharts, FIXED_EPOCH, packageChart } = await import(engine);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    helm: { type: 'string' },
    'dependency-build': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '4' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help || positionals.length !== 1) {
  console.log(
    'Usage: node scripts/conformance.mjs <dir-with-charts> [--helm PATH] [--dependency-build] [--json]',
  );
  process.exit(values.help ? 0 : 2);
}
const root = resolve(positionals[0]);
const helmBin =
  values.helm ?? (existsSync(join(repoRoot, '.tools/bin/helm')) ? join(repoRoot, '.tools/bin/helm') : 'helm');
const home = await mkdtemp(join(tmpdir(), 'chartsync-conformance-'));
const helmEnv = {
  PATH: process.env.PATH,
  HOME: home,
  HELM_CACHE_HOME: join(home, 'cache'),
  HELM_CONFIG_HOME: join(home, 'config'),
  HELM_DATA_HOME: join(home, 'data'),
};

function helm(args, cwd) {
  return new Promise((done) => {
    execFile(helmBin, args, { env: helmEnv, cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      done({ ok: !err, out: `${stdout}${stderr}`.trim() }),
    );
  });
}

let counter = 0;
async function helmPackage(dir) {
  const dest = join(home, `out-${counter++}`);
  await mkdir(dest, { recursive: true });
  const r = await helm(['package', dir, '-d', dest]);
  if (!r.ok) return { error: r.out.replace(/^Error: /, '') };
  const [file] = await readdir(dest);
  return { fileName: file, data: await readFile(join(dest, file)) };
}

async function check(rel) {
  const dir = join(root, rel);
  if (values['dependency-build']) await helm(['dependency', 'build', dir]);
  const [reference, ours] = await Promise.all([
    helmPackage(dir),
    packageChart(dir, { mtime: FIXED_EPOCH }).catch((err) => ({ error: err.message })),
  ]);
  if (reference.error && ours.error)
    return { chart: rel, status: 'BOTH-REFUSE', helm: reference.error, chartsync: ours.error };
  if (reference.error) return { chart: rel, status: 'CHARTSYNC-ONLY', helm: reference.error };
  if (ours.error) return { chart: rel, status: 'HELM-ONLY', chartsync: ours.error };
  const diffs = compareArchives(reference.data, ours.data);
  if (ours.fileName !== reference.fileName)
    diffs.unshift({ file: '(archive name)', problem: `${reference.fileName} vs ${ours.fileName}` });
  const exact =
    diffs.length === 0 && compareArchives(reference.data, ours.data, { exactChartYaml: true }).length === 0;
  return { chart: rel, status: diffs.length ? 'DIFF' : 'OK', diffs, exact };
}

async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
        if (!values.json) print(results[i]);
      }
    }),
  );
  return results;
}

function print(r) {
  const line = [`${r.status.padEnd(14)} ${r.chart}`];
  if (r.helm) line.push(`    helm:      ${r.helm.split('\n')[0]}`);
  if (r.chartsync) line.push(`    chartsync: ${r.chartsync.split('\n')[0]}`);
  for (const d of (r.diffs ?? []).slice(0, 10))
    line.push(`    ${d.file}: ${d.problem.replaceAll('\n', '\n    ')}`);
  console.log(line.join('\n'));
}

try {
  const charts = await discoverCharts(root);
  const results = await mapLimit(charts, Number(values.concurrency) || 4, check);
  const count = (s) => results.filter((r) => r.status === s).length;
  const summary = {
    charts: results.length,
    ok: count('OK'),
    bothRefuse: count('BOTH-REFUSE'),
    diff: count('DIFF'),
    helmOnly: count('HELM-ONLY'),
    chartsyncOnly: count('CHARTSYNC-ONLY'),
    byteIdentical: results.filter((r) => r.exact).length,
  };
  if (values.json) console.log(JSON.stringify({ summary, results }, null, 2));
  else
    console.log(
      `\n${summary.charts} charts: ${summary.ok} OK, ${summary.bothRefuse} refused by both, ${summary.diff} DIFF, ` +
        `${summary.helmOnly} only helm packaged, ${summary.chartsyncOnly} only chartsync packaged ` +
        `(${summary.byteIdentical} of the OK ones byte-identical, Chart.yaml included)`,
    );
  process.exitCode = summary.diff + summary.helmOnly > 0 ? 1 : 0;
} finally {
  await rm(home, { recursive: true, force: true });
}
