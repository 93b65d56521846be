/**
 * A real single-node Kubernetes for tests (see docs/testing notes in README): containerd + runc,
 * a host-internal CNI bridge, etcd + kube-apiserver (the envtest harness, bound and advertised on
 * the bridge's gateway), kube-controller-manager, kube-scheduler, kubelet, kube-proxy and CoreDNS
 * (a host process answering on the gateway). Everything listens on loopback or the bridge; pods
 * get no route off the machine (forwarding from the pod subnet is dropped unless it stays on the
 * bridge). The images are built locally (node-images.ts) and imported into containerd.
 *
 * Leaves the machine as found: every sysctl the parts change is saved and restored, host paths
 * that the parts hard-code are removed when they did not exist before, iptables chains they add
 * are deleted, cgroups they made are removed, and only processes this harness started are
 * stopped (by pid; containerd's shims found by their `-address` argument). One node per machine
 * at a time (the kubelet's port and host paths are fixed): a lock directory serialises runs.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Envtest, startEnvtest } from './envtest.ts';
import type { NodeImages } from './node-images.ts';
import { tempDir, toolsBin } from './paths.ts';
import { type WatchedProcess, waitUntil } from './wait.ts';

const run = promisify(execFile);

/** The node's addresses: pods in POD_CIDR on bridge BRIDGE (gateway GATEWAY), Services in SERVICE_CIDR. */
export const BRIDGE = 'chartsync0';
export const GATEWAY = '10.217.0.1';
export const POD_CIDR = '10.217.0.0/24';
export const SERVICE_CIDR = '10.217.128.0/24';
const KUBERNETES_SERVICE_IP = '10.217.128.1';
const LOCK = '/run/chartsync-node.lock';

/** Sysctls the kubelet, the bridge plugin and kube-proxy may write: saved before, restored after. */
const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/default/forwarding',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/default/forwarding',
  'net/ipv4/conf/all/route_localnet',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/netfilter/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/netfilter/nf_conntrack_tcp_timeout_close_wait',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

/** Host paths the parts hard-code (deepest first): removed after, when they did not exist before. */
const HOST_PATHS = [
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/kubelet/device-plugins',
  '/var/lib/kubelet',
  '/var/lib/cni/results',
  '/var/lib/cni',
  '/run/containerd/s',
  '/run/containerd/fifo',
  '/run/containerd/runc',
  '/run/containerd',
  '/usr/libexec/kubernetes',
];

const FORWARD_RULE = [
  'FORWARD',
  '-s',
  POD_CIDR,
  '!',
  '-o',
  BRIDGE,
  '-m',
  'comment',
  '--comment',
  'chartsync-node: pods stay on this machine',
  '-j',
  'DROP',
];

export interface RealNode {
  /** Admin kubeconfig (the API server on the bridge gateway). */
  kubeconfigPath: string;
  env: Envtest;
  dir: string;
  /** Seconds from start() to a Ready node with its default ServiceAccount. */
  startSeconds: number;
  /** kubectl with the admin kubeconfig; resolves with stdout, rejects with stderr. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** ctr against the node's containerd, namespace k8s.io. */
  ctr(args: string[]): Promise<string>;
  /**
   * Stops everything and undoes every host change; resolves with what is still different from
   * before the start (empty when the machine is left as found). A second call does nothing.
   */
  stop(): Promise<string[]>;
  /** A hostPath PersistentVolume (no provisioner here) under the node's dir, writable by `uid`. */
  hostPathVolume(name: string, uid?: number): Promise<string>;
  /**
   * What a failed wait needs to be understood: the node's conditions, every pod with its phase,
   * reason and container states, and the namespace's last events.
   */
  diagnose(namespace: string): Promise<string>;
}

interface Proc extends WatchedProcess {
  exited: Promise<void>;
}

