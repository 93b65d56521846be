// Shared pieces of the benchmarks: generated chart repositories, a `chartsync serve` process,
// peak memory from the kernel, percentiles, and the result rows `run.mjs` gathers into one table.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { guardChild } from '../test/harness/reaper.ts';

export const run = promisify(execFile);
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const helm = join(root, '.tools/bin/helm');
export const chartsync = join(root, 'sidecar/bin/chartsync.js');

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};
export const git = (args, cwd) =>
  run('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, env: gitEnv, maxBuffer: 64 << 20 });

export function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/** A small but real chart: Chart.yaml, values, README, a helper and four templates. */
export function chartFiles(i, version = '1.0.0', prefix = 'chart') {
  const name = `${prefix}-${String(i).padStart(4, '0')}`;
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

export async function writeAll(base, files) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), content);
  }
}

/** A git repository of `count` generated charts (plus `extra` files), one commit, bare copy for file://. */
export async function chartRepo(base, count, extra = {}, prefix = 'chart') {
  const work = join(base, 'work');
  const bare = join(base, 'repo.git');
  await git(['init', '-q', work]);
  // Big files are stored whole, not delta-searched: keeps generating and cloning cheap.
  await git(['config', 'core.bigFileThreshold', '1m'], work);
  const charts = Array.from({ length: count }, (_, i) => chartFiles(i, '1.0.0', prefix));
  for (const c of charts) await writeAll(work, c.files);
  await writeAll(work, extra);
  await git(['add', '-A'], work);
  await git(['commit', '-q', '-m', 'charts'], work);
  await git(['clone', '-q', '--bare', work, bare]);
  await git(['config', 'core.bigFileThreshold', '1m'], bare);
  await git(['remote', 'add', 'origin', bare], work);
  return { work, bare, url: `file://${bare}`, charts };
}

/** `chartsync serve` on a free port; resolves once it listens. */
export async function startServe(args, env = {}) {
  const proc = spawn(process.execPath, [chartsync, 'serve', '--port', '0', '--allow-local-git', ...args], {
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true, // reaped if the bench dies without stop()
  });
  guardChild(proc);
  const port = await new Promise((resolvePort, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolvePort(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`chartsync serve exited ${code}`)));
  });
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak and current resident memory of a process (VmHWM, VmRSS), MiB. */
export async function memoryOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

export async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30 * 60_000),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/**
 * Reports one figure: printed readably, plus a `BENCH_ROW` JSON line that `bench/run.mjs`
 * gathers into its closing table. `pass` is whether the figure meets `goal`.
 */
export function report({ figure, value, baseline = '', goal, pass }) {
  console.log(
    `${pass ? 'PASS' : 'MISS'}  ${figure}: ${value}${baseline ? `  (baseline: ${baseline})` : ''}  goal ${goal}`,
  );
  console.log(`BENCH_ROW ${JSON.stringify({ figure, value, baseline, goal, pass })}`);
  return pass;
}

/** The load of the machine, printed with every benchmark: figures on a busy machine are noisy. */
export async function loadNote() {
  const [one, five] = (await readFile('/proc/loadavg', 'utf8')).split(' ');
  const { cpus } = await import('node:os');
  return `${cpus().length} CPUs, load average ${one} (1 min) ${five} (5 min), Node ${process.versions.node}`;
}
