/**
 * A throwaway Kubernetes API server for tests, started like controller-runtime's envtest:
 * etcd + kube-apiserver from `.tools/bin` (or `$KUBEBUILDER_ASSETS`), a fresh PKI, RBAC on,
 * the TokenRequest API enabled, and an admin kubeconfig. There is no controller-manager:
 * no garbage collection of owner references, no namespace finalization, no token Secrets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { makePki, type Pki } from './envtest-pki.ts';
import { toolsBin } from './paths.ts';
import { guardChild, guardDir, releaseDir } from './reaper.ts';
import { type WatchedProcess, waitUntil } from './wait.ts';

export interface Envtest {
  /** Admin kubeconfig (user in system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** PEM of the cluster CA, for building other kubeconfigs. */
  caData: string;
  /** Working directory (PKI, etcd data, logs); removed by stop(). */
  dir: string;
  /** etcd's client URL (e.g. to compact history in tests). */
  etcdUrl: string;
  /** The PKI (CA, admin client, service-account keys) for the other components of a node. */
  pki: Pki;
  /** Stops only kube-apiserver (etcd keeps the data): an API server outage. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvtestOptions {
  /** Print the components' output here as well as to the log files (debugging). */
  verbose?: boolean;
  /** How long to wait for /readyz. Default 90 s (first start on a cold 2-core machine). */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ['--watch-cache=false']. */
  apiserverArgs?: string[];
  /** Address the API server binds and advertises (default 127.0.0.1; the real node uses its bridge). */
  address?: string;
  /** Service ClusterIP range (default 10.0.0.0/24). */
  serviceClusterIpRange?: string;
  /** Extra subject alternative names of the serving certificate. */
  sans?: string[];
}

/** Where the binaries are: `$KUBEBUILDER_ASSETS` when it has them, else `.tools/bin`. */
export function envtestBinary(name: 'etcd' | 'kube-apiserver'): string {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && existsSync(join(assets, name))) return join(assets, name);
  const bin = join(toolsBin, name);
  if (!existsSync(bin))
    throw new Error(`${name} not found in $KUBEBUILDER_ASSETS or ${toolsBin}: run scripts/tools.sh ${name}`);
  return bin;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface Proc extends WatchedProcess {
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
// A crashed test must not leave an API server behind: kill what is still running on exit.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

// Each component leads its own process group (so a terminal's Ctrl-C reaches only this process,
// which stops them in order) and is guarded by the reaper: if this process dies without
// stopping them — SIGKILL, a crash, a parent that exits — they are stopped anyway.
function startProcess(bin: string, args: string[], logPath: string, verbose: boolean): Proc {
  const fd = openSync(logPath, 'a');
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', verbose ? 'inherit' : fd, verbose ? 'inherit' : fd],
  });
  closeSync(fd);
  guardChild(child);
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      live.delete(child);
      resolve(-1);
    });
  });
  return { name: basename(bin), child, log: logPath, exited };
}

async function stopProcess(p: Proc, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** GET over TLS with the admin certificate; resolves with the HTTP status (0 = no answer). */
function adminGet(
  server: string,
  path: string,
  pki: { ca: string; cert: string; key: string },
): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server}${path}`,
      { ca: pki.ca, cert: pki.cert, key: pki.key, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=envtest',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=envtest=${peer}`,
    '--unsafe-no-fsync=true', // throwaway data: durability only costs time
    '--log-level=warn',
  ];
}

function apiserverFlags(pki: Pki, etcdPort: number, securePort: number, opts: EnvtestOptions): string[] {
  const address = opts.address ?? '127.0.0.1';
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--secure-port=${securePort}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    // For a real node's kubelet (logs, exec): the admin client certificate.
    `--kubelet-client-certificate=${pki.adminCert}`,
    `--kubelet-client-key=${pki.adminKey}`,
    `--service-account-issuer=https://${address}:${securePort}`,
    `--service-account-key-file=${pki.saPublicKey}`,
    `--service-account-signing-key-file=${pki.saPrivateKey}`,
    `--service-cluster-ip-range=${opts.serviceClusterIpRange ?? '10.0.0.0/24'}`,
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
  ];
}

function kubeconfig(server: string, ca: string, cert: string, key: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // JSON is YAML: every kubeconfig reader (client-node, helm, kubectl) accepts it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority-data': b64(ca) } }],
      users: [
        {
          name: 'envtest-admin',
          user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) },
        },
      ],
      contexts: [
        { name: 'envtest', context: { cluster: 'envtest', user: 'envtest-admin', namespace: 'default' } },
      ],
      'current-context': 'envtest',
    },
    null,
    2,
  );
}

/**
 * Starts etcd and kube-apiserver; resolves once the API server is ready to serve. A port taken
 * between picking it and binding it (parallel test files) is retried with fresh ports.
 */
export async function startEnvtest(opts: EnvtestOptions = {}): Promise<Envtest> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(opts: EnvtestOptions): Promise<Envtest> {
  const etcdBin = envtestBinary('etcd');
  const apiBin = envtestBinary('kube-apiserver');
  const dir = await mkdtemp(join(tmpdir(), 'chartsync-envtest-'));
  guardDir(dir);
  const procs: Proc[] = [];
  const stop = async () => {
    for (const p of [...procs].reverse()) await stopProcess(p);
    await rm(dir, { recursive: true, force: true });
    releaseDir(dir);
  };
  try {
    await mkdir(join(dir, 'pki'));
    const pki = await makePki(join(dir, 'pki'), opts.sans);
    const read = (f: string) => readFile(f, 'utf8');
    const [ca, cert, key] = [await read(pki.caCert), await read(pki.adminCert), await read(pki.adminKey)];
    const [etcdPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const verbose = opts.verbose ?? false;
    const timeout = opts.startTimeoutMs ?? 90_000;

    const etcd = startProcess(
      etcdBin,
      etcdArgs(join(dir, 'etcd'), etcdPort, peerPort),
      join(dir, 'etcd.log'),
      verbose,
    );
    procs.push(etcd);
    const server = `https://${opts.address ?? '127.0.0.1'}:${securePort}`;
    const tls = { ca, cert, key };
    let apiserver: Proc | undefined;
    const startApiServer = async () => {
      if (apiserver) return;
      apiserver = startProcess(
        apiBin,
        [...apiserverFlags(pki, etcdPort, securePort, opts), ...(opts.apiserverArgs ?? [])],
        join(dir, 'kube-apiserver.log'),
        verbose,
      );
      procs.push(apiserver);
      await waitUntil(
        'kube-apiserver /readyz',
        async () => (await adminGet(server, '/readyz', tls)) === 200,
        procs,
        timeout,
      );
    };
    const stopApiServer = async () => {
      if (!apiserver) return;
      await stopProcess(apiserver);
      procs.splice(procs.indexOf(apiserver), 1);
      apiserver = undefined;
    };
    await startApiServer();
    // The bootstrap controller creates `default` a moment after /readyz turns green.
    await waitUntil(
      'namespace default',
      async () => (await adminGet(server, '/api/v1/namespaces/default', tls)) === 200,
      procs,
      timeout,
    );

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, ca, cert, key), {
      mode: 0o600,
    });
    return {
      kubeconfigPath,
      server,
      caData: ca,
      pki,
      dir,
      etcdUrl: `http://127.0.0.1:${etcdPort}`,
      stopApiServer,
      startApiServer,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
