/**
 * Starts the real `chartsync serve` process (the built CLI) on a free port, waits until
 * `/readyz` answers, collects its log lines, and stops it with SIGTERM (SIGKILL if it hangs).
 * The operator and security suites reuse it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SidecarClient } from '@chartsync/api';
import { repoRoot } from './paths.ts';
import { guardChild } from './reaper.ts';

export const chartsyncScript = join(repoRoot, 'sidecar/bin/chartsync.js');

export interface SidecarProcessOptions {
  /** Flags after `serve`, e.g. ['--storage-dir', dir, '--allow-local-git']. `--port 0` is added unless given. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Token for `client()`; also passed as SIDECAR_TOKEN unless env sets a token itself. */
  token?: string;
  readyTimeoutMs?: number;
  /** Wait for /readyz to answer 200 (default); false: only for the listening line (a target that is down). */
  waitReady?: boolean;
}

export interface SidecarProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Every stdout/stderr line so far (JSON log lines when not on a TTY). */
  logs: string[];
  /** The parsed JSON log records so far. */
  records(): Record<string, unknown>[];
  client(token?: string): SidecarClient;
  /** Resolves with the first log line matching `re`. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

export async function startSidecarProcess(opts: SidecarProcessOptions = {}): Promise<SidecarProcess> {
  const args = opts.args ?? [];
  const portArgs = args.includes('--port') ? [] : ['--port', '0'];
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'debug', ...opts.env };
  if (opts.token && !env.SIDECAR_TOKEN && !env.SIDECAR_TOKEN_FILE) env.SIDECAR_TOKEN = opts.token;
  const proc = spawn(process.execPath, [chartsyncScript, 'serve', ...portArgs, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group, reaped with its git processes if this process dies without stop()
    detached: true,
  });
  guardChild(proc);
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      logs.push(...lines.filter(Boolean));
    });
  };
  collect(proc.stdout);
  collect(proc.stderr);
  const exited = once(proc, 'exit').then(([code]) => code as number | null);

  const waitForLog = async (re: RegExp, timeoutMs = 20_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = logs.find((l) => re.test(l));
      if (hit) return hit;
      if (proc.exitCode !== null)
        throw new Error(
          `chartsync serve exited (${proc.exitCode}) before logging ${re}:\n${logs.join('\n')}`,
        );
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${re} in the sidecar logs:\n${logs.join('\n')}`);
      await sleep(25);
    }
  };
  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  try {
    const line = await waitForLog(/sidecar listening/, opts.readyTimeoutMs ?? 20_000);
    const port = Number((JSON.parse(line) as { port: number }).port);
    const url = `http://127.0.0.1:${port}`;
    if (opts.waitReady !== false) await waitReady(url, opts.readyTimeoutMs ?? 20_000);
    const records = () =>
      logs.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    const client = (token = opts.token) => new SidecarClient({ baseUrl: url, ...(token ? { token } : {}) });
    return { url, port, proc, logs, records, client, waitForLog, stop };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sidecar at ${url} not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}
