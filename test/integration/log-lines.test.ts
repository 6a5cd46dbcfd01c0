// What `imgd serve` writes on stdout and stderr is JSON log lines (COMPAT.md §2.8), Node's process warnings and uncaught faults included.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { makeDataDir, servicesFor, TOKEN } from '../helpers/app.js';
import { startServer } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { createBucket, s3Settings, SCALE, sharedS3rver } from '../helpers/scale.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly warning?: { readonly name: string; readonly code?: string };
}

/** Every line parsed; a line that is not one JSON object with a level and a message fails the test, naming it. */
function logLines(text: string, stream: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      let parsed: unknown;
      assert.doesNotThrow(() => (parsed = JSON.parse(line)), `not JSON on ${stream}: ${line}`);
      const entry = parsed as LogLine;
      assert.equal(typeof entry.level, 'number', `no level on ${stream}: ${line}`);
      assert.equal(typeof entry.msg, 'string', `no msg on ${stream}: ${line}`);
      return entry;
    });
}


describe('log lines of a started server', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('logs Node process warnings as JSON lines on stderr, never plain text, and not the AWS SDK\'s Node version notice', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    // The scale profile's services put imgd on S3 already; embedded, the S3 store is s3rver here too.
    const services = await servicesFor(dir);
    const s3 = SCALE ? {} : s3Settings(await sharedS3rver(), await createBucket(await sharedS3rver()));
    // A module loaded before imgd that emits a process warning on a signal: a real warning in the started server.
    const warn = 'data:text/javascript,process.on(%22SIGUSR2%22,()=%3Eprocess.emitWarning(%22a%20test%20warning%22))';
    const server = await startServer(dir, { ...services, ...s3, AUTH_TOKEN: TOKEN, NODE_OPTIONS: `--import=${warn}` });
    server.child.kill('SIGUSR2');
    await waitFor('the test warning on stderr', async () => (server.stderr().includes('a test warning') ? true : undefined));
    const upload = await fetch(`${server.url}/api/v1/images`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: new FormData() });
    assert.equal(upload.status, 400, 'a request, so that request logs are among the lines');
    assert.equal((await server.stop()).code, 0);

    // stdout is a pipe here, as under a service manager: the start is a log line too (a terminal gets a banner).
    const lines = logLines(server.stdout(), 'stdout');
    assert.ok(lines.some((l) => l.msg === `imgd is listening on ${server.url}`));
    assert.ok(lines.some((l) => l.msg === 'shutting down: finishing in-flight requests'));
    // Warnings go to stderr, so that what CLI commands print on stdout for scripts stays clean.
    const warnings = logLines(server.stderr(), 'stderr');
    const warning = warnings.find((l) => l.msg === 'a test warning');
    assert.ok(warning, server.stderr());
    assert.equal(warning.level, 40);
    assert.equal(warning.warning?.name, 'Warning');
    // The AWS SDK warns on Node < 22 at every start (imgd on S3 loads it): not in imgd's log.
    assert.ok(!warnings.some((l) => /NodeVersionSupportWarning/.test(l.msg)), server.stderr());
    assert.doesNotMatch(server.stderr(), /AWS SDK/);
  });

  it('logs a fault nothing caught as one fatal JSON line and exits 1, without a bare stack trace', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    // A module loaded before imgd that throws from a signal handler: a real uncaught exception in the started server.
    const fault = 'data:text/javascript,process.on(%22SIGUSR2%22,()=%3E%7Bthrow%20new%20Error(%22boom%22)%7D)';
    const server = await startServer(dir, { ...(await servicesFor(dir)), AUTH_TOKEN: TOKEN, NODE_OPTIONS: `--import=${fault}` });
    const exit = await server.stop('SIGUSR2');
    assert.equal(exit.code, 1);
    const lines = logLines(server.stderr(), 'stderr');
    const fatal = lines.find((l) => l.level === 60);
    assert.ok(fatal, server.stderr());
    assert.equal(fatal.msg, 'uncaught exception: boom');
    logLines(server.stdout(), 'stdout');
  });
});
