/**
 * The chart rendered by the real helm client (`helm lint --strict`, `helm template`), parsed with
 * `yaml` and checked object by object, for both operator.enabled values and every toggle.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../harness/paths.ts';
import {
  chartDir,
  containersOf,
  envOf,
  find,
  get,
  helm,
  helmOk,
  type Manifest,
  type Obj,
  render,
} from './helm.ts';

const CM = 'rel-chartmuseum';
const OP = 'rel-chartmuseum-operator';
const NS = 'charts';

describe('helm lint --strict', () => {
  for (const values of [
    [],
    ['--set', 'operator.enabled=true'],
    [
      '--set',
      'operator.enabled=true',
      '--set',
      'networkPolicy.enabled=true',
      '--set',
      'persistence.enabled=true',
      '--set',
      'ingress.enabled=true',
      '--set',
      'ingress.hosts[0].name=charts.example.com',
      '--set',
      'serviceAccount.create=true',
    ],
    ['--set', 'operator.enabled=true', '--set', 'env.open.STORAGE=amazon'],
  ]) {
    test(`passes with ${values.filter((v) => v !== '--set').join(' ') || 'the defaults'}`, async () => {
      const r = await helm(['lint', '--strict', chartDir, ...values]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    });
  }
});

describe('operator.enabled=false (plain ChartMuseum)', () => {
  test('renders ChartMuseum only: one container, http port, no chartsync objects', async () => {
    const ms = await render();
    assert.deepEqual(ms.map((m) => m.kind).sort(), ['Deployment', 'Service']);
    const dep = get(ms, 'Deployment', CM);
    assert.deepEqual(
      containersOf(dep).map((c) => c.name),
      ['chartmuseum'],
    );
    const env = envOf(containersOf(dep)[0]);
    assert.equal(env.STORAGE?.value, 'local');
    assert.equal(env.STORAGE_LOCAL_ROOTDIR?.value, '/storage');
    assert.equal(env.DISABLE_API?.value, 'true');
    assert.equal(env.DEPTH, undefined, 'DEPTH is null by default and left out');
    const svc = get(ms, 'Service', CM);
    assert.deepEqual(
      svc.spec.ports.map((p: { name: string }) => p.name),
      ['http'],
    );
    assert.equal(svc.spec.ports[0].port, 8080);
    // NetworkPolicy only guards the sidecar port: nothing to guard without the operator.
    const withNp = await render({ 'networkPolicy.enabled': true });
    assert.equal(find(withNp, 'NetworkPolicy'), undefined);
  });

  test('passes upstream-style values through: image, args, env, resources, scheduling', async () => {
    const ms = await render(
      {
        'image.repository': 'registry.example.com/cm',
        'image.tag': 'v9',
        'extraArgs[0]': '--storage-timestamp-tolerance=1s',
        'env.open.ALLOW_OVERWRITE': true,
        'env.open.CHART_URL': 'https://charts.example.com',
        'resources.limits.memory': '256Mi',
        'nodeSelector.disk': 'ssd',
        'tolerations[0].key': 'dedicated',
        'tolerations[0].operator': 'Exists',
        replicaCount: 2,
        'podAnnotations.a': 'b',
      },
      [
        '--set-json',
        'affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}]}}}',
      ],
    );
    const dep = get(ms, 'Deployment', CM);
    const [cm] = containersOf(dep);
    assert.equal(cm?.image, 'registry.example.com/cm:v9');
    assert.deepEqual(cm?.args, ['--port=8080', '--storage-timestamp-tolerance=1s']);
    assert.equal(envOf(cm).ALLOW_OVERWRITE?.value, 'true');
    assert.equal(envOf(cm).CHART_URL?.value, 'https://charts.example.com');
    assert.deepEqual(cm?.resources, { limits: { memory: '256Mi' } });
    const pod = dep.spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { disk: 'ssd' });
    assert.deepEqual(pod.tolerations, [{ key: 'dedicated', operator: 'Exists' }]);
    assert.equal(
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchExpressions[0].key,
      'zone',
    );
    assert.equal(dep.spec.replicas, 2);
    assert.equal(dep.spec.template.metadata.annotations.a, 'b');
  });

  test('env.secret goes into a Secret and reaches the container only by secretKeyRef', async () => {
    const ms = await render({
      'env.secret.BASIC_AUTH_USER': 'admin',
      'env.secret.BASIC_AUTH_PASS': 's3cr3t-pass',
    });
    const secret = get(ms, 'Secret', CM);
    assert.equal(Buffer.from(secret.data.BASIC_AUTH_PASS, 'base64').toString(), 's3cr3t-pass');
    const env = envOf(containersOf(get(ms, 'Deployment', CM))[0]);
    assert.deepEqual(env.BASIC_AUTH_PASS?.valueFrom, { secretKeyRef: { name: CM, key: 'BASIC_AUTH_PASS' } });
    const text = await helmOk([
      'template',
      'rel',
      chartDir,
      '--set',
      'env.secret.BASIC_AUTH_PASS=s3cr3t-pass',
    ]);
    assert.doesNotMatch(text, /s3cr3t-pass/, 'the plain password appears nowhere in the manifests');
    // An existing Secret: mapped keys, no Secret rendered.
    const ext = await render({
      'env.existingSecret': 'cm-creds',
      'env.existingSecretMappings.BASIC_AUTH_PASS': 'pass',
    });
    assert.equal(find(ext, 'Secret'), undefined);
    assert.deepEqual(envOf(containersOf(get(ext, 'Deployment', CM))[0]).BASIC_AUTH_PASS?.valueFrom, {
      secretKeyRef: { name: 'cm-creds', key: 'pass' },
    });
  });

  test('serviceAccount.create makes a ServiceAccount the pod uses; token not mounted by default', async () => {
    const ms = await render({ 'serviceAccount.create': true, 'serviceAccount.annotations.role': 'x' });
    const sa = get(ms, 'ServiceAccount', CM);
    assert.equal(sa.automountServiceAccountToken, false);
    assert.equal(sa.metadata.annotations.role, 'x');
    const pod = get(ms, 'Deployment', CM).spec.template.spec;
    assert.equal(pod.serviceAccountName, CM);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(get(await render(), 'Deployment', CM).spec.template.spec.serviceAccountName, 'default');
  });

  test('service type LoadBalancer/NodePort settings', async () => {
    const lb = get(
      await render({
        'service.type': 'LoadBalancer',
        'service.loadBalancerIP': '10.1.2.3',
        'service.loadBalancerSourceRanges[0]': '10.0.0.0/8',
        'service.externalTrafficPolicy': 'Local',
        'service.externalPort': 80,
      }),
      'Service',
    );
    assert.equal(lb.spec.type, 'LoadBalancer');
    assert.equal(lb.spec.loadBalancerIP, '10.1.2.3');
    assert.deepEqual(lb.spec.loadBalancerSourceRanges, ['10.0.0.0/8']);
    assert.equal(lb.spec.externalTrafficPolicy, 'Local');
    assert.equal(lb.spec.ports[0].port, 80);
    const np = get(await render({ 'service.type': 'NodePort', 'service.nodePort': 30080 }), 'Service');
    assert.equal(np.spec.ports[0].nodePort, 30080);
  });
});

describe('operator.enabled=true', () => {
  test('adds the sidecar container sharing the storage volume in the layout ChartMuseum serves (DEPTH=1)', async () => {
    const ms = await render({ 'operator.enabled': true });
    const dep = get(ms, 'Deployment', CM);
    const [cm, sidecar] = containersOf(dep);
    assert.equal(sidecar?.name, 'sidecar');
    assert.equal(sidecar?.image, 'ghcr.io/chartsync/sidecar:0.1.0', 'tag defaults to the appVersion');
    assert.deepEqual(sidecar?.ports, [{ name: 'sync', containerPort: 3000, protocol: 'TCP' }]);
    assert.deepEqual(sidecar?.args, ['serve', '--port=3000', '--storage-dir=/storage']);
    const cmEnv = envOf(cm);
    assert.equal(cmEnv.DEPTH?.value, '1');
    assert.equal(cmEnv.STORAGE_LOCAL_ROOTDIR?.value, '/storage');
    assert.equal(
      cmEnv.DISABLE_API?.value,
      'true',
      'local storage: the sidecar writes files, the upload API stays off',
    );
    const mountOf = (c: Obj | undefined, vol: string) =>
      (c?.volumeMounts as { name: string; mountPath: string }[] | undefined)?.find((m) => m.name === vol)
        ?.mountPath;
    assert.equal(mountOf(cm, 'storage-volume'), '/storage');
    assert.equal(mountOf(sidecar, 'storage-volume'), '/storage');
    assert.equal(
      envOf(sidecar).CHARTSYNC_DATA_DIR?.value,
      '/storage/.chartsync',
      'sync state on the storage volume: it lives exactly as long as the charts',
    );
    const volumes = dep.spec.template.spec.volumes as Manifest[];
    assert.deepEqual(volumes.find((v) => v.name === 'storage-volume')?.emptyDir, {});
    assert.equal(
      volumes
        .filter((v) => v.emptyDir && v.name.startsWith('sidecar'))
        .map((v) => v.name)
        .join(),
      'sidecar-tmp',
      'no sync state in an emptyDir of its own',
    );
    // Token: a file from the Secret, never a value.
    assert.equal(envOf(sidecar).SIDECAR_TOKEN_FILE?.value, '/var/run/secrets/chartsync/token');
    assert.equal(mountOf(sidecar, 'sidecar-token'), '/var/run/secrets/chartsync');
    assert.equal(
      volumes.find((v) => v.name === 'sidecar-token')?.secret.secretName,
      'rel-chartmuseum-sidecar-token',
    );
    assert.equal(sidecar?.readinessProbe.httpGet.path, '/readyz');
    assert.equal(sidecar?.livenessProbe.httpGet.path, '/healthz');
  });

  test('exposes the sidecar as Service port `sync` and points the operator at it', async () => {
    const ms = await render({ 'operator.enabled': true, 'service.syncPort': 3100 });
    const svc = get(ms, 'Service', CM);
    const sync = svc.spec.ports.find((p: { name: string }) => p.name === 'sync');
    assert.deepEqual(sync, { name: 'sync', port: 3100, targetPort: 'sync', protocol: 'TCP' });
    const op = get(ms, 'Deployment', OP);
    const [c] = containersOf(op);
    const env = envOf(c);
    assert.equal(env.SIDECAR_URL?.value, `http://${CM}.${NS}.svc:3100`);
    assert.equal(env.SIDECAR_TOKEN_FILE?.value, '/var/run/secrets/chartsync/token');
    assert.equal(env.SIDECAR_TOKEN, undefined);
    assert.equal(env.LEADER_ELECTION?.value, 'true');
    assert.equal(env.WATCH_NAMESPACE?.value, '');
    assert.equal(env.LEASE_NAME?.value, OP, 'one Lease per release');
    assert.equal(
      env.CRONJOB_TOKEN_SECRET?.value,
      'rel-chartmuseum-sync-token',
      'per-release token copies, not the chart Secret',
    );
    assert.equal(env.CRONJOB_IMAGE?.value, 'docker.io/curlimages/curl:8.17.0');
    assert.equal(env.CHARTMUSEUM_URL?.value, `http://${CM}.${NS}.svc:8080`);
    assert.deepEqual(env.POD_NAMESPACE?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
    const pod = op.spec.template.spec;
    assert.equal(pod.serviceAccountName, OP);
    const tokenVol = pod.volumes.find((v: Manifest) => v.name === 'sidecar-token');
    assert.equal(tokenVol.secret.secretName, 'rel-chartmuseum-sidecar-token');
    assert.equal(
      c?.volumeMounts.find((m: Manifest) => m.name === 'sidecar-token').mountPath,
      '/var/run/secrets/chartsync',
    );
    // The selector matches the pod labels.
    for (const d of [op, get(ms, 'Deployment', CM)]) {
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        assert.equal(d.spec.template.metadata.labels[k], v);
    }
  });

  test('operator settings: image, watch namespace, leader election, CronJob image, public URL', async () => {
    const ms = await render({
      'operator.enabled': true,
      'operator.image.repository': 'reg.example.com/op',
      'operator.image.tag': '1.2.3',
      'operator.watchNamespace': 'team-a',
      'operator.leaderElection': false,
      'operator.cronJobImage.repository': 'reg.example.com/curl',
      'operator.cronJobImage.tag': '8',
      'ingress.enabled': true,
      'ingress.hosts[0].name': 'charts.example.com',
      'ingress.hosts[0].tls': true,
      'ingress.hosts[0].tlsSecret': 'charts-tls',
    });
    const [c] = containersOf(get(ms, 'Deployment', OP));
    const env = envOf(c);
    assert.equal(c?.image, 'reg.example.com/op:1.2.3');
    assert.equal(env.WATCH_NAMESPACE?.value, 'team-a');
    assert.equal(env.LEADER_ELECTION?.value, 'false');
    assert.equal(env.CRONJOB_IMAGE?.value, 'reg.example.com/curl:8');
    assert.equal(env.CHARTMUSEUM_URL?.value, 'https://charts.example.com');
    const url = await render({
      'operator.enabled': true,
      'operator.chartmuseumUrl': 'https://cm.example.org/',
    });
    assert.equal(
      envOf(containersOf(get(url, 'Deployment', OP))[0]).CHARTMUSEUM_URL?.value,
      'https://cm.example.org',
    );
  });

  test('generates the sidecar token into a Secret (48 random characters, different per fresh render)', async () => {
    const a = get(await render({ 'operator.enabled': true }), 'Secret', 'rel-chartmuseum-sidecar-token');
    const b = get(await render({ 'operator.enabled': true }), 'Secret', 'rel-chartmuseum-sidecar-token');
    const tok = (s: Manifest) => Buffer.from(s.data.token, 'base64').toString();
    assert.match(tok(a), /^[A-Za-z0-9]{48}$/);
    assert.notEqual(tok(a), tok(b));
    const ext = await render({ 'operator.enabled': true, 'token.existingSecret': 'my-token' });
    assert.equal(find(ext, 'Secret', 'rel-chartmuseum-sidecar-token'), undefined);
    for (const name of [CM, OP]) {
      const vol = get(ext, 'Deployment', name).spec.template.spec.volumes.find(
        (v: Manifest) => v.name === 'sidecar-token',
      );
      assert.equal(vol.secret.secretName, 'my-token');
    }
  });

  test('the token never appears outside its Secret', async () => {
    const text = await helmOk([
      'template',
      'rel',
      chartDir,
      '--set',
      'operator.enabled=true',
      '--set',
      'networkPolicy.enabled=true',
    ]);
    const ms = parseAllDocuments(text)
      .map((d) => d.toJS() as Manifest)
      .filter(Boolean);
    const secret = get(ms, 'Secret', 'rel-chartmuseum-sidecar-token');
    const token = Buffer.from(secret.data.token, 'base64').toString();
    const others = ms
      .filter((m) => m !== secret)
      .map((m) => JSON.stringify(m))
      .join('\n');
    assert.ok(!others.includes(token) && !others.includes(secret.data.token));
    assert.equal(text.split(token).length, 1, 'plain token not rendered at all (the Secret holds it base64)');
    for (const m of ms.filter((x) => x.kind === 'Deployment')) {
      for (const c of containersOf(m)) {
        for (const [name, e] of Object.entries(envOf(c))) {
          if (/(TOKEN|PASSWORD|PASS)$/.test(name))
            assert.ok(e.valueFrom, `${m.metadata.name}/${c.name} ${name} is inline`);
        }
      }
    }
  });

  test('least-privilege RBAC bound to the operator ServiceAccount', async () => {
    const ms = await render({ 'operator.enabled': true });
    const sa = get(ms, 'ServiceAccount', OP);
    assert.equal(sa.metadata.namespace, NS);
    const cr = get(ms, 'ClusterRole', `${NS}-${OP}`);
    const rules = (cr.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).map(
      (r) =>
        `${r.apiGroups.map((g) => g || 'core').join(',')}|${r.resources.join(',')}|${[...r.verbs].sort().join(',')}`,
    );
    assert.deepEqual(rules.sort(), [
      'batch|cronjobs|create,delete,get,list,patch,update,watch',
      'cm.bitnami.com|chartmuseums/finalizers|update',
      'cm.bitnami.com|chartmuseums/status|get,patch,update',
      'cm.bitnami.com|chartmuseums|get,list,patch,update,watch',
      'core|events|create,patch',
      'core|secrets|create,get,patch,update',
      'events.k8s.io|events|create,patch',
    ]);
    for (const r of cr.rules) {
      assert.ok(
        !r.verbs.includes('*') && !r.resources.includes('*') && !r.apiGroups.includes('*'),
        'no wildcards',
      );
    }
    const crb = get(ms, 'ClusterRoleBinding', `${NS}-${OP}`);
    assert.deepEqual(crb.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: cr.metadata.name,
    });
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: OP, namespace: NS }]);
    const role = get(ms, 'Role');
    assert.equal(role.metadata.namespace, NS);
    assert.deepEqual(role.rules, [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    const rb = get(ms, 'RoleBinding');
    assert.deepEqual(rb.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
    assert.deepEqual(rb.subjects, [{ kind: 'ServiceAccount', name: OP, namespace: NS }]);
  });

  test('with operator.watchNamespace the rules are bound in that namespace only', async () => {
    const ms = await render({ 'operator.enabled': true, 'operator.watchNamespace': 'team-a' });
    assert.equal(find(ms, 'ClusterRoleBinding'), undefined, 'no cluster-wide grant');
    const cr = get(ms, 'ClusterRole', `${NS}-${OP}`);
    const scoped = ms.find((m) => m.kind === 'RoleBinding' && m.metadata.namespace === 'team-a');
    assert.ok(scoped, 'RoleBinding in the watched namespace');
    assert.deepEqual(scoped.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: cr.metadata.name,
    });
    assert.deepEqual(scoped.subjects, [{ kind: 'ServiceAccount', name: OP, namespace: NS }]);
    const lease = ms.find((m) => m.kind === 'RoleBinding' && m.metadata.namespace === NS);
    assert.equal(lease?.roleRef.kind, 'Role', 'leader election stays in the release namespace');
  });

  test('the CRD is a template rendered only with the operator, as is from chart/files, kept on uninstall', async () => {
    const shown = await helmOk(['show', 'crds', chartDir]);
    assert.equal(shown.trim(), '', 'nothing in crds/: Helm would install it even with the operator off');
    assert.equal(
      find(await render({}), 'CustomResourceDefinition'),
      undefined,
      'plain ChartMuseum needs no cluster-scoped rights',
    );
    const rendered = await render({ 'operator.enabled': true });
    const crds = rendered.filter((m) => m.kind === 'CustomResourceDefinition');
    assert.equal(crds.length, 1);
    assert.equal(crds[0]?.metadata.name, 'chartmuseums.cm.bitnami.com');
    assert.equal(crds[0]?.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    const onDisk = await readFile(join(chartDir, 'files/chartmuseums.cm.bitnami.com.yaml'), 'utf8');
    assert.deepEqual(
      crds[0],
      parseAllDocuments(onDisk)[0]?.toJS(),
      'the one file the operator tests install',
    );
    const off = await render({ 'operator.enabled': true, 'operator.crd.create': false });
    assert.equal(find(off, 'CustomResourceDefinition'), undefined, 'operator.crd.create=false leaves it out');
  });
});

describe('toggles', () => {
  test('persistence: a PVC (size, access mode, storage class) or an existing claim, else emptyDir', async () => {
    const ms = await render({
      'persistence.enabled': true,
      'persistence.size': '20Gi',
      'persistence.accessMode': 'ReadWriteMany',
      'persistence.storageClass': 'fast',
    });
    const pvc = get(ms, 'PersistentVolumeClaim', CM);
    assert.deepEqual(pvc.spec, {
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '20Gi' } },
      storageClassName: 'fast',
    });
    const vol = get(ms, 'Deployment', CM).spec.template.spec.volumes.find(
      (v: Manifest) => v.name === 'storage-volume',
    );
    assert.deepEqual(vol, { name: 'storage-volume', persistentVolumeClaim: { claimName: CM } });
    const none = get(
      await render({ 'persistence.enabled': true, 'persistence.storageClass': '-' }),
      'PersistentVolumeClaim',
    );
    assert.equal(none.spec.storageClassName, '');
    const existing = await render({ 'persistence.enabled': true, 'persistence.existingClaim': 'old-claim' });
    assert.equal(find(existing, 'PersistentVolumeClaim'), undefined);
    const vol2 = get(existing, 'Deployment', CM).spec.template.spec.volumes.find(
      (v: Manifest) => v.name === 'storage-volume',
    );
    assert.equal(vol2.persistentVolumeClaim.claimName, 'old-claim');
    assert.equal(find(await render(), 'PersistentVolumeClaim'), undefined);
    // A custom mount path moves ChartMuseum's root dir and the sidecar's --storage-dir together.
    const moved = await render({ 'operator.enabled': true, 'persistence.path': '/charts' });
    const [cm, sc] = containersOf(get(moved, 'Deployment', CM));
    assert.equal(envOf(cm).STORAGE_LOCAL_ROOTDIR?.value, '/charts');
    assert.ok(sc?.args.includes('--storage-dir=/charts'));
  });

  test('ingress: hosts, paths, class, TLS; a TLS host without tlsSecret is refused', async () => {
    const ms = await render({
      'ingress.enabled': true,
      'ingress.ingressClassName': 'nginx',
      'ingress.hosts[0].name': 'charts.example.com',
      'ingress.hosts[0].path': '/repo',
      'ingress.hosts[0].tls': true,
      'ingress.hosts[0].tlsSecret': 'charts-tls',
      'ingress.hosts[1].name': 'plain.example.com',
      'operator.enabled': true,
    });
    const ing = get(ms, 'Ingress', CM);
    assert.equal(ing.spec.ingressClassName, 'nginx');
    assert.equal(ing.spec.rules.length, 2);
    assert.deepEqual(ing.spec.rules[0], {
      host: 'charts.example.com',
      http: {
        paths: [
          {
            path: '/repo',
            pathType: 'ImplementationSpecific',
            backend: { service: { name: CM, port: { number: 8080 } } },
          },
        ],
      },
    });
    assert.deepEqual(ing.spec.tls, [{ hosts: ['charts.example.com'], secretName: 'charts-tls' }]);
    assert.ok(!JSON.stringify(ing).includes('3000'), 'the sidecar port is never exposed by the Ingress');
    assert.equal(find(await render(), 'Ingress'), undefined);
    const bad = await helm([
      'template',
      'rel',
      chartDir,
      '--set',
      'ingress.enabled=true',
      '--set',
      'ingress.hosts[0].name=a.example.com',
      '--set',
      'ingress.hosts[0].tls=true',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ingress\.hosts\[\]\.tlsSecret is required for host a\.example\.com/);
  });

  test('networkPolicy: the sidecar port only from the operator pods and the sync CronJob pods', async () => {
    const ms = await render({ 'operator.enabled': true, 'networkPolicy.enabled': true });
    const np = get(ms, 'NetworkPolicy', CM);
    const cmPod = get(ms, 'Deployment', CM).spec.template.metadata.labels;
    const opPod = get(ms, 'Deployment', OP).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(cmPod[k], v);
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) {
      if (k === 'app.kubernetes.io/component')
        assert.notEqual(opPod[k], v, 'the operator pod is not itself selected');
    }
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    const [http, sync] = np.spec.ingress;
    assert.deepEqual(http, { ports: [{ port: 'http', protocol: 'TCP' }] }, 'ChartMuseum stays reachable');
    assert.deepEqual(sync.ports, [{ port: 'sync', protocol: 'TCP' }]);
    assert.equal(sync.from.length, 2);
    const [fromOp, fromJobs] = sync.from;
    assert.deepEqual(Object.keys(fromOp), ['podSelector'], 'operator peer: same namespace only');
    for (const [k, v] of Object.entries(fromOp.podSelector.matchLabels)) assert.equal(opPod[k], v);
    assert.deepEqual(fromJobs, {
      namespaceSelector: {},
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'chartsync-sync' } },
    });
    const scoped = get(
      await render(
        {
          'operator.enabled': true,
          'networkPolicy.enabled': true,
          'operator.watchNamespace': 'team-a',
        },
        ['--set-json', 'networkPolicy.httpFrom=[{"namespaceSelector":{"matchLabels":{"ingress":"yes"}}}]'],
      ),
      'NetworkPolicy',
    );
    assert.deepEqual(scoped.spec.ingress[1].from[1].namespaceSelector, {
      matchLabels: { 'kubernetes.io/metadata.name': 'team-a' },
    });
    assert.deepEqual(scoped.spec.ingress[0].from, [
      { namespaceSelector: { matchLabels: { ingress: 'yes' } } },
    ]);
    assert.equal(
      find(await render({ 'operator.enabled': true }), 'NetworkPolicy'),
      undefined,
      'off by default',
    );
  });

  test('cloud storage: the sidecar publishes through ChartMuseum API on localhost, with the basic-auth credentials', async () => {
    const ms = await render({
      'operator.enabled': true,
      'env.open.STORAGE': 'amazon',
      'env.open.STORAGE_AMAZON_BUCKET': 'my-charts',
      'env.open.STORAGE_AMAZON_REGION': 'eu-west-1',
      'env.secret.BASIC_AUTH_USER': 'admin',
      'env.secret.BASIC_AUTH_PASS': 'pw',
    });
    const [cm, sc] = containersOf(get(ms, 'Deployment', CM));
    assert.deepEqual(sc?.args, ['serve', '--port=3000', '--chartmuseum-url=http://localhost:8080']);
    const cmEnv = envOf(cm);
    assert.equal(cmEnv.STORAGE?.value, 'amazon');
    assert.equal(cmEnv.STORAGE_AMAZON_BUCKET?.value, 'my-charts');
    assert.equal(cmEnv.DISABLE_API?.value, 'false', 'the upload API must be on for the publisher');
    assert.equal(cmEnv.DEPTH?.value, '1');
    assert.equal(cmEnv.STORAGE_LOCAL_ROOTDIR, undefined);
    const scEnv = envOf(sc);
    assert.deepEqual(scEnv.CHARTMUSEUM_USERNAME?.valueFrom, {
      secretKeyRef: { name: CM, key: 'BASIC_AUTH_USER' },
    });
    assert.deepEqual(scEnv.CHARTMUSEUM_PASSWORD?.valueFrom, {
      secretKeyRef: { name: CM, key: 'BASIC_AUTH_PASS' },
    });
    assert.equal(
      (sc?.volumeMounts as Obj[] | undefined)?.find((m) => m.name === 'storage-volume')?.mountPath,
      '/storage',
      'charts go through the API; only the sync state lives on the volume',
    );
    assert.equal(scEnv.CHARTSYNC_DATA_DIR?.value, '/storage/.chartsync');
    // Without the operator a cloud STORAGE is plain upstream behaviour.
    const plain = envOf(
      containersOf(get(await render({ 'env.open.STORAGE': 'google' }), 'Deployment', CM))[0],
    );
    assert.equal(plain.DISABLE_API?.value, 'true');
  });

  test('sidecar.oci: the sidecar pushes to an OCI registry with the login from a Secret', async () => {
    const ms = await render({
      'operator.enabled': true,
      'sidecar.oci.url': 'oci://registry.example.com:5000/charts',
      'sidecar.oci.existingSecret': 'registry-login',
      'sidecar.oci.plainHttp[0]': 'registry.example.com:5000',
    });
    const [, sc] = containersOf(get(ms, 'Deployment', CM));
    assert.deepEqual(sc?.args, ['serve', '--port=3000', '--oci-url=oci://registry.example.com:5000/charts']);
    // The target's own CA (a Secret's ca.crt, mounted read-only) and plain HTTP for it alone.
    const tls = await render({
      'operator.enabled': true,
      'sidecar.oci.url': 'oci://registry.example.com:5000/charts',
      'sidecar.oci.caSecret': 'registry-ca',
      'sidecar.oci.insecurePlainHttp': true,
    });
    const deployment = get(tls, 'Deployment', CM);
    const [, tsc] = containersOf(deployment);
    const volumes = (
      deployment as unknown as {
        spec: { template: { spec: { volumes: { name: string; secret?: unknown }[] } } };
      }
    ).spec.template.spec.volumes;
    assert.deepEqual(tsc?.args, [
      'serve',
      '--port=3000',
      '--oci-url=oci://registry.example.com:5000/charts',
      '--oci-ca-file=/etc/chartsync/oci-ca/ca.crt',
      '--oci-plain-http',
    ]);
    assert.deepEqual(
      (
        tsc as { volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }
      ).volumeMounts?.find((m) => m.name === 'oci-ca'),
      { name: 'oci-ca', mountPath: '/etc/chartsync/oci-ca', readOnly: true },
    );
    assert.deepEqual(volumes.find((v) => v.name === 'oci-ca')?.secret, {
      secretName: 'registry-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    const scEnv = envOf(sc);
    assert.deepEqual(scEnv.OCI_USERNAME?.valueFrom, {
      secretKeyRef: { name: 'registry-login', key: 'username' },
    });
    assert.deepEqual(scEnv.OCI_PASSWORD?.valueFrom, {
      secretKeyRef: { name: 'registry-login', key: 'password' },
    });
    assert.equal(scEnv.CHARTSYNC_OCI_PLAIN_HTTP?.value, 'registry.example.com:5000');
    assert.equal(
      scEnv.CHARTSYNC_DATA_DIR?.value,
      '/storage/.chartsync',
      'the ledger of pushed manifests stays on the volume',
    );
    const bad = await helm([
      'template',
      'rel',
      chartDir,
      '--set',
      'operator.enabled=true',
      '--set',
      'sidecar.oci.url=https://x',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /\/sidecar\/oci\/url/);
  });

  test('env.field: environment from pod fields', async () => {
    const ms = await render({ 'env.field.POD_IP': 'status.podIP' });
    assert.deepEqual(envOf(containersOf(get(ms, 'Deployment', CM))[0]).POD_IP?.valueFrom, {
      fieldRef: { fieldPath: 'status.podIP' },
    });
  });

  test('several operator replicas need leader election', async () => {
    const r = await helm([
      'template',
      'rel',
      chartDir,
      '--set',
      'operator.enabled=true',
      '--set',
      'operator.replicaCount=2',
      '--set',
      'operator.leaderElection=false',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /operator\.replicaCount > 1 needs operator\.leaderElection=true/);
    const ok = await render({ 'operator.enabled': true, 'operator.replicaCount': 2 });
    assert.equal(get(ok, 'Deployment', OP).spec.replicas, 2);
  });

  test('helm package ships the templates, the CRD, the schema and the NOTES', async () => {
    const dir = await tempDir('chartsync-chart-package-');
    try {
      const out = await helmOk(['package', chartDir, '--destination', dir.path]);
      const tgz = /saved it to: (\S+)/.exec(out)?.[1];
      if (!tgz) assert.fail(`no package path in: ${out}`);
      assert.ok(tgz.endsWith('chartmuseum-0.1.0.tgz'), out);
      const { stdout } = await promisify(execFile)('tar', ['-tzf', tgz]);
      const files = stdout.split('\n').filter(Boolean).sort();
      for (const f of [
        'chartmuseum/Chart.yaml',
        'chartmuseum/values.yaml',
        'chartmuseum/values.schema.json',
        'chartmuseum/files/chartmuseums.cm.bitnami.com.yaml',
        'chartmuseum/templates/operator/crd.yaml',
        'chartmuseum/templates/NOTES.txt',
        'chartmuseum/templates/_helpers.tpl',
        'chartmuseum/templates/operator/rbac.yaml',
      ]) {
        assert.ok(files.includes(f), `${f} in the package`);
      }
      assert.ok(
        files.every((f) => f.startsWith('chartmuseum/')),
        'one chart directory',
      );
    } finally {
      await dir.cleanup();
    }
  });

  test('env.open.CONTEXT_PATH prefixes the probes, the API publisher URL and status.url', async () => {
    const ms = await render({
      'operator.enabled': true,
      'env.open.STORAGE': 'microsoft',
      'env.open.CONTEXT_PATH': '/charts/',
    });
    const [cm, sc] = containersOf(get(ms, 'Deployment', CM));
    assert.equal(cm?.livenessProbe.httpGet.path, '/charts/health');
    assert.equal(cm?.readinessProbe.httpGet.path, '/charts/health');
    assert.ok(sc?.args.includes('--chartmuseum-url=http://localhost:8080/charts'));
    assert.equal(sc?.livenessProbe.httpGet.path, '/healthz', 'the sidecar has no context path');
    const op = envOf(containersOf(get(ms, 'Deployment', OP))[0]);
    assert.equal(op.CHARTMUSEUM_URL?.value, `http://${CM}.${NS}.svc:8080/charts`);
    const plain = containersOf(get(await render(), 'Deployment', CM))[0];
    assert.equal(plain?.livenessProbe.httpGet.path, '/health');
  });

  test('env.open.DEPTH other than 1 with the operator is refused, naming the value', async () => {
    const r = await helm([
      'template',
      'rel',
      chartDir,
      '--set',
      'operator.enabled=true',
      '--set',
      'env.open.DEPTH=2',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /env\.open\.DEPTH must be 1 \(or unset\) with operator\.enabled=true.*got 2/);
    const ok = await render({ 'operator.enabled': true, 'env.open.DEPTH': 1 });
    assert.equal(envOf(containersOf(get(ok, 'Deployment', CM))[0]).DEPTH?.value, '1');
    const plain = await render({ 'env.open.DEPTH': 2 });
    assert.equal(envOf(containersOf(get(plain, 'Deployment', CM))[0]).DEPTH?.value, '2');
  });

  test('every container: non-root, read-only root fs, no privilege escalation, no capabilities, RuntimeDefault seccomp, a writable /tmp', async () => {
    const ms = await render({
      'operator.enabled': true,
      'networkPolicy.enabled': true,
      'persistence.enabled': true,
      'serviceAccount.create': true,
    });
    const workloads = ms.filter((m) =>
      ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(m.kind),
    );
    assert.equal(workloads.length, 2);
    let count = 0;
    let tokenReaders = 0;
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      const psc = pod.securityContext ?? {};
      assert.equal(psc.runAsNonRoot, true, `${w.metadata.name}: pod runAsNonRoot`);
      assert.ok(psc.runAsUser > 0, `${w.metadata.name}: pod runAsUser non-zero`);
      for (const c of containersOf(w)) {
        const where = `${w.metadata.name}/${c.name}`;
        const sc = c.securityContext ?? {};
        assert.equal(sc.runAsNonRoot ?? psc.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
        assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: capabilities dropped`);
        assert.equal(sc.privileged ?? false, false, `${where}: not privileged`);
        assert.equal((sc.seccompProfile ?? psc.seccompProfile)?.type, 'RuntimeDefault', `${where}: seccomp`);
        const tmp = (c.volumeMounts as Manifest[]).find((m) => m.mountPath === '/tmp');
        assert.ok(tmp, `${where}: /tmp mounted`);
        assert.ok(
          pod.volumes.find((v: Manifest) => v.name === tmp.name).emptyDir,
          `${where}: /tmp is an emptyDir`,
        );
        const tokenMount = (c.volumeMounts as Obj[]).find((m) => m.name === 'sidecar-token');
        if (tokenMount) {
          const vol = pod.volumes.find((v: Obj) => v.name === 'sidecar-token');
          assert.equal(vol.secret.defaultMode, 0o440, `${where}: token file not world-readable`);
          assert.equal(
            psc.fsGroup,
            sc.runAsUser ?? psc.runAsUser,
            `${where}: fsGroup lets the user read the token`,
          );
          assert.equal(tokenMount.readOnly, true);
          tokenReaders++;
        }
        count++;
      }
    }
    assert.equal(count, 3, 'chartmuseum, sidecar, operator');
    assert.equal(tokenReaders, 2, 'sidecar and operator read the token file');
  });

  test('names: fullnameOverride and a release name that already holds the chart name', async () => {
    const over = await render({ fullnameOverride: 'museum', 'operator.enabled': true });
    assert.ok(find(over, 'Deployment', 'museum'));
    assert.ok(find(over, 'Deployment', 'museum-operator'));
    const out = await helmOk(['template', 'chartmuseum', chartDir]);
    assert.match(out, /name: chartmuseum\n/);
  });
});
