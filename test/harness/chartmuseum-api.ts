/**
 * A stand-in for ChartMuseum: the real server cannot be built here (its Go modules are not
 * available through the module proxy), so this implements the subset of ChartMuseum's HTTP API
 * that chartsync and helm use, following ChartMuseum's multi-tenant handlers (`--depth=1`):
 *
 *   GET    /health                              {"healthy":true}
 *   GET    /:repo/index.yaml                    index built from the stored archives, urls `charts/<file>`
 *   GET    /:repo/charts/:file                  a stored archive
 *   GET    /api/:repo/charts                    {name: [chart versions]} ({} when empty)
 *   GET    /api/:repo/charts/:name[/:version]   versions of a chart / one version; 404 {"error":...}
 *   POST   /api/:repo/charts                    raw .tgz body or multipart field `chart`; 201 {"saved":true};
 *                                               409 {"error":"file already exists"} unless ?force or overwrite
 *   DELETE /api/:repo/charts/:name/:version     200 {"deleted":true}; 404 when absent
 *
 * with basic auth (and ChartMuseum's bearer option reduced to a static token), 401
 * {"error":"unauthorized"} otherwise. Archives are stored on disk as `<root>/<repo>/<file>.tgz`,
 * exactly ChartMuseum's local storage layout. `stop()`/`start()` simulate an outage on the same port.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { parse, stringify } from 'yaml';

export interface ChartMuseumApiOptions {
  root: string;
  username?: string;
  password?: string;
  token?: string;
  allowOverwrite?: boolean;
  /** ChartMuseum's DISABLE_API: every /api route answers 404. */
  disableApi?: boolean;
  /** Listen address (default 127.0.0.1; the image of the stand-in listens on every address). */
  host?: string;
  /** Port of the first start (default: a free one). */
  port?: number;
}

interface ChartVersion {
  name: string;
  version: string;
  digest: string;
  created: string;
  urls: string[];
  [key: string]: unknown;
}

export class ChartMuseumApi {
  readonly opts: ChartMuseumApiOptions;
  port = 0;
  /** Every request seen, `METHOD /path` (for assertions on what the client did). */
  readonly requests: string[] = [];
  private server: Server | undefined;

