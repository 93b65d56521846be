/**
 * A real HTTP Helm chart repository for tests: serves a directory of chart archives whose
 * index.yaml is written by the real `helm repo index`. Optional basic auth. Tests can also make
 * it hostile: rewrite the index (bad digests, `../` or `file://` URLs), stall a path forever,
 * trickle a body slowly, redirect, or answer with arbitrary bytes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize } from 'node:path';
import { parse, stringify } from 'yaml';
import { sharedHelm } from './helm.ts';

export type Behaviour =
  | { kind: 'stall' }
  | { kind: 'trickle'; intervalMs: number }
  | { kind: 'redirect'; location: string; status?: number }
  | { kind: 'body'; data: string | Buffer; status?: number };

export interface ChartRepoServerOptions {
  /** Directory holding the `.tgz` archives; index.yaml is written into it. */
  dir: string;
  /** URL path the repository lives under, e.g. `/stable` (default: the root). */
  basePath?: string;
  auth?: { username: string; password: string };
}

export interface RecordedRequest {
  path: string;
  /** `?…` as sent, or ''. */
  query: string;
  authorization: string | undefined;
}

export class ChartRepoServer {
  readonly dir: string;
  readonly basePath: string;
  readonly requests: RecordedRequest[] = [];
  private readonly auth: ChartRepoServerOptions['auth'];
  private readonly overrides = new Map<string, Behaviour>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;
  private port = 0;

  private constructor(opts: ChartRepoServerOptions) {
    this.dir = opts.dir;
    this.basePath = (opts.basePath ?? '').replace(/\/$/, '');
    this.auth = opts.auth;
  }

  /** Starts on a random free port of 127.0.0.1 and (re)builds the index with `helm repo index`. */
  static async start(opts: ChartRepoServerOptions): Promise<ChartRepoServer> {
    const repo = new ChartRepoServer(opts);
    const server = createServer((req, res) => void repo.handle(req, res));
    server.on('connection', (s) => {
      repo.sockets.add(s);
      s.on('close', () => repo.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    repo.server = server;
    repo.port = (server.address() as AddressInfo).port;
    await repo.buildIndex();
    return repo;
  }

  /** The repository URL (what `helm repo add` and Chart.yaml name), without a trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.basePath}`;
  }

  /** Runs the real `helm repo index` over the directory (relative URLs unless `absoluteUrls`). */
  async buildIndex(absoluteUrls = false): Promise<void> {
    await sharedHelm.run(['repo', 'index', this.dir, ...(absoluteUrls ? ['--url', this.url] : [])]);
  }

  /** Edits index.yaml as data, e.g. to corrupt a digest or plant a hostile URL. */
  async rewriteIndex(edit: (index: IndexDoc) => void): Promise<void> {
    const file = join(this.dir, 'index.yaml');
    const index = parse(await readFile(file, 'utf8')) as IndexDoc;
    edit(index);
    await writeFile(file, stringify(index));
  }

  /** Makes `path` (relative to the repository, e.g. `index.yaml`) behave badly. */
  override(path: string, behaviour: Behaviour): void {
    this.overrides.set(path.replace(/^\//, ''), behaviour);
  }

  clearOverrides(): void {
    this.overrides.clear();
  }

  requestsFor(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === `${this.basePath}/${path}`);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ path, query: url.search, authorization: req.headers.authorization });
    if (this.auth && req.headers.authorization !== basic(this.auth)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized');
      return;
    }
    if (!path.startsWith(`${this.basePath}/`)) {
      res.writeHead(404).end('not found');
      return;
    }
    const rel = path.slice(this.basePath.length + 1);
    const behaviour = this.overrides.get(rel);
    if (behaviour) return this.misbehave(behaviour, res);
    const file = normalize(rel);
    if (file.startsWith('..') || file.includes('/../')) {
      res.writeHead(400).end('bad path');
      return;
    }
    try {
      const data = await readFile(join(this.dir, file));
      const type = file.endsWith('.yaml') ? 'application/x-yaml' : 'application/gzip';
      res.writeHead(200, { 'content-type': type, 'content-length': data.length }).end(data);
    } catch {
      res.writeHead(404).end('not found');
    }
  }

  private misbehave(b: Behaviour, res: ServerResponse): void {
    switch (b.kind) {
      case 'stall':
        res.writeHead(200, { 'content-type': 'application/x-yaml' });
        res.write('apiVersion: v1\n');
        return; // never ends
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/x-yaml' });
        const timer = setInterval(() => res.write('# still going\n'), b.intervalMs);
        this.timers.add(timer);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'redirect':
        res.writeHead(b.status ?? 302, { location: b.location }).end();
        return;
      case 'body':
        res.writeHead(b.status ?? 200).end(b.data);
        return;
    }
  }
}

export interface IndexDoc {
  apiVersion: string;
  entries: Record<string, { name: string; version: string; urls: string[]; digest?: string }[]>;
  [key: string]: unknown;
}

function basic(auth: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}
