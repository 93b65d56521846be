/**
 * The chart on a real single-node Kubernetes (harness/node.ts): images built here from the
 * project's Dockerfiles (harness/node-images.ts), `helm install --set operator.enabled=true
 * --wait`, then what a user does with it — the example Chartmuseum resource published from git
 * served by this machine, `helm repo add` + `helm template` against the Service, the sync CronJob's
 * pod calling the sidecar with the token from the Secret, leader failover of two operator
 * replicas, `helm upgrade` keeping token, charts and sync state, deleting the resource, and
 * `helm uninstall`. ChartMuseum's own image cannot be built here (its source is not on the Go
 * module proxy): its container runs the harness's ChartMuseum API stand-in; every other
 * container is the real product.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { type FixtureRepo, type GitDaemon, RepoRoot, startGitDaemon } from '../harness/git-server.ts';
import { createHelm, type Helm } from '../harness/helm.ts';
import { GATEWAY, type RealNode, startRealNode } from '../harness/node.ts';
import { buildNodeImages, type NodeImages } from '../harness/node-images.ts';
import { repoRoot, tempDir } from '../harness/paths.ts';

const run = promisify(execFile);
const NS = 'charts';
const REL = 'cm';
const FULL = `${REL}-chartmuseum`;
const chartDir = join(repoRoot, 'chart');
const suiteStart = Date.now();

// biome-ignore lint/suspicious/noExplicitAny: kubectl's JSON is free-form
type Obj = any;

/** Set once the node runs: what a failed wait appends so that a CI log explains itself. */
let diagnosis: () => Promise<string> = async () => '';

