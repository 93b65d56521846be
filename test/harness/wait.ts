/**
 * Waiting for the processes a harness starts (etcd, kube-apiserver, containerd, kubelet...): poll
 * a readiness check, fail at once when one of them died, and say why with the end of its log.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** A process a harness started: a name for messages, and the file its output goes to. */
export interface WatchedProcess {
  name: string;
  child: ChildProcess;
  log: string;
}

/** The last `lines` lines of a log file ('(no log)' when there is none). */
export async function tail(path: string, lines = 25): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '(no log)')).split('\n').slice(-lines).join('\n');
}

/** Polls until `check` is true (a check that throws counts as false), failing early when a process died. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  procs: readonly WatchedProcess[],
  timeoutMs: number,
  pollMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead)
      throw new Error(
        `${what}: ${dead.name} exited with ${dead.child.exitCode ?? dead.child.signalCode}:\n${await tail(dead.log)}`,
      );
    if (Date.now() > deadline) {
      const logs = await Promise.all(
        procs.map(async (p) => `--- ${p.name} (${p.log})\n${await tail(p.log, 12)}`),
      );
      throw new Error(`${what}: not ready after ${timeoutMs} ms\n${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
