// The staged file written behind the stream: the bytes land in order, whole, whatever the chunks; errors surface.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StagedFile } from '../../src/core/upload/staged-file.js';

describe('StagedFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgd-staged-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes every chunk in order, from empty ones to chunks larger than its queue, without waiting for each', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 17);
    const sizes = [0, 1, 3, 65_536, 0, 2 * 1024 * 1024, 7, 40_000];
    const file = await StagedFile.create(path.join(dir, 'a.part'));
    let at = 0;
    for (let i = 0; at < bytes.length; i += 1) {
      const size = Math.min(sizes[i % sizes.length]!, bytes.length - at);
      await file.write(bytes.subarray(at, at + size));
      at += size;
    }
    await file.close();
    assert.ok((await readFile(path.join(dir, 'a.part'))).equals(bytes));
  });

  it('writes more small chunks than one writev call may carry', async () => {
    const chunks = Array.from({ length: 3_000 }, (_, i) => Buffer.from([i % 256, (i * 7) % 256]));
    const file = await StagedFile.create(path.join(dir, 'b.part'));
    for (const chunk of chunks) await file.write(chunk);
    await file.close();
    assert.ok((await readFile(path.join(dir, 'b.part'))).equals(Buffer.concat(chunks)));
  });

  it('refuses a file that exists already, leaving it as it was', async () => {
    const existing = path.join(dir, 'c.part');
    await writeFile(existing, 'kept');
    await assert.rejects(StagedFile.create(existing), { code: 'EEXIST' });
    assert.equal(await readFile(existing, 'utf8'), 'kept');
  });

  it('fails the next write, the flush and the close with the error of a write that failed', async () => {
    // /dev/full refuses every write with ENOSPC, as a full disk does.
    const file = await StagedFile.create('/dev/full', 'w');
    await file.write(Buffer.alloc(1024, 1));
    await assert.rejects(file.flush(), { code: 'ENOSPC' });
    await assert.rejects(file.write(Buffer.alloc(1024, 2)), { code: 'ENOSPC' });
    await assert.rejects(file.close(), { code: 'ENOSPC' });
  });
});
