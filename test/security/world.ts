/**
 * Shared plumbing of the hostile-input and fault suites (test/security, test/faults): a real
 * `chartsync serve` process with its storage and data dirs in a temp dir, real git servers, a
 * canary directory next to storage that nothing may touch, raw HTTP calls to the API, directory
 * snapshots (before/after comparisons) and secret scans.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type GitServers, type GitServersOptions, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';
import { type SidecarProcess, startSidecarProcess } from '../harness/sidecar.ts';

export const TOKEN = 'sec-suite-token-5d1e8b2f9a';

export interface WorldOptions {
  /**
   * Flags after the storage and data dirs, e.g. ['--allow-local-git']; a function gets the git
   * servers first (e.g. to write a standalone config naming their URLs).
   */
  args?: string[] | ((git: GitServers, root: string) => Promise<string[]>);
  env?: NodeJS.ProcessEnv;
  git?: GitServersOptions;
  /** Storage dir to use instead of `<tmp>/storage` (e.g. a tiny tmpfs mount). */
  storage?: string;
  /** Data dir to use instead of `<tmp>/data`. */
  data?: string;
  /** Publish to this target instead of the storage dir (args replace `--storage-dir`). */
  targetArgs?: string[];
}

export interface World {
  /** The temp dir holding everything below. */
  root: string;
  storage: string;
  data: string;
  /** A directory beside storage with a canary file: must stay exactly as it was. */
  outside: string;
  git: GitServers;
  sidecar: SidecarProcess;
  /** Raw HTTP to the sidecar (token sent unless `token: null`). */
  api: (method: string, path: string, init?: CallInit) => Promise<Answer>;
  /** Starts the sidecar again (after stop or kill), same dirs, same flags. */
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}

export interface CallInit {
  json?: unknown;
  form?: Record<string, string> | URLSearchParams;
  /** A raw body (with `headers` for its content type). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  token?: string | null;
}

/** One chart's entry in a sync result (`charts` of an answer). */
export interface ChartResult {
  name: string;
  version: string;
  action: string;
  error?: string;
  reason?: string;
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

export const CANARY = 'canary: nobody may write here\n';

export async function startWorld(o: WorldOptions = {}): Promise<World> {
  const tmp = await tempDir('chartsync-sec-');
  const root = tmp.path;
  const storage = o.storage ?? join(root, 'storage');
  const data = o.data ?? join(root, 'data');
  const outside = join(root, 'outside');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'canary.txt'), CANARY);
  let git: GitServers | undefined;
  let sidecar: SidecarProcess | undefined;
  let extra: string[] = [];
  const serve = () =>
    startSidecarProcess({
      args: [...(o.targetArgs ?? ['--storage-dir', storage]), '--data-dir', data, ...extra],
      token: TOKEN,
      ...(o.env ? { env: o.env } : {}),
    });
  try {
    git = await startGitServers(o.git ?? {});
    extra = typeof o.args === 'function' ? await o.args(git, root) : (o.args ?? []);
    sidecar = await serve();
  } catch (err) {
    await git?.stop();
    await tmp.cleanup();
    throw err;
  }
  const world: World = {
    root,
    storage,
    data,
    outside,
    git,
    sidecar,
    // A request that gets no answer at all (the connection dropped) says what the sidecar was
    // doing: whether it still runs, and its last log lines.
    api: (method, path, init) =>
      call(world.sidecar.url, method, path, init).catch((err: Error) => {
        const p = world.sidecar.proc;
        const state =
          p.exitCode !== null || p.signalCode !== null ? `exited (${p.exitCode ?? p.signalCode})` : 'running';
        throw new Error(
          `${method} ${path}: ${err.message}; the sidecar is ${state}; its last log lines:\n${world.sidecar.logs.slice(-30).join('\n')}`,
          { cause: err },
        );
      }),
    restart: async () => {
      world.sidecar = await serve();
    },
    stop: async () => {
      await world.sidecar.stop(5000);
      await git?.stop();
      await tmp.cleanup();
    },
  };
  return world;
}

export async function call(base: string, method: string, path: string, init: CallInit = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? TOKEN : init.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | Buffer | undefined = init.body;
  if (init.form) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await rawRequest(
    base,
    method,
    path,
    headers,
    method === 'GET' || method === 'HEAD' ? undefined : body,
  );
  const text = res.body.toString('utf8');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: json stays empty, the text tells
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** One HTTP request with the path sent exactly as given (fetch would resolve `%2e%2e` and `..`). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers, timeout: 120_000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 120 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Asserts an `{ error, message }` answer with this status and code, the message matching `re`. */
export function assertError(a: Answer, status: number, code: string, re?: RegExp): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status}: ${a.text}`);
  assert.equal(a.json.error, code, a.text);
  assert.equal(typeof a.json.message, 'string', a.text);
  if (re) assert.match(String(a.json.message), re);
}

/** Every entry under `dir` (path -> kind, size, content hash or link target); {} when absent. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const full = join(d, name);
      const rel = relative(dir, full);
      // A file gone between listing and reading (the temp file of a running sidecar's atomic
      // write) is not part of the snapshot; any other error still fails.
      const entry = await describeEntry(full).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (entry === undefined) continue;
      out[rel] = entry;
      if (entry === 'dir') await walk(full);
    }
  };
  await walk(dir);
  return out;
}

async function describeEntry(full: string): Promise<string> {
  const st = await lstat(full);
  if (st.isSymbolicLink()) return `link -> ${await readlink(full)}`;
  if (st.isDirectory()) return 'dir';
  if (st.isFile())
    return `file ${st.size} ${createHash('sha256')
      .update(await readFile(full))
      .digest('hex')}`;
  return 'special';
}

/** Snapshot of the storage dir without the (mutable) sidecar bookkeeping, if kept there. */
export async function published(world: World): Promise<Record<string, string>> {
  const all = await snapshot(world.storage);
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('.chartsync')));
}

/** The canary dir is exactly as written, and nothing named `pwned*` appeared under the world. */
export async function assertOutsideUntouched(world: World): Promise<void> {
  assert.deepEqual(await snapshot(world.outside), {
    'canary.txt': `file ${CANARY.length} ${createHash('sha256').update(CANARY).digest('hex')}`,
  });
  const pwned = Object.keys(await snapshot(world.root)).filter((p) => /pwned/.test(p));
  assert.deepEqual(pwned, [], 'no marker file of an injected command exists');
}

/** Files under `dir` whose bytes contain `secret` (relative paths), skipping `except`. */
export async function filesContaining(dir: string, secret: string, except: string[] = []): Promise<string[]> {
  const hits: string[] = [];
  const needle = Buffer.from(secret);
  for (const [rel, kind] of Object.entries(await snapshot(dir))) {
    if (!kind.startsWith('file') || except.includes(rel)) continue;
    // A git session's files (sidecar-data/secrets/git-*) live only while its command runs: one
    // listed a moment ago may be gone now.
    const data = await readFile(join(dir, rel)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (data && (data.includes(needle) || gunzipIncludes(data, needle))) hits.push(rel);
  }
  return hits;
}

function gunzipIncludes(data: Buffer, needle: Buffer): boolean {
  if (data[0] !== 0x1f || data[1] !== 0x8b) return false;
  try {
    return gunzipSync(data).includes(needle);
  } catch {
    return false;
  }
}

/** Polls `check` (bounded) until it returns a value; fails naming `what`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function exists(path: string): boolean {
  return existsSync(path);
}
