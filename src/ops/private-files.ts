// What imgd writes (database, secrets, blobs, staging, archives) is its user's alone: files 600, folders 700, whatever the umask.
import { readFileSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every file and folder the process creates from now on is private to its user. A umask rather
 * than a mode per call: it also covers what libraries create (SQLite's -wal and -shm, temp files).
 */
export function createPrivately(): void {
  process.umask(0o077);
}

const isCode = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException).code === code;

/** Errors that leave a path as it was without stopping the start: not there, not a folder, not ours, read-only. */
const LEFT_AS_IS = ['ENOENT', 'ENOTDIR', 'EPERM', 'EACCES', 'EROFS'];

/** chmod at best: a path it cannot change is reported by whatever uses it (readiness names an unusable store). */
async function chmodIfThere(file: string, mode: number): Promise<void> {
  try {
    await chmod(file, mode);
  } catch (err) {
    if (!LEFT_AS_IS.some((code) => isCode(err, code))) throw err;
  }
}

/**
 * Brings what start-up finds to 700 / 600 (written by an older version or under another umask):
 * the data dir, its staging folder, the secrets and the SQLite files, and the blob folder. Blob
 * files written before are not walked (there may be millions): `chmod -R go= DATA_DIR` once.
 */
export async function tightenDataDir(dataDir: string, files: { sqlite?: string | undefined; blobDir?: string | undefined }): Promise<void> {
  for (const dir of [dataDir, path.join(dataDir, 'tmp'), files.blobDir]) if (dir) await chmodIfThere(dir, 0o700);
  const secrets = ['signing_key', 'auth_token'].map((name) => path.join(dataDir, name));
  const sqlite = files.sqlite ? ['', '-wal', '-shm'].map((suffix) => `${files.sqlite}${suffix}`) : [];
  for (const file of [...secrets, ...sqlite]) await chmodIfThere(file, 0o600);
}

/** The name of a user id, from /etc/passwd; `#uid` (which sudo -u also takes) when it has none. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // No passwd file (a slim container): the number will do.
  }
  return `#${uid}`;
}

/**
 * One line refusing a command run by another user than the data dir's owner (files it wrote would
 * be that user's, and the service would then fail on them), or undefined when it is the owner's
 * run, the dir does not exist yet, or the platform has no user ids.
 */
export function foreignOwnerRefusal(dataDir: string, args: readonly string[]): string | undefined {
  if (typeof process.getuid !== 'function') return undefined;
  let owner: number;
  try {
    owner = statSync(dataDir).uid;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  const me = process.getuid();
  if (owner === me) return undefined;
  const name = userName(owner);
  const again = `sudo -u ${name} imgd ${args.join(' ')}`.trimEnd();
  return me === 0
    ? `imgd: DATA_DIR ${dataDir} belongs to ${name}; as root this command would leave files ${name} cannot use: run it as the owner, e.g. ${again}`
    : `imgd: DATA_DIR ${dataDir} belongs to ${name}, not to ${userName(me)}: run this command as ${name}, e.g. ${again}`;
}

/** A path under the data dir that is not private to the data dir's owner, and why. */
export interface ModeProblem {
  readonly path: string;
  readonly problem: string;
}

/**
 * Every file and folder under `roots` that others may read or write (not 600 / 700), or that
 * another user owns (a command once run as root): what `imgd doctor` reports.
 */
/**
 * What PUBLIC_TREE with STORE_GROUP opens to nginx's group beyond 700/600: the data dir to pass through (710), the
 * tree to read (750/640), and the store files it links to (640, more than one link).
 */
export interface GroupShare {
  readonly dataDir: string;
  readonly treeDir: string;
}

function sharedAsMeant(share: GroupShare | undefined, at: string, info: { mode: number; nlink: number; isFile(): boolean }): boolean {
  if (!share) return false;
  const mode = info.mode & 0o777;
  if (at === share.dataDir) return mode === 0o710;
  // Group read (and pass) at most; never write, never others.
  const groupReadOnly = (mode & 0o027) === 0;
  if (at === share.treeDir || at.startsWith(`${share.treeDir}${path.sep}`)) return groupReadOnly;
  return info.isFile() && info.nlink > 1 && groupReadOnly;
}

export async function* modeProblems(roots: readonly string[], owner: number, share?: GroupShare): AsyncGenerator<ModeProblem> {
  const { lstat, readdir } = await import('node:fs/promises');
  async function* walk(at: string): AsyncGenerator<ModeProblem> {
    let info;
    try {
      info = await lstat(at);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      throw err;
    }
    const mode = info.mode & 0o777;
    const want = info.isDirectory() ? 0o700 : 0o600;
    if (info.uid !== owner) yield { path: at, problem: `owned by ${userName(info.uid)}, not ${userName(owner)}` };
    if ((mode & 0o077) !== 0 && !sharedAsMeant(share, at, info)) yield { path: at, problem: `mode ${mode.toString(8)}, want ${want.toString(8)}` };
    if (info.isDirectory()) for (const name of await readdir(at)) yield* walk(path.join(at, name));
  }
  // A root inside another (blobs and the database in DATA_DIR, as by default) is walked once, with that one.
  const inside = (root: string): boolean => roots.some((other) => other !== root && root.startsWith(`${other}${path.sep}`));
  for (const root of new Set(roots)) if (!inside(root)) yield* walk(root);
}
