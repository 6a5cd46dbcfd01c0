// Sends a request body over a raw socket as fast as the server takes it, and measures what the server read of it.
import assert from 'node:assert/strict';
import net from 'node:net';
import type { TestApp } from './app.js';
import { waitFor } from './wait.js';

/** What the client offers: far more than any limit. */
export const OFFERED = 64 * 1024 * 1024;

export type Framing = 'length' | 'chunked';

export interface Sent {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Bytes the server read from the connection, request line and headers included. */
  readonly serverRead: number;
  /** Whether the client could send all it offered before the connection closed. */
  readonly sentAll: boolean;
}

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly framing: Framing;
  /** With Content-Length framing: the length declared and sent, when not OFFERED (one a route takes up front). */
  readonly declared?: number;
  /** The start of the body; filler bytes follow. */
  readonly start: Buffer;
}

/** The bytes each server connection read, by the client's port, once it closed. */
export function watchReads(t: TestApp): Map<number, number> {
  const reads = new Map<number, number>();
  t.app.http.server.on('connection', (socket: net.Socket) => {
    const port = socket.remotePort!;
    socket.once('close', () => reads.set(port, socket.bytesRead));
  });
  return reads;
}

/** Sends OFFERED bytes of body as fast as the connection takes them, until it closes; reads the answer. */
export async function send(t: TestApp, reads: Map<number, number>, request: Request): Promise<Sent> {
  const { port, hostname } = new URL(t.url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const clientPort = socket.localPort!;
  let answer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (answer = Buffer.concat([answer, chunk])));
  socket.on('error', () => undefined);
  let closed = false;
  const ended = new Promise((resolve) => socket.once('close', resolve)).then(() => (closed = true));
  const total = request.framing === 'length' ? (request.declared ?? OFFERED) : OFFERED;
  const framing = request.framing === 'length' ? `Content-Length: ${total}` : 'Transfer-Encoding: chunked';
  const headers = Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.write(`${request.method} ${request.path} HTTP/1.1\r\nHost: ${hostname}\r\n${headers}${framing}\r\n\r\n`);
  const filler = Buffer.alloc(64 * 1024, 0x41);
  let offered = 0;
  while (offered < total && !closed) {
    const data = offered === 0 ? Buffer.concat([request.start, filler.subarray(request.start.length)]) : filler;
    offered += data.length;
    const framed = request.framing === 'length' ? data : Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    if (!socket.write(framed)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), ended]);
  }
  if (!closed && request.framing === 'chunked') socket.end('0\r\n\r\n');
  await ended;
  const serverRead = await waitFor('the server side of the connection to close', async () => reads.get(clientPort));
  const text = answer.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, `an answer arrived: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  return {
    status: Number(statusLine.split(' ')[1]),
    headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])),
    body: text.slice(split + 4),
    serverRead,
    sentAll: offered >= total && !closed,
  };
}

