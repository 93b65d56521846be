/**
 * Where a registry's credentials may go, against the real registry behind a fault injector and
 * a second server standing for another party (object storage a blob is redirected to, a host
 * that is not the registry): only to the registry and the token realm the registry itself
 * names. A 401 answered by another origin after a redirect is not answered with them; an
 * https registry naming a plain-http realm (even on its own host) does not get them in clear.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OciClient, OciError } from '@chartsync/sidecar/oci';
import { OciFaultProxy } from '../harness/oci-fault-proxy.ts';
import { OciRegistry } from '../harness/oci-registry.ts';

const CREDS = { username: 'chartsync', password: 'never-elsewhere-7Q' };

/** Another party: answers every request 401 with a Bearer challenge whose realm is itself. */
class ElsewhereServer {
  readonly seen: { path: string; authorization: string | undefined }[] = [];
  private server: Server | undefined;
  async start(): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      this.seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      req.resume();
      if ((req.url ?? '').startsWith('/token'))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t"}');
      else
        res
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="x"` })
          .end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }
  get host(): string {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return `127.0.0.1:${addr?.port ?? 0}`;
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('registry credentials go to the registry and its realm only', () => {
  let registry: OciRegistry;
  let proxy: OciFaultProxy;
  let elsewhere: ElsewhereServer;
  let client: OciClient;
  before(async () => {
    registry = await OciRegistry.start();
    proxy = await new OciFaultProxy(registry.host).start();
    elsewhere = await new ElsewhereServer().start();
    client = new OciClient({
      timeoutMs: 5000,
      plainHttp: [proxy.host],
      credentials: (r) => (r === proxy.host ? CREDS : undefined),
    });
  });
  after(async () => {
    await elsewhere?.stop();
    await proxy?.stop();
    await registry?.cleanup();
  });

  test('a redirect to another origin that answers 401 is not answered with the credentials', async () => {
    proxy.rules = [
      {
        method: 'GET',
        path: /\/manifests\/1\.0\.0$/,
        action: { kind: 'answer', status: 307, headers: { location: `http://${elsewhere.host}/storage/m` } },
      },
    ];
    const repo = { registry: proxy.host, path: 'charts/app' };
    await assert.rejects(client.manifest(repo, '1.0.0'), (err: Error) => {
      assert.ok(err instanceof OciError, String(err));
      assert.equal(err.kind, 'auth');
      assert.match(err.message, /redirect/);
      assert.doesNotMatch(err.message, new RegExp(CREDS.password));
      return true;
    });
    assert.ok(elsewhere.seen.length > 0, 'the redirect was followed');
    for (const s of elsewhere.seen) assert.equal(s.authorization, undefined, `credentials sent to ${s.path}`);
    assert.ok(!elsewhere.seen.some((s) => s.path.startsWith('/token')), 'no token asked of the other party');
  });

  test('an https registry whose token realm is plain http: no credentials in clear text', async () => {
    const tlsRegistry = await OciRegistry.start({ tls: true });
    const tls = tlsRegistry.tls as { caFile: string; certFile: string; keyFile: string };
    // The TLS registry's certificate, on a front that names a plain-http realm on the same host.
    const front = createHttpsServer(
      { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) },
      (req, res) => {
        req.resume();
        res
          .writeHead(401, { 'www-authenticate': `Bearer realm="http://${elsewhere.host}/token",service="x"` })
          .end();
      },
    );
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
      const tlsClient = new OciClient({
        timeoutMs: 5000,
        caCerts: await readFile(tls.caFile, 'utf8'),
        credentials: (r) => (r === host ? CREDS : undefined),
      });
      const before = elsewhere.seen.length;
      await assert.rejects(tlsClient.tags({ registry: host, path: 'charts/app' }), (err: Error) => {
        assert.ok(err instanceof OciError, String(err));
        assert.equal(err.kind, 'auth');
        assert.match(err.message, /plain-http token realm/);
        return true;
      });
      assert.deepEqual(elsewhere.seen.slice(before), [], 'nothing sent to the plain-http realm');
    } finally {
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await tlsRegistry.cleanup();
    }
  });
});
