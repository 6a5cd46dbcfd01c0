// Peer "floor + checks": a bare node:http server doing exactly imgd's checks on a multipart upload, with imgd's own
// modules and no framework or database: multipart parse, the streaming pass (SHA-256, size limit, format sniff,
// declared size, structural walk), the EXIF read and GPS removal, and the durable write (temp file, fsync, rename,
// fsync of the folder). What the checks themselves cost, for S1's "imgd >= 0.8 x floor with the same checks".
import http from 'node:http';
import path from 'node:path';
import { Busboy } from '@fastify/busboy';
import { loadConfig } from '../../src/config.js';
import { readIngestMetadata } from '../../src/core/metadata/location.js';
import { checkLimits } from '../../src/core/upload/probe.js';
import { UploadReceiver } from '../../src/core/upload/upload-receiver.js';
import { MemoryBudget } from '../../src/core/upload/received.js';
import { createFsStore } from '../../src/store/fs.js';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const dir = process.env.CHECKED_DIR ?? '/tmp/checked-floor';
const stagingDir = path.join(dir, 'tmp');
mkdirSync(stagingDir, { recursive: true });
const store = createFsStore(path.join(dir, 'blobs'));
const budget = new MemoryBudget(64 * 1024 * 1024);
// imgd's defaults, as `npm start` has them.
const { limits, allowedFormats } = loadConfig({});

async function receive(req: http.IncomingMessage): Promise<{ sha256: string; bytes: number }> {
  const parser = Busboy({ headers: req.headers as never, limits: { files: 1 } });
  let file: Promise<{ sha256: string; bytes: number }> | undefined;
  parser.on('file', (_field, stream, name) => {
    const receiver = new UploadReceiver(name, { limit: limits.fileSize, allowed: allowedFormats, probeLimits: limits, stagingDir, budget });
    file = pipeline(stream, receiver).then(async () => {
      const got = receiver.result();
      try {
        if (got.rejection || !got.format || !got.memory || !got.structure) throw new Error('refused');
        checkLimits(got.structure.width, got.structure.height, got.structure.frames, limits);
        const metadata = await readIngestMetadata({ head: got.head, whole: true, file: undefined }, got.format, true);
        const bytes = metadata.clean ?? got.memory;
        const sha256 = metadata.clean ? createHash('sha256').update(bytes).digest('hex') : got.sha256();
        if (!(await store.exists(originalKey(sha256)))) await store.putBytes(originalKey(sha256), bytes);
        return { sha256, bytes: bytes.length };
      } finally {
        got.release();
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
      (result) => {
        const body = JSON.stringify(result);
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
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
