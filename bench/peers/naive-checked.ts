// Peer "naive + checks": the naive server (Express + multer + fs.writeFile, no fsync) with imgd's checks added the
// way a multer user would, as a storage engine that runs them on the file's stream. Shown without a target: what
// the naive server would cost if it checked what imgd checks.
import { randomUUID } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import multer from 'multer';
import { imgdChecks } from './imgd-checks.js';

const dir = process.env.NAIVE_DIR ?? '/tmp/naive-checked';
const check = imgdChecks(dir);

interface Kept {
  readonly sha256: string;
  readonly size: number;
}

const storage: multer.StorageEngine = {
  _handleFile(_req, file, done) {
    check(file.stream, file.originalname).then(async ({ sha256, bytes, release }) => {
      const kept = path.join(dir, randomUUID());
      try {
        await writeFile(kept, bytes);
      } finally {
        release();
      }
      done(null, { sha256, size: bytes.length } as Partial<Express.Multer.File> & Kept);
      // Only to keep the disk from filling during long runs; not awaited before the answer (the naive peer unlinks after it).
      unlink(kept).catch(() => undefined);
    }, (err: Error) => done(err));
  },
  _removeFile(_req, _file, done) {
    done(null);
  },
};
const upload = multer({ storage, limits: { fileSize: 64 * 1024 * 1024 } });
const app = express();

app.get('/healthz', (_req, res) => {
  res.send('ok');
});

app.post('/api/v1/images', upload.single('file'), (req, res) => {
  const file = req.file as (Express.Multer.File & Kept) | undefined;
  if (!file) {
    res.status(400).json({ error: 'no file' });
    return;
  }
  res.status(201).json({ filename: file.originalname, sha256: file.sha256, bytes: file.size });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
