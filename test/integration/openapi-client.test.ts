// The OpenAPI document is complete enough to generate a client from: a program typed by it compiles and works, and
// the client shipped as imgd/client matches the live document.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CLIENT_TYPES_FILE, clientTypes } from '../../scripts/client-types.js';
import { createImgdClient, multipart } from '../../src/client/index.js';
import { fixture, startApp, startCompatApp, TOKEN, type TestApp } from '../helpers/app.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROGRAM = path.join(ROOT, 'test', 'fixtures', 'client', 'program.ts');
const PHOTO = fixture('jpg/Canon_40D.jpg');
/** POST /api/v1/uploads may carry the first bytes or none: it declares no body. */
/** Operations that take no body: a tus creation (its body is optional), actions named by their URL alone. */
const BODILESS = new Set(['POST /api/v1/uploads', 'POST /api/v1/trash/{id}/restore', 'PUT /api/v1/albums/{id}/images/{imageId}']);

interface Operation {
  operationId?: string;
  tags?: string[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { examples?: unknown[] }> } };

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

/** The failures of one operation: no or a reused operationId, a 2xx with a body but no schema, a body sent but not declared. */
function checkOperations(doc: Document): void {
  const ids = new Set<string>();
  for (const [url, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const where = `${method.toUpperCase()} ${url}`;
      assert.ok(operation.operationId, `${where} has no operationId`);
      assert.ok(!ids.has(operation.operationId), `${where}: operationId ${operation.operationId} is used twice`);
      ids.add(operation.operationId);
      const ok = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
      assert.ok(ok.length > 0, `${where} declares no 2xx answer`);
      for (const status of ok) {
        const noBody = status === '204' || method === 'head' || method === 'options' || (url.startsWith('/api/v1/uploads') && status !== '200');
        if (noBody) continue;
        const media = Object.values(operation.responses[status]?.content ?? {});
        assert.ok(media.length > 0 && media.every((m) => m.schema !== undefined), `${where} ${status} declares no schema`);
      }
      if (['post', 'put', 'patch'].includes(method) && !BODILESS.has(where) && !url.startsWith('/api/v1/uploads/')) {
        assert.ok(operation.requestBody && Object.keys(operation.requestBody.content).length > 0, `${where} declares no request body`);
      }
    }
  }
}

/** The operations of the COMPAT profiles in a document: those tagged by a profile. */
const compatOperations = (doc: Document): Array<[string, Operation]> =>
  Object.entries(doc.paths).flatMap(([url, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => operation.tags?.some((tag) => tag.endsWith('(compat)') || tag.startsWith('attachments')))
      .map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${url}`, operation]),
  );

describe('the OpenAPI document and the typed client', () => {
  let t: TestApp;
  let doc: Document;
  let types: string;
  before(async () => {
    t = await startApp();
    doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as Document;
    types = await clientTypes(doc);
  });
  after(() => t.close());

  it('gives every operation a unique operationId, an answer schema for each 2xx with a body, and a request body where one is sent', () => {
    checkOperations(doc);
    for (const name of ['Image', 'Problem']) assert.ok(doc.components.schemas[name]?.examples?.length, `${name} has no example`);
  });

  it('ships types in src/client/openapi.ts that match the live document (else: npm run generate:client)', async () => {
    assert.equal(await readFile(CLIENT_TYPES_FILE, 'utf8'), types, 'src/client/openapi.ts is out of date: run npm run generate:client');
  });

  it('compiles a program against the generated client, which uploads, lists, gets, shares and deletes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-client-test-'));
    try {
      await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      await writeFile(path.join(dir, 'openapi.ts'), types);
      const program = (await readFile(PROGRAM, 'utf8')).replace('../../../src/client/openapi.js', './openapi.js');
      await writeFile(path.join(dir, 'program.ts'), program);
      await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, noUncheckedIndexedAccess: true, skipLibCheck: true };
      await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['program.ts'] }));
      const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], dir);
      assert.equal(tsc.code, 0, `tsc:\n${tsc.out}`);

      const ran = await run(process.execPath, ['program.js', t.url, TOKEN, PHOTO], dir);
      assert.equal(ran.code, 0, ran.out);
      const seen = JSON.parse(ran.out) as { id: string; listed: string[]; sha256: string; bytes: number; share: unknown; anonymous: number; deleted: number; gone: unknown };
      assert.ok(seen.listed.includes(seen.id), 'the list holds the upload');
      assert.match(seen.sha256, /^[0-9a-f]{64}$/);
      assert.ok(seen.bytes > 0);
      assert.deepEqual(
        { share: seen.share, anonymous: seen.anonymous, deleted: seen.deleted, gone: seen.gone },
        { share: { status: 200, bytes: seen.bytes }, anonymous: 404, deleted: 204, gone: { status: 404, code: 'not_found' } },
      );
      assert.equal((await t.stored()).images, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves imgd/client: createImgdClient sends the token, multipart() the files', async () => {
    const client = createImgdClient(`${t.url}/`, { token: TOKEN });
    const me = await client.GET('/api/v1/auth/me');
    assert.equal(me.data?.credential, 'admin_token');
    const up = await client.POST('/api/v1/images', { body: { file: [new Blob([await readFile(PHOTO)])], key: 'client/one' }, bodySerializer: multipart });
    assert.equal(up.response.status, 201, JSON.stringify(up.error));
    const listed = await client.GET('/api/v1/images', { params: { query: { limit: 10, key: 'client/one' } } });
    assert.equal(listed.data?.items.length, 1);
    const refused = await createImgdClient(t.url).DELETE('/api/v1/images/{id}', { params: { path: { id: listed.data.items[0]!.id } } });
    assert.equal(refused.response.status, 401);
    assert.equal(refused.error?.code, 'unauthorized');
    assert.equal((await t.stored()).images, 1);
  });
});

describe('the OpenAPI documents with the COMPAT profiles', () => {
  /** The profiles' operations with their ids, from imgd's document (profiles on the main listener) and attachments' own. */
  const documented = async (compat: string, own?: 'attachments'): Promise<{ main: Document; own?: Document }> => {
    const t = await startCompatApp(compat, { MEDIA_SERVER_SECRET: 'change-me-to-a-long-random-secret', REGISTRATION: 'open' });
    try {
      const main = (await (await fetch(`${t.url}/openapi.json`)).json()) as Document;
      return own ? { main, own: (await (await fetch(`${t.at(own)}/openapi.json`)).json()) as Document } : { main };
    } finally {
      await t.close();
    }
  };

  it('gives every profile operation a unique operationId prefixed by its profile, answer schemas and request bodies', async () => {
    const first = await documented('img_handler,imgapi,media_server');
    const second = await documented('s3_upload,attachments:own', 'attachments');
    for (const doc of [first.main, second.main, second.own!]) checkOperations(doc);
    const ids = [first.main, second.main, second.own!].flatMap((doc) => compatOperations(doc).map(([where, operation]) => `${where} ${operation.operationId}`));
    const prefixes = ['imgHandler', 'imgapi', 'mediaServer', 's3Upload', 'attachments'];
    for (const prefix of prefixes) assert.ok(ids.some((id) => id.split(' ')[2]!.startsWith(prefix)), `no ${prefix} operation documented`);
    for (const id of ids) assert.match(id, new RegExp(`^[A-Z]+ \\S+ (${prefixes.join('|')})[A-Z][A-Za-z]*$`), id);
    assert.equal(ids.length, 6 + 5 + 6 + 5 + 8, ids.join('\n'));
  });
});
