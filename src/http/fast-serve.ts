// The fast lane for public bytes: a GET that the router answered before with a public image (its bytes in memory, read
// from the store, or handed to nginx) is answered again in the server's request handler, before Fastify's per-request
// pipeline, for as long as nothing changed that image.
import { performance } from 'node:perf_hooks';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance, FastifyServerFactory } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import { requestIdOf } from './request-id.js';

/**
 * What the router decided for one URL (and Accept header): every response header but the request id, and where the
 * body lives. An entry only ever describes a full 200 of a public image to an anonymous request.
 */
export interface FastAnswer {
  /** Response headers as a flat [name, value, ...] list, Content-Length included. */
  readonly headers: readonly string[];
  readonly etag: string;
  /** The key of the body in the store (and in the hot cache). */
  readonly blobKey: string;
  readonly size: number;
  readonly contentType: string;
  /** The headers hand the body to nginx (X-Accel-Redirect): nothing to send but them. */
  readonly offloaded: boolean;
  /** The route pattern, for the request metrics. */
  readonly route: string;
}

interface Entry extends FastAnswer {
  /**
   * The header lists a 200 and a 304 are written with, each ending in the request id's slot: filled in just before the
   * synchronous writeHead (which reads the list then and keeps none of it), so no list is built per request.
   */
  readonly full: string[];
  readonly notModified: string[];
}

const REQUEST_ID_SLOT = ['x-request-id', ''] as const;

export interface FastServeOptions {
  /**
   * How long an access decision is reused when `lasting` says no. Changes made through this process clear every entry
   * at once; this bounds how long a change made elsewhere (another instance, the CLI) takes to be seen here.
   */
  readonly ttlMs: number;
  /**
   * Whether changes made elsewhere are being watched for (the servable index reads the database's serving version):
   * then entries are kept until forget(), with no time limit.
   */
  readonly lasting: () => boolean;
  readonly maxEntries: number;
  /** With CORS configured, requests that carry an Origin need the CORS plugin: they take the router. */
  readonly corsEnabled: boolean;
}

const DEFAULTS: FastServeOptions = { ttlMs: 1000, lasting: () => false, maxEntries: 10_000, corsEnabled: false };

/** Request headers whose handling belongs to the full pipeline (credentials, ranges, date conditions). */
const ROUTED_HEADERS = ['authorization', 'range', 'if-range', 'if-modified-since', 'if-match', 'if-unmodified-since'] as const;

/** Where the bytes of an entry come from (the core's serving: its hot cache, then the store). */
export interface FastBodies {
  /** The bytes held in memory under a blob key. */
  hot(blobKey: string): Buffer | undefined;
  /** Whether a blob of this size is read whole (larger ones are streamed, by the router). */
  whole(size: number): boolean;
  /** The bytes of a public blob read from the store (and kept in memory); undefined when the router should answer. */
  load(blobKey: string, facts: { readonly size: number; readonly contentType: string; readonly etag: string }): Promise<Buffer | undefined>;
}

export class FastServe {
  private readonly entries: LRUCache<string, Entry>;
  private readonly options: FastServeOptions;
  private open = true;
  private generation = 0;

  constructor(
    private readonly bodies: FastBodies,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    options: Partial<FastServeOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.entries = new LRUCache({ max: this.options.maxEntries, ttl: this.options.ttlMs, ttlAutopurge: false });
  }

