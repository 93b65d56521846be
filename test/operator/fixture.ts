/**
 * The operator's test world, all real: an envtest API server with the chart's CRD, the chart's
 * operator RBAC (rendered by helm) bound to a ServiceAccount whose TokenRequest token is the
 * operator's only credential, the real sidecar (`chartsync serve`), git repositories served
 * over file://, and operator processes started from the built package.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { type Envtest, type EnvtestOptions, freePort, startEnvtest } from '../harness/envtest.ts';
import { type FixtureRepo, fileUrl, RepoRoot } from '../harness/git-server.ts';
import { sharedHelm } from '../harness/helm.ts';
import {
  apply,
  ensureNamespace,
  installCrds,
  KubeError,
  kubeRequest,
  loadKubeConfig,
  parseManifests,
  serviceAccountKubeconfig,
  waitFor,
} from '../harness/kube.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';
import { guardChild } from '../harness/reaper.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

export const operatorScript = join(repoRoot, 'operator/bin/chartsync-operator.js');
export const OPERATOR_NS = 'chartsync-system';
export const TOKEN = 'operator-test-token-0123456789';

export interface Chartmuseum extends KubernetesObject {
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    repoName?: string;
    url?: string;
    lastSyncedCommit?: string;
    lastSyncTime?: string;
    charts?: Array<{ name: string; version: string }>;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

export interface CronJob extends KubernetesObject {
  spec: {
    schedule: string;
    suspend?: boolean;
    concurrencyPolicy?: string;
    jobTemplate: {
      spec: {
        template: {
          metadata?: { labels?: Record<string, string> };
          spec: {
            containers: Array<{
              name: string;
              image: string;
              command?: string[];
              args?: string[];
              env?: Array<{
                name: string;
                value?: string;
                valueFrom?: { secretKeyRef?: { name: string; key: string } };
              }>;
            }>;
          };
        };
      };
    };
  };
}

/** A chart directory's files, for git fixtures. */
export function chartFiles(dir: string, name: string, version: string): Record<string, string> {
  return {
    [`${dir}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test chart ${name}\n`,
    [`${dir}/values.yaml`]: 'replicas: 1\n',
    [`${dir}/templates/cm.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${name}\n`,
  };
}

export interface OperatorProcess {
  proc: ChildProcess;
  port: number;
  logs: string[];
  /** Parsed JSON log records. */
  records(): Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface World {
  env: Envtest;
  admin: KubeConfig;
  /** Kubeconfig of the operator's ServiceAccount, bound only by the chart's RBAC. */
  operatorKubeconfig: string;
  sidecar: SidecarProcess;
  storageDir: string;
  repos: RepoRoot;
  startOperator(extraEnv?: Record<string, string>): Promise<OperatorProcess>;
  /** Restarts the sidecar (same storage, same port). */
  stopSidecar(): Promise<void>;
  startSidecar(): Promise<void>;
  stop(): Promise<void>;
}

/** The chart's operator ServiceAccount and RBAC, rendered by the real helm. */
export async function renderOperatorRbac(namespace: string): Promise<KubernetesObject[]> {
  const stdout = await sharedHelm.run([
    'template',
    'x',
    join(repoRoot, 'chart'),
    '--namespace',
    namespace,
    '--set',
    'operator.enabled=true',
    '--show-only',
    'templates/operator/serviceaccount.yaml',
    '--show-only',
    'templates/operator/rbac.yaml',
  ]);
  return parseManifests(stdout);
}

export const cmPath = (ns: string, name = '') =>
  `/apis/cm.bitnami.com/v1alpha1/namespaces/${ns}/chartmuseums${name ? `/${name}` : ''}`;
export const cronJobPath = (ns: string, name = '') =>
  `/apis/batch/v1/namespaces/${ns}/cronjobs${name ? `/${name}` : ''}`;

export async function startWorld(
  opts: { envtest?: EnvtestOptions /** More `chartsync serve` flags. */; sidecarArgs?: string[] } = {},
): Promise<World> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const env = await startEnvtest(opts.envtest);
    cleanups.push(() => env.stop());
    const admin = loadKubeConfig(env.kubeconfigPath);
    const tmp = await tempDir('chartsync-operator-test-');
    cleanups.push(tmp.cleanup);
    await installCrds(admin);
    await ensureNamespace(admin, OPERATOR_NS);
    const rbac = await renderOperatorRbac(OPERATOR_NS);
    await apply(admin, rbac);
    const sa = rbac.find((o) => o.kind === 'ServiceAccount');
    if (!sa?.metadata?.name) throw new Error('helm template rendered no operator ServiceAccount');
    const operatorKubeconfig = join(tmp.path, 'operator.kubeconfig');
    await serviceAccountKubeconfig(admin, OPERATOR_NS, sa.metadata.name, operatorKubeconfig);

    const storageDir = join(tmp.path, 'storage');
    const dataDir = join(tmp.path, 'sidecar-data');
    const repos = new RepoRoot(join(tmp.path, 'repos'));
    let sidecarPort = 0;
    const sidecarArgs = () => [
      '--storage-dir',
      storageDir,
      '--data-dir',
      dataDir,
      '--allow-local-git',
      '--port',
      String(sidecarPort),
      ...(opts.sidecarArgs ?? []),
    ];
    sidecarPort = await freePort();
    let sidecar = await startSidecarProcess({
      args: sidecarArgs(),
      token: TOKEN,
      env: { LOG_LEVEL: 'info' },
    });
    const world: World = {
      env,
      admin,
      operatorKubeconfig,
      sidecar,
      storageDir,
      repos,
      stop,
      startOperator: async (extraEnv = {}) => {
        const op = await startOperatorProcess({
          KUBECONFIG: operatorKubeconfig,
          SIDECAR_URL: world.sidecar.url,
          SIDECAR_TOKEN: TOKEN,
          CHARTMUSEUM_URL: 'http://chartmuseum.test:8080',
          POD_NAMESPACE: OPERATOR_NS,
          LEADER_ELECTION: 'false',
          RESYNC_SECONDS: '2',
          BACKOFF_BASE_MS: '200',
          BACKOFF_MAX_MS: '2000',
          ...extraEnv,
        });
        cleanups.push(() => op.stop('SIGKILL'));
        return op;
      },
      // Down is down: no graceful drain (that is the sidecar's own business and can take long).
      stopSidecar: async () => {
        await world.sidecar.stop(500);
      },
      startSidecar: async () => {
        sidecar = await startSidecarProcess({
          args: sidecarArgs(),
          token: TOKEN,
          env: { LOG_LEVEL: 'info' },
        });
        world.sidecar = sidecar;
      },
    };
    cleanups.push(() => world.sidecar.stop());
    return world;
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startOperatorProcess(env: Record<string, string>): Promise<OperatorProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [operatorScript], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'debug', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // reaped if this process dies without stop()
  });
  guardChild(proc);
  const logs: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      logs.push(...lines.filter(Boolean));
      if (process.env.OPERATOR_TEST_LOGS)
        for (const l of lines) if (l) process.stderr.write(`[op ${proc.pid}] ${l}\n`);
    });
  }
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill(signal);
    // past the operator's own shutdown grace (20 s for reconciles in flight, main.ts): a slow
    // but graceful stop must not be cut short and read as a failed one
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const records = () =>
    logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  await waitFor(
    'operator /healthz',
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`operator exited with ${proc.exitCode}:\n${logs.join('\n')}`);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return res.ok;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch((err) => {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${logs.join('\n')}`);
  });
  return { proc, port, logs, records, stop };
}

export function chartmuseum(ns: string, name: string, spec: Record<string, unknown>): Chartmuseum {
  return {
    apiVersion: 'cm.bitnami.com/v1alpha1',
    kind: 'Chartmuseum',
    metadata: { name, namespace: ns },
    spec,
  };
}

export async function getCm(kc: KubeConfig, ns: string, name: string): Promise<Chartmuseum> {
  return kubeRequest<Chartmuseum>(kc, 'GET', cmPath(ns, name));
}

export async function getCronJob(kc: KubeConfig, ns: string, name: string): Promise<CronJob | undefined> {
  try {
    return await kubeRequest<CronJob>(kc, 'GET', cronJobPath(ns, name));
  } catch (err) {
    if (err instanceof KubeError && err.code === 404) return undefined;
    throw err;
  }
}

export async function gone(kc: KubeConfig, path: string): Promise<boolean> {
  try {
    await kubeRequest(kc, 'GET', path);
    return false;
  } catch (err) {
    if (err instanceof KubeError && err.code === 404) return true;
    throw err;
  }
}

export function ready(cm: Chartmuseum | undefined) {
  return cm?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until Ready has `status` (and `reason`, if given); returns the resource. */
export function waitReady(
  kc: KubeConfig,
  ns: string,
  name: string,
  want: { status: string; reason?: string; generation?: boolean },
  timeoutMs = 30_000,
): Promise<Chartmuseum> {
  return waitFor(
    `${ns}/${name} Ready=${want.status}${want.reason ? ` ${want.reason}` : ''}`,
    async () => {
      const cm = await getCm(kc, ns, name);
      const c = ready(cm);
      const ok =
        c?.status === want.status &&
        (!want.reason || c.reason === want.reason) &&
        (!want.generation || cm.status?.observedGeneration === cm.metadata?.generation);
      return ok ? cm : undefined;
    },
    { timeoutMs },
  );
}

/** A git repository holding the given charts (dir -> [name, version]). */
export async function chartRepo(
  repos: RepoRoot,
  name: string,
  charts: Array<[string, string]>,
): Promise<FixtureRepo> {
  const files = Object.assign({}, ...charts.map(([n, v]) => chartFiles(`charts/${n}`, n, v)));
  return repos.create(name, files);
}

export { fileUrl, readFile };
