// Files imgd writes are its user's alone (600, folders 700) whatever the umask; a CLI run by another user than the data dir's owner is refused.
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/processes.js';

const mode = async (file: string): Promise<string> => ((await stat(file)).mode & 0o777).toString(8);

/** Every path under dir whose mode is not 700 (folders) or 600 (files), with its mode. */
async function notPrivate(dir: string): Promise<string[]> {
  const wrong: string[] = [];
  const info = await lstat(dir);
  if ((info.mode & 0o777) !== 0o700) wrong.push(`${dir} ${(info.mode & 0o777).toString(8)}`);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) wrong.push(...(await notPrivate(full)));
    else if ((await mode(full)) !== '600') wrong.push(`${full} ${await mode(full)}`);
  }
  return wrong;
}

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('file modes with umask 022', () => {
  let parent: string;
  let dataDir: string;
  let t: TestApp;
  let umask: number;
  before(async () => {
    umask = process.umask(0o022);
    parent = await mkdtemp(path.join(os.tmpdir(), 'imgd-modes-'));
    // A data dir imgd creates itself, as a first start does.
    dataDir = path.join(parent, 'data');
    t = await startApp({ RATE_LIMIT_UPLOAD: '0' }, dataDir);
  });
  after(async () => {
    await t.close();
    await rm(parent, { recursive: true, force: true });
    process.umask(umask);
  });

  it('keeps every folder under DATA_DIR 700 and every file 600 after start and an upload (database, -wal, -shm, signing key, blobs, variants)', async () => {
    const res = await t.upload([fixture('jpg/Canon_40D.jpg')]);
    assert.equal(res.status, 201, await res.text());
    await t.stored();
    const files = await allFiles(dataDir);
    assert.ok(files.includes('signing_key'), files.join(', '));
    if (!t.settings.DATABASE_URL) {
      for (const name of ['imgd.sqlite', 'imgd.sqlite-wal', 'imgd.sqlite-shm']) assert.ok(files.includes(name), `${name} in ${files.join(', ')}`);
      assert.ok(files.some((f) => f.startsWith(path.join('blobs', 'originals'))), `an original on disk in ${files.join(', ')}`);
    }
    assert.deepEqual(await notPrivate(dataDir), []);
  });

  it('writes `imgd export` archives with mode 600', async () => {
    // The command inherits this umask.
    process.umask(0o022);
    const archive = path.join(parent, 'backup.tar');
    const run = await runCli(['export', archive], { DATA_DIR: dataDir, ...t.settings });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await mode(archive), '600');
  });
});

describe('imgd doctor', () => {
  it('lists what others may read or another user owns and exits 1; once fixed, says ok and exits 0', async () => {
    const t = await startApp();
    try {
      const settings = { DATA_DIR: t.dataDir, ...t.settings };
      const clean = await runCli(['doctor'], settings);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /^ok +file modes: files 600 and folders 700/m);
      const key = path.join(t.dataDir, 'signing_key');
      await chmod(key, 0o644);
      await chmod(t.dataDir, 0o755);
      const root = process.getuid?.() === 0;
      if (root) await chown(key, 65534, 65534);
      const found = await runCli(['doctor'], settings);
      assert.equal(found.code, 1, found.stdout + found.stderr);
      const lines = found.stdout.trim().split('\n').map((l) => l.trim());
      assert.ok(lines.includes(`${t.dataDir}: mode 755, want 700`), found.stdout);
      assert.ok(lines.includes(`${key}: mode 644, want 600`), found.stdout);
      if (root) assert.ok(lines.some((l) => l.startsWith(`${key}: owned by `)), found.stdout);
      assert.ok(lines.some((l) => /^FAIL +file modes: \d+ problem\(s\)/.test(l)), found.stdout);
      assert.match(found.stderr, /^imgd doctor: \d check\(s\) failed: file modes, secrets\n$/);
    } finally {
      await t.close();
    }
  });
});

describe('a command run by another user than the data dir owner', () => {
  const root = process.getuid?.() === 0;
  it('is refused with one line saying to run it as the owner, and touches nothing', { skip: root ? false : 'needs root to give the data dir to another user' }, async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgd-owner-'));
    try {
      await chown(dataDir, 65534, 65534);
      const run = await runCli(['user', 'list'], { DATA_DIR: dataDir });
      assert.equal(run.code, 2, run.stdout);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /^imgd: DATA_DIR \S+ belongs to (\S+); as root .*run it as the owner, e\.g\. sudo -u \1 imgd user list$/);
      assert.deepEqual(await readdir(dataDir), []);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
