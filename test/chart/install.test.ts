/**
 * The chart with the real helm client in a real API server (etcd + kube-apiserver, no nodes):
 * install with operator.enabled=true, every object accepted by server-side validation and the
 * pods admitted under the `restricted` Pod Security Standard; upgrade keeps the token; the
 * operator, run locally with the chart ServiceAccount's own token, reconciles a Chartmuseum
 * against a real sidecar (RBAC sufficient), SelfSubjectAccessReviews show it is no wider than
 * needed; uninstall removes everything but the CRD (kept by its resource policy).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { type Envtest, freePort, startEnvtest } from '../harness/envtest.ts';
import { RepoRoot } from '../harness/git/repo.ts';
import {
  apply,
  findCondition,
  KubeError,
  kubeRequest,
  loadKubeConfig,
  parseManifests,
  serviceAccountKubeconfig,
  waitFor,
} from '../harness/kube.ts';
import { chartsyncBin, operatorBin, tempDir } from '../harness/paths.ts';
import { chartDir, helm, helmOk, type Manifest, type Obj } from './helm.ts';

const NS = 'chartsync-system';
const REL = 'cm';
const FULL = 'cm-chartmuseum';
const OP = 'cm-chartmuseum-operator';
const TOKEN_SECRET = 'cm-chartmuseum-sidecar-token';
const TEAM = 'team-a';

const installValues = [
  '--set',
  'operator.enabled=true',
  '--set',
  'networkPolicy.enabled=true',
  '--set',
  'persistence.enabled=true',
  '--set',
  'serviceAccount.create=true',
  '--set',
  'ingress.enabled=true',
  '--set',
  'ingress.hosts[0].name=charts.example.com',
  '--set',
  'env.secret.BASIC_AUTH_USER=admin',
  '--set',
  'env.secret.BASIC_AUTH_PASS=not-in-any-log',
];

/** REST path of a namespaced or cluster object, by kind (the kinds this chart renders). */
function pathOf(o: {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}): string {
  const plural: Record<string, string> = {
    ServiceAccount: 'serviceaccounts',
    Service: 'services',
    Secret: 'secrets',
    PersistentVolumeClaim: 'persistentvolumeclaims',
    Deployment: 'deployments',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
    Ingress: 'ingresses',
    NetworkPolicy: 'networkpolicies',
    CustomResourceDefinition: 'customresourcedefinitions',
    CronJob: 'cronjobs',
    Lease: 'leases',
    Chartmuseum: 'chartmuseums',
    Pod: 'pods',
  };
  const res = plural[o.kind ?? ''];
  assert.ok(res, `no REST path known for kind ${o.kind}`);
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  const ns = o.metadata?.namespace ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${res}/${o.metadata?.name}`;
}

async function getObj<T = Obj>(kc: KubeConfig, o: Parameters<typeof pathOf>[0]): Promise<T | undefined> {
  try {
    return await kubeRequest<T>(kc, 'GET', pathOf(o));
  } catch (err) {
    if (err instanceof KubeError && err.code === 404) return undefined;
    throw err;
  }
}

interface Proc {
  child: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Proc {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  for (const s of [child.stdout, child.stderr]) {
    let rest = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      logs.push(...lines.filter(Boolean));
    });
  }
  const exited = once(child, 'exit');
  return {
    child,
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function httpStatus(url: string, token?: string): Promise<number> {
  try {
    const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

describe('the chart in a real API server', { concurrency: false }, () => {
  let env: Envtest;
  let admin: KubeConfig;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let manifest: Manifest[] = [];
  let token = '';
  const procs: Proc[] = [];
  const helmKube = () => ['--kubeconfig', env.kubeconfigPath, '--namespace', NS];

  before(async () => {
    work = await tempDir('chartsync-chart-install-');
    env = await startEnvtest();
    admin = loadKubeConfig(env.kubeconfigPath);
    // The release namespace enforces the `restricted` Pod Security Standard.
    await apply(admin, [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: NS,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      } as KubernetesObject,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEAM } } as KubernetesObject,
    ]);
  });

  after(async () => {
    for (const p of procs) await p.stop();
    await env?.stop();
    await work?.cleanup();
  });

  test('operator.crd.create=false and no CRD in the cluster: none installed, and NOTES say so', async () => {
    const ns = 'no-crd';
    const r = await helm([
      'install',
      'nocrd',
      chartDir,
      '--kubeconfig',
      env.kubeconfigPath,
      '-n',
      ns,
      '--create-namespace',
      '--set',
      'operator.enabled=true',
      '--set',
      'operator.crd.create=false',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /WARNING: the CustomResourceDefinition chartmuseums\.cm\.bitnami\.com was not found/,
    );
    assert.equal(await getObj(admin, crdRef), undefined);
    await helmOk(['uninstall', 'nocrd', '--kubeconfig', env.kubeconfigPath, '-n', ns]);
  });

  test('plain ChartMuseum (operator.enabled=false): NOTES show how to add the repository', async () => {
    const kube = ['--kubeconfig', env.kubeconfigPath, '-n', 'plain', '--create-namespace'];
    const r = await helm(['install', 'museum', chartDir, ...kube]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /port-forward svc\/museum-chartmuseum 8080:8080/);
    assert.match(r.stdout, /helm repo add chartmuseum http:\/\/localhost:8080/);
    assert.match(r.stdout, /upload API is disabled/);
    assert.doesNotMatch(r.stdout, /kind: Chartmuseum/);
    assert.equal(await getObj(admin, crdRef), undefined, 'no CRD (no cluster-scoped rights needed)');
    await helmOk(['uninstall', 'museum', ...kube.slice(0, 4)]);
  });

  test('helm install --set operator.enabled=true: every object accepted by the API server', async () => {
    const r = await helm(['install', REL, chartDir, ...helmKube(), ...installValues]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stderr, /PodSecurity|violate/i, 'no Pod Security warnings for the workloads');
    assert.doesNotMatch(r.stdout + r.stderr, /not-in-any-log/, 'secret values are not echoed');
    // NOTES: how to create a Chartmuseum and add the repository.
    assert.match(r.stdout, /kind: Chartmuseum/);
    assert.match(r.stdout, /helm repo add mycharts http:\/\/charts\.example\.com\/mycharts/);
    assert.doesNotMatch(
      r.stdout,
      /CustomResourceDefinition .* was not found/,
      'the CRD was installed with the release',
    );

    manifest = parseManifests(await helmOk(['get', 'manifest', REL, ...helmKube()])) as Manifest[];
    const kinds = manifest.map((m) => m.kind).sort();
    assert.deepEqual(kinds, [
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'Deployment',
      'Deployment',
      'Ingress',
      'NetworkPolicy',
      'PersistentVolumeClaim',
      'Role',
      'RoleBinding',
      'Secret',
      'Secret',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
    for (const m of manifest) {
      const live = await getObj(admin, {
        ...m,
        metadata: { ...m.metadata, namespace: m.metadata.namespace ?? (isClusterScoped(m) ? undefined : NS) },
      });
      assert.ok(live, `${m.kind} ${m.metadata.name} exists in the API server`);
      assert.equal(live.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
    }
    assert.ok(await getObj(admin, crdRef), 'CRD installed with the release');
    const secret = await getObj(admin, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TOKEN_SECRET, namespace: NS },
    });
    token = Buffer.from(secret?.data.token, 'base64').toString();
    assert.match(token, /^[A-Za-z0-9]{48}$/);
  });

  test('pods of both Deployments are admitted under the restricted Pod Security Standard', async () => {
    // Control: the namespace really enforces it (a plain pod is refused).
    await assert.rejects(
      kubeRequest(admin, 'POST', `/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'plain' },
        // (the chart's ServiceAccount: no controller-manager creates `default` here)
        spec: { serviceAccountName: FULL, containers: [{ name: 'c', image: 'busybox' }] },
      }),
      /violates PodSecurity "restricted/,
    );
    const deployments = manifest.filter((m) => m.kind === 'Deployment');
    assert.equal(deployments.length, 2);
    for (const d of deployments) {
      const name = `${d.metadata.name}-admission`;
      const pod = await kubeRequest<Obj>(admin, 'POST', `/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: d.spec.template.metadata.labels },
        spec: d.spec.template.spec,
      });
      assert.equal(pod.metadata.name, name);
      // Never scheduled (no nodes), so deletion is immediate.
      await kubeRequest(admin, 'DELETE', `/api/v1/namespaces/${NS}/pods/${name}`);
    }
  });

  test('helm upgrade keeps the generated token', async () => {
    const before = await getObj(admin, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TOKEN_SECRET, namespace: NS },
    });
    await helmOk([
      'upgrade',
      REL,
      chartDir,
      ...helmKube(),
      '--reuse-values',
      '--set',
      'operator.logLevel=debug',
    ]);
    const afterUp = await getObj(admin, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TOKEN_SECRET, namespace: NS },
    });
    assert.equal(afterUp?.data.token, before?.data.token, 'same token after upgrade');
    const op = await getObj(admin, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: OP, namespace: NS },
    });
    const logLevel = op?.spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'LOG_LEVEL');
    assert.equal(logLevel.value, 'debug', 'the upgrade was applied');
    // A second upgrade with all values re-given (not --reuse-values) keeps it too.
    await helmOk(['upgrade', REL, chartDir, ...helmKube(), ...installValues]);
    const again = await getObj(admin, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: TOKEN_SECRET, namespace: NS },
    });
    assert.equal(again?.data.token, before?.data.token);
    const history = await helmOk(['history', REL, ...helmKube(), '-o', 'json']);
    assert.equal(JSON.parse(history).length, 3);
  });

  /** SelfSubjectAccessReviews made with a TokenRequest token of the operator ServiceAccount. */
  async function operatorAccess(): Promise<(a: Access) => Promise<boolean>> {
    const sa = await serviceAccountKubeconfig(admin, NS, OP, join(work.path, 'ssar.kubeconfig'));
    return async (a) => {
      const review = await kubeRequest<Obj>(
        sa,
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group: '', ...a } },
        },
      );
      return review.status.allowed === true;
    };
  }

  test('the operator ServiceAccount may do what the operator does, and nothing more', async () => {
    const can = await operatorAccess();
    const allowed: [string, string, string, string?][] = [];
    for (const v of ['get', 'list', 'watch', 'update', 'patch'])
      allowed.push([v, 'cm.bitnami.com', 'chartmuseums']);
    for (const v of ['get', 'update', 'patch']) allowed.push([v, 'cm.bitnami.com', 'chartmuseums', 'status']);
    allowed.push(['update', 'cm.bitnami.com', 'chartmuseums', 'finalizers']);
    for (const v of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])
      allowed.push([v, 'batch', 'cronjobs']);
    for (const v of ['get', 'create', 'update', 'patch']) allowed.push([v, '', 'secrets']);
    for (const g of ['', 'events.k8s.io'])
      for (const v of ['create', 'patch']) allowed.push([v, g, 'events']);
    for (const [verb, group, resource, subresource] of allowed) {
      for (const namespace of [TEAM, NS]) {
        assert.ok(
          await can({ verb, group, resource, namespace, ...(subresource ? { subresource } : {}) }),
          `may ${verb} ${group}/${resource}${subresource ? `/${subresource}` : ''} in ${namespace}`,
        );
      }
    }
    assert.ok(
      await can({ verb: 'watch', group: 'cm.bitnami.com', resource: 'chartmuseums' }),
      'may watch all namespaces',
    );
    for (const verb of ['get', 'create', 'update']) {
      assert.ok(
        await can({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: NS }),
        `may ${verb} leases in ${NS}`,
      );
    }
    const denied: Access[] = [
      { verb: 'delete', resource: 'secrets', namespace: TEAM },
      { verb: 'list', resource: 'secrets' },
      { verb: 'watch', resource: 'secrets', namespace: TEAM },
      { verb: 'deletecollection', resource: 'secrets', namespace: TEAM },
      { verb: 'get', resource: 'pods', namespace: TEAM },
      { verb: 'list', resource: 'pods' },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: NS },
      { verb: 'get', resource: 'configmaps', namespace: TEAM },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: NS },
      { verb: 'delete', resource: 'namespaces' },
      { verb: 'get', resource: 'nodes' },
      { verb: 'create', group: 'apps', resource: 'deployments', namespace: TEAM },
      { verb: 'update', group: 'apps', resource: 'deployments', namespace: NS },
      { verb: 'create', group: 'batch', resource: 'jobs', namespace: TEAM },
      { verb: 'create', group: 'cm.bitnami.com', resource: 'chartmuseums', namespace: TEAM },
      { verb: 'delete', group: 'cm.bitnami.com', resource: 'chartmuseums', namespace: TEAM },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: TEAM },
      { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
      { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
      { verb: 'impersonate', resource: 'users' },
      { verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: NS },
      { verb: 'get', group: 'events.k8s.io', resource: 'events', namespace: TEAM },
    ];
    for (const a of denied) {
      assert.equal(
        await can(a),
        false,
        `must not ${a.verb} ${a.group ?? ''}/${a.resource}${a.subresource ? `/${a.subresource}` : ''} in ${a.namespace ?? 'the cluster'}`,
      );
    }
  });

  /**
   * Runs the operator locally as the chart runs it (its Deployment's env, its ServiceAccount's
   * token) against a real sidecar, and takes one Chartmuseum in `team-a` through create,
   * Ready, CronJob, and delete. Any RBAC denial the operator meets fails it.
   */
  async function reconcileScenario(resource: string): Promise<void> {
    assert.ok(existsSync(operatorBin), `${operatorBin} is built (pnpm build)`);
    assert.ok(existsSync(chartsyncBin), `${chartsyncBin} is built (pnpm build)`);
    assert.ok(token, 'the install test read the token');
    // A local bare git repository with one chart.
    const repos = new RepoRoot(join(work.path, `git-${resource}`));
    const repo = await repos.create(resource, {
      'demo/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\ndescription: demo chart\n',
      'demo/values.yaml': 'greeting: hello\n',
      'demo/templates/configmap.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\ndata:\n  greeting: {{ .Values.greeting }}\n',
    });
    const commit = await repo.head();

    // The real sidecar with the chart's token.
    const storage = join(work.path, `storage-${resource}`);
    const sidecarPort = await freePort();
    const sidecar = startProc(
      chartsyncBin,
      [
        'serve',
        '--storage-dir',
        storage,
        '--allow-local-git',
        '--token',
        token,
        '--port',
        String(sidecarPort),
      ],
      { ...process.env, LOG_LEVEL: 'info' },
      work.path,
    );
    procs.push(sidecar);
    const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
    await waitFor('sidecar /healthz', async () => (await httpStatus(`${sidecarUrl}/healthz`)) === 200, {
      timeoutMs: 30_000,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${sidecar.logs.join('\n')}`);
    });

    // The operator: env exactly as the chart's Deployment sets it, except where the process
    // runs (local sidecar URL, the token file, the ServiceAccount kubeconfig, a free port).
    const dep = await getObj(admin, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: OP, namespace: NS },
    });
    const container = dep?.spec.template.spec.containers[0];
    const chartEnv: Record<string, string> = {};
    for (const e of container.env as Obj[]) {
      if (e.value !== undefined) chartEnv[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') chartEnv[e.name] = NS;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') chartEnv[e.name] = `${OP}-${resource}`;
    }
    assert.equal(chartEnv.LEADER_ELECTION, 'true');
    const saKubeconfig = join(work.path, `operator-${resource}.kubeconfig`);
    await serviceAccountKubeconfig(admin, NS, dep?.spec.template.spec.serviceAccountName, saKubeconfig);
    const tokenFile = join(work.path, `token-${resource}`);
    await writeFile(tokenFile, token, { mode: 0o600 });
    const opEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: work.path,
      ...chartEnv,
      // CronJobs keep calling the in-cluster Service; this process calls the local sidecar.
      CRONJOB_SIDECAR_URL: chartEnv.SIDECAR_URL,
      SIDECAR_URL: sidecarUrl,
      SIDECAR_TOKEN_FILE: tokenFile,
      KUBECONFIG: saKubeconfig,
      PORT: String(await freePort()),
      TMPDIR: work.path,
    };
    const operator = startProc(operatorBin, [], opEnv, work.path);
    procs.push(operator);
    const opPort = opEnv.PORT;
    await waitFor(
      'operator /healthz',
      async () => (await httpStatus(`http://127.0.0.1:${opPort}/healthz`)) === 200,
      {
        timeoutMs: 30_000,
      },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\n${operator.logs.join('\n')}`);
    });

    const cmRef = {
      apiVersion: 'cm.bitnami.com/v1alpha1',
      kind: 'Chartmuseum',
      metadata: { name: resource, namespace: TEAM },
    };
    await apply(admin, [
      { ...cmRef, spec: { git: `file://${repo.bare}`, updateEveryMinutes: 15 } } as KubernetesObject,
    ]);
    const ready = await waitFor(
      `Chartmuseum ${resource} Ready=True`,
      async () => {
        // An RBAC denial fails at once instead of waiting out the operator's backoff.
        const denial = operator.logs.find((l) => /forbidden|\b403\b/i.test(l));
        if (denial) return { denial };
        const cm = await getObj(admin, cmRef);
        return findCondition(cm, 'Ready')?.status === 'True' ? cm : undefined;
      },
      { timeoutMs: 90_000 },
    ).catch(async (err) => {
      const cm = await getObj(admin, cmRef);
      throw new Error(
        `${(err as Error).message}\nstatus: ${JSON.stringify(cm?.status)}\noperator:\n${operator.logs.join('\n')}\nsidecar:\n${sidecar.logs.slice(-30).join('\n')}`,
      );
    });
    assert.equal(ready?.denial, undefined, 'the operator hit an RBAC denial');
    assert.equal(ready?.status.lastSyncedCommit, commit);
    assert.deepEqual(
      ready?.status.charts.map((c: Obj) => `${c.name}-${c.version}`),
      ['demo-0.1.0'],
    );
    assert.equal(
      ready?.status.url,
      `http://charts.example.com/${resource}/index.yaml`,
      'status.url from CHARTMUSEUM_URL',
    );
    assert.ok(ready?.metadata.finalizers?.length, 'finalizer added (chartmuseums update)');
    assert.ok(
      existsSync(join(storage, resource, 'demo-0.1.0.tgz')),
      'published where ChartMuseum (DEPTH=1) serves it',
    );

    // The CronJob (created in the resource's namespace) and what the NetworkPolicy admits.
    const cron = await getObj(admin, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: `${resource}-sync`, namespace: TEAM },
    });
    assert.ok(cron, `CronJob ${resource}-sync`);
    assert.equal(cron.spec.schedule, '*/15 * * * *');
    const podLabels = cron.spec.jobTemplate.spec.template.metadata.labels;
    const np = manifest.find((m) => m.kind === 'NetworkPolicy') as Manifest;
    const jobPeer = np.spec.ingress[1].from[1];
    for (const [k, v] of Object.entries(jobPeer.podSelector.matchLabels)) {
      assert.equal(podLabels[k], v, `sync pods carry ${k}=${v}, so the NetworkPolicy admits them`);
    }
    assert.equal(cron.spec.jobTemplate.spec.template.spec.containers[0].image, chartEnv.CRONJOB_IMAGE);
    const cronText = JSON.stringify(cron);
    assert.ok(!cronText.includes(token), 'the token is not inline in the CronJob');
    // Scoped tokens: the CronJob's own Secret holds its repo's update token, never the admin one.
    const cronSecret = await getObj(admin, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${resource}-sync-token`, namespace: TEAM },
    });
    assert.ok(cronSecret, 'the token Secret for the CronJob (secrets create)');
    const scoped = Buffer.from(String(cronSecret.data?.token ?? ''), 'base64').toString();
    assert.match(scoped, new RegExp(`^update\\.${resource}\\.`), 'an update token scoped to this repo');
    assert.ok(!scoped.includes(token), 'the admin token stays with the operator');
    // Leader election on the Lease the Role allows.
    const lease = await getObj(admin, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: chartEnv.LEASE_NAME, namespace: NS },
    });
    assert.equal(lease?.spec.holderIdentity, chartEnv.POD_NAME, 'this operator holds the Lease');
    // Events recorded.
    const events = await kubeRequest<Obj>(admin, 'GET', `/api/v1/namespaces/${TEAM}/events`);
    const eventsV1 = await kubeRequest<Obj>(admin, 'GET', `/apis/events.k8s.io/v1/namespaces/${TEAM}/events`);
    assert.ok(events.items.length + eventsV1.items.length > 0, 'events recorded');

    // Deletion: the operator removes the repo, the CronJob and its finalizer.
    await kubeRequest(admin, 'DELETE', pathOf(cmRef));
    await waitFor(`Chartmuseum ${resource} gone`, async () => (await getObj(admin, cmRef)) === undefined, {
      timeoutMs: 60_000,
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\noperator:\n${operator.logs.join('\n')}`);
    });
    assert.equal(
      await getObj(admin, {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: `${resource}-sync`, namespace: TEAM },
      }),
      undefined,
    );
    assert.equal(
      await httpStatus(`${sidecarUrl}/repo/${resource}`, token),
      404,
      'the sidecar forgot the repo',
    );

    const forbidden = operator.logs.filter((l) => /forbidden|\b403\b/i.test(l));
    assert.deepEqual(forbidden, [], 'the operator never hit an RBAC denial');
    assert.ok(
      !operator.logs.concat(sidecar.logs).some((l) => l.includes(token)),
      'the token never reaches a log',
    );
    await operator.stop();
    await sidecar.stop();
  }

  test(
    'the operator, with the chart ServiceAccount token and the chart Deployment env, reconciles a Chartmuseum via a real sidecar',
    { timeout: 180_000 },
    () => reconcileScenario('demo-repo'),
  );

  test('operator.watchNamespace: an upgrade narrows the grant to that namespace', async () => {
    await helmOk([
      'upgrade',
      REL,
      chartDir,
      ...helmKube(),
      '--reuse-values',
      '--set',
      `operator.watchNamespace=${TEAM}`,
    ]);
    manifest = parseManifests(await helmOk(['get', 'manifest', REL, ...helmKube()])) as Manifest[];
    assert.equal(manifest.filter((m) => m.kind === 'ClusterRoleBinding').length, 0);
    assert.equal(
      await getObj(admin, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `${NS}-${OP}` },
      }),
      undefined,
      'the cluster-wide binding is gone',
    );
    const can = await operatorAccess();
    for (const a of [
      { verb: 'watch', group: 'cm.bitnami.com', resource: 'chartmuseums', namespace: TEAM },
      {
        verb: 'update',
        group: 'cm.bitnami.com',
        resource: 'chartmuseums',
        subresource: 'finalizers',
        namespace: TEAM,
      },
      { verb: 'create', group: 'batch', resource: 'cronjobs', namespace: TEAM },
      { verb: 'create', resource: 'secrets', namespace: TEAM },
      { verb: 'create', resource: 'events', namespace: TEAM },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
    ]) {
      assert.ok(await can(a), `may ${a.verb} ${a.resource} in ${a.namespace}`);
    }
    for (const a of [
      { verb: 'watch', group: 'cm.bitnami.com', resource: 'chartmuseums' },
      { verb: 'list', group: 'cm.bitnami.com', resource: 'chartmuseums', namespace: NS },
      { verb: 'get', resource: 'secrets', namespace: NS },
      { verb: 'get', resource: 'secrets', namespace: 'kube-system' },
      { verb: 'create', group: 'batch', resource: 'cronjobs', namespace: 'default' },
    ]) {
      assert.equal(
        await can(a),
        false,
        `must not ${a.verb} ${a.resource} in ${a.namespace ?? 'all namespaces'}`,
      );
    }
  });

  test('the operator reconciles with the namespace-scoped grant', { timeout: 180_000 }, () =>
    reconcileScenario('scoped-repo'),
  );

  test('helm uninstall removes everything but the CRD', async () => {
    assert.ok(manifest.length > 0, 'installed');
    await helmOk(['uninstall', REL, ...helmKube()]);
    for (const m of manifest.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      const ref = {
        ...m,
        metadata: { ...m.metadata, namespace: m.metadata.namespace ?? (isClusterScoped(m) ? undefined : NS) },
      };
      const live = await getObj(admin, ref);
      // There is no controller-manager here: an object with a finalizer (the PVC's
      // kubernetes.io/pvc-protection) is marked for deletion and would go once it runs.
      assert.ok(
        live === undefined || (live.metadata.deletionTimestamp && live.metadata.finalizers?.length),
        `${m.kind} ${m.metadata.name} removed`,
      );
    }
    const crd = await getObj(admin, crdRef);
    assert.ok(
      crd,
      'the CRD stays (helm.sh/resource-policy: keep): deleting it would delete every Chartmuseum',
    );
    assert.equal(crd.metadata.deletionTimestamp, undefined);
    const releases = await helmOk(['list', ...helmKube(), '-o', 'json']);
    assert.deepEqual(JSON.parse(releases), []);
  });
});

interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

const crdRef = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'chartmuseums.cm.bitnami.com' },
};

function isClusterScoped(m: Manifest): boolean {
  return ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace'].includes(m.kind);
}
