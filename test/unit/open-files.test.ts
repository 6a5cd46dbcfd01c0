// Blob files kept open for reads (src/store/open-files.ts): bounded, closed when let go, gone with the blob.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenFiles, openFileBudget } from '../../src/store/open-files.js';

const openCount = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

describe('open blob files', () => {
  let dir: string;
  const files: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgd-open-files-'));
    for (let i = 0; i < 10; i += 1) {
      const file = path.join(dir, `blob-${i}`);
      await writeFile(file, Buffer.alloc(1000 + i, i));
      files.push(file);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads each file whole, however many reads run at once', async () => {
    const open = new OpenFiles(4);
    const reads = await Promise.all(files.flatMap((file, i) => [open.read(file, 1000 + i), open.read(file, 1000 + i)]));
    reads.forEach((bytes, n) => assert.deepEqual(bytes, Buffer.alloc(1000 + Math.floor(n / 2), Math.floor(n / 2))));
    assert.equal(open.size, 4);
  });

  it('keeps no more files open than its bound, closing those it lets go', async () => {
    const before = await openCount();
    const open = new OpenFiles(2);
    for (const [i, file] of files.entries()) assert.ok(await open.read(file, 1000 + i));
    // Closing is not awaited by the reads: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok((await openCount()) <= before + 2, `${(await openCount()) - before} more files open`);
  });

  it('answers undefined for a file shorter than the size asked for', async () => {
    assert.equal(await new OpenFiles(2).read(files[0]!, 5000), undefined);
  });

  it('finds nothing once a file is forgotten and removed, though it was open', async () => {
    const file = path.join(dir, 'doomed');
    await writeFile(file, Buffer.alloc(10, 7));
    const open = new OpenFiles(4);
    assert.deepEqual(await open.read(file, 10), Buffer.alloc(10, 7));
    open.forget(file);
    await unlink(file);
    await assert.rejects(open.read(file, 10), { code: 'ENOENT' });
  });

  it('reads without keeping anything open when its bound is 0', async () => {
    const before = await openCount();
    const open = new OpenFiles(0);
    assert.deepEqual(await open.read(files[1]!, 1001), Buffer.alloc(1001, 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(open.size, 0);
    assert.ok((await openCount()) <= before);
  });

  it('keeps a quarter of the open-file limit open at most, 10,000 at most, 256 without a limit to read', async () => {
    const limits = path.join(dir, 'limits');
    const write = (soft: string) => writeFile(limits, `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`);
    await write('1024');
    assert.equal(openFileBudget(limits), 256);
    await write('65536');
    assert.equal(openFileBudget(limits), 10_000);
    assert.equal(openFileBudget(path.join(dir, 'missing')), 256);
  });
});
