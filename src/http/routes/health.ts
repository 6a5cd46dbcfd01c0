// Liveness, readiness (database, storage, queue, disk space) and Prometheus metrics.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { within } from '../../lib/until-aborted.js';
import type { HttpContext } from '../context.js';

const CHECK_TIMEOUT_MS = 2000;

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) });
const Readiness = (status: 'ready' | 'unavailable', description: string) =>
  Type.Object(
    { status: Type.Literal(status), checks: Type.Object({ database: Check, storage: Check, queue: Check, disk: Check }) },
    { description },
  );

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    return await within(
      check().then(() => ({ ok: true })),
      CHECK_TIMEOUT_MS,
      () => ({ ok: false, error: `no answer within ${CHECK_TIMEOUT_MS} ms` }),
    );
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export function healthRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { operationId: 'getLiveness', summary: 'Liveness', tags: ['operations'], security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );

    const readiness = {
      operationId: 'getReadiness',
      summary: 'Readiness: database, storage, job queue and local disk space',
      tags: ['operations'],
      security: [],
      response: { 200: Readiness('ready', 'Every check passed'), 503: Readiness('unavailable', 'A check failed: its error says why') },
    };
    app.get('/readyz', { schema: readiness }, async (_request, reply) => {
      const [database, storage, queue, disk] = await Promise.all([
        probe(() => ctx.catalog.check()),
        probe(() => ctx.store.check()),
        probe(() => ctx.queue.check()),
        probe(() => ctx.disk.check()),
      ]);
      const ready = database.ok && storage.ok && queue.ok && disk.ok;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, storage, queue, disk } });
    });

    const metrics = {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      tags: ['operations'],
      security: [],
      response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } },
    };
    app.get('/metrics', { schema: metrics }, async (_request, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    });
  };
}
