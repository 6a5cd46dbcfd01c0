// The decode memory budget: decodes share it first come, first served; requests wait a bounded time, jobs as long as it takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDecodeBudget, decodeCost } from '../../src/core/codecs/decode-budget.js';
import { ImgdError } from '../../src/core/errors.js';

const MB = 1024 * 1024;

/** Work that runs until released, reporting when it started. */
function held(): { work: () => Promise<void>; started: Promise<void>; release: () => void } {
  let release!: () => void;
  let began!: () => void;
  const started = new Promise<void>((resolve) => (began = resolve));
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    work: async () => {
      began();
      await done;
    },
    started,
    release,
  };
}

const busy = (err: unknown): boolean => {
  assert.ok(err instanceof ImgdError, String(err));
  assert.equal(err.code, 'unavailable');
  assert.equal(typeof err.extra.retry_after, 'number');
  return true;
};

describe('decodeCost', () => {
  it('charges a progressive JPEG more than a baseline one of the same size, and every frame of an animation', () => {
    const baseline = decodeCost({ format: 'jpeg', width: 4000, height: 3000 });
    assert.ok(decodeCost({ format: 'jpeg', width: 4000, height: 3000, progressive: true }) > 4 * baseline);
    assert.equal(decodeCost({ format: 'gif', width: 1000, height: 1000, frames: 10 }), 10 * decodeCost({ format: 'gif', width: 1000, height: 1000 }));
    assert.ok(decodeCost({ format: 'png', width: 1, height: 1 }) >= MB, 'a floor for tiny images');
  });
});

describe('the decode memory budget', () => {
  it('runs decodes that fit together at once, and the next one when enough is freed', async () => {
    const budget = createDecodeBudget({ bytes: 100 * MB, maxWaitMs: 60_000, maxWaiting: 10 });
    const [a, b, c] = [held(), held(), held()];
    const runs = [budget.run(40 * MB, 'request', a.work), budget.run(40 * MB, 'request', b.work)];
    await Promise.all([a.started, b.started]);
    assert.equal(budget.inUse(), 80 * MB);
    let cStarted = false;
    runs.push(budget.run(40 * MB, 'job', c.work));
    void c.started.then(() => (cStarted = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(cStarted, false, 'the third waits: 120 MB would be over the budget');
    assert.equal(budget.waiting(), 1);
    a.release();
    await c.started;
    b.release();
    c.release();
    await Promise.all(runs);
    assert.equal(budget.inUse(), 0);
  });

  it('serves waiters in order: a small decode does not overtake a large one waiting before it', async () => {
    const budget = createDecodeBudget({ bytes: 100 * MB, maxWaitMs: 60_000, maxWaiting: 10 });
    const first = held();
    const order: string[] = [];
    const running = budget.run(60 * MB, 'job', first.work);
    await first.started;
    const large = budget.run(90 * MB, 'job', async () => void order.push('large'));
    const small = budget.run(10 * MB, 'job', async () => void order.push('small'));
    first.release();
    await Promise.all([running, large, small]);
    assert.deepEqual(order, ['large', 'small']);
  });

  it('runs a decode larger than the whole budget, alone', async () => {
    const budget = createDecodeBudget({ bytes: 10 * MB, maxWaitMs: 60_000, maxWaiting: 10 });
    assert.equal(await budget.run(500 * MB, 'request', async () => budget.inUse()), 10 * MB);
  });

  it('answers a request 503 with a retry time when it waited too long or too many wait, and frees what it held on failure', async () => {
    const budget = createDecodeBudget({ bytes: 10 * MB, maxWaitMs: 1, maxWaiting: 1 });
    const hog = held();
    const running = budget.run(10 * MB, 'job', hog.work);
    await hog.started;
    const waited = budget.run(MB, 'request', async () => undefined);
    await assert.rejects(budget.run(MB, 'request', async () => undefined), busy, 'a second waiting request is one too many');
    await assert.rejects(waited, busy);
    // A job is not bounded: it waits for the hog.
    const job = budget.run(MB, 'job', async () => 'done');
    hog.release();
    await running;
    assert.equal(await job, 'done');
    await assert.rejects(budget.run(5 * MB, 'request', async () => Promise.reject(new Error('decoder failed'))), /decoder failed/);
    assert.equal(budget.inUse(), 0);
  });

  it("charges memory held past a decode (a decoder thread's heap) at once, and makes later decodes wait until it is given back", async () => {
    const budget = createDecodeBudget({ bytes: 100 * MB, maxWaitMs: 60_000, maxWaiting: 10 });
    const release = budget.hold(150 * MB);
    assert.equal(budget.inUse(), 150 * MB, 'held even past the budget: the memory is in use');
    let ran = false;
    const waiting = budget.run(10 * MB, 'job', async () => void (ran = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ran, false);
    release();
    release();
    await waiting;
    assert.equal(ran, true);
    assert.equal(budget.inUse(), 0, 'given back once');
  });
});
