/**
 * A server that cuts a fetch short (mid-pack) or stalls until the timeout: git's index-pack
 * leaves the bytes it received as `objects/pack/tmp_pack_*` in the checkout's git dir. The
 * previous checkout must stay as it was, and what the cut fetch wrote must not stay on disk:
 * otherwise every failed sync of such a server adds its bytes to the data dir, uncounted by
 * the checkout cap and never removed (gc only runs once 20 real packs piled up).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GitError, syncCheckout } from '@chartsync/sidecar/git';
import { type FixtureRepo, type GitServers, startGitServers } from '../harness/git-server.ts';
import { tempDir } from '../harness/paths.ts';

const MiB = 1024 * 1024;
const policy = { allowLocal: false, allowInsecure: true };

/**
 * A proxy in front of the HTTP git server that, while `cutAfter` is set, forwards only that
 * many bytes of an upload-pack answer and then closes the connection (a server dying mid-pack).
 */
class CuttingProxy {
  cutAfter: number | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly upstreamPort: number;
  constructor(upstreamPort: number) {
    this.upstreamPort = upstreamPort;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const up = request(
        {
          host: '127.0.0.1',
          port: this.upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const limit =
            req.url?.includes('git-upload-pack') && req.method === 'POST' ? this.cutAfter : undefined;
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (limit !== undefined && sent + chunk.length > limit) {
              res.write(chunk.subarray(0, Math.max(0, limit - sent)));
              res.socket?.destroy();
              answer.destroy();
              return;
            }
            sent += chunk.length;
            res.write(chunk);
          });
          answer.on('end', () => res.end());
        },
      );
      req.pipe(up);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(name: string): string {
    const port = (this.server?.address() as AddressInfo | undefined)?.port;
    return `http://127.0.0.1:${port}/${name}.git`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let servers: GitServers;
let proxy: CuttingProxy;
let repo: FixtureRepo;
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  servers = await startGitServers({ http: true });
  proxy = await new CuttingProxy(servers.http?.port ?? 0).start();
  repo = await servers.repos.create('cut', { 'charts/a/Chart.yaml': 'name: a\n' });
  tmp = await tempDir('chartsync-cut-fetch-');
});
after(async () => {
  await proxy?.stop();
  await servers?.stop();
  await tmp?.cleanup();
});

async function leftovers(gitDir: string): Promise<string[]> {
  const pack = (await readdir(join(gitDir, 'objects', 'pack'))).filter((f) => f.startsWith('tmp_'));
  const objects = (await readdir(join(gitDir, 'objects'))).filter(
    (f) => f.startsWith('tmp_') || f.startsWith('incoming-'),
  );
  return [...pack, ...objects];
}

test('a fetch cut mid-pack leaves the previous checkout and no partial pack behind', async () => {
  const dir = join(tmp.path, 'co');
  const url = proxy.url('cut');
  const first = await syncCheckout({ url, dir, policy });
  // 6 MiB that do not compress: the cut comes well inside the pack
  await repo.write({ 'charts/a/blob.bin': randomBytes(6 * MiB) });
  await repo.commit('big');
  await repo.push();
  proxy.cutAfter = 2 * MiB;
  await assert.rejects(syncCheckout({ url, dir, policy }), (e: unknown) => e instanceof GitError);
  assert.equal(await readFile(join(dir, 'charts/a/Chart.yaml'), 'utf8'), 'name: a\n');
  assert.deepEqual(await leftovers(join(dir, '.git')), [], 'the cut fetch left its partial pack');
  // the server back to normal: the update goes through
  proxy.cutAfter = undefined;
  const second = await syncCheckout({ url, dir, policy });
  assert.notEqual(second.commit, first.commit);
  assert.deepEqual(await leftovers(join(dir, '.git')), []);
});

test('temporary files a killed git left (kill -9 of the sidecar mid-fetch) are removed by the next update', async () => {
  const dir = join(tmp.path, 'killed');
  const url = proxy.url('cut');
  await syncCheckout({ url, dir, policy });
  await writeFile(join(dir, '.git/objects/pack/tmp_pack_left'), randomBytes(64 * 1024));
  await writeFile(join(dir, '.git/objects/tmp_obj_left'), 'x');
  await repo.write({ 'charts/a/values.yaml': 'x: 1\n' });
  await repo.commit('more');
  await repo.push();
  await syncCheckout({ url, dir, policy });
  assert.deepEqual(await leftovers(join(dir, '.git')), []);
});
