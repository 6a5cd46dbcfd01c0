// Peer "naive": Express + multer (memory storage) + fs.writeFile, the way most small upload services are written.
import { randomUUID } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import multer from 'multer';

const dir = process.env.NAIVE_DIR ?? '/tmp';
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 64 * 1024 * 1024 } });
const app = express();

app.get('/healthz', (_req, res) => {
  res.send('ok');
});

app.post('/api/v1/images', upload.single('file'), async (req, res) => {
  if (!req.file) {
    res.status(400).json({ error: 'no file' });
    return;
  }
  const file = path.join(dir, randomUUID());
  await writeFile(file, req.file.buffer);
  res.status(201).json({ filename: req.file.originalname, bytes: req.file.size });
  // Only to keep the disk from filling during long runs.
  await unlink(file);
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
