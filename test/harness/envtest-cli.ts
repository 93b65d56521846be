/**
 * `pnpm -s envtest`: starts a throwaway API server by hand. The first stdout line is
 * `KUBECONFIG=<path>` (an admin kubeconfig); it runs until SIGINT/SIGTERM/SIGHUP, then cleans up.
 *
 * Whoever gets the signal, etcd and kube-apiserver stop:
 * - this process (`node test/harness/envtest-cli.ts`): the handlers below stop them in order;
 * - the package manager that launched it: pnpm runs scripts as `pnpm → sh -c → node` and does
 *   not pass SIGTERM on, so this process watches those launchers and stops when one is gone;
 * - nobody (this process is SIGKILLed): the reaper (reaper.ts) stops them.
 */
import { readFileSync } from 'node:fs';
import { startEnvtest } from './envtest.ts';

interface Launcher {
  pid: number;
  /** /proc/<pid>/stat start time: a reused pid is a different process. */
  started: string;
}

function procStat(pid: number): { ppid: number; started: string } | undefined {
  try {
    // Fields after the parenthesised command name: state ppid ... starttime is field 22.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), started: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function launchedByScript(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .some((v) => v.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/**
 * The processes between us and the package manager that ran us as a script: every ancestor
 * that is itself part of a script (its environment names the lifecycle event), then the package
 * manager. Empty when started directly (signals then reach this process itself).
 */
function launchers(self = process.pid, env = process.env): Launcher[] {
  if (!env.npm_lifecycle_event) return [];
  const out: Launcher[] = [];
  let pid = procStat(self)?.ppid ?? 0;
  while (pid > 1 && out.length < 8) {
    const stat = procStat(pid);
    if (!stat) break;
    out.push({ pid, started: stat.started });
    if (!launchedByScript(pid)) break; // the package manager itself
    pid = stat.ppid;
  }
  return out;
}

function gone(l: Launcher): boolean {
  return procStat(l.pid)?.started !== l.started;
}

// Found before anything is printed: once the first line is out, a launcher may be killed at
// once, and a launcher already gone would never be missed (we would be reparented first).
const watched = launchers();
const parent = process.ppid;
const env = await startEnvtest({ verbose: process.argv.includes('--verbose') });
process.stdout.write(`KUBECONFIG=${env.kubeconfigPath}\n`);
process.stderr.write(`envtest: API server ${env.server} ready (data in ${env.dir}); Ctrl-C stops it\n`);

let stopping = false;
const shutdown = async (why: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`envtest: ${why}, stopping\n`);
  await env.stop();
  process.exit(0);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig));

// Polling keeps the event loop alive until a signal arrives, a launcher is gone, or this
// process was orphaned (its parent died, whoever that was: reparented to init or a subreaper).
setInterval(() => {
  const lost = watched.find(gone);
  if (lost) void shutdown(`launcher ${lost.pid} exited`);
  else if (process.ppid !== parent) void shutdown(`parent ${parent} exited`);
}, 500);
