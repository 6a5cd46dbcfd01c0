import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { register } from '../helpers/accounts.js';

describe('integer numbers of images and users (seed 002 ids)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ REGISTRATION: 'open', PROCESSING: 'false' });
  });
  after(() => t.close());

  async function uploadOne(): Promise<string> {
    const res = await t.upload([fixture('jpg/Canon_40D.jpg')]);
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  }

  it('numbers every image at insert, in order, whatever route made it, and never hands a number out twice', async () => {
    const first = await uploadOne();
    const second = await uploadOne();
    const numbers = await t.app.profileRecords.imageNumbers([first, second]);
    assert.ok(numbers.get(first)! >= 1);
    assert.equal(numbers.get(second), numbers.get(first)! + 1);
    assert.equal(await t.app.profileRecords.imageByNumber(numbers.get(second)!), second);

    const res = await fetch(`${t.url}/api/v1/images/${second}`, { method: 'DELETE', headers: t.auth });
    assert.equal(res.status, 204);
    assert.equal(await t.app.profileRecords.imageByNumber(numbers.get(second)!), undefined, 'a deleted image is not found by its number');
    const third = await uploadOne();
    assert.equal((await t.app.profileRecords.imageNumbers([third])).get(third), numbers.get(second)! + 1, 'the deleted number is not reused');
  });

  it('numbers users as they register, with no update time until the account changes', async () => {
    const ann = await register(t, 'ann-numbers');
    const bob = await register(t, 'bob-numbers');
    const a = await t.app.profileRecords.userFacts(ann.id);
    const b = await t.app.profileRecords.userFacts(bob.id);
    assert.ok(a && b);
    assert.equal(b.number, a.number + 1);
    assert.equal(a.updatedAt, undefined);
  });
});
