/**
 * A real OCI registry for tests: the CNCF Distribution registry (.tools/bin/registry, built from
 * its Go module by scripts/tools.sh) on 127.0.0.1, in one of the auth modes registries use in the
 * field — none, htpasswd basic auth (a bcrypt file written by the real `htpasswd`), or token auth
 * (a small token issuer here signs ES256 JWTs; the registry verifies them against a JWKS file,
 * exactly as it verifies Harbor's or Docker Hub's) — over plain HTTP or TLS with a test CA
 * (made with openssl). `stop()` and `start()` again keep the port and the storage, so a test can
 * take the registry down and bring it back.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OciClient, OciRepository } from '@chartsync/sidecar/oci';
import { toolsBin } from './paths.ts';
import { guardChild } from './reaper.ts';

const run = promisify(execFile);
export const registryBin = join(toolsBin, 'registry');

export interface RegistryUser {
  username: string;
  password: string;
}

export interface OciRegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  tls?: boolean;
  users?: RegistryUser[];
  /** Token mode: anonymous clients get pull tokens (like a public repository on Docker Hub). */
  anonymousPull?: boolean;
}

export interface TokenRequest {
  user: string | undefined;
  scope: string[];
  service: string | null;
}

const SERVICE = 'chartsync-test-registry';
const ISSUER = 'chartsync-test-issuer';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for 127.0.0.1/localhost, both made by openssl. */
async function makeTls(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=chartsync test CA',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  ]);
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class OciRegistry {
  readonly dir: string;
  readonly port: number;
  readonly tls: { caFile: string; certFile: string; keyFile: string } | undefined;
  readonly users: RegistryUser[];
  /** Every token request the issuer answered or refused (token mode). */
  readonly tokenRequests: TokenRequest[] = [];
  private readonly opts: OciRegistryOptions;
  private proc: ChildProcess | undefined;
  private issuer: Server | undefined;
  private readonly signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly kid = randomBytes(8).toString('hex');
  private output = '';

  private constructor(dir: string, port: number, opts: OciRegistryOptions, tls: OciRegistry['tls']) {
    this.dir = dir;
    this.port = port;
    this.opts = opts;
    this.tls = tls;
    this.users = opts.users ?? [{ username: 'chartsync', password: `pw-${randomBytes(6).toString('hex')}` }];
  }

  static async start(opts: OciRegistryOptions = {}): Promise<OciRegistry> {
    const dir = await mkdtemp(join(tmpdir(), 'chartsync-registry-'));
    const tls = opts.tls ? await makeTls(dir) : undefined;
    const registry = new OciRegistry(dir, await freePort(), opts, tls);
    await registry.writeConfig();
    await registry.start();
    return registry;
  }

  /** `127.0.0.1:<port>`: the registry host as references name it. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `oci://127.0.0.1:<port>` */
  get url(): string {
    return `oci://${this.host}`;
  }

  /** The registry's own base URL (http or https). */
  get baseUrl(): string {
    return `${this.tls ? 'https' : 'http'}://${this.host}`;
  }

  get user(): RegistryUser {
    return this.users[0] as RegistryUser;
  }

  private async writeConfig(): Promise<void> {
    const mode = this.opts.auth ?? 'none';
    const lines = [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog: { disabled: true }',
      'storage:',
      `  filesystem: { rootdirectory: ${join(this.dir, 'data')} }`,
      '  delete: { enabled: true }',
      '  maintenance: { uploadpurging: { enabled: false } }',
      'http:',
      `  addr: 127.0.0.1:${this.port}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      ...(this.tls
        ? ['  tls:', `    certificate: ${this.tls.certFile}`, `    key: ${this.tls.keyFile}`]
        : []),
    ];
    if (mode === 'htpasswd') {
      const entries: string[] = [];
      for (const u of this.users) {
        const { stdout } = await run('htpasswd', ['-nbB', u.username, u.password]);
        entries.push(stdout.trim());
      }
      await writeFile(join(this.dir, 'htpasswd'), `${entries.join('\n')}\n`);
      lines.push(
        'auth:',
        '  htpasswd:',
        '    realm: chartsync-test',
        `    path: ${join(this.dir, 'htpasswd')}`,
      );
    }
    if (mode === 'token') {
      await this.startIssuer();
      const jwk = {
        ...this.signingKey.publicKey.export({ format: 'jwk' }),
        kid: this.kid,
        alg: 'ES256',
        use: 'sig',
      };
      await writeFile(join(this.dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
      lines.push(
        'auth:',
        '  token:',
        `    realm: ${this.issuerUrl}/token`,
        `    service: ${SERVICE}`,
        `    issuer: ${ISSUER}`,
        `    jwks: ${join(this.dir, 'jwks.json')}`,
      );
    }
    await writeFile(join(this.dir, 'config.yml'), `${lines.join('\n')}\n`);
  }

  /** The token realm: https with the same test CA when the registry speaks TLS (helm insists). */
  get issuerUrl(): string {
    const addr = this.issuer?.address() as AddressInfo | undefined;
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${addr?.port ?? 0}`;
  }

  /** The token issuer: checks basic credentials, grants what the scope asks for to a known user. */
  private async startIssuer(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://issuer');
      const scope = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      const header = req.headers.authorization ?? '';
      let user: string | undefined;
      if (header.startsWith('Basic ')) {
        const [name, ...rest] = Buffer.from(header.slice(6), 'base64').toString().split(':');
        const known = this.users.find((u) => u.username === name && u.password === rest.join(':'));
        if (!known) {
          this.tokenRequests.push({ user: name, scope, service: url.searchParams.get('service') });
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid credentials"}');
          return;
        }
        user = known.username;
      }
      this.tokenRequests.push({ user, scope, service: url.searchParams.get('service') });
      const access = scope.flatMap((s) => {
        const [type, ...nameAndActions] = s.split(':');
        const actions = (nameAndActions.pop() ?? '').split(',');
        const granted = user ? actions : this.opts.anonymousPull ? actions.filter((a) => a === 'pull') : [];
        return granted.length ? [{ type, name: nameAndActions.join(':'), actions: granted }] : [];
      });
      const token = this.sign({ sub: user ?? '', access });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }));
    };
    this.issuer = this.tls
      ? createHttpsServer(
          { cert: readFileSync(this.tls.certFile), key: readFileSync(this.tls.keyFile) },
          handler,
        )
      : createServer(handler);
    await new Promise<void>((resolve) => this.issuer?.listen(0, '127.0.0.1', resolve));
  }

  private sign(claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: this.kid }));
    const body = b64url(
      JSON.stringify({
        iss: ISSUER,
        aud: SERVICE,
        iat: now,
        nbf: now - 10,
        exp: now + 300,
        jti: randomBytes(8).toString('hex'),
        ...claims,
      }),
    );
    const signer = createSign('SHA256').update(`${header}.${body}`);
    const sig = signer.sign({ key: this.signingKey.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${body}.${b64url(sig)}`;
  }

  /** Starts (or restarts) the registry process and waits until it answers. */
  async start(): Promise<void> {
    await mkdir(join(this.dir, 'data'), { recursive: true });
    this.output = '';
    const proc = spawn(registryBin, ['serve', join(this.dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // reaped if this process dies without stop()
    });
    guardChild(proc);
    this.proc = proc;
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`registry exited (${proc.exitCode}): ${this.output}`);
      const up = await this.ping().catch(() => false);
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`registry did not answer within 30 s: ${this.output}`);
  }

  /** GET /v2/ with the test CA: true once the registry answers at all (200 or 401). */
  private async ping(): Promise<boolean> {
    const request = this.tls ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(
        `${this.baseUrl}/v2/`,
        { ...(this.tls ? { ca: readFileSync(this.tls.caFile) } : {}), timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200 || res.statusCode === 401);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /** Stops the registry process (storage and port are kept for `start()`). */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
  }

  get log(): string {
    return this.output;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => (this.issuer ? this.issuer.close(() => resolve()) : resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Someone moves `tag` to an image index over the manifest it named (a multi-platform image,
 * say): no chart is readable at the tag any more. Answers the index's digest.
 */
export async function moveTagToImageIndex(
  client: OciClient,
  repo: OciRepository,
  tag: string,
): Promise<string> {
  const pushed = await client.manifest(repo, tag);
  if (!pushed) throw new Error(`no manifest at ${repo}:${tag}`);
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: pushed.digest,
          size: pushed.data.length,
        },
      ],
    }),
  );
  return client.putManifest(repo, tag, index, mediaType);
}
