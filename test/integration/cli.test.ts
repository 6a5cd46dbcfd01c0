// The command line: --version and help, exit statuses (2 usage, 1 failure), one line and no stack, users, gc, failures worded.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDataDir, servicesFor, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { bearer, login, loginRequest, REPO_ROOT } from '../helpers/accounts.js';
import { assertOneFatalLogLine, assertOneLineFailure, assertOnlyLogLines, cliDeployment, cliEnv, STACK_FRAME } from '../helpers/cli.js';
import { freePort, runCli } from '../helpers/processes.js';

const USAGE = 2;
const FAILURE = 1;

describe('imgd --version and help', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version'], {});
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${version}\n`);
  });

  it('lists every command in plain words, without jargon', async () => {
    const top = await runCli(['--help'], {});
    assert.equal(top.code, 0, top.stderr);
    for (const command of ['serve', 'worker', 'migrate', 'gc', 'migrate-storage', 'upload', 'doctor', 'export', 'restore', 'import', 'user', 'token']) {
      assert.match(top.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
    }
    assert.match(top.stdout, /Exit status: 0 done, 1 failed .*, 2 wrongly asked/);
    for (const args of [['token', '--help'], ['user', '--help'], ['import', '--help']]) {
      const run = await runCli(args, {});
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stdout, /ts\.sig|seed-?\d|blob/i, args.join(' '));
    }
  });
});

describe('usage errors', () => {
  for (const [args, line] of [
    [['frobnicate'], /^imgd: unknown command 'frobnicate'; see imgd --help$/m],
    [['gc', '--frob'], /^imgd: unknown option '--frob'/m],
    [['user', 'delete'], /^imgd: missing required argument 'username'/m],
    [['user', 'role', 'bob', 'owner'], /^imgd: .*'owner' is invalid .* admin, user/m],
    [['gc', '--grace', 'soon'], /^imgd gc: --grace takes a whole number$/m],
    [['token', '--minted', '--max-bytes', 'lots'], /^imgd token: --max-bytes takes a whole number of at least 1$/m],
  ] as const) {
    it(`exits 2 with one line for imgd ${args.join(' ')}`, async () => {
      const dataDir = await makeDataDir();
      assertOneLineFailure(await runCli(args, { DATA_DIR: dataDir }), USAGE, line);
      assert.deepEqual(await readdir(dataDir), [], 'nothing created');
    });
  }
});

describe('imgd user', () => {
  let t: TestApp;
  let env: Record<string, string>;
  before(async () => ({ t, env } = await cliDeployment()));
  after(() => t.close());

  const users = async (): Promise<Array<{ username: string; role: string; id: string }>> => {
    const run = await runCli(['user', 'list', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Array<{ username: string; role: string; id: string }>;
  };

  it('adds users and lists them as JSON', async () => {
    const root = await runCli(['user', 'add', 'root', '--admin', '--password-stdin', '--json'], env, 'root password 1\n');
    assert.equal(root.code, 0, root.stderr);
    assertOnlyLogLines(root.stderr);
    assert.deepEqual(Object.keys(JSON.parse(root.stdout) as object).sort(), ['created_at', 'email', 'id', 'role', 'username']);
    const alice = await runCli(['user', 'add', 'alice', '--password-stdin'], env, 'alice password 1\n');
    assert.equal(alice.code, 0, alice.stderr);
    assert.deepEqual((await users()).map((u) => [u.username, u.role]), [['root', 'admin'], ['alice', 'user']]);
  });

  it('sets a password from standard input, ending sessions; refuses one from nowhere or too short', async () => {
    const session = bearer(await login(t, 'alice', 'alice password 1'));
    const set = await runCli(['user', 'passwd', 'alice', '--password-stdin'], env, 'a new password 2\n');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^password of alice set/);
    assert.equal((await fetch(`${t.url}/api/v1/auth/me`, { headers: session })).status, 401);
    assert.equal((await loginRequest(t, { username: 'alice', password: 'alice password 1' })).status, 401);
    await login(t, 'alice', 'a new password 2');

    assertOneLineFailure(await runCli(['user', 'passwd', 'alice'], env), USAGE, /^imgd user passwd: give the password on standard input with --password-stdin/);
    assertOneLineFailure(await runCli(['user', 'passwd', 'alice', '--password-stdin'], env, 'short\n'), FAILURE, /^imgd user passwd: password must be 8 to \d+ characters/);
    assertOneLineFailure(await runCli(['user', 'passwd', 'nobody', '--password-stdin'], env, 'long enough 123\n'), FAILURE, /^imgd user passwd: no user nobody$/);
    await login(t, 'alice', 'a new password 2');
  });

  it('changes roles, but never demotes or deletes the last admin', async () => {
    assertOneLineFailure(await runCli(['user', 'role', 'root', 'user'], env), FAILURE, /^imgd user role: Making root a user would leave no admin user/);
    assertOneLineFailure(await runCli(['user', 'delete', 'root'], env), FAILURE, /^imgd user delete: Deleting root would leave no admin user/);
    const promoted = await runCli(['user', 'role', 'alice', 'admin'], env);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.equal(promoted.stdout, 'alice is now an admin\n');
    const demoted = await runCli(['user', 'role', 'root', 'user'], env);
    assert.equal(demoted.code, 0, demoted.stderr);
    assert.deepEqual((await users()).map((u) => [u.username, u.role]), [['root', 'user'], ['alice', 'admin']]);
  });

  it('deletes a user, saying what went and what stayed', async () => {
    const run = await runCli(['user', 'delete', 'root', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const done = JSON.parse(run.stdout) as { deleted: { username: string }; images_kept: number };
    assert.equal(done.deleted.username, 'root');
    assert.equal(done.images_kept, 0);
    assert.deepEqual((await users()).map((u) => u.username), ['alice']);
    assert.equal((await loginRequest(t, { username: 'root', password: 'root password 1' })).status, 401);
    assertOneLineFailure(await runCli(['user', 'delete', 'root'], env), FAILURE, /^imgd user delete: no user root$/);
  });
});

describe('imgd gc', () => {
  it('prints its counts (as JSON with --json) and no log line among them', async () => {
    const t = await startApp();
    try {
      const env = cliEnv(t);
      const text = await runCli(['gc'], env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^removed \d+ temp file\(s\) and \d+ unreferenced blob\(s\); .*\n$/);
      assert.equal(text.stdout.split('\n').length, 2, text.stdout);
      assertOnlyLogLines(text.stderr);
      const json = await runCli(['gc', '--grace', '0', '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(Object.keys(JSON.parse(json.stdout) as object).sort(), ['blobs', 'idempotency_keys', 'resumable_uploads', 'temp_files']);
    } finally {
      await t.close();
    }
  });
});

describe('failures worded in one line', () => {
  it('serve with its port in use: "port N is in use; set PORT", and exit 1', async () => {
    const dataDir = await makeDataDir();
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const run = await runCli(['serve'], { ...(await servicesFor(dataDir)), DATA_DIR: dataDir, AUTH_TOKEN: TOKEN, HOST: '127.0.0.1', PORT: String(port) });
      assertOneFatalLogLine(run, FAILURE, new RegExp(`^port ${port} is in use; set PORT$`));
    } finally {
      taken.close();
    }
  });

  it('migrate with PostgreSQL down names the address it could not reach; the stack only with LOG_LEVEL=debug', async () => {
    const env = { DATA_DIR: await makeDataDir(), DATABASE_URL: `postgresql://postgres@127.0.0.1:${await freePort()}/imgd` };
    assertOneLineFailure(await runCli(['migrate'], env), FAILURE, /^imgd migrate: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    const debug = await runCli(['migrate'], { ...env, LOG_LEVEL: 'debug' });
    assert.equal(debug.code, FAILURE);
    assert.match(debug.stderr, /^imgd migrate: cannot reach/);
    assert.match(debug.stderr, STACK_FRAME, 'LOG_LEVEL=debug shows the stack');
  });

  it('an unreadable signing_key stops serve and the commands with one line naming the file', async () => {
    const dataDir = await makeDataDir();
    const env = { ...(await servicesFor(dataDir)), DATA_DIR: dataDir, AUTH_TOKEN: TOKEN, PORT: '0' };
    // As root nothing is unreadable by mode: a folder where the file should be cannot be read either.
    await mkdir(path.join(dataDir, 'signing_key'));
    const key = path.join(dataDir, 'signing_key').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assertOneFatalLogLine(await runCli(['serve'], env), FAILURE, new RegExp(`^cannot read ${key} \\(EISDIR\\)`));
    assertOneLineFailure(await runCli(['user', 'list'], env), FAILURE, new RegExp(`^imgd user list: cannot read ${key} \\(EISDIR\\)`));
  });
});
