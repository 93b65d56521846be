/**
 * How the operator reaches the API server: the server URL, its CA, and the client's credentials,
 * read the way client-go and @kubernetes/client-node read them ($KUBECONFIG, then
 * ~/.kube/config, then the in-cluster ServiceAccount). Its own small reader because loading
 * @kubernetes/client-node costs ~90 MiB of resident memory and ~1.4 s of start-up (its generated
 * API models); the operator needs none of that. Kubeconfigs whose user authenticates through an
 * `exec` plugin or an `auth-provider` are handed to client-node's KubeConfig, loaded only then.
 */
import { readFileSync, statSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ApiAccess {
  /** Base URL without a trailing slash, e.g. https://10.0.0.1:443 */
  server: string;
  /** Adds TLS material and the Authorization header to the options of one request. */
  apply(opts: RequestOptions): Promise<void>;
  /** What was loaded, for the start-up log: "in-cluster", "kubeconfig", "client-node". */
  kind: string;
}

export class AccessError extends Error {
  override name = 'AccessError';
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A token file is re-read at most this often: kubelet rotates projected tokens well before expiry. */
const TOKEN_FILE_TTL_MS = 60_000;

type Env = Record<string, string | undefined>;

interface NamedCluster {
  name: string;
  cluster?: {
    server?: string;
    'certificate-authority'?: string;
    'certificate-authority-data'?: string;
    'insecure-skip-tls-verify'?: boolean;
    'tls-server-name'?: string;
  };
}
interface NamedUser {
  name: string;
  user?: {
    token?: string;
    tokenFile?: string;
    'client-certificate'?: string;
    'client-certificate-data'?: string;
    'client-key'?: string;
    'client-key-data'?: string;
    username?: string;
    password?: string;
    exec?: unknown;
    'auth-provider'?: unknown;
  };
}
interface NamedContext {
  name: string;
  context?: { cluster?: string; user?: string };
}
interface KubeconfigFile {
  'current-context'?: string;
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
}

/** The parts of a kubeconfig that say how to connect, each file's paths made absolute. */
interface Resolved {
  server: string;
  ca?: Buffer;
  insecure: boolean;
  servername?: string;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  basic?: string;
}

const exists = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** A token read from a file, re-read once it is older than the TTL (rotated tokens are picked up). */
function tokenFromFile(path: string): () => string {
  let cached: { value: string; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > TOKEN_FILE_TTL_MS)
      cached = { value: readFileSync(path, 'utf8').trim(), at: Date.now() };
    return cached.value;
  };
}

function accessOf(r: Resolved, kind: string): ApiAccess {
  const token = r.tokenFile ? tokenFromFile(r.tokenFile) : r.token ? () => r.token as string : undefined;
  return {
    server: r.server.replace(/\/+$/, ''),
    kind,
    apply: async (opts) => {
      if (r.ca) opts.ca = r.ca;
      if (r.cert) opts.cert = r.cert;
      if (r.key) opts.key = r.key;
      if (r.insecure) opts.rejectUnauthorized = false;
      if (r.servername) opts.servername = r.servername;
      const headers = (opts.headers ?? {}) as Record<string, string>;
      if (token) headers.authorization = `Bearer ${token()}`;
      else if (r.basic) headers.authorization = `Basic ${r.basic}`;
      opts.headers = headers;
    },
  };
}

function inCluster(env: Env): Resolved {
  const host = env.KUBERNETES_SERVICE_HOST as string;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(SA_DIR, 'ca.crt')),
    insecure: false,
    tokenFile: join(SA_DIR, 'token'),
  };
}

async function parseFile(path: string): Promise<KubeconfigFile> {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as KubeconfigFile;
  } catch {
    // Most kubeconfigs are YAML; the YAML parser is loaded only for them.
    const { parse } = await import('yaml');
    return (parse(text) ?? {}) as KubeconfigFile;
  }
}

/** A file's relative paths are relative to the file's directory (as kubectl reads them). */
function under(dir: string, p: string | undefined): string | undefined {
  if (!p) return undefined;
  return p.startsWith('/') ? p : join(dir, p);
}

