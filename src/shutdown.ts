// The order things close in: listeners drain first (uploads in flight finish), then jobs stop, then decoder threads, then the database.
import type { FastifyInstance } from 'fastify';

/** What a core holds open, closed in this order. */
export interface CoreResources {
  readonly queue: { stop(): Promise<void> };
  readonly decoding: { close(): Promise<void> };
  readonly db: { destroy(): Promise<void> };
}

export async function closeCore({ queue, decoding, db }: CoreResources): Promise<void> {
  await queue.stop();
  await decoding.close();
  await db.destroy();
}

/** Stops accepting, lets in-flight requests finish (uploads included), then closes; a stuck client cannot hold it past timeoutMs. */
async function drain(http: FastifyInstance, timeoutMs: number): Promise<void> {
  // Connections busy when close() began are idle moments later: close them as they get there,
  // and a client that stops reading altogether must not hold the shutdown forever.
  const sweep = setInterval(() => http.server.closeIdleConnections(), 100);
  const force = setTimeout(() => http.server.closeAllConnections(), timeoutMs);
  force.unref();
  try {
    await http.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(force);
  }
}

/** The app's close(): every listener drains, then the core closes; called again, it answers the same promise. */
export function appShutdown(listeners: () => readonly FastifyInstance[], timeoutMs: number, closeRest: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      await Promise.all(listeners().map((server) => drain(server, timeoutMs)));
      await closeRest();
    })();
    return closing;
  };
}