export function nodeBinary(name: string): string {
  const p = join(toolsBin, name);
  if (!existsSync(p)) throw new Error(`${name} not found in ${toolsBin}: run scripts/tools.sh node`);
  return p;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { maxBuffer: 32 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

async function readSysctl(key: string): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** One node per machine: a lock directory holding the owner's pid (a dead owner's lock is taken over). */
async function lock(timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      return () => rm(LOCK, { recursive: true, force: true });
    } catch {
      const owner = Number((await readFile(join(LOCK, 'pid'), 'utf8').catch(() => '')) || 0);
      let alive = false;
      try {
        if (owner) process.kill(owner, 0);
        alive = owner > 0;
      } catch {}
      if (!alive && owner) await rm(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`another real node runs on this machine (pid ${owner})`);
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** KUBE-* chains per (iptables binary, table), to delete only those that appear during the run. */
async function kubeChains(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const bin of ['iptables', 'ip6tables']) {
    const dump = await sh(`${bin}-save`, []).catch(() => '');
    let table = '';
    for (const line of dump.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      const m = /^:(KUBE-\S+)/.exec(line);
      if (m) out.add(`${bin} ${table} ${m[1]}`);
    }
  }
  return out;
}

/** Deletes the KUBE-* chains not in `before`: first every rule jumping to them, then the chains. */
async function deleteKubeChains(before: Set<string>): Promise<void> {
  const added = [...(await kubeChains())]
    .filter((c) => !before.has(c))
    .map((c) => c.split(' ') as [string, string, string]);
  const names = new Set(added.map(([, , chain]) => chain));
  for (const bin of new Set(added.map(([b]) => b))) {
    for (const table of new Set(added.filter(([b]) => b === bin).map(([, t]) => t))) {
      const dump = await sh(`${bin}-save`, ['-t', table]).catch(() => '');
      for (const line of dump.split('\n')) {
        const m = /^-A (\S+) (.*)-j (KUBE-\S+)/.exec(line);
        if (m && names.has(m[3] ?? '') && !names.has(m[1] ?? ''))
          await sh(bin, ['-t', table, '-D', ...line.slice(3).split(' ')]).catch(() => undefined);
      }
      const chains = added.filter(([b, t]) => b === bin && t === table).map(([, , c]) => c);
      for (const c of chains) await sh(bin, ['-t', table, '-F', c]).catch(() => undefined);
      for (const c of chains) await sh(bin, ['-t', table, '-X', c]).catch(() => undefined);
    }
  }
}

/** Mount points under `prefix` (deepest first). */
async function mountsUnder(prefix: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length);
}

/** Every pid whose command line has `-address <socket>`: containerd's shims for our containerd. */
async function shimPids(socket: string): Promise<number[]> {
  const pids: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const argv = (await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === socket) pids.push(Number(d));
  }
  return pids;
}

const cgroupRoots = async (): Promise<string[]> =>
  (await readdir('/sys/fs/cgroup').catch(() => [] as string[])).map((c) => join('/sys/fs/cgroup', c));

/** Removes a cgroup tree bottom-up (only empty cgroups can go). */
async function removeCgroup(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(path, e.name));
  await rmdir(path).catch(() => undefined);
}

function containerdConfig(dir: string, socket: string, pauseRef: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseRef}"
  # No CAP_SYS_RESOURCE in this VM: a negative oom_score_adj cannot be set.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/net.d"
    max_conf_num = 1
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'chartsync-node',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'cni/ipam'),
          ranges: [[{ subnet: POD_CIDR, gateway: GATEWAY }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'loopback' },
    ],
  });
}

function kubeletConfig(dir: string, socket: string, caFile: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false, // 1.36 refuses cgroup v1 otherwise (this VM has the hybrid layout)
    cgroupDriver: 'cgroupfs',
    makeIPTablesUtilChains: false,
    address: '127.0.0.1',
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 0,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: caFile },
    },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [GATEWAY],
    clusterDomain: 'cluster.local',
    resolvConf: join(dir, 'resolv.conf'),
    containerRuntimeEndpoint: `unix://${socket}`,
    podLogsDir: join(dir, 'pod-logs'),
    volumePluginDir: join(dir, 'volume-plugins'),
    serializeImagePulls: false,
    // A host disk that is merely full-ish must not evict the test's pods nor garbage-collect the
    // imported images: thresholds are absolute, not a share of the disk (1% of a 250 GB disk is
    // 2.5 GB, and a busy development machine had less than that free: every pod was evicted for
    // DiskPressure and `helm install --wait` timed out). MIN_FREE_DISK is checked before start.
    evictionHard: {
      'memory.available': '1Mi',
      'nodefs.available': '64Mi',
      'imagefs.available': '64Mi',
      'nodefs.inodesFree': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    failSwapOn: false,
    registerNode: true,
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    nodeStatusUpdateFrequency: '4s',
    shutdownGracePeriod: '0s',
  });
}

function corefile(kubeconfig: string): string {
  // Cluster names only: there is no upstream DNS on this machine.
  return `.:53 {
  bind ${GATEWAY}
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${kubeconfig}
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 5
}
`;
}

/** Below this much free space the node's images, volumes and logs may not fit. */
export const MIN_FREE_DISK = 2 * 1024 ** 3;