const b64 = (s: string) => Buffer.from(s, 'base64');

/** Merges the files of $KUBECONFIG the way kubectl does: the first file to set a name wins. */
async function resolveKubeconfig(files: string[]): Promise<Resolved | 'delegate'> {
  let current: string | undefined;
  const clusters = new Map<string, { c: NonNullable<NamedCluster['cluster']>; dir: string }>();
  const users = new Map<string, { u: NonNullable<NamedUser['user']>; dir: string }>();
  const contexts = new Map<string, NonNullable<NamedContext['context']>>();
  for (const file of files) {
    const cfg = await parseFile(file);
    const dir = join(file, '..');
    current ??= cfg['current-context'] || undefined;
    for (const c of cfg.clusters ?? [])
      if (!clusters.has(c.name)) clusters.set(c.name, { c: c.cluster ?? {}, dir });
    for (const u of cfg.users ?? []) if (!users.has(u.name)) users.set(u.name, { u: u.user ?? {}, dir });
    for (const x of cfg.contexts ?? []) if (!contexts.has(x.name)) contexts.set(x.name, x.context ?? {});
  }
  if (!current) throw new AccessError(`kubeconfig ${files.join(':')}: no current-context`);
  const ctx = contexts.get(current);
  if (!ctx) throw new AccessError(`kubeconfig: context "${current}" not found`);
  const cluster = clusters.get(ctx.cluster ?? '');
  const server = cluster?.c.server;
  if (!cluster || !server) throw new AccessError(`kubeconfig: cluster "${ctx.cluster}" has no server`);
  const user = ctx.user ? users.get(ctx.user) : undefined;
  const u = user?.u ?? {};
  if (u.exec || u['auth-provider']) return 'delegate';
  const { c, dir } = cluster;
  const caFile = under(dir, c['certificate-authority']);
  const certFile = user && under(user.dir, u['client-certificate']);
  const keyFile = user && under(user.dir, u['client-key']);
  const tokenFile = user && under(user.dir, u.tokenFile);
  return {
    server,
    ca: c['certificate-authority-data']
      ? b64(c['certificate-authority-data'])
      : caFile
        ? readFileSync(caFile)
        : undefined,
    insecure: c['insecure-skip-tls-verify'] === true,
    servername: c['tls-server-name'],
    cert: u['client-certificate-data']
      ? b64(u['client-certificate-data'])
      : certFile
        ? readFileSync(certFile)
        : undefined,
    key: u['client-key-data'] ? b64(u['client-key-data']) : keyFile ? readFileSync(keyFile) : undefined,
    token: u.token,
    tokenFile,
    basic:
      u.username !== undefined
        ? Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')
        : undefined,
  };
}

/** client-node's KubeConfig for what this reader does not do (exec plugins, auth providers). */
async function viaClientNode(files: string[]): Promise<ApiAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (files.length === 1) kc.loadFromFile(files[0] as string);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new AccessError('kubeconfig has no current cluster');
  return {
    server: cluster.server.replace(/\/+$/, ''),
    kind: 'client-node',
    apply: (opts) => kc.applyToHTTPSOptions(opts),
  };
}

/**
 * The API server access of this process: $KUBECONFIG (colon-separated files), else
 * ~/.kube/config, else the in-cluster ServiceAccount.
 */
export async function loadAccess(env: Env = process.env): Promise<ApiAccess> {
  let files = (env.KUBECONFIG ?? '').split(':').filter((f) => f && exists(f));
  if (!files.length && !env.KUBECONFIG) {
    const home = join(env.HOME || homedir(), '.kube', 'config');
    if (exists(home)) files = [home];
  }
  if (!files.length) {
    if (env.KUBECONFIG) throw new AccessError(`KUBECONFIG=${env.KUBECONFIG}: no such file`);
    if (env.KUBERNETES_SERVICE_HOST && exists(join(SA_DIR, 'token')))
      return accessOf(inCluster(env), 'in-cluster');
    throw new AccessError('no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster');
  }
  const resolved = await resolveKubeconfig(files);
  return resolved === 'delegate' ? viaClientNode(files) : accessOf(resolved, 'kubeconfig');
}
