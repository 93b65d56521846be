/**
 * Smart HTTP: `git http-backend` run as a CGI program behind a small node HTTP server, with
 * optional basic auth, optional redirects, and a log of the requests it served.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface HttpGitOptions {
  /** Required credentials; absent = anonymous access. */
  auth?: { username: string; password: string };
  /** Answer 302 with this location for matching request paths instead of serving git. */
  redirect?: (path: string) => string | undefined;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
  /** Speak only protocol v0 (ignore the client's Git-Protocol header), like older servers. */
  protocolV0?: boolean;
}

export interface HttpGitServer {
  port: number;
  /** `http(s)://127.0.0.1:<port>/<name>.git` */
  url: (name: string) => string;
  /** Method, path (with query), status and whether credentials came, per request, in order. */
  requests: { method: string; path: string; status: number; authorization: boolean }[];
  stop: () => Promise<void>;
  /** Serves again on the same port after stop() (a git server that comes back). */
  start: () => Promise<void>;
}

export async function startHttpGitServer(
  projectRoot: string,
  o: HttpGitOptions = {},
): Promise<HttpGitServer> {
  const requests: HttpGitServer['requests'] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    res.on('finish', () =>
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        authorization: req.headers.authorization !== undefined,
      }),
    );
    handle(projectRoot, o, req, res);
  };
  const listen = async (port: number): Promise<Server> => {
    const srv: Server = o.tls ? createTlsServer(o.tls, onRequest) : createServer(onRequest);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    return srv;
  };
  let server: Server | undefined = await listen(0);
  const port = (server.address() as AddressInfo).port;
  const scheme = o.tls ? 'https' : 'http';
  return {
    port,
    url: (name) => `${scheme}://127.0.0.1:${port}/${name}.git`,
    requests,
    stop: async () => {
      if (server) await close(server);
      server = undefined;
    },
    start: async () => {
      server ??= await listen(port);
    },
  };
}

function handle(root: string, o: HttpGitOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const location = o.redirect?.(url.pathname);
  if (location) {
    res.writeHead(302, { Location: location + url.search }).end();
    return;
  }
  if (o.auth && !authorized(req, o.auth)) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('authentication required\n');
    return;
  }
  cgi(root, req, res, url, o);
}

function authorized(req: IncomingMessage, auth: { username: string; password: string }): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^Basic (.+)$/i.exec(header);
  return (
    m?.[1] !== undefined && Buffer.from(m[1], 'base64').toString() === `${auth.username}:${auth.password}`
  );
}

function cgi(root: string, req: IncomingMessage, res: ServerResponse, url: URL, o: HttpGitOptions): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: '/nonexistent',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    REMOTE_USER: o.auth?.username ?? '',
    GIT_PROTOCOL: o.protocolV0 ? '' : String(req.headers['git-protocol'] ?? ''),
    HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headersDone = true;
    writeCgiHeaders(res, head.subarray(0, end).toString());
    res.write(head.subarray(end + 4));
  });
  child.on('close', () => {
    if (!headersDone) res.writeHead(500).end('git http-backend failed\n');
    else res.end();
  });
}

function writeCgiHeaders(res: ServerResponse, text: string): void {
  let status = 200;
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const [name, value] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else res.setHeader(name, value);
  }
  res.writeHead(status);
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
