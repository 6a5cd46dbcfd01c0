// Sends one webhook request: http(s) only, to an address checked after DNS resolution and connected to as checked, no redirects, a deadline.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { hostOf, isPublicAddress } from '../core/webhooks/webhook-targets.js';
import type { WebhookSender } from '../core/webhooks/webhook-delivery.js';
import { TargetRefusedError } from '../core/webhooks/webhook-delivery.js';

export interface SenderOptions {
  /** Let deliveries reach private, loopback and link-local addresses (WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean;
  /** The whole request, from connecting to the end of the answer (WEBHOOK_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

/** An answer's body is read only to let the connection end cleanly; past this much it is cut off. */
const MAX_ANSWER_BYTES = 64 * 1024;

const refusal = (host: string, address: string): TargetRefusedError =>
  new TargetRefusedError(`the target ${host} resolves to ${address}, a private, loopback or link-local address (set WEBHOOK_ALLOW_PRIVATE=true to allow it)`);

/**
 * Resolves a name and refuses it when any of its addresses is not public; the socket connects to the addresses
 * handed back here, so the name cannot resolve to something else between the check and the connection.
 */
function checkedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (bad) return callback(refusal(hostname, bad.address), '', 0);
      if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

export function createSender(options: SenderOptions): WebhookSender {
  const lookup = checkedLookup(options.allowPrivate);
  return (target, headers, body) =>
    new Promise((resolve, reject) => {
      const url = new URL(target);
      const host = hostOf(url);
      // A literal address is never looked up: it is checked here instead.
      if (isIP(host) !== 0 && !options.allowPrivate && !isPublicAddress(host)) return reject(refusal(host, host));
      const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
      if (!client) return reject(new TargetRefusedError(`the scheme ${url.protocol} is not http or https`));
      const limit = AbortSignal.timeout(options.timeoutMs);
      const request = client.request(url, {
        method: 'POST',
        // One connection per request: a kept-alive socket would skip the lookup, and its check, next time.
        agent: false,
        lookup,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // Past the limit the request, and an answer still arriving, are destroyed.
        signal: limit,
      });
      request.once('error', (err) => reject(limit.aborted ? new Error(`no complete answer within ${options.timeoutMs} ms`) : err));
      request.once('response', (answer) => {
        let read = 0;
        answer.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) answer.destroy();
        });
        // Redirects are answers like any other: not followed, and not a success.
        answer.once('close', () => resolve({ status: answer.statusCode ?? 0 }));
        answer.once('error', () => undefined);
      });
      request.end(body);
    });
}
