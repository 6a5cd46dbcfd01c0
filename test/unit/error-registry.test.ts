// The registry of error codes against the code, the README and the OpenAPI document: each code is used, documented and declared.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { isServiceFault, type ErrorCode } from '../../src/core/errors.js';
import { ERROR_CODES, statusOf } from '../../src/http/error-codes.js';
import { startApp, type TestApp } from '../helpers/app.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the codes are declared, not used. */
const REGISTRY_FILES = new Set(['src/core/errors.ts', 'src/http/error-codes.ts']);
/** Error answers that are not problems: readiness's report, the viewer pages' own 404 page (HTML for people). */
const NOT_PROBLEMS = new Set(['GET /readyz 503', 'GET /v/{key} 404', 'GET /v/a/{id} 404']);

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(path.join(ROOT, dir), { withFileTypes: true })) {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await sourceFiles(relative)));
    else if (/\.tsx?$/.test(entry.name) && !REGISTRY_FILES.has(relative)) files.push(relative);
  }
  return files;
}

/** Whether text names code other than in a comparison (`=== 'x'`, `!== 'x'`, `case 'x'`) or a union type (`'x' | 'y'`). */
const raises = (text: string, code: string): boolean => new RegExp(`(?<!(?:[!=]==|case|\\|)\\s*)'${code}'(?!\\s*(?:[!=]==|\\|))`).test(text);

/** The README's error table: code to status, from the rows of `### Errors` (a row may name several codes). */
async function readmeTable(): Promise<Map<string, number>> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^### Errors$/m)[1]?.split(/^#{2,3} /m)[0];
  assert.ok(section, 'the README has a ### Errors section');
  const table = new Map<string, number>();
  for (const row of section.matchAll(/^\| ((?:`[a-z_]+`(?:, )?)+) \| (\d{3}) \|/gm)) {
    for (const [, code] of row[1]!.matchAll(/`([a-z_]+)`/g)) table.set(code!, Number(row[2]));
  }
  return table;
}

describe('the registry of error codes', () => {
  let sources: Map<string, string>;
  before(async () => {
    sources = new Map();
    for (const file of await sourceFiles('src')) sources.set(file, await readFile(path.join(ROOT, file), 'utf8'));
  });

  it('holds each code once, with a 4xx or 5xx status; 5xx exactly for the service faults of the core', () => {
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      const status = statusOf(code);
      assert.ok(status >= 400 && status < 600, `${code}: ${status}`);
      assert.equal(status >= 500, isServiceFault(code), `${code} (${status}) and isServiceFault disagree`);
    }
  });

  it('has every code used somewhere in src/ outside the registry', () => {
    const unused = ERROR_CODES.filter((code) => ![...sources.values()].some((text) => text.includes(`'${code}'`)));
    assert.deepEqual(unused, [], `codes nothing uses: remove them from src/core/errors.ts and src/http/error-codes.ts`);
  });

  it('has every code raised by the server: named where an error is made or mapped, not only compared or typed', () => {
    assert.deepEqual(
      [raises("throw new ImgdError('internal', 'x')", 'internal'), raises("if (err.code === 'internal') return", 'internal'), raises("type T = 'internal' | 'x'", 'internal')],
      [true, false, false],
      'the scan tells a use from a comparison',
    );
    // The browser's code and the generated client name codes without raising them.
    const server = [...sources].filter(([file]) => !file.startsWith('src/web/client/') && !file.startsWith('src/client/')).map(([, text]) => text);
    const unraised = ERROR_CODES.filter((code) => !server.some((text) => raises(text, code)));
    assert.deepEqual(unraised, [], 'codes the server never raises: remove them from the registry, or raise them');
  });

  it('has every code that src/ throws', () => {
    const known = new Set<string>(ERROR_CODES);
    const thrown = new Set<string>();
    for (const text of sources.values()) {
      for (const [, code] of text.matchAll(/ImgdError\(\s*'([a-z_]+)'/g)) thrown.add(code!);
      for (const [, code] of text.matchAll(/problem(?:Of|Body)\((?:request, )?'([a-z_]+)'/g)) thrown.add(code!);
    }
    assert.ok(thrown.size > 20, `found ${thrown.size} thrown codes: the scan is broken`);
    assert.deepEqual([...thrown].filter((code) => !known.has(code)), []);
  });

  it('matches the README table of errors, code for code and status for status', async () => {
    const table = await readmeTable();
    const registry = new Map(ERROR_CODES.map((code): [ErrorCode, number] => [code, statusOf(code)]));
    assert.deepEqual([...registry.keys()].filter((code) => !table.has(code)), [], 'codes missing from the README (### Errors)');
    assert.deepEqual([...table.keys()].filter((code) => !registry.has(code as ErrorCode)), [], 'README codes the registry does not hold');
    for (const [code, status] of registry) assert.equal(table.get(code), status, `README status of ${code}`);
  });

  describe('in the live OpenAPI document', () => {
    let t: TestApp;
    let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> } };
    before(async () => {
      t = await startApp();
      doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as typeof doc;
    });
    after(() => t.close());

    it('declares every code, and only those, as the enum of the Problem schema', () => {
      assert.deepEqual(doc.components.schemas.Problem?.properties.code?.enum, [...ERROR_CODES]);
    });

    it('declares every error answer as application/problem+json with the Problem schema, for a status some code has', () => {
      const statuses = new Set(ERROR_CODES.map(statusOf));
      for (const [url, operations] of Object.entries(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const [status, response] of Object.entries(operation.responses)) {
            if (Number(status) < 400) continue;
            const where = `${method.toUpperCase()} ${url} ${status}`;
            if (NOT_PROBLEMS.has(where)) continue;
            assert.ok(statuses.has(Number(status)), `${where}: no code answers ${status}`);
            assert.deepEqual(response.content, { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }, where);
          }
        }
      }
    });
  });
});
