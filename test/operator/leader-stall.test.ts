/**
 * Leader election when the leader's path to the API server is black-holed (requests hang, no
 * error comes back): the leader must give up leading within its renew deadline, before a standby
 * can take the lease over (a lease duration after the last renewal), so two instances never act
 * at once. Real API server, real operator processes, a TCP proxy that stalls.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { apply, kubeRequest, waitFor } from '../harness/kube.ts';
import {
  chartmuseum,
  chartRepo,
  cmPath,
  fileUrl,
  OPERATOR_NS,
  type OperatorProcess,
  startWorld,
  type World,
  waitReady,
} from './fixture.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases/chartsync-operator`;
const holder = async (w: World) =>
  (await kubeRequest<{ spec: { holderIdentity?: string | null } }>(w.admin, 'GET', LEASE)).spec
    .holderIdentity ?? '';
const timeOf = (op: OperatorProcess, msg: string) =>
  op.records().find((r) => r.msg === msg)?.time as number | undefined;
/** When `op` logged `msg` (pino's epoch milliseconds), once it has. */
const logged = (op: OperatorProcess, msg: string) => waitFor(`${msg} logged`, async () => timeOf(op, msg));

/** Short leases, so that a stall shows within seconds. */
const electing = {
  LEADER_ELECTION: 'true',
  LEASE_DURATION_SECONDS: '3',
  RENEW_DEADLINE_SECONDS: '2',
  RETRY_PERIOD_MS: '300',
};

describe('operator: leader election with a stalled API server connection', { timeout: 90_000 }, () => {
  let w: World;
  let proxy: TcpProxy;
  const ops: OperatorProcess[] = [];
  before(async () => {
    w = await startWorld();
    proxy = await startTcpProxy(Number(new URL(w.env.server).port));
  });
  after(async () => {
    for (const op of ops) await op.stop('SIGKILL');
    await proxy?.close();
    await w?.stop();
  });

  it('the leader stops leading within its renew deadline, before the standby takes over', async () => {
    const viaProxy = JSON.parse(await readFile(w.operatorKubeconfig, 'utf8'));
    viaProxy.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
    const proxied = `${w.operatorKubeconfig}.proxy`;
    await writeFile(proxied, JSON.stringify(viaProxy), { mode: 0o600 });
    const a = await w.startOperator({ ...electing, POD_NAME: 'op-a', KUBECONFIG: proxied });
    ops.push(a);
    await waitFor('op-a leads', async () => (await holder(w)) === 'op-a');
    const b = await w.startOperator({ ...electing, POD_NAME: 'op-b' });
    ops.push(b);
    await logged(b, 'waiting for leadership');

    proxy.stall();
    await waitFor('op-b leads', async () => (await holder(w)) === 'op-b', { timeoutMs: 20_000 });
    const took = await logged(b, 'became leader');
    const lost = timeOf(a, 'lost leadership');
    assert.ok(lost !== undefined, 'op-a still thought it led when op-b took over');
    assert.ok(lost < took, `op-a stopped leading (${lost}) before op-b started (${took})`);
  });

  it('a leader that lost the lease exits at once, without finishing the reconcile in flight', async () => {
    const sidecarProxy = await startTcpProxy(Number(new URL(w.sidecar.url).port));
    try {
      const c = await w.startOperator({
        ...electing,
        POD_NAME: 'op-c',
        SIDECAR_URL: `http://127.0.0.1:${sidecarProxy.port}`,
      });
      ops.push(c);
      for (const op of ops.slice(0, -1)) await op.stop('SIGTERM'); // the lease is handed back
      await waitFor('op-c leads', async () => (await holder(w)) === 'op-c', { timeoutMs: 20_000 });
      const d = await w.startOperator({ ...electing, POD_NAME: 'op-d' });
      ops.push(d);
      const repo = await chartRepo(w.repos, 'inflight', [['app', '1.0.0']]);
      await apply(w.admin, [chartmuseum('default', 'inflight', { git: fileUrl(repo) })]);
      await waitReady(w.admin, 'default', 'inflight', { status: 'True', reason: 'Synced' });

      // A spec change whose registration hangs on the sidecar: a reconcile in flight.
      sidecarProxy.stall();
      const reconciles = () =>
        c.records().filter((r) => r.msg === 'reconcile' && r.chartmuseum === 'default/inflight').length;
      const before = reconciles();
      await kubeRequest(
        w.admin,
        'PATCH',
        cmPath('default', 'inflight'),
        { spec: { ref: 'main' } },
        'application/merge-patch+json',
      );
      await waitFor('the reconcile in flight', async () => reconciles() > before);
      // Paused past the lease duration (a long GC pause, a frozen node): op-d takes over.
      c.proc.kill('SIGSTOP');
      try {
        await waitFor('op-d leads', async () => (await holder(w)) === 'op-d', { timeoutMs: 20_000 });
      } finally {
        c.proc.kill('SIGCONT');
      }
      await logged(c, 'lost leadership');
      await waitFor('op-c exited', async () => c.proc.exitCode !== null, { timeoutMs: 3_000 });
      assert.equal(c.proc.exitCode, 1);
    } finally {
      await sidecarProxy.close();
    }
  });
});
