// An answer sent while the request's body is still arriving stops the reading and closes the connection: the rest is never read.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a connection refused mid-body stays open, unread, after its answer went out. Closed at once, the unread
 * bytes make the kernel reset the connection, and a client still sending its body often sees that reset instead of
 * the answer waiting in its buffer (fetch fails with EPIPE). Unread, the client's sending stalls while it reads the
 * answer; this bounds how long it may take.
 */
export const LINGER_MS = 2000;

const writeHead = ServerResponse.prototype.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * The server's response class. To reuse a connection, Node reads whatever is left of the current body, however much
 * that is: a 500 MB upload refused at its first megabyte (413, 401, 429...) was read to its end before the connection
 * could serve anything else. A response whose head is written before the body ended says `Connection: close`
 * instead, nothing more is read, and the connection is closed LINGER_MS after the answer went out. Every answer goes
 * through writeHead (Node's implicit head too), those of the fast lane and of the router's early errors included.
 */
export class ClosingResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}

/**
 * Whether part of the request's body may still be on the wire. Not `!request.complete` alone: a request without a body
 * is complete only once the parser returns from its headers, so an answer written synchronously in the 'request' event
 * (the fast lane) saw every bodiless GET as unfinished and closed its keep-alive connection (every hit a new connection).
 */
function bodyPending(request: IncomingMessage): boolean {
  if (request.complete) return false;
  const { headers } = request;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

ClosingResponse.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
  const request = this.req;
  const socket = this.socket;
  if (bodyPending(request) && socket && !socket.destroyed) {
    this.shouldKeepAlive = false;
    request.pause();
    socket.pause();
    // Node's two steps once such an answer is written, replaced for this connection: reading the rest of a body no
    // one read off the wire (IncomingMessage's _dump, which would resume the socket), and destroying the socket as
    // soon as the answer is written (destroySoon).
    Object.assign(request, { _dump: () => undefined });
    socket.destroySoon = () => lingerThenClose(socket);
  }
  return writeHead.apply(this, args);
} as ServerResponse['writeHead'];

function lingerThenClose(socket: Socket): void {
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
