/**
 * Leader election on a coordination.k8s.io Lease (with the chart's RBAC): of two operator
 * processes only the leader acts; when it dies the other takes over; a graceful stop hands the
 * lease back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apply, ensureNamespace, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  chartmuseum,
  chartRepo,
  fileUrl,
  getCm,
  OPERATOR_NS,
  type OperatorProcess,
  startWorld,
  type World,
  waitReady,
} from './fixture.ts';

const NS = 'default';
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/chartsync-operator`;

interface Lease {
  spec: { holderIdentity?: string | null; leaseTransitions?: number };
}

const holder = async (w: World) =>
  (await kubeRequest<Lease>(w.admin, 'GET', LEASE)).spec.holderIdentity ?? '';

async function metric(op: OperatorProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

const registered = (op: OperatorProcess, key: string) =>
  op.records().some((r) => r.msg === 'repository registered; sync started' && r.chartmuseum === key);

describe('operator: leader election and scope', () => {
  let w: World;
  const ops: Record<string, OperatorProcess> = {};
  before(async () => {
    w = await startWorld();
    const electing = {
      LEADER_ELECTION: 'true',
      LEASE_DURATION_SECONDS: '3',
      RENEW_DEADLINE_SECONDS: '2',
      RETRY_PERIOD_MS: '300',
    };
    ops['op-a'] = await w.startOperator({ ...electing, POD_NAME: 'op-a' });
    ops['op-b'] = await w.startOperator({ ...electing, POD_NAME: 'op-b' });
  });
  after(async () => {
    for (const op of Object.values(ops)) await op.stop('SIGKILL');
    await w?.stop();
  });

  let leader = '';
  let standby = '';

  it('only the leader acts', async () => {
    leader = await waitFor('a lease holder', async () => holder(w));
    standby = leader === 'op-a' ? 'op-b' : 'op-a';
    const repo = await chartRepo(w.repos, 'le1', [['one', '1.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'le1', { git: fileUrl(repo) })]);
    await waitReady(w.admin, NS, 'le1', { status: 'True', reason: 'Synced' });
    const L = ops[leader] as OperatorProcess;
    const S = ops[standby] as OperatorProcess;
    assert.ok(registered(L, 'default/le1'), 'the leader registered the repository');
    assert.ok(!registered(S, 'default/le1'), 'the standby did nothing');
    assert.ok(
      !S.records().some((r) => r.msg === 'controller started'),
      'the standby has no controller running',
    );
    assert.equal(await metric(L, 'chartsync_operator_leader'), 1);
    assert.equal(await metric(S, 'chartsync_operator_leader'), 0);
    assert.ok(
      ((await metric(L, 'chartsync_operator_reconcile_total{result="ok"}')) ?? 0) > 0,
      'reconciles counted',
    );
    for (const op of [L, S]) assert.equal((await fetch(`http://127.0.0.1:${op.port}/readyz`)).status, 200);
  });

  it('the leader dies: the standby takes over and acts', async () => {
    await (ops[leader] as OperatorProcess).stop('SIGKILL');
    await waitFor(`lease taken over by ${standby}`, async () => (await holder(w)) === standby, {
      timeoutMs: 20_000,
    });
    const repo = await chartRepo(w.repos, 'le2', [['two', '2.0.0']]);
    await apply(w.admin, [chartmuseum(NS, 'le2', { git: fileUrl(repo) })]);
    await waitReady(w.admin, NS, 'le2', { status: 'True', reason: 'Synced' });
    assert.ok(registered(ops[standby] as OperatorProcess, 'default/le2'));
    const lease = await kubeRequest<Lease>(w.admin, 'GET', LEASE);
    assert.ok((lease.spec.leaseTransitions ?? 0) >= 1);
  });

  it('a graceful stop hands the lease back', async () => {
    const code = await (ops[standby] as OperatorProcess).stop('SIGTERM');
    assert.equal(code, 0);
    assert.equal(await holder(w), '');
  });

  it('WATCH_NAMESPACE limits the operator to one namespace', async () => {
    await ensureNamespace(w.admin, 'team-a');
    const op = await w.startOperator({ WATCH_NAMESPACE: 'team-a', POD_NAME: 'op-scoped' });
    ops['op-scoped'] = op;
    const repo = await chartRepo(w.repos, 'scoped', [['scoped', '1.0.0']]);
    await apply(w.admin, [
      chartmuseum('team-a', 'mine', { git: fileUrl(repo) }),
      chartmuseum(NS, 'not-mine', { git: fileUrl(repo), repoName: 'not-mine' }),
    ]);
    await waitReady(w.admin, 'team-a', 'mine', { status: 'True', reason: 'Synced' });
    // The other namespace's resource gets no finalizer and no status from this operator.
    await new Promise((r) => setTimeout(r, 2000));
    const other = await getCm(w.admin, NS, 'not-mine');
    assert.equal(other.status, undefined);
    assert.equal(other.metadata?.finalizers, undefined);
  });
});
