// Route schemas are compiled on first use (src/http/lazy-schema-compilers.ts), so that start-up does not wait for
// every route's: each one still compiles, and validation and coercion behave on a route's first request as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAllSchemas } from '../../src/http/lazy-schema-compilers.js';
import { startApp, startCompatApp } from '../helpers/app.js';

describe('route schemas compiled on first use', () => {
  it('validates and coerces on the first request of a route, with the usual 400', async () => {
    const t = await startApp();
    try {
      const bad = await fetch(`${t.url}/api/v1/images?limit=abc`, { headers: t.auth });
      assert.equal(bad.status, 400);
      const problem = (await bad.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'validation_failed');
      assert.match(problem.detail, /limit/);
      // The same route, now compiled: a number in the query is coerced and obeyed.
      const ok = await fetch(`${t.url}/api/v1/images?limit=1`, { headers: t.auth });
      assert.equal(ok.status, 200);
      assert.deepEqual(((await ok.json()) as { items: unknown[] }).items, []);
    } finally {
      await t.close();
    }
  });

  it('compiles every schema of the native API and of the compatibility profiles on the main listener', async () => {
    // Profiles whose routes collide (img_handler and attachments; imgapi and s3_upload) cannot share a listener.
    for (const profiles of ['img_handler,imgapi,media_server', 'attachments,s3_upload']) {
      const t = await startCompatApp(profiles, { MEDIA_SERVER_SECRET: 'change-me-to-a-long-random-secret' });
      try {
        const compiled = compileAllSchemas(t.app.http);
        // Pending until now: none of these routes has had a request, so start-up compiled none of them.
        assert.ok(compiled > 100, `${compiled} schemas were left to compile`);
        assert.equal(compileAllSchemas(t.app.http), 0);
      } finally {
        await t.close();
      }
    }
  });
});
