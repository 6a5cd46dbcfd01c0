// The image object of the API as the tests read it (the generated client's type, so it follows the OpenAPI document),
// and the upload most tests begin with.
import assert from 'node:assert/strict';
import type { components } from '../../src/client/openapi.js';
import type { TestApp } from './app.js';

/** An image as /api/v1/images answers it. */
export type Image = components['schemas']['Image'];

/** Uploads one file (a fixture path, or a name and its bytes), asserts it was stored (201), and answers the image. */
export async function uploadOne(t: TestApp, file: string | [string, Uint8Array], fields: Record<string, string> = {}, headers?: Record<string, string>): Promise<Image> {
  const res = await t.upload([file], fields, headers);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Image;
}
