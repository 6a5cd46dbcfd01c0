// Peer "floor": a bare node:http server. POST streams the body to a file with SHA-256 (and fsync when FSYNC=1);
// GET /mem/<name> answers a file held in memory with precomputed headers. What any Node server costs at least.
// With MEM_HEADERS (a flat [name, value, ...] JSON list, as imgd answered the same file) it sends those headers instead,
// a fresh x-request-id each time, and with SOCKET_TIMEOUT_MS it keeps imgd's idle-connection timeout: what imgd's
// answer itself costs Node, without imgd.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const dir = process.env.FLOOR_DIR ?? '/tmp';
const fsyncWrites = process.env.FSYNC === '1';
const memFile = process.env.MEM_FILE;
const memBytes = memFile ? readFileSync(memFile) : undefined;
const asImgd = process.env.MEM_HEADERS ? (JSON.parse(process.env.MEM_HEADERS) as string[]) : undefined;
const memHeaders = asImgd ?? (memBytes && ['content-type', 'image/jpeg', 'content-length', String(memBytes.length), 'etag', '"floor"']);
const requestIdAt = asImgd ? asImgd.indexOf('x-request-id') + 1 : 0;

async function receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const file = path.join(dir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(req, hasher, createWriteStream(file));
  if (fsyncWrites) {
    const handle = await open(file, 'r');
    await handle.sync();
    await handle.close();
  }
  const body = JSON.stringify({ sha256: hash.digest('hex'), bytes });
  res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  // Only to keep the disk from filling during long runs; imgd likewise drops its staged copy.
  await unlink(file);
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    receive(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  } else if (req.url?.startsWith('/mem/') && memBytes && memHeaders) {
    if (requestIdAt > 0) memHeaders[requestIdAt] = randomUUID();
    res.writeHead(200, memHeaders);
    res.end(memBytes);
  } else if (req.url === '/healthz') {
    res.end('ok');
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
if (process.env.SOCKET_TIMEOUT_MS) server.setTimeout(Number(process.env.SOCKET_TIMEOUT_MS));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