async function checkFreeDisk(dir: string): Promise<void> {
  const st = await statfs(dir);
  const free = st.bavail * st.bsize;
  if (free < MIN_FREE_DISK)
    throw new Error(
      `the real node needs ${MIN_FREE_DISK / 1024 ** 3} GiB free under ${dir}, ${(free / 1024 ** 3).toFixed(1)} GiB are: free some space (old clones, ~/.cache/chartsync/images)`,
    );
}

type Kubectl = (args: string[], input?: string) => Promise<string>;

async function diagnose(kubectl: Kubectl, namespace: string): Promise<string> {
  const part = async (title: string, args: string[], lines = 40) =>
    `--- ${title}\n${(await kubectl(args).catch((e: Error) => e.message)).trim().split('\n').slice(-lines).join('\n')}`;
  return [
    await part('node conditions', [
      'get',
      'node',
      'localhost',
      '-o',
      'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\\n"}{end}',
    ]),
    await part(`pods in ${namespace}`, [
      'get',
      'pods',
      '-n',
      namespace,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.status.reason} {.status.message} {.status.containerStatuses[*].state}{"\\n"}{end}',
    ]),
    await part(
      `last events in ${namespace}`,
      ['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp'],
      25,
    ),
  ].join('\n');
}

export interface RealNodeOptions {
  images: NodeImages;
  log?: (msg: string) => void;
}

