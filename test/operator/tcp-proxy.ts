/**
 * A TCP proxy in front of the API server that a test can cut: every open connection is reset
 * and new ones are refused until it is resumed (on the same port). Or stall: connections stay
 * open (new ones are accepted) but no byte passes any more, like a black-holed network path.
 * TLS passes through untouched.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  /** From now on nothing is forwarded, nothing is closed. */
  stall(): void;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const make = (): Server =>
    createServer((client) => {
      if (stalled) {
        sockets.add(client);
        client.on('close', () => sockets.delete(client));
        client.on('error', () => client.destroy());
        return; // accepted, never answered
      }
      const upstream = connect(targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  const listen = (srv: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
    });
  let server: Server | undefined = make();
  const port = await listen(server, 0);
  const closeServer = async () => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  };
  return {
    port,
    cut: closeServer,
    stall: () => {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    resume: async () => {
      if (server) return;
      server = make();
      await listen(server, port);
    },
    close: closeServer,
  };
}
