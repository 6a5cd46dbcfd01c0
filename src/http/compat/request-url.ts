// Absolute URLs inside profile answers, built from the request as the seeds did (COMPAT.md §2.2), never from PUBLIC_URL.
import type { FastifyRequest } from 'fastify';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
/** A Host header that can stand in a URL as it is: a name or address, and perhaps a port. */
const PLAIN_HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

/**
 * `<scheme>://<Host>`: the scheme is X-Forwarded-Proto when the peer is trusted (loopback, as uvicorn's
 * --forwarded-allow-ips 127.0.0.1, or any peer with TRUST_PROXY=true), else http.
 */
export function requestBase(request: FastifyRequest, trustProxy: boolean): string {
  const peer = request.raw.socket.remoteAddress ?? '';
  const forwarded = trustProxy || LOOPBACK.test(peer) ? headerValue(request.headers['x-forwarded-proto']) : '';
  const scheme = forwarded === 'https' || forwarded === 'http' ? forwarded : 'http';
  const host = request.headers.host ?? '';
  if (PLAIN_HOST.test(host)) return `${scheme}://${host}`;
  const local = request.raw.socket.localAddress ?? '127.0.0.1';
  return `${scheme}://${local.includes(':') ? `[${local}]` : local}:${request.raw.socket.localPort ?? 80}`;
}

const headerValue = (value: string | string[] | undefined): string =>
  (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim().toLowerCase() ?? '';
