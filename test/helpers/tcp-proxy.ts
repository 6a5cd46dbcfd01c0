// A TCP proxy a test puts between imgd and a service (PostgreSQL, S3), to stall or cut the connection at will.
import net from 'node:net';

export interface TcpProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  readonly port: number;
  /** Rewrites a URL of the service (postgresql://…:5432/db, http://…:4568) to go through the proxy. */
  via(url: string): string;
  /** Stops moving bytes both ways, connections left open (a hung server or network); new connections wait too. */
  pause(): void;
  /** Moves bytes again after pause(). */
  resume(): void;
  /** Resets every connection and every new one until restore() (a server or network that is gone). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[net.Socket, net.Socket]>();
  let paused = false;
  let cut = false;

  const server = net.createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (!paused) flow(pair);
  });
  // Unpiped and paused, a socket holds what it read until it is piped again.
  const flow = ([client, upstream]: [net.Socket, net.Socket]): void => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const stall = ([client, upstream]: [net.Socket, net.Socket]): void => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const listening = (server.address() as net.AddressInfo).port;

  const proxy: TcpProxy = {
    port: listening,
    via(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(listening);
      return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
    },
    pause() {
      paused = true;
      for (const pair of pairs) stall(pair);
    },
    resume() {
      paused = false;
      for (const pair of pairs) flow(pair);
    },
    cut() {
      cut = true;
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      cut = false;
    },
    async close() {
      proxy.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
