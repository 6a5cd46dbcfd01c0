// `imgd import <folder>` (fixture folders, a non-image among them, run twice) and `imgd doctor` (healthy, and broken settings).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, fixture, makeDataDir, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { assertOneLineFailure, assertOnlyLogLines, cliDeployment } from '../helpers/cli.js';
import { freePort, runCli } from '../helpers/processes.js';
import { SCALE } from '../helpers/scale.js';

interface ImportSummary {
  folder: string;
  files: number;
  imported: Array<{ file: string; id: string; url: string }>;
  present: Array<{ file: string }>;
  refused: Array<{ file: string; code: string; reason: string }>;
}

describe('imgd import <folder>', () => {
  let t: TestApp;
  let env: Record<string, string>;
  before(async () => {
    t = await startApp();
    env = { ...t.settings, DATA_DIR: t.dataDir, AUTH_TOKEN: TOKEN, PUBLIC_URL: t.url };
  });
  after(() => t.close());

  const imageCount = async (): Promise<number> => (await t.app.catalog.listImages({}, 1000, undefined)).items.length;

  it('imports every image under the fixture folders, naming each refusal with its reason', async () => {
    const run = await runCli(['import', FIXTURES, '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    // No progress line (stderr is no terminal): log lines only.
    assertOnlyLogLines(run.stderr);
    const summary = JSON.parse(run.stdout) as ImportSummary;
    assert.equal(summary.files, 49);
    assert.deepEqual(
      summary.refused.map((r) => [r.file, r.code]),
      [['NOTICE.md', 'unsupported_format'], [path.join('jpg', 'corrupted.jpg'), 'corrupt_image']],
    );
    assert.match(summary.refused[0]!.reason, /not an image/);
    assert.equal(summary.imported.length, 47);
    assert.equal(summary.present.length, 0);
    assert.ok(summary.imported.some((i) => i.file === path.join('heic', 'IMG_5195.HEIC')), 'subfolders too, HEIC included');
    assert.equal(await imageCount(), 47);
    const served = await fetch(summary.imported[0]!.url);
    assert.equal(served.status, 200);
    await served.arrayBuffer();
  });

  it('adds nothing when run again: every image is already stored; the refusals are named again', async () => {
    const run = await runCli(['import', FIXTURES], env);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2).map((l) => l.split(':')[0]), ['refused NOTICE.md', `refused ${path.join('jpg', 'corrupted.jpg')}`]);
    assert.equal(lines.length, 3, run.stdout);
    assert.equal(lines[2], `imported 0 of 49 file(s) from ${FIXTURES}; 47 already stored, 2 refused`);
    assert.equal(await imageCount(), 47);
  });

  it('skips a copy whose stored bytes it has (its location was cut out at ingest), and gives new ones to --owner', async () => {
    const folder = await makeDataDir();
    const gps = fixture('jpg/gps/DSCN0010.jpg');
    await mkdir(path.join(folder, 'copies'));
    await copyFile(gps, path.join(folder, 'copies', 'again.jpg'));
    await copyFile(path.join(FIXTURES, '..', 'bmp', 'rgb565.reference.png'), path.join(folder, 'new.png'));
    await writeFile(path.join(folder, 'notes.txt'), 'not an image\n');
    // The file's own bytes are not what is stored: only the check after decoding finds the copy.
    const fileSha = createHash('sha256').update(await readFile(gps)).digest('hex');
    assert.equal(await t.app.catalog.blobStored(fileSha), false);

    const owner = await runCli(['user', 'add', 'olga', '--password-stdin'], env, 'olga password 1\n');
    assert.equal(owner.code, 0, owner.stderr);
    const run = await runCli(['import', folder, '--owner', 'olga', '--visibility', 'private', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as ImportSummary;
    assert.deepEqual(summary.present.map((p) => p.file), [path.join('copies', 'again.jpg')]);
    assert.deepEqual(summary.refused.map((r) => r.file), ['notes.txt']);
    assert.deepEqual(summary.imported.map((i) => i.file), ['new.png']);
    const image = await t.app.catalog.getImage(summary.imported[0]!.id);
    assert.equal(image?.ownerId, (await t.app.accounts.userByName('olga'))?.id);
    assert.equal(image?.visibility, 'private');
    assert.equal(await imageCount(), 48);
  });

  it('refuses a folder that is not there, creating no database', async () => {
    const dataDir = await makeDataDir();
    assertOneLineFailure(await runCli(['import', path.join(dataDir, 'nowhere')], { DATA_DIR: dataDir }), 1, /^imgd import: \S+nowhere: no such file or folder$/);
    assertOneLineFailure(await runCli(['import', FIXTURES, '--for', 'media_server'], { DATA_DIR: dataDir }), 2, /^imgd import: --for goes with --keep-names$/);
    assert.deepEqual(await readdir(dataDir), []);
  });
});

describe('imgd doctor', () => {
  let t: TestApp;
  let env: Record<string, string>;
  before(async () => ({ t, env } = await cliDeployment()));
  after(() => t.close());

  it('passes every check of a working deployment, one line each, and as JSON', async () => {
    const run = await runCli(['doctor'], env);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const names = run.stdout.trimEnd().split('\n').map((l) => /^(?:ok|warn|FAIL) +([^:]+):/.exec(l)?.[1]);
    const expected = ['node', 'config', 'data dir', 'file modes', 'secrets', 'database', 'store', ...(SCALE ? ['redis'] : []), 'images'];
    assert.deepEqual(names, expected, run.stdout);
    assert.match(run.stdout, /^ok +images: libvips \d+\.\d+\.\d+ .*WebP.*AVIF.*HEIC/m);
    assert.match(run.stdout, /^ok +database: .*schema current/m);
    const json = await runCli(['doctor', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((c) => c.name), expected);
    assert.ok(report.checks.every((c) => c.status !== 'fail'));
  });

  it('exits 1 naming a setting that is refused', async () => {
    const run = await runCli(['doctor'], { ...env, MAX_FILE_SIZE: 'lots' });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^FAIL +config: .*MAX_FILE_SIZE/m);
    assert.equal(run.stderr, 'imgd doctor: 1 check(s) failed: config\n');
  });

  it('exits 1 naming a database it cannot reach, and still runs the other checks', async () => {
    const run = await runCli(['doctor', '--json'], { ...env, DATABASE_URL: `postgresql://postgres@127.0.0.1:${await freePort()}/imgd` });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
    assert.equal(report.ok, false);
    const database = report.checks.find((c) => c.name === 'database');
    assert.equal(database?.status, 'fail');
    assert.match(database.detail, /PostgreSQL .*cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.ok(report.checks.some((c) => c.name === 'images' && c.status === 'ok'));
    assert.equal(run.stderr, 'imgd doctor: 1 check(s) failed: database\n');
  });
});
