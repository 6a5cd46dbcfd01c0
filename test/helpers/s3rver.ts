// s3rver, a real S3 wire-protocol server, in a child process on loopback: for the S3 store tests and the scale profile.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

// s3rver on loopback, reporting its port and every request ("METHOD /url") as JSON lines,
// and answering "sync" on stdin once every earlier line is out. It exits when its stdin closes.
const S3RVER_SCRIPT = `
const http = require('node:http');
const readline = require('node:readline');
const [, main, directory, ...buckets] = process.argv;
const S3rver = require(main);
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const s3rver = new S3rver({ directory, silent: true, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
s3rver.configureBuckets().then(() => {
  const handle = s3rver.callback();
  const server = http.createServer((req, res) => {
    say({ request: req.method + ' ' + req.url });
    handle(req, res);
  });
  server.listen(0, '127.0.0.1', () => say({ port: server.address().port }));
});
readline.createInterface({ input: process.stdin }).on('line', () => say({ synced: true })).on('close', () => process.exit(0));
`;

export const S3RVER_KEY = 'S3RVER';

/** A loopback URL nothing listens on. */
export async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface FakeS3 {
  readonly endpoint: string;
  readonly directory: string;
  /** "METHOD /url" of every request received so far. */
  requests(): Promise<string[]>;
  /** Lets the test process exit while the server runs; it stops when this process ends (its stdin closes). */
  unref(): void;
  close(): Promise<void>;
}

interface S3rverLine {
  readonly port?: number;
  readonly request?: string;
  readonly synced?: boolean;
}

/**
 * Starts s3rver in a child process with these buckets: its ListObjectsV2 continuation tokens
 * are DES-encrypted, and Node's OpenSSL 3 offers DES only with --openssl-legacy-provider.
 */
export async function startS3rver(buckets: readonly string[]): Promise<FakeS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'imgd-s3rver-'));
  const main = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_SCRIPT, main, directory, ...buckets], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const log: string[] = [];
  const waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  let exitCode: number | null | undefined;
  const lines = createInterface({ input: child.stdout });
  const port = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => {
      exitCode = code;
      const err = new Error(`s3rver exited with ${code}`);
      reject(err);
      for (const waiter of waiting.splice(0)) waiter.reject(err);
    });
    lines.on('line', (text) => {
      const line = JSON.parse(text) as S3rverLine;
      if (line.port !== undefined) resolve(line.port);
      if (line.request !== undefined) log.push(line.request);
      if (line.synced) waiting.shift()?.resolve();
    });
  });
  return {
    endpoint: `http://127.0.0.1:${await port}`,
    directory,
    async requests() {
      if (exitCode !== undefined) throw new Error(`s3rver exited with ${exitCode}`);
      const synced = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      child.stdin.write('sync\n');
      await synced;
      return [...log];
    },
    unref() {
      child.unref();
      // With stdio pipes, the child's streams are sockets.
      (child.stdin as unknown as Socket).unref();
      (child.stdout as unknown as Socket).unref();
    },
    async close() {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
