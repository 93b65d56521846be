/**
 * A fault injector in front of a real (plain-HTTP) registry: forwards every request as it is
 * (Host header included, so the registry's upload Locations point back here) unless a rule
 * matches, which can cut the connection (a registry going down mid-push), answer by itself,
 * or rewrite the registry's answer (a manifest whose content does not match its digest), or
 * let the registry do the request and lose its answer.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultAction =
  | { kind: 'reset' }
  /** The registry does the request, its answer is lost (the connection is cut instead). */
  | { kind: 'forward-reset' }
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body?: Buffer | string }
  | { kind: 'rewrite'; body: (original: Buffer) => Buffer };

export interface FaultRule {
  method?: string;
  path: RegExp;
  action: FaultAction;
  /** How many times it fires (default: always). */
  times?: number;
}

export class OciFaultProxy {
  /** Every request seen; `authorized`: it carried an Authorization header (not a first, 401-bound try). */
  readonly requests: { method: string; path: string; authorized: boolean }[] = [];
  rules: FaultRule[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly upstream: { host: string; port: number };

  constructor(upstreamHost: string) {
    const [host, port] = upstreamHost.split(':');
    this.upstream = { host: host as string, port: Number(port) };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get host(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return `127.0.0.1:${addr?.port ?? 0}`;
  }

  get url(): string {
    return `oci://${this.host}`;
  }

  private rule(req: IncomingMessage): FaultRule | undefined {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const found = this.rules.find(
      (r) => (!r.method || r.method === req.method) && r.path.test(path) && (r.times ?? 1) > 0,
    );
    if (found && found.times !== undefined) found.times--;
    return found;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorized: req.headers.authorization !== undefined,
    });
    const rule = this.rule(req);
    if (rule?.action.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (rule?.action.kind === 'answer') {
      const a = rule.action;
      req.resume();
      res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
      return;
    }
    const up = request(
      { ...this.upstream, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        if (rule?.action.kind === 'forward-reset') {
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        if (rule?.action.kind !== 'rewrite') {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const rewrite = rule.action.body;
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = rewrite(Buffer.concat(chunks));
          const headers = { ...upRes.headers, 'content-length': String(body.length) };
          res.writeHead(upRes.statusCode ?? 502, headers).end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
