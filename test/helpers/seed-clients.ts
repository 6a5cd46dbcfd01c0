// Clients the seeds' users have: README shell commands (curl) replayed as written, Python scripts, and hand-built forms.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Runs a README command line with bash, as written except for where the seed listened: each `from` base URL
 * (`http://localhost:5000`) becomes the test's. Answers what the command printed.
 */
export async function replay(command: string, bases: Readonly<Record<string, string>>, cwd?: string): Promise<string> {
  let line = command;
  for (const [from, to] of Object.entries(bases)) line = line.split(from).join(to);
  const { stdout } = await exec('bash', ['-c', line], { cwd, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Runs a Python 3 script (stdin) with arguments; answers its stdout, or rejects with its stderr. */
export async function python(script: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-', ...args], { timeout: 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin!.end(script);
  });
}

export interface Part {
  readonly name: string;
  /** Omitted: a text field; "" is sent as filename="" (a form sent with no file chosen). */
  readonly filename?: string;
  readonly type?: string;
  readonly data: string | Uint8Array;
}

/** A multipart body built by hand, so that names, file names and part types go on the wire exactly as given. */
export function multipart(parts: readonly Part[]): { body: Buffer; headers: Record<string, string> } {
  const boundary = `----seed-client-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.type !== undefined) head += `Content-Type: ${part.type}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** POSTs a hand-built form. */
export function postForm(url: string, parts: readonly Part[], headers: Record<string, string> = {}): Promise<Response> {
  const form = multipart(parts);
  return fetch(url, { method: 'POST', body: form.body, headers: { ...form.headers, ...headers } });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- seed answers are checked field by field in the tests
export type Json = Record<string, any>;

/** A profile's JSON answer: the status, `application/json` exactly (never problem+json), and the parsed body. */
export async function expectJson(res: Response, status = 200): Promise<Json> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), 'application/json');
  return JSON.parse(text) as Json;
}
