// Content negotiation for variants: the Accept header's q-values (parsed by @fastify/accepts) choose the output format.
import type { FastifyRequest } from 'fastify';
import { CONTENT_TYPES, type FormatChooser, type OutputFormat } from '../core/variants/variant-options.js';

/**
 * The client's choice among the candidates: the media type it names with the highest q (ties in its own order, then the
 * server's). Only types named outright count: `*\/*` or `image/*` alone get the universal JPEG, PNG or GIF, never a
 * format an old client may not decode; `q=0` is a refusal.
 */
export function formatChooser(request: FastifyRequest): FormatChooser {
  return (candidates) => {
    if (request.headers.accept === undefined) return undefined;
    const byType = new Map<string, OutputFormat>(candidates.map((format) => [CONTENT_TYPES[format], format]));
    // With no types given, accepts answers those the header names with q > 0, best first.
    for (const type of request.accepts().types() as string[]) {
      const format = byType.get(type.toLowerCase());
      if (format) return format;
    }
    return undefined;
  };
}
