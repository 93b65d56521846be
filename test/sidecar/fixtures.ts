/** Chart sources for the sidecar suites and the real helm client in an isolated home. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { helmBin } from '../harness/paths.ts';

const exec = promisify(execFile);

export interface ChartSpec {
  version?: string;
  dependencies?: { name: string; version: string; repository: string }[];
  /** Value of the ConfigMap's `greeting`, to make a content change visible in `helm template`. */
  greeting?: string;
}

/** Files of a small valid chart under `dir/`: Chart.yaml, values.yaml, one template. */
export function chartFiles(dir: string, name: string, spec: ChartSpec = {}): Record<string, string> {
  const chart = {
    apiVersion: 'v2',
    name,
    version: spec.version ?? '1.0.0',
    description: `The ${name} chart`,
    type: 'application',
    ...(spec.dependencies ? { dependencies: spec.dependencies } : {}),
  };
  return {
    [`${dir}/Chart.yaml`]: stringify(chart),
    [`${dir}/values.yaml`]: `greeting: ${JSON.stringify(spec.greeting ?? `hello from ${name}`)}\n`,
    [`${dir}/templates/configmap.yaml`]: [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-{{ .Chart.Name }}',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  version: {{ .Chart.Version | quote }}',
      '',
    ].join('\n'),
  };
}

/** The real helm client with its config, cache and data under `home` (no user state touched). */
export class Helm {
  readonly home: string;
  constructor(home: string) {
    this.home = home;
  }

  async run(args: string[]): Promise<string> {
    const env = {
      PATH: process.env.PATH,
      HOME: this.home,
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_DATA_HOME: join(this.home, 'data'),
    };
    try {
      const { stdout } = await exec(helmBin, args, { env, cwd: this.home, maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  /** `helm repo add --force-update` + `helm repo update`. */
  async addRepo(name: string, url: string, auth?: { username: string; password: string }): Promise<void> {
    const creds = auth
      ? ['--username', auth.username, '--password', auth.password, '--pass-credentials']
      : [];
    await this.run(['repo', 'add', '--force-update', name, url, ...creds]);
    await this.run(['repo', 'update', name]);
  }

  /** Versions of `repo/chart` the repository lists (`helm search repo --versions`). */
  async versions(repo: string, chart: string): Promise<string[]> {
    await this.run(['repo', 'update', repo]);
    const out = await this.run(['search', 'repo', `${repo}/${chart}`, '--versions', '--devel', '-o', 'json']);
    return (JSON.parse(out) as { name: string; version: string }[])
      .filter((r) => r.name === `${repo}/${chart}`)
      .map((r) => r.version);
  }

  /** `helm pull` into `dest`; returns the archive path. */
  async pull(ref: string, version: string, dest: string): Promise<string> {
    await this.run(['pull', ref, '--version', version, '--destination', dest]);
    return join(dest, `${ref.split('/')[1]}-${version}.tgz`);
  }

  /** `helm template` of a published chart version. */
  template(ref: string, version: string): Promise<string> {
    return this.run(['template', 'rel', ref, '--version', version]);
  }
}
