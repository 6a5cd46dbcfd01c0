// Idempotency-Key on the upload routes: what makes two requests "the same" (their fingerprint), and a stored answer
// sent again.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseIdempotencyKey, type StoredAnswer } from '../core/upload/idempotency.js';
import type { ImgdError } from '../core/errors.js';
import type { BatchResult, UploadBatch } from '../core/upload/upload-api.js';

export const idempotencyKeyOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers['idempotency-key'];
  return parseIdempotencyKey(Array.isArray(header) ? header.join(',') : header);
};

/** A fingerprint of the request's content, not its framing: a retry with a new multipart boundary is the same request. */
export function fingerprintOf(route: string, parts: unknown): string {
  return createHash('sha256').update(JSON.stringify([route, parts])).digest('hex');
}

function tap(source: Readable, hash: Hash): Promise<string> {
  return new Promise((resolve) => {
    // A listener beside the pipe the batch sets up in the same tick: both see every chunk, and backpressure still holds.
    source.on('data', (chunk: Buffer) => hash.update(chunk));
    source.once('end', () => resolve(hash.digest('hex')));
    source.once('close', () => resolve(''));
  });
}

function recorder(): { files: Array<[string | null, Promise<string>]>; fields: Record<string, string> } {
  return { files: [], fields: {} };
}

async function settle(seen: ReturnType<typeof recorder>): Promise<unknown> {
  const files = await Promise.all(seen.files.map(async ([name, hash]) => [name, await hash]));
  return { files, fields: Object.entries(seen.fields).sort(([a], [b]) => a.localeCompare(b)) };
}

/**
 * Wraps a real batch, recording what it is sent (each file's name and SHA-256 in order, and the fields); everything
 * goes on to the batch. The fingerprint is known once finish() was called.
 */
export function fingerprinting(batch: UploadBatch): UploadBatch & { settled(route: string): Promise<string> } {
  const seen = recorder();
  return {
    limit: batch.limit,
    receive(source, originalName) {
      seen.files.push([originalName, tap(source, createHash('sha256'))]);
      return batch.receive(source, originalName);
    },
    finish(fields): Promise<BatchResult> {
      seen.fields = { ...fields };
      return batch.finish(fields);
    },
    abort: (error: ImgdError, originalName?: string | null) => batch.abort(error, originalName),
    async settled(route) {
      return fingerprintOf(route, await settle(seen));
    },
  };
}

/** A batch that stores nothing: it reads a retry's files only to tell whether they are the first request's. */
export function fingerprintOnly(limit: number): UploadBatch & { settled(route: string, fields: Record<string, string>): Promise<string> } {
  const seen = recorder();
  return {
    limit,
    async receive(source, originalName) {
      const hashed = tap(source, createHash('sha256'));
      seen.files.push([originalName, hashed]);
      source.resume();
      await hashed;
    },
    finish: () => Promise.reject(new Error('a fingerprint-only batch stores nothing')),
    abort: async (error) => error,
    async settled(route, fields) {
      seen.fields = { ...fields };
      return fingerprintOf(route, await settle(seen));
    },
  };
}

/** Sends a stored answer again, marked as such (Idempotent-Replayed: true). */
export function replay(reply: FastifyReply, answer: StoredAnswer): FastifyReply {
  reply.code(answer.status).headers(answer.headers).header('idempotent-replayed', 'true');
  return reply.send(answer.body === '' ? undefined : answer.body);
}
