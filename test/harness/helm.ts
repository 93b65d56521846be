/**
 * The one way tests run the real helm client (.tools/bin/helm, built by scripts/tools.sh helm;
 * test/scripts/run-tests.mjs builds it for every test file whose imports reach this module).
 * Each Helm has its own home: HELM_CACHE_HOME, HELM_CONFIG_HOME and HELM_DATA_HOME live under
 * it, so tests never read or write the user's repositories and run in parallel without sharing
 * state.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, toolsBin } from './paths.ts';

export const helmBin = join(toolsBin, 'helm');

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HelmRunOptions {
  cwd?: string;
  /** More environment (e.g. HELM_EXPERIMENTAL_OCI); the isolated homes always win. */
  env?: Record<string, string>;
}

export class Helm {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  /** The helm binary (helm 3 by default; test/harness/helm4.ts gives helm 4). */
  readonly bin: string;
  private counter = 0;

  constructor(home: string, bin = helmBin) {
    this.home = home;
    this.bin = bin;
    this.env = {
      PATH: process.env.PATH,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
  }

  /** Runs helm; never rejects on a non-zero exit (check `code`). */
  exec(args: string[], opts: HelmRunOptions = {}): Promise<HelmResult> {
    return new Promise((resolvePromise) => {
      execFile(
        this.bin,
        args,
        { env: { ...opts.env, ...this.env }, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolvePromise({ code, stdout, stderr: err && !stderr ? err.message : stderr });
        },
      );
    });
  }

  /** Runs helm and resolves with its stdout; rejects naming the command and its stderr. */
  async run(args: string[], opts: HelmRunOptions = {}): Promise<string> {
    const r = await this.exec(args, opts);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Runs helm; stdout and stderr together (push and pull report on stderr); rejects like run(). */
  async all(args: string[], opts: HelmRunOptions = {}): Promise<string> {
    const r = await this.exec(args, opts);
    if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return `${r.stdout}\n${r.stderr}`;
  }

  /** `helm package <dir>` into a fresh directory; the archive bytes, or helm's refusal. */
  async package(chartDir: string): Promise<{ data: Buffer; fileName: string } | { error: string }> {
    const dest = join(this.home, `pkg-${this.counter++}`);
    const r = await this.exec(['package', chartDir, '-d', dest]);
    if (r.code !== 0) return { error: r.stderr.trim() };
    const [fileName] = await readdir(dest);
    if (!fileName) return { error: 'helm wrote no archive' };
    return { data: await readFile(join(dest, fileName)), fileName };
  }

  /** `helm package <dir> --destination <dest>`; the archive's path. */
  async packageTo(chartDir: string, dest: string): Promise<string> {
    await mkdir(dest, { recursive: true });
    const out = await this.run(['package', chartDir, '--destination', dest]);
    const m = /saved it to: (.*)$/m.exec(out);
    if (!m?.[1]) throw new Error(`unexpected helm package output: ${out}`);
    return m[1].trim();
  }

  /** `helm repo add --force-update`; `passCredentials` also sends them to other hosts (tarballs). */
  async addRepo(
    name: string,
    url: string,
    auth?: { username: string; password: string },
    opts: { passCredentials?: boolean } = {},
  ): Promise<void> {
    const creds = auth ? ['--username', auth.username, '--password', auth.password] : [];
    if (auth && opts.passCredentials) creds.push('--pass-credentials');
    await this.run(['repo', 'add', '--force-update', name, url, ...creds]);
  }

  /** Versions of `repo/chart` the repository lists now (`helm repo update` + `search --versions`). */
  async versions(repo: string, chart: string): Promise<string[]> {
    await this.run(['repo', 'update', repo]);
    const out = await this.run(['search', 'repo', `${repo}/${chart}`, '--versions', '--devel', '-o', 'json']);
    return (JSON.parse(out) as { name: string; version: string }[])
      .filter((r) => r.name === `${repo}/${chart}`)
      .map((r) => r.version);
  }

  /** `helm pull` into `dest`; the archive's path. */
  async pull(ref: string, version: string, dest: string): Promise<string> {
    await this.run(['pull', ref, '--version', version, '--destination', dest]);
    return join(dest, `${ref.split('/')[1]}-${version}.tgz`);
  }

  /** `helm template` of a published chart version. */
  template(ref: string, version: string): Promise<string> {
    return this.run(['template', 'rel', ref, '--version', version]);
  }

  cleanup(): Promise<void> {
    return rm(this.home, { recursive: true, force: true });
  }
}

/** A Helm with a fresh temporary home (remove it with cleanup()). */
export async function createHelm(): Promise<Helm> {
  return new Helm(await mkdtemp(join(tmpdir(), 'chartsync-helm-')));
}

/** A Helm for commands that keep no state worth isolating (template, lint, repo index, version). */
export const sharedHelm = new Helm(join(repoRoot, '.tools/helm-test'));