  /** Whether a request may be answered from an entry at all (the router decides for everything else). */
  static eligible(req: IncomingMessage, corsEnabled: boolean): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith('/i/') || url.includes('?')) return false;
    const headers = req.headers;
    for (const name of ROUTED_HEADERS) if (headers[name] !== undefined) return false;
    return !(corsEnabled && headers.origin !== undefined);
  }

  private static keyOf(url: string, accept: string | undefined): string {
    return accept === undefined ? url : `${url}\n${accept}`;
  }

  /** Read before an access check and handed to remember(): an answer decided before a change is not kept. */
  get version(): number {
    return this.generation;
  }

  /** Whether remember() would keep an answer to this request decided at `decidedAt` (so its headers are worth building). */
  accepts(req: IncomingMessage, decidedAt: number): boolean {
    return this.open && decidedAt === this.generation && FastServe.eligible(req, this.options.corsEnabled);
  }

  /** Called by the router after it answered a public image in full; the next identical request skips the router. */
  remember(req: IncomingMessage, answer: FastAnswer, decidedAt: number): void {
    if (!this.accepts(req, decidedAt)) return;
    const key = FastServe.keyOf(req.url!, req.headers.accept);
    const notModified: string[] = [];
    for (let i = 0; i < answer.headers.length; i += 2) {
      const name = answer.headers[i]!;
      // A 304 has no body, neither here nor one for nginx to send; nginx keeps none of them, as the router tells it.
      if (name === 'x-accel-expires') notModified.push(name, '0');
      else if (name !== 'content-length' && name !== 'x-accel-redirect') notModified.push(name, answer.headers[i + 1]!);
    }
    notModified.push(...REQUEST_ID_SLOT);
    const full = [...answer.headers, ...REQUEST_ID_SLOT];
    this.entries.set(key, { ...answer, full, notModified }, this.options.lasting() ? { ttl: 0 } : undefined);
  }

  /** An image changed through this process (the servable index tells: an edit, a delete, a failure): decide everything anew. */
  forget(): void {
    this.generation += 1;
    this.entries.clear();
  }

  /** From the moment the server starts closing, every request takes the router (which answers 503). */
  close(): void {
    this.open = false;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Answers the request when an entry holds (its bytes in memory at once, or read from the store first); otherwise, or
   * when the read fails or the image changed meanwhile, hands it to `next` (the router) untouched.
   */
  serve(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    if (!this.open || this.entries.size === 0 || !FastServe.eligible(req, this.options.corsEnabled)) return next();
    const started = performance.now();
    const entry = this.entries.get(FastServe.keyOf(req.url!, req.headers.accept));
    // An offloaded entry's headers say Content-Length: 0 (nginx sends the body); a HEAD must be told the real length.
    if (!entry || (entry.offloaded && req.method === 'HEAD')) return next();
    const ifNoneMatch = req.headers['if-none-match'];
    let status: 200 | 304 = 200;
    if (ifNoneMatch !== undefined) {
      // Exactly our tag is a 304; a list or a weak form is left to the router's full comparison.
      if (ifNoneMatch === entry.etag) status = 304;
      else if (ifNoneMatch.includes(entry.etag.slice(1, -1)) || ifNoneMatch.includes('*')) return next();
    }
    if (status === 304 || req.method === 'HEAD' || entry.offloaded) return this.answer(req, res, entry, status, undefined, started);
    const held = this.bodies.hot(entry.blobKey);
    if (held) return this.answer(req, res, entry, status, held, started);
    if (!this.bodies.whole(entry.size)) return next();
    const decidedAt = this.generation;
    this.bodies.load(entry.blobKey, entry).then(
      // A change while the bytes were read (made private, deleted): the router decides anew.
      (body) => (body && this.open && decidedAt === this.generation ? this.answer(req, res, entry, status, body, started) : next()),
      () => next(),
    );
  }

  private answer(req: IncomingMessage, res: ServerResponse, entry: Entry, status: 200 | 304, body: Buffer | undefined, started: number): void {
    const id = requestIdOf(req);
    const headers = status === 304 ? entry.notModified : entry.full;
    headers[headers.length - 1] = id;
    res.writeHead(status, headers);
    res.end(body);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.http.record(req.method!, entry.route, status, seconds);
    if (this.log.isLevelEnabled('info')) {
      this.log.info({ reqId: id, req: { method: req.method, url: req.url }, res: { statusCode: status }, responseTime: seconds * 1000 }, 'request completed');
    }
  }
}

/**
 * The server Fastify listens on, made through its documented `serverFactory` as Fastify makes its own (same options and
 * timeouts), with the fast lane asked first on every request.
 */
export function fastLaneServer(fast: FastServe): FastifyServerFactory {
  return (handler, options) => {
    const opts = options as FastifyHttpOptions<http.Server> & { http?: http.ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
    const server = http.createServer(opts.http ?? {}, (req, res) => fast.serve(req, res, () => handler(req, res)));
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    if (opts.connectionTimeout !== undefined) server.setTimeout(opts.connectionTimeout);
    if (opts.maxRequestsPerSocket !== undefined && opts.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
}

/** From the moment the server starts closing, every request takes the router (which answers 503). */
export function closeFastLaneWithServer(app: FastifyInstance, fast: FastServe): void {
  app.addHook('preClose', async () => {
    fast.close();
  });
}
