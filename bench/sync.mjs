#!/usr/bin/env node
// Benchmark of the sidecar's sync against the manual way, in the same run on the same machine:
//   baseline   `git clone` + a `helm package` loop over every chart (what a CI script does)
//   cold sync  POST /repo/new on a fresh `chartsync serve` (clone + package + publish all)
//   no-change  POST /repo/<name>/update with nothing new (median of 20)
//   one chart  one chart changed and pushed, then update (median of 7), next to `helm package`
//              of that chart alone (median of 7)
// Goals: no-change < 25 ms; one changed chart < 1.5x packaging it alone; cold sync >= 3x faster
// than clone + helm loop. Usage: node bench/sync.mjs [--charts N]  (needs `pnpm build`)
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadNote, report } from './lib.mjs';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const helm = join(root, '.tools/bin/helm');
const chartsync = join(root, 'sidecar/bin/chartsync.js');
const countArg = process.argv.indexOf('--charts');
const CHARTS = countArg > 0 ? Number(process.argv[countArg + 1]) : 100;

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};
const git = (args, cwd) => run('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, env: gitEnv });

function chartFiles(i, version = '1.0.0') {
  const name = `chart-${String(i).padStart(3, '0')}`;
  const dir = `charts/${name}`;
  const templates = {};
  for (const kind of ['deployment', 'service', 'configmap', 'ingress']) {
    templates[`${dir}/templates/${kind}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${kind}\ndata:\n${Array.from({ length: 40 }, (_, k) => `  key${k}: {{ .Values.value${k % 5} | quote }}`).join('\n')}\n`;
  }
  return {
    name,
    dir,
    files: {
      [`${dir}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: Benchmark chart ${i}\n`,
      [`${dir}/values.yaml`]: `${Array.from({ length: 5 }, (_, k) => `value${k}: v${i}-${k}`).join('\n')}\n`,
      [`${dir}/README.md`]: `# ${name}\n\n${'Lorem ipsum dolor sit amet. '.repeat(40)}\n`,
      [`${dir}/templates/_helpers.tpl`]: `{{- define "${name}.fullname" -}}{{ .Release.Name }}-${name}{{- end -}}\n`,
      ...templates,
    },
  };
}

async function writeAll(base, files) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), content);
  }
}

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function startServe(storage) {
  const proc = spawn(
    process.execPath,
    [chartsync, 'serve', '--port', '0', '--storage-dir', storage, '--allow-local-git'],
    {
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise((resolvePort, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      if (process.env.BENCH_VERBOSE)
        for (const line of String(d).split('\n')) if (line.includes('sync phases')) console.error(line);
      buf += d;
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolvePort(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`chartsync serve exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

const tmp = await mkdtemp(join(tmpdir(), 'chartsync-bench-'));
try {
  // A generated repository of CHARTS charts, one commit, in a bare repo served over file://.
  const work = join(tmp, 'work');
  const bare = join(tmp, 'charts.git');
  await git(['init', '-q', work]);
  const charts = Array.from({ length: CHARTS }, (_, i) => chartFiles(i));
  for (const c of charts) await writeAll(work, c.files);
  await git(['add', '-A'], work);
  await git(['commit', '-q', '-m', 'charts'], work);
  await git(['clone', '-q', '--bare', work, bare]);
  await git(['remote', 'add', 'origin', bare], work);
  const url = `file://${bare}`;

  // Baseline: clone + helm package loop.
  const baseline = await time(async () => {
    const clone = join(tmp, 'clone');
    await git(['clone', '-q', url, clone]);
    const out = join(tmp, 'helm-out');
    await mkdir(out);
    for (const c of charts) await run(helm, ['package', join(clone, c.dir), '--destination', out]);
  });

  const serve = await startServe(join(tmp, 'storage'));
  try {
    const cold = await time(() => post(`${serve.url}/repo/new`, { name: 'bench', git: url }));
    const noChange = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const r = await post(`${serve.url}/repo/bench/update`);
      noChange.push(performance.now() - t);
      if (r.changed) throw new Error('no-change update reported a change');
    }
    // The floor of a no-change update: one remote ref check by git itself.
    const lsRemote = [];
    for (let i = 0; i < 20; i++) lsRemote.push(await time(() => git(['ls-remote', url, 'HEAD'])));
    const oneChanged = [];
    const helmOne = [];
    const target = charts[CHARTS >> 1];
    for (let i = 1; i <= 7; i++) {
      const changed = chartFiles(CHARTS >> 1, `1.0.${i}`);
      await writeAll(work, changed.files);
      await git(['commit', '-q', '-am', `bump ${i}`], work);
      await git(['push', '-q', 'origin', 'HEAD:main'], work);
      const t = performance.now();
      const r = await post(`${serve.url}/repo/bench/update`);
      oneChanged.push(performance.now() - t);
      if (r.charts.filter((c) => c.action === 'published').length !== 1)
        throw new Error('expected exactly one chart published');
      helmOne.push(
        await time(() =>
          run(helm, ['package', join(work, target.dir), '--destination', join(tmp, 'helm-one')]),
        ),
      );
    }

    console.log(`chartsync sync benchmark: ${CHARTS} charts, ${await loadNote()}\n`);
    const ok = [
      report({
        figure: `cold sync of ${CHARTS} charts (clone + package + publish)`,
        value: `${cold.toFixed(0)} ms (${(baseline / cold).toFixed(1)}x faster)`,
        baseline: `git clone + helm package loop ${baseline.toFixed(0)} ms`,
        goal: '>= 3x faster',
        pass: baseline / cold >= 3,
      }),
      report({
        figure: 'no-change update (median of 20)',
        value: `${median(noChange).toFixed(1)} ms`,
        baseline: `git ls-remote ${median(lsRemote).toFixed(1)} ms`,
        goal: '< 25 ms',
        pass: median(noChange) < 25,
      }),
      report({
        figure: 'one chart changed (median of 7)',
        value: `${median(oneChanged).toFixed(0)} ms (${(median(oneChanged) / median(helmOne)).toFixed(2)}x)`,
        baseline: `helm package of that chart alone ${median(helmOne).toFixed(0)} ms`,
        goal: '< 1.5x helm package',
        pass: median(oneChanged) < 1.5 * median(helmOne),
      }),
    ];
    process.exitCode = ok.every(Boolean) ? 0 : 1;
  } finally {
    serve.stop();
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
