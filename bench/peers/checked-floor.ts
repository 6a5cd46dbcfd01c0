// Peer "floor + checks": a bare node:http server doing exactly imgd's checks on a multipart upload, with imgd's own
// modules and no framework or database: multipart parse, the streaming pass (SHA-256, size limit, format sniff,
// declared size, structural walk), the EXIF read and GPS removal, then the floor's own durable write: every upload's
// kept bytes to a file of its own with fsync (not skipped when the same bytes came before: the floor writes each
// upload, and imgd records each upload durably too). What the checks themselves cost, for S1's "imgd >= 0.8 x floor
// with the same checks".
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Busboy } from '@fastify/busboy';
import { imgdChecks } from './imgd-checks.js';

const dir = process.env.CHECKED_DIR ?? '/tmp/checked-floor';
mkdirSync(dir, { recursive: true });
const check = imgdChecks(dir);

/** The floor's write (floor.ts with FSYNC=1): the bytes to a new file, fsynced. */
async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function receive(req: http.IncomingMessage): Promise<{ sha256: string; bytes: number; file: string }> {
  const parser = Busboy({ headers: req.headers as never, limits: { files: 1 } });
  let file: Promise<{ sha256: string; bytes: number; file: string }> | undefined;
  parser.on('file', (_field, stream, name) => {
    file = check(stream, name).then(async ({ sha256, bytes, release }) => {
      try {
        const kept = path.join(dir, `${randomUUID()}.jpg`);
        await writeDurably(kept, bytes);
        return { sha256, bytes: bytes.length, file: kept };
      } finally {
        release();
      }
    });
  });
  await pipeline(req, parser);
  if (!file) throw new Error('no file');
  return file;
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    receive(req).then(
      ({ sha256, bytes, file }) => {
        const body = JSON.stringify({ sha256, bytes });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        // As the floor does: only to keep the disk from filling during long runs.
        unlink(file).catch(() => undefined);
      },
      (err: unknown) => {
        res.statusCode = 422;
        res.end(String(err));
      },
    );
  } else if (req.url === '/healthz') {
    res.end('ok');
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