/** Starts the node; stop() undoes everything, also after a failed start. */
export async function startRealNode(o: RealNodeOptions): Promise<RealNode> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  if (process.getuid?.() !== 0) throw new Error('the real node needs root (network, mounts, cgroups)');
  for (const b of ['/usr/bin/containerd', '/usr/sbin/runc', '/usr/lib/cni/bridge', '/usr/sbin/iptables'])
    if (!existsSync(b)) throw new Error(`${b} missing: run scripts/system-deps.sh`);
  const bins = Object.fromEntries(
    ['kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl', 'coredns'].map((n) => [
      n,
      nodeBinary(n),
    ]),
  );
  await checkFreeDisk(tmpdir());
  const unlock = await lock(15 * 60_000);
  const tmp = await tempDir('chartsync-node-');
  const dir = tmp.path;
  const procs: Proc[] = [];
  /** Every process ever started (procs holds those not stopped yet). */
  const spawned: Proc[] = [];
  const undo: Array<() => Promise<void>> = [];
  const socket = join(dir, 'containerd.sock');
  let env: Envtest | undefined;

  const sysctls = new Map<string, string>();
  for (const k of SYSCTLS) {
    const v = await readSysctl(k);
    if (v !== undefined) sysctls.set(k, v);
  }
  const existed = new Map(HOST_PATHS.map((p) => [p, existsSync(p)]));
  const netnsBefore = new Set(await readdir('/run/netns').catch(() => [] as string[]));
  const chainsBefore = await kubeChains();
  const cgroupsBefore = new Set<string>();
  for (const root of await cgroupRoots()) if (existsSync(join(root, 'kubepods'))) cgroupsBefore.add(root);

  // A test process that dies without stop() must not leave the node running.
  const killAll = () => {
    for (const p of procs) p.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  undo.push(async () => {
    process.off('exit', killAll);
  });
  const start = (name: string, bin: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Proc => {
    const logPath = join(dir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...extraEnv } });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const p = { name, child, log: logPath, exited };
    procs.push(p);
    spawned.push(p);
    return p;
  };
  const stopProc = async (p: Proc, graceMs = 5000) => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(t);
    }
    procs.splice(procs.indexOf(p), 1);
  };
  const ctr = (args: string[]) => sh('ctr', ['--address', socket, '-n', 'k8s.io', ...args]);
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    if (!env) throw new Error('no API server');
    const kc = env.kubeconfigPath;
    return new Promise((resolve, reject) => {
      const child = execFile(
        bins.kubectl as string,
        ['--kubeconfig', kc, ...args],
        { maxBuffer: 32 * 1024 * 1024 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
      );
      child.stdin?.end(input ?? '');
    });
  };

  let stopped: Promise<string[]> | undefined;
  const stop = (): Promise<string[]> => {
    stopped ??= stopOnce();
    return stopped;
  };
  const stopOnce = async (): Promise<string[]> => {
    const t0 = Date.now();
    const byName = (n: string) => procs.find((p) => p.name === n);
    // No new pods from here on: controllers first, then every pod stopped by its kubelet (so the
    // CNI plugin releases its addresses and network namespaces), then the node itself.
    for (const n of ['kube-controller-manager', 'kube-scheduler']) {
      const p = byName(n);
      if (p) await stopProc(p);
    }
    const kubelet = byName('kubelet');
    if (env && kubelet && kubelet.child.exitCode === null) {
      await kubectl([
        'delete',
        'pods',
        '--all',
        '--all-namespaces',
        '--force',
        '--grace-period=0',
        '--wait=false',
      ]).catch(() => undefined);
      await waitUntil(
        'pods stopped',
        async () => (await ctr(['tasks', 'ls', '-q'])).trim() === '',
        [],
        20_000,
      ).catch(() => undefined);
    }
    for (const n of ['kubelet', 'coredns']) {
      const p = byName(n);
      if (p) await stopProc(p);
    }
    const proxy = byName('kube-proxy');
    if (proxy) {
      await stopProc(proxy);
      await sh(bins['kube-proxy'] as string, ['--cleanup']).catch(() => undefined);
    }
    // Whatever still runs in a container, then the shims, then containerd.
    if (byName('containerd')) {
      const tasks = (await ctr(['tasks', 'ls', '-q']).catch(() => '')).split('\n').filter(Boolean);
      for (const t of tasks) await ctr(['tasks', 'kill', '-s', 'SIGKILL', t]).catch(() => undefined);
      for (const t of tasks) await ctr(['tasks', 'delete', '-f', t]).catch(() => undefined);
      for (const pid of await shimPids(socket)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      const c = byName('containerd');
      if (c) await stopProc(c);
    }
    for (const p of [...procs].reverse()) await stopProc(p);
    await env?.stop();
    env = undefined;
    for (const u of undo.reverse()) await u().catch((err) => log(`cleanup: ${(err as Error).message}`));
    undo.length = 0;
    // Network namespaces the CNI plugin made, mounts under the node's and the hard-coded dirs.
    for (const ns of await readdir('/run/netns').catch(() => [] as string[])) {
      if (netnsBefore.has(ns)) continue;
      await sh('umount', [join('/run/netns', ns)]).catch(() => undefined);
      await rm(join('/run/netns', ns), { force: true });
    }
    for (const prefix of [dir, ...HOST_PATHS.filter((p) => !existed.get(p))])
      for (const m of await mountsUnder(prefix)) await sh('umount', ['-l', m]).catch(() => undefined);
    await deleteKubeChains(chainsBefore);
    for (const root of await cgroupRoots())
      if (!cgroupsBefore.has(root)) await removeCgroup(join(root, 'kubepods'));
    for (const p of HOST_PATHS) if (!existed.get(p)) await rm(p, { recursive: true, force: true });
    if (
      !netnsBefore.size &&
      existsSync('/run/netns') &&
      (await readdir('/run/netns')).length === 0 &&
      !existed.get('/run/netns')
    )
      await rmdir('/run/netns').catch(() => undefined);
    for (const [k, v] of sysctls) {
      if ((await readSysctl(k)) !== v)
        await writeFile(`/proc/sys/${k}`, v).catch((err) => log(`sysctl ${k}: ${err}`));
    }
    await tmp.cleanup();
    const left = await leftovers();
    await unlock();
    log(`node stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return left;
  };
  /** What differs from the machine as it was before start(). */
  const leftovers = async (): Promise<string[]> => {
    const left: string[] = [];
    if (existsSync(`/sys/class/net/${BRIDGE}`)) left.push(`bridge ${BRIDGE}`);
    if (
      await sh('iptables', ['-C', ...FORWARD_RULE]).then(
        () => true,
        () => false,
      )
    )
      left.push('FORWARD rule');
    for (const c of await kubeChains()) if (!chainsBefore.has(c)) left.push(`chain ${c}`);
    for (const p of HOST_PATHS) if (!existed.get(p) && existsSync(p)) left.push(`path ${p}`);
    for (const ns of await readdir('/run/netns').catch(() => [] as string[]))
      if (!netnsBefore.has(ns)) left.push(`netns ${ns}`);
    for (const [k, v] of sysctls) {
      const now = await readSysctl(k);
      if (now !== v) left.push(`sysctl ${k}=${now} (was ${v})`);
    }
    for (const root of await cgroupRoots())
      if (!cgroupsBefore.has(root) && existsSync(join(root, 'kubepods')))
        left.push(`cgroup ${root}/kubepods`);
    for (const pid of await shimPids(socket)) left.push(`shim pid ${pid}`);
    for (const p of spawned)
      if (p.child.exitCode === null && p.child.signalCode === null) left.push(`process ${p.name}`);
    if (existsSync(dir)) left.push(`dir ${dir}`);
    return left;
  };

  try {
    // 1. The bridge first: the API server binds its gateway address. Pods may not leave it.
    // (A bridge or rule of a run that was killed outright is ours: the lock says no node runs.)
    if (existsSync(`/sys/class/net/${BRIDGE}`)) await sh('ip', ['link', 'del', BRIDGE]);
    while (
      await sh('iptables', ['-D', ...FORWARD_RULE]).then(
        () => true,
        () => false,
      )
    ) {}
    await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    undo.push(() => sh('ip', ['link', 'del', BRIDGE]).then(() => undefined));
    await sh('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
    await sh('ip', ['link', 'set', BRIDGE, 'up']);
    await sh('iptables', ['-I', ...FORWARD_RULE]);
    undo.push(() => sh('iptables', ['-D', ...FORWARD_RULE]).then(() => undefined));
    await mkdir(join(dir, 'cni/net.d'), { recursive: true });
    await writeFile(join(dir, 'cni/net.d/10-chartsync.conflist'), cniConfig(dir));
    await writeFile(join(dir, 'resolv.conf'), '');

    // 2. containerd, and the images imported while the control plane starts.
    await writeFile(join(dir, 'containerd.toml'), containerdConfig(dir, socket, o.images.pause.ref));
    const containerd = start('containerd', '/usr/bin/containerd', ['--config', join(dir, 'containerd.toml')]);
    await waitUntil(
      'containerd',
      async () => existsSync(socket) && (await ctr(['version']).then(() => true)),
      [containerd],
      30_000,
    );
    // One at a time: parallel imports contend for containerd's ingest lock.
    const imported = (async () => {
      for (const img of Object.values(o.images)) await ctr(['images', 'import', img.archive]);
    })();
    imported.catch(() => undefined);

    // 3. Control plane on the gateway address.
    env = await startEnvtest({
      address: GATEWAY,
      serviceClusterIpRange: SERVICE_CIDR,
      sans: [
        `IP:${GATEWAY}`,
        `IP:${KUBERNETES_SERVICE_IP}`,
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
      ],
    });
    const kc = env.kubeconfigPath;
    const pki = env.pki;
    start('kube-controller-manager', bins['kube-controller-manager'] as string, [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saPrivateKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ]);
    start('kube-scheduler', bins['kube-scheduler'] as string, [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--v=1',
    ]);

    // 4. The node.
    await writeFile(join(dir, 'kubelet.json'), kubeletConfig(dir, socket, pki.caCert));
    await mkdir(join(dir, 'kubelet'), { recursive: true });
    start('kubelet', bins.kubelet as string, [
      `--config=${join(dir, 'kubelet.json')}`,
      `--kubeconfig=${kc}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--cert-dir=${join(dir, 'kubelet-pki')}`,
      '--hostname-override=localhost',
      '--v=1',
    ]);
    start('kube-proxy', bins['kube-proxy'] as string, [
      `--kubeconfig=${kc}`,
      '--hostname-override=localhost',
      '--proxy-mode=iptables',
      `--cluster-cidr=${POD_CIDR}`,
      '--bind-address=127.0.0.1',
      '--healthz-bind-address=127.0.0.1:10256',
      '--metrics-bind-address=127.0.0.1:10249',
      `--nodeport-addresses=${GATEWAY}/32`,
      '--iptables-localhost-nodeports=false',
      // Leave the conntrack table's global settings alone.
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0',
      '--conntrack-tcp-timeout-close-wait=0',
      '--v=1',
    ]);
    await writeFile(join(dir, 'Corefile'), corefile(kc));
    start('coredns', bins.coredns as string, ['-conf', join(dir, 'Corefile')]);

    await imported;
    await waitUntil(
      'node localhost Ready',
      async () =>
        (await kubectl([
          'get',
          'node',
          'localhost',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === 'True',
      procs,
      120_000,
    );
    // Pods are admitted only once their namespace's default ServiceAccount exists.
    await waitUntil(
      'default ServiceAccount',
      async () => (await kubectl(['get', 'sa', 'default', '-o', 'name'])).trim() !== '',
      procs,
      60_000,
    );
    const startSeconds = (Date.now() - started) / 1000;
    log(`node Ready in ${startSeconds.toFixed(1)} s`);
    return {
      kubeconfigPath: kc,
      env,
      dir,
      startSeconds,
      kubectl,
      ctr,
      hostPathVolume: async (name, uid = 1000) => {
        const path = join(dir, 'volumes', name);
        await mkdir(path, { recursive: true });
        await chown(path, uid, uid);
        await chmod(path, 0o770);
        await kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name },
            spec: {
              capacity: { storage: '1Gi' },
              accessModes: ['ReadWriteOnce'],
              persistentVolumeReclaimPolicy: 'Retain',
              storageClassName: '',
              hostPath: { path, type: 'Directory' },
            },
          }),
        );
        return path;
      },
      diagnose: (namespace) => diagnose(kubectl, namespace),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