  constructor(opts: ChartMuseumApiOptions) {
    this.opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on a free port the first time, on the same port after a `stop()`. */
  async start(): Promise<this> {
    await mkdir(this.opts.root, { recursive: true });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => send(res, 500, { error: String((err as Error).message) }));
    });
    this.server.listen(this.port || (this.opts.port ?? 0), this.opts.host ?? '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    this.requests.push(`${req.method} ${path}`);
    if (path === '/health') return send(res, 200, { healthy: true });
    if (!this.authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="ChartMuseum"');
      return send(res, 401, { error: 'unauthorized' });
    }
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (seg.some((s) => s === '..' || s.startsWith('.'))) return send(res, 400, { error: 'bad path' });
    const m = req.method;
    if (m === 'GET' && seg.length === 2 && seg[1] === 'index.yaml') return this.index(res, seg[0] as string);
    if (m === 'GET' && seg.length === 3 && seg[1] === 'charts')
      return this.archive(res, seg[0] as string, seg[2] as string);
    if (seg[0] !== 'api' || seg[2] !== 'charts' || this.opts.disableApi)
      return send(res, 404, { error: 'not found' });
    const repo = seg[1] as string;
    if (m === 'GET' && seg.length === 3) return send(res, 200, await this.entries(repo));
    if (m === 'GET' && seg.length === 4) {
      const versions = (await this.entries(repo))[seg[3] as string];
      return versions ? send(res, 200, versions) : send(res, 404, { error: 'chart not found' });
    }
    if (m === 'GET' && seg.length === 5) {
      const v = (await this.entries(repo))[seg[3] as string]?.find((e) => e.version === seg[4]);
      return v
        ? send(res, 200, v)
        : send(res, 404, { error: `no chart version found for ${seg[3]}-${seg[4]}` });
    }
    if (m === 'POST' && seg.length === 3) return this.upload(req, res, repo, url.searchParams.has('force'));
    if (m === 'DELETE' && seg.length === 5) return this.remove(res, repo, seg[3] as string, seg[4] as string);
    return send(res, 405, { error: 'method not allowed' });
  }

  private authorized(req: IncomingMessage): boolean {
    const { username, password, token } = this.opts;
    if (username === undefined && token === undefined) return true;
    const header = req.headers.authorization ?? '';
    if (token !== undefined && header === `Bearer ${token}`) return true;
    if (username === undefined) return false;
    return header === `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private async upload(
    req: IncomingMessage,
    res: ServerResponse,
    repo: string,
    force: boolean,
  ): Promise<void> {
    const content = await this.chartContent(req);
    if (!content)
      return send(res, 400, { error: 'no package or provenance file found in form fields chart and prov' });
    let meta: { name: string; version: string };
    try {
      meta = await chartYaml(content);
    } catch (err) {
      return send(res, 500, { error: (err as Error).message });
    }
    const file = join(this.opts.root, repo, `${meta.name}-${meta.version}.tgz`);
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (exists && !this.opts.allowOverwrite && !force)
      return send(res, 409, { error: 'file already exists' });
    await mkdir(join(this.opts.root, repo), { recursive: true });
    await writeFile(file, content);
    return send(res, 201, { saved: true });
  }

  /** The raw body, or the multipart field `chart` (ChartMuseum's default form field). */
  private async chartContent(req: IncomingMessage): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) return body.length ? body : undefined;
    const form = await new Request('http://x', {
      method: 'POST',
      headers: { 'content-type': type },
      body,
    }).formData();
    const field = form.get('chart');
    return field instanceof Blob ? Buffer.from(await field.arrayBuffer()) : undefined;
  }

  private async remove(res: ServerResponse, repo: string, name: string, version: string): Promise<void> {
    const file = join(this.opts.root, repo, `${name}-${version}.tgz`);
    try {
      await stat(file);
    } catch {
      return send(res, 404, { error: `remove ${file}: no such file or directory` });
    }
    await rm(file);
    await rm(`${file}.prov`, { force: true });
    return send(res, 200, { deleted: true });
  }

  private async archive(res: ServerResponse, repo: string, file: string): Promise<void> {
    try {
      const data = await readFile(join(this.opts.root, repo, file));
      res.writeHead(200, { 'content-type': 'application/x-tar' }).end(data);
    } catch {
      send(res, 404, { error: 'object not found' });
    }
  }

  private async index(res: ServerResponse, repo: string): Promise<void> {
    const doc = { apiVersion: 'v1', entries: await this.entries(repo), generated: new Date().toISOString() };
    res.writeHead(200, { 'content-type': 'application/x-yaml' }).end(stringify(doc));
  }

  /** What ChartMuseum's index holds for a repo: every stored archive, newest version first. */
  async entries(repo: string): Promise<Record<string, ChartVersion[]>> {
    const dir = join(this.opts.root, repo);
    const files = await readdir(dir).catch(() => [] as string[]);
    const out: Record<string, ChartVersion[]> = {};
    for (const f of files.filter((x) => x.endsWith('.tgz')).sort()) {
      const content = await readFile(join(dir, f));
      const meta = await chartYaml(content);
      const created = (await stat(join(dir, f))).mtime.toISOString();
      const entry = {
        ...meta,
        urls: [`charts/${f}`],
        created,
        digest: createHash('sha256').update(content).digest('hex'),
      };
      const list = out[meta.name] ?? [];
      list.push(entry);
      out[meta.name] = list;
    }
    for (const list of Object.values(out))
      list.sort((a, b) => b.version.localeCompare(a.version, 'en', { numeric: true }));
    return out;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** Chart.yaml of a chart archive (`<chart>/Chart.yaml`, the top-level one). */
async function chartYaml(archive: Buffer): Promise<{ name: string; version: string; [k: string]: unknown }> {
  let text: string | undefined;
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      if (/^[^/]+\/Chart\.yaml$/.test(entry.path) && text === undefined) {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          text = Buffer.concat(chunks).toString('utf8');
        });
      } else entry.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', () => resolve());
    parser.end(archive);
  });
  if (text === undefined) throw new Error('chart archive has no Chart.yaml');
  const meta = parse(text) as { name?: string; version?: string };
  if (!meta?.name || !meta.version) throw new Error('Chart.yaml lacks name or version');
  return meta as { name: string; version: string };
}
