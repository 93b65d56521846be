/**
 * Kubernetes helpers for tests against the envtest API server: apply objects (server-side
 * apply), install the chart's CRDs, poll for conditions, and mint a ServiceAccount kubeconfig
 * through the TokenRequest API (there is no controller-manager to make token Secrets).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, type RequestOptions, request } from 'node:https';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './paths.ts';

/** The chart's CRD files (rendered by templates/operator/crd.yaml), one source of truth. */
export const crdDir = join(repoRoot, 'chart/files');

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

/** Every non-empty YAML document of `text` as an object. */
export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => !!o && typeof o === 'object' && !!o.kind);
}

/** A failed raw API call: the HTTP status and the API server's own message. */
export class KubeError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'KubeError';
    this.code = code;
  }
}

/**
 * One raw JSON request to the API server. The typed clients re-serialize objects through their
 * models, which silently drops fields such as `x-kubernetes-validations` and `default` of a
 * CRD schema, so applying manifests goes through here instead.
 */
export async function kubeRequest<T = unknown>(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<T> {
  return send<T>(kc, undefined, method, path, body, contentType);
}

/**
 * kubeRequest over one kept-alive agent, as a single client (kubectl) talks to the API server:
 * `kubeRequest` gets a new agent, so a new TLS connection, per call. For many requests in a row
 * (benchmarks); `close()` ends its connections.
 */
export function keepAliveRequests(kc: KubeConfig, maxSockets = 25) {
  let agent: Agent | undefined;
  return {
    request: <T = unknown>(method: string, path: string, body?: unknown): Promise<T> =>
      send<T>(
        kc,
        (made) => (agent ??= new Agent({ ...made.options, keepAlive: true, maxSockets })),
        method,
        path,
        body,
      ),
    close: () => agent?.destroy(),
  };
}

async function send<T>(
  kc: KubeConfig,
  agentFor: ((made: Agent) => Agent) | undefined,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  if (agentFor) opts.agent = agentFor(opts.agent as Agent);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) (opts.headers as Record<string, string>)['content-type'] = contentType;
  return new Promise<T>((resolve, reject) => {
    const req = request(new URL(path, cluster.server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = safeJson(text) as T & { message?: string };
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(parsed);
        else
          reject(
            new KubeError(status, `${method} ${path}: ${status} ${parsed?.message ?? text.slice(0, 300)}`),
          );
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// Resolves kind -> REST path by discovery (cached per client).
class PathResolver extends KubernetesObjectApi {
  static for(kc: KubeConfig): PathResolver {
    const r = kc.makeApiClient(PathResolver);
    r.setDefaultNamespace(kc);
    return r;
  }
  path(spec: KubernetesObject, action: 'patch' | 'read' | 'delete' = 'patch'): Promise<string> {
    return this.specUriPath(spec, action);
  }
}

/** Server-side apply of each object (created or updated), in order; answers what the server stored. */
export async function apply(
  kc: KubeConfig,
  objects: KubernetesObject[],
  fieldManager = 'chartsync-test',
): Promise<KubernetesObject[]> {
  const resolver = PathResolver.for(kc);
  const out: KubernetesObject[] = [];
  for (const obj of objects) {
    const what = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    try {
      const path = await resolver.path(obj);
      const query = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
      out.push(
        await kubeRequest<KubernetesObject>(kc, 'PATCH', path + query, obj, 'application/apply-patch+yaml'),
      );
    } catch (err) {
      throw new Error(`apply ${what}: ${apiErrorMessage(err)}`);
    }
  }
  return out;
}

/** The API server's own message of a failed call (what a user would see from kubectl). */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    return `${err.code} ${(body as { message?: string } | undefined)?.message ?? String(err.body)}`;
  }
  return (err as Error).message;
}

export function apiStatus(err: unknown): number | undefined {
  if (err instanceof ApiException || err instanceof KubeError) return err.code;
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Applies the chart's CRDs (chart/files/*.cm.bitnami.com.yaml) and waits until they are Established. */
export async function installCrds(kc: KubeConfig): Promise<void> {
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.cm.bitnami.com.yaml'));
  const crds = (
    await Promise.all(files.map(async (f) => parseManifests(await readFile(join(crdDir, f), 'utf8'))))
  ).flat();
  await apply(kc, crds);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    await waitFor(`CRD ${crd.metadata?.name} Established`, async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata?.name as string });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a truthy value, which is returned. Errors thrown by `check`
 * count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${apiErrorMessage(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export function findCondition(
  obj: { status?: { conditions?: Condition[] } } | undefined,
  type: string,
): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the object read by `get` has condition `type` matching `want`; returns the object. */
export function waitForCondition<T extends { status?: { conditions?: Condition[] } }>(
  what: string,
  get: () => Promise<T>,
  type: string,
  want: Partial<Condition>,
  opts?: WaitOptions,
): Promise<T> {
  return waitFor(
    `${what}: condition ${type} ${JSON.stringify(want)}`,
    async () => {
      const obj = await get();
      const c = findCondition(obj, type);
      const ok =
        c && Object.entries(want).every(([k, v]) => (c as unknown as Record<string, unknown>)[k] === v);
      return ok ? obj : undefined;
    },
    opts,
  );
}

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  await apply(kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]);
}

/**
 * A kubeconfig for ServiceAccount `namespace/name` holding a token from the TokenRequest API,
 * written to `path`. Its permissions are exactly what RBAC grants the ServiceAccount.
 */
export async function serviceAccountKubeconfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  path: string,
  expirationSeconds = 24 * 3600,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds },
    },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no current cluster');
  const caData =
    cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString('base64') : undefined);
  const user = `system:serviceaccount:${namespace}:${name}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'envtest', cluster: { server: cluster.server, 'certificate-authority-data': caData } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'envtest', user, namespace } }],
    'current-context': 'sa',
  };
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return loadKubeConfig(path);
}