/** `work`, or its error with the node's pods, conditions and events appended. */
async function explained<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnosis()}`);
  }
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}\n${await diagnosis()}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function http(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, text: await res.text() };
}

describe('the chart on a real node', { timeout: 600_000 }, () => {
  let images: NodeImages;
  let node: RealNode;
  let helm: Helm;
  let daemon: GitDaemon;
  let repo: FixtureRepo;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let storage = '';
  let token = '';
  let cmUrl = '';
  let syncUrl = '';
  const kc = () => ['--kubeconfig', node.kubeconfigPath, '-n', NS];
  const json = async (args: string[]): Promise<Obj> =>
    JSON.parse(await node.kubectl([...args, '-o', 'json']));
  const auth = () => ({ authorization: `Bearer ${token}` });

  before(async () => {
    const log = (m: string) => console.log(`[node] ${m}`);
    const t0 = Date.now();
    images = await buildNodeImages(log);
    log(`images ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    node = await startRealNode({ images, log });
    console.log(`[node] node start: ${node.startSeconds.toFixed(1)} s`);
    diagnosis = () => node.diagnose(NS);
    helm = await createHelm();
    work = await tempDir('chartsync-node-suite-');
    // The example charts in a git repository served to the pod from this machine (git://, on the
    // bridge's gateway: a file:// repository is not reachable from a pod).
    const repos = new RepoRoot(join(work.path, 'repos'));
    repo = await repos.create('mycharts');
    await cp(join(repoRoot, 'examples/charts'), join(repo.work, 'charts'), { recursive: true });
    await repo.commit('example charts');
    await repo.push();
    daemon = await startGitDaemon(repos.path, GATEWAY);
    await node.kubectl(['create', 'namespace', NS]);
    // No provisioner on this node: the claim binds to a hostPath volume made here.
    storage = await node.hostPathVolume('chartsync-storage');
  });

  after(async () => {
    await daemon?.stop();
    await helm?.cleanup();
    await node?.stop();
    await work?.cleanup();
    console.log(`[node] suite wall time: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s`);
  });

  const values = () => [
    '--set',
    'operator.enabled=true',
    '--set',
    'operator.replicaCount=2',
    '--set',
    'persistence.enabled=true',
    '--set',
    'persistence.storageClass=-',
    '--set',
    'persistence.size=1Gi',
    '--set',
    'sidecar.allowInsecureGit=true',
    // The stand-in for ChartMuseum's image, and the CronJob's HTTP client built here.
    '--set',
    `image.repository=${images.chartmuseum.ref.split(':')[0]}`,
    '--set',
    `image.tag=${images.chartmuseum.ref.split(':')[1]}`,
    '--set',
    `operator.cronJobImage.repository=${images.curl.ref.split(':')[0]}`,
    '--set',
    `operator.cronJobImage.tag=${images.curl.ref.split(':')[1]}`,
  ];

  test('helm install --wait: every pod Ready, probes answered, non-root, read-only root filesystems', async () => {
    const t0 = Date.now();
    await explained(helm.run(['install', REL, chartDir, ...kc(), ...values(), '--wait', '--timeout', '4m']));
    console.log(`[node] helm install --wait: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const pods = (await json(['get', 'pods', '-n', NS])).items as Obj[];
    assert.equal(pods.length, 3, 'ChartMuseum+sidecar and two operator replicas');
    const tasks = new Map(
      (await node.ctr(['tasks', 'ls']))
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 3)
        .map(([id, pid]) => [id, Number(pid)]),
    );
    let containers = 0;
    for (const pod of pods) {
      const ready = pod.status.conditions.find((c: Obj) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${pod.metadata.name} Ready`);
      for (const c of pod.spec.containers) {
        assert.ok(c.readinessProbe && c.livenessProbe, `${pod.metadata.name}/${c.name} has probes`);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      }
      for (const cs of pod.status.containerStatuses) {
        assert.equal(cs.ready, true, `${pod.metadata.name}/${cs.name} ready (its readiness probe answered)`);
        assert.equal(cs.restartCount, 0, `${pod.metadata.name}/${cs.name} never restarted (liveness probe)`);
        // What really runs: the process's uid and its root mount, read from /proc.
        const pid = tasks.get(String(cs.containerID).replace('containerd://', ''));
        assert.ok(pid, `${cs.name}: task found in containerd`);
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
        assert.ok(uid && uid !== '0', `${pod.metadata.name}/${cs.name} runs as uid ${uid}, not root`);
        const rootMount = (await readFile(`/proc/${pid}/mountinfo`, 'utf8'))
          .split('\n')
          .map((l) => l.split(' '))
          .find((f) => f[4] === '/');
        assert.ok(rootMount?.[5]?.split(',').includes('ro'), `${cs.name}: root filesystem mounted read-only`);
        containers++;
      }
    }
    assert.equal(containers, 4);
    const svc = await json(['get', 'service', FULL, '-n', NS]);
    cmUrl = `http://${svc.spec.clusterIP}:8080`;
    syncUrl = `http://${svc.spec.clusterIP}:3000`;
    const secret = await json(['get', 'secret', `${FULL}-sidecar-token`, '-n', NS]);
    token = Buffer.from(secret.data.token, 'base64').toString();
    assert.equal((await http(`${cmUrl}/health`)).status, 200, 'ChartMuseum answers through the Service');
    assert.equal((await http(`${syncUrl}/healthz`)).status, 200, 'the sidecar answers through the Service');
    assert.equal((await http(`${syncUrl}/repo`)).status, 401, 'the sidecar API wants the token');
  });

  test('the example Chartmuseum resource: the in-cluster operator publishes its charts; helm repo add + template', async () => {
    const example = parse(await readFile(join(repoRoot, 'examples/chartmuseum.yaml'), 'utf8')) as Obj;
    example.metadata.namespace = NS;
    example.spec.git = daemon.url('mycharts');
    await node.kubectl(['apply', '-f', '-'], JSON.stringify(example));
    const cm = await waitFor('Chartmuseum Ready', async () => {
      const o = await json(['get', 'chartmuseum', 'mycharts', '-n', NS]);
      const ready = o.status?.conditions?.find((c: Obj) => c.type === 'Ready');
      return ready?.status === 'True' ? o : undefined;
    });
    const names = (cm.status.charts as Obj[]).map((c) => `${c.name}-${c.version}`).sort();
    assert.deepEqual(names, ['backend-0.3.0', 'common-1.0.0', 'frontend-1.1.0']);
    const index = parse((await http(`${cmUrl}/mycharts/index.yaml`)).text) as Obj;
    assert.deepEqual(Object.keys(index.entries).sort(), ['backend', 'common', 'frontend']);
    await helm.run(['repo', 'add', 'mycharts', `${cmUrl}/mycharts`]);
    const rendered = await helm.run(['template', 'web', 'mycharts/frontend', '--version', '1.1.0']);
    assert.match(rendered, /kind: Deployment/);
    assert.match(rendered, /name: web-frontend/);
    // The operator's ServiceAccount is the chart's, with only the chart's RBAC.
    const op = await json(['get', 'deployment', `${FULL}-operator`, '-n', NS]);
    assert.equal(op.spec.template.spec.serviceAccountName, `${FULL}-operator`);
    // `kubectl auth can-i` exits 0 for yes, 1 for no.
    const can = (verb: string, res: string) =>
      node
        .kubectl(['auth', 'can-i', verb, res, '-n', NS, `--as=system:serviceaccount:${NS}:${FULL}-operator`])
        .then(
          () => 'yes',
          () => 'no',
        );
    assert.equal(await can('create', 'cronjobs.batch'), 'yes');
    assert.equal(await can('create', 'pods'), 'no');
    assert.equal(await can('delete', 'secrets'), 'no');
    assert.equal(await can('create', 'clusterroles.rbac.authorization.k8s.io'), 'no');
  });

  test('the CronJob fires (a Job from it): its pod calls the sidecar through the Service with the token from the Secret; a pushed change appears', async () => {
    // A new backend, and the frontend that embeds it gets a new version too (same version with
    // other content would be a conflict: published versions are immutable).
    const bump = async (chart: string, from: string, to: string) => {
      const file = join(repo.work, 'charts', chart, 'Chart.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace(`version: ${from}`, `version: ${to}`));
    };
    await bump('backend', '0.3.0', '0.4.0');
    await bump('frontend', '1.1.0', '1.2.0');
    await repo.commit('backend 0.4.0, frontend 1.2.0');
    await repo.push();
    const cj = await json(['get', 'cronjob', 'mycharts-sync', '-n', NS]);
    const c = cj.spec.jobTemplate.spec.template.spec.containers[0];
    assert.equal(c.image, images.curl.ref);
    const tokenEnv = (c.env as Obj[]).find((e) => e.name === 'SIDECAR_TOKEN');
    assert.ok(tokenEnv?.valueFrom?.secretKeyRef, 'the token comes from a Secret, never inline');
    assert.ok(!JSON.stringify(cj).includes(token), 'the admin token is not in the CronJob');
    await node.kubectl(['create', 'job', '--from=cronjob/mycharts-sync', 'sync-now', '-n', NS]);
    const job = await waitFor('the Job to finish', async () => {
      const j = await json(['get', 'job', 'sync-now', '-n', NS]);
      if (j.status?.failed) throw new Error(`the sync Job failed: ${JSON.stringify(j.status)}`);
      return j.status?.succeeded === 1 ? j : undefined;
    });
    assert.equal(job.status.succeeded, 1, 'curl -f got a 2xx from /repo/mycharts/update');
    const index = parse((await http(`${cmUrl}/mycharts/index.yaml`)).text) as Obj;
    const versions = (name: string) => (index.entries[name] as Obj[]).map((e) => e.version);
    assert.deepEqual(
      versions('backend'),
      ['0.4.0', '0.3.0'],
      'the pushed version is published, the old one kept',
    );
    assert.deepEqual(versions('frontend'), ['1.2.0', '1.1.0']);
    const view = JSON.parse((await http(`${syncUrl}/repo/mycharts`, { headers: auth() })).text) as Obj;
    assert.equal(view.lastSync.commit, await repo.head(), 'the sidecar synced the pushed commit');
  });

  test('a pod has no route off the machine: its packets to a non-bridge address are dropped by the FORWARD rule', async () => {
    // "Outside" made on this machine: a network namespace behind a veth pair, with a TEST-NET-3
    // address (RFC 5737) routed to it. A packet from a pod to it is forwarded, exactly like one to
    // the internet would be; nothing leaves the machine even if the rule were missing.
    const [host, peer] = ['cseg0', 'cseg1'];
    const target = '203.0.113.7';
    const sh = async (cmd: string, args: string[]) => (await run(cmd, args)).stdout;
    const dropped = async () => {
      const rules = await sh('iptables', ['-L', 'FORWARD', '-v', '-x', '-n']);
      const line = rules.split('\n').find((l) => l.includes('chartsync-node: pods stay on this machine'));
      assert.ok(line, `the harness's FORWARD rule is in place:\n${rules}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    // A listener in a network namespace of its own (unshare: no /run/netns mount, which
    // containerd's pod namespaces live in), answering HTTP and reporting every connection.
    const listener = spawn('unshare', [
      '--net',
      '--',
      process.execPath,
      '-e',
      `const s = require('net').createServer((c) => { console.log('connection'); c.end('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nhi'); });
       const listen = () => s.listen(8080, '${target}', () => console.log('listening'));
       s.on('error', () => setTimeout(listen, 100)); listen(); console.log('started');`,
    ]);
    let heard = '';
    listener.stdout?.on('data', (d) => (heard += d));
    const connections = () => heard.split('connection').length - 1;
    try {
      // Printed once node runs, so after unshare has moved the process into its namespace.
      await waitFor('the listener process', async () => heard.includes('started'), 10_000);
      const pid = String(listener.pid);
      await sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', pid]);
      await sh('ip', ['addr', 'add', '203.0.113.1/24', 'dev', host]);
      await sh('ip', ['link', 'set', host, 'up']);
      const inside = (args: string[]) => sh('nsenter', ['-t', pid, '-n', 'ip', ...args]);
      await inside(['addr', 'add', `${target}/24`, 'dev', peer]);
      await inside(['link', 'set', peer, 'up']);
      await inside(['route', 'add', 'default', 'via', '203.0.113.1']);
      await waitFor('the outside listener', async () => heard.includes('listening'), 10_000);
      // Control: the host itself reaches it (no forwarding involved), so a miss below is the rule.
      assert.equal((await http(`http://${target}:8080/`)).text, 'hi');
      // The listener's report comes through a pipe, possibly after the answer did.
      await waitFor('the listener to report the host connection', async () => connections() === 1, 10_000);
      const before = await dropped();
      await node.kubectl([
        'run',
        'egress',
        '-n',
        NS,
        `--image=${images.curl.ref}`,
        '--image-pull-policy=Never',
        '--restart=Never',
        '--',
        '-sS',
        '--max-time',
        '5',
        `http://${target}:8080/`,
      ]);
      const pod = await waitFor('the egress pod to end', async () => {
        const p = await json(['get', 'pod', 'egress', '-n', NS]);
        return ['Succeeded', 'Failed'].includes(p.status?.phase) ? p : undefined;
      });
      const exit = pod.status.containerStatuses[0].state.terminated.exitCode;
      assert.equal(pod.status.phase, 'Failed', 'curl from the pod must not reach the outside');
      assert.equal(exit, 28, 'curl timed out (28): its packets were dropped, not refused');
      assert.equal(connections(), 1, 'no connection from the pod arrived');
      assert.ok((await dropped()) > before, "the harness's DROP rule counted the pod's packets");
    } finally {
      // The namespace (and the veth pair in it) ends with its only process.
      listener.kill();
      await run('ip', ['link', 'del', host]).catch(() => undefined);
      await node.kubectl(['delete', 'pod', 'egress', '-n', NS, '--ignore-not-found', '--wait=false']);
    }
  });

  test('helm upgrade keeps the token, the published charts and the sync state (on the volume)', async () => {
    const before = JSON.parse((await http(`${syncUrl}/repo/mycharts`, { headers: auth() })).text) as Obj;
    const oldPod = (await json(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=chartmuseum']))
      .items[0].metadata.name;
    await explained(
      helm.run([
        'upgrade',
        REL,
        chartDir,
        ...kc(),
        ...values(),
        '--set',
        'podAnnotations.rolled=yes',
        '--wait',
        '--timeout',
        '4m',
      ]),
    );
    const pods = (await json(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=chartmuseum']))
      .items as Obj[];
    assert.ok(
      pods.every((p) => p.metadata.name !== oldPod),
      'a new ChartMuseum pod',
    );
    const secret = await json(['get', 'secret', `${FULL}-sidecar-token`, '-n', NS]);
    assert.equal(Buffer.from(secret.data.token, 'base64').toString(), token, 'same token');
    // The new pod knows the repository at once: registrations and sync state came with the volume.
    const after = await http(`${syncUrl}/repo/mycharts`, { headers: auth() });
    assert.equal(after.status, 200, `the new sidecar knows mycharts: ${after.text}`);
    assert.equal((JSON.parse(after.text) as Obj).lastSync.commit, before.lastSync.commit);
    assert.ok((await readdir(join(storage, '.chartsync'))).includes('registry.json'), 'state on the volume');
    const index = parse((await http(`${cmUrl}/mycharts/index.yaml`)).text) as Obj;
    assert.deepEqual(Object.keys(index.entries).sort(), ['backend', 'common', 'frontend']);
    const update = JSON.parse(
      (await http(`${syncUrl}/repo/mycharts/update`, { method: 'POST', headers: auth() })).text,
    ) as Obj;
    assert.deepEqual(
      [...new Set((update.charts as Obj[]).map((c) => c.action))],
      ['unchanged'],
      'what this repo published is still known as its own (no conflicts after a new pod)',
    );
  });

  test('two operator replicas: one leader; kill its pod and the other takes over', async () => {
    const leaseName = `${FULL}-operator`;
    const holder = await waitFor(
      'a leader',
      async () => (await json(['get', 'lease', leaseName, '-n', NS])).spec.holderIdentity as string,
    );
    const opPods = (await json(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator']))
      .items as Obj[];
    assert.equal(opPods.length, 2);
    assert.ok(
      opPods.some((p) => p.metadata.name === holder),
      `the leader ${holder} is one of the operator pods`,
    );
    await node.kubectl(['delete', 'pod', holder, '-n', NS, '--grace-period=0', '--force']);
    const next = await waitFor(
      'a new leader',
      async () => {
        const h = (await json(['get', 'lease', leaseName, '-n', NS])).spec.holderIdentity as string;
        return h && h !== holder ? h : undefined;
      },
      90_000,
    );
    // The survivor, or the replacement the Deployment started meanwhile: both race for the
    // expired lease, and either is a correct takeover.
    const live = (await json(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator']))
      .items as Obj[];
    assert.ok(
      live.some((p) => p.metadata.name === next && !p.metadata.deletionTimestamp),
      `the new leader ${next} is a running operator pod`,
    );
    // The new leader reconciles: a deleted CronJob comes back.
    const uid = (await json(['get', 'cronjob', 'mycharts-sync', '-n', NS])).metadata.uid;
    await node.kubectl(['delete', 'cronjob', 'mycharts-sync', '-n', NS]);
    await waitFor('the CronJob restored by the new leader', async () => {
      const cj = await json(['get', 'cronjob', 'mycharts-sync', '-n', NS]);
      return cj.metadata.uid !== uid;
    });
  });

  test('kubectl delete of the resource cleans up: repository, charts, CronJob', async () => {
    await node.kubectl(['delete', 'chartmuseum', 'mycharts', '-n', NS, '--timeout=90s']);
    await waitFor('the CronJob gone', async () =>
      node.kubectl(['get', 'cronjob', 'mycharts-sync', '-n', NS]).then(
        () => false,
        (e: Error) => /NotFound/.test(e.message),
      ),
    );
    assert.equal(
      (await http(`${syncUrl}/repo/mycharts`, { headers: auth() })).status,
      404,
      'repository forgotten',
    );
    const index = parse((await http(`${cmUrl}/mycharts/index.yaml`)).text) as Obj;
    assert.deepEqual(index.entries ?? {}, {}, 'no chart served');
    const left = await readdir(join(storage, 'mycharts')).catch(() => [] as string[]);
    assert.deepEqual(
      left.filter((f) => f.endsWith('.tgz')),
      [],
      'no archive left on the volume',
    );
  });

  test('helm uninstall removes everything the chart created (the CRD stays by its resource policy)', async () => {
    const manifest = await helm.run(['get', 'manifest', REL, ...kc()]);
    const objects = manifest
      .split(/^---$/m)
      .map((d) => parse(d) as Obj)
      .filter((o) => o?.kind);
    await helm.run(['uninstall', REL, ...kc(), '--wait', '--timeout', '2m']);
    for (const o of objects) {
      const ref = [
        `${o.kind.toLowerCase()}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(
          /\.$/,
          '',
        ),
        o.metadata.name,
      ];
      const gone = await node.kubectl(['get', ...ref, '-n', NS]).then(
        () => false,
        (e: Error) => /NotFound/.test(e.message),
      );
      if (o.kind === 'CustomResourceDefinition') assert.equal(gone, false, 'the CRD is kept');
      else assert.ok(gone, `${o.kind} ${o.metadata.name} removed`);
    }
    await waitFor(
      'no pod left',
      async () => (await json(['get', 'pods', '-n', NS])).items.length === 0,
      90_000,
    );
  });

  test('stopping the node leaves the machine as found (sysctls, host paths, iptables, bridge, cgroups, processes)', async () => {
    await daemon.stop();
    const left = await node.stop();
    assert.deepEqual(left, [], 'nothing left behind');
  });
});
