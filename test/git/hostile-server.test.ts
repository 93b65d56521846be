/**
 * A hostile smart-HTTP server (protocol v2, written here: no real server misbehaves this way)
 * that answers a fetch with `remote:` messages without end. git prints each on stderr, and the
 * runner held all of git's output in the sidecar's memory while the stream kept the idle
 * timeout from firing: gigabytes within seconds. The command must be stopped once its output
 * passes a cap, with a message that says why.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GitError, syncCheckout } from '@chartsync/sidecar/git';
import { tempDir } from '../harness/paths.ts';

const policy = { allowLocal: false, allowInsecure: true };
const COMMIT = '1'.repeat(40);
/** What the server sends at most (then it holds the connection): bounded, should the cap fail. */
const SERVER_LIMIT = 96 * 1024 * 1024;

const pkt = (data: string | Buffer) => {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');

let server: Server;
const sockets = new Set<Socket>();
let sent = 0;
let tmp: { path: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await tempDir('chartsync-hostile-server-');
  server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
      res.end(Buffer.concat([pkt('version 2\n'), pkt('ls-refs\n'), pkt('fetch=shallow\n'), FLUSH]));
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('latin1')));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result' });
      if (body.includes('command=ls-refs')) {
        res.end(Buffer.concat([pkt(`${COMMIT} HEAD\n`), pkt(`${COMMIT} refs/heads/main\n`), FLUSH]));
        return;
      }
      // the packfile section, then sideband band 2 (progress messages) without end
      res.write(pkt('packfile\n'));
      const message = pkt(Buffer.concat([Buffer.from([2]), Buffer.from(`${'x'.repeat(60_000)}\n`)]));
      const spew = () => {
        while (sent < SERVER_LIMIT && !res.destroyed) {
          sent += message.length;
          if (!res.write(message)) return void res.once('drain', spew);
        }
      };
      spew();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await tmp?.cleanup();
});

test('a fetch answered by endless remote messages is stopped once its output passes the cap', {
  timeout: 20_000,
}, async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x.git`;
  const heapBefore = process.memoryUsage().rss;
  await assert.rejects(
    syncCheckout({ url, ref: COMMIT, dir: join(tmp.path, 'co'), policy }),
    (e: unknown) => e instanceof GitError && /more than \d+ MiB of messages/.test(e.message),
  );
  assert.ok(sent < SERVER_LIMIT, `the server sent all it had (${sent} bytes): git was not stopped`);
  const grown = process.memoryUsage().rss - heapBefore;
  assert.ok(grown < 64 * 1024 * 1024, `the sidecar grew by ${grown} bytes`);
});
