/**
 * Fixtures for the dependency tests: charts written to disk, a chart repository of packaged
 * charts served by ChartRepoServer, and the real helm with its home directories in a temp dir.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ChartRepoServer, type ChartRepoServerOptions } from '../harness/chart-repo-server.ts';
import { helmBin } from '../harness/paths.ts';

const run = promisify(execFile);

export interface ChartSpec {
  name: string;
  version: string;
  apiVersion?: string;
  dependencies?: Record<string, unknown>[];
  /** More Chart.yaml fields (annotations, maintainers…). */
  metadata?: Record<string, unknown>;
  /** Extra files, path relative to the chart root. */
  files?: Record<string, string>;
}

/** Writes a small valid chart into `dir` (created). */
export async function writeChart(dir: string, spec: ChartSpec): Promise<string> {
  const apiVersion = spec.apiVersion ?? 'v2';
  const meta: Record<string, unknown> = {
    apiVersion,
    name: spec.name,
    version: spec.version,
    description: `${spec.name} chart`,
    ...spec.metadata,
  };
  const files: Record<string, string> = {
    'values.yaml': `replicas: 1\n`,
    'templates/configmap.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${spec.name}\ndata:\n  version: ${JSON.stringify(spec.version)}\n`,
    ...spec.files,
  };
  if (spec.dependencies && apiVersion === 'v1')
    files['requirements.yaml'] = stringify({ dependencies: spec.dependencies });
  else if (spec.dependencies) meta.dependencies = spec.dependencies;
  files['Chart.yaml'] = stringify(meta);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  return dir;
}

/** The real helm, isolated from the machine's config: its own cache, config and data homes. */
export class Helm {
  readonly env: NodeJS.ProcessEnv;
  constructor(home: string) {
    this.env = {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
  }

  async run(args: string[], cwd?: string): Promise<string> {
    try {
      const { stdout } = await run(helmBin, args, { env: this.env, cwd, timeout: 120_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  async repoAdd(name: string, url: string, auth?: { username: string; password: string }): Promise<void> {
    const creds = auth ? ['--username', auth.username, '--password', auth.password] : [];
    await this.run(['repo', 'add', name, url, ...creds, '--force-update']);
  }

  /** `helm package` into `dest`; returns the archive path. */
  async package(chartDir: string, dest: string): Promise<string> {
    const out = await this.run(['package', chartDir, '--destination', dest]);
    const m = /saved it to: (.*)$/m.exec(out);
    if (!m?.[1]) throw new Error(`unexpected helm package output: ${out}`);
    return m[1].trim();
  }
}

/** Packages each spec with the real helm into `dir` and serves it as a chart repository. */
export async function startRepo(
  helm: Helm,
  work: string,
  dir: string,
  charts: ChartSpec[],
  opts: Omit<ChartRepoServerOptions, 'dir'> = {},
): Promise<ChartRepoServer> {
  await mkdir(dir, { recursive: true });
  for (const spec of charts) {
    const src = await writeChart(join(work, 'src', `${spec.name}-${spec.version}`, spec.name), spec);
    await helm.package(src, dir);
  }
  return ChartRepoServer.start({ dir, ...opts });
}
