// Secrets kept in the data dir: the bootstrap admin token and the signing key, generated once with mode 600.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ImgdError } from '../core/errors.js';

export interface StoredSecret {
  readonly value: string;
  /** Where it came from; `generated` means this start created it. */
  readonly source: 'env' | 'file' | 'generated';
  readonly file: string | undefined;
}

export async function loadOrCreateSecret(dataDir: string, name: string, fromEnv: string | undefined): Promise<StoredSecret> {
  if (fromEnv) return { value: fromEnv, source: 'env', file: undefined };
  const file = path.join(dataDir, name);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (value.length >= 16) return { value, source: 'file', file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new ImgdError('unavailable', `cannot read ${file} (${code ?? (err as Error).message}): it must be a file the user imgd runs as can read, mode 600`);
    }
  }
  await mkdir(dataDir, { recursive: true });
  const value = randomBytes(32).toString('base64url');
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { value, source: 'generated', file };
}

export interface AdminToken {
  readonly token: string;
  readonly source: StoredSecret['source'];
  readonly file: string | undefined;
}

export async function loadAdminToken(dataDir: string, fromEnv: string | undefined): Promise<AdminToken> {
  const secret = await loadOrCreateSecret(dataDir, 'auth_token', fromEnv);
  return { token: secret.value, source: secret.source, file: secret.file };
}
