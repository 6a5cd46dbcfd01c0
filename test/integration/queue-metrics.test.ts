// /metrics reports the shared queue's depth (read at scrape time) and the outcomes of the jobs this instance ran.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, makeDataDir, servicesFor, startApp, type TestApp } from '../helpers/app.js';
import { freePort, spawnCli } from '../helpers/processes.js';
import { sample } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';
import { uploadOne } from '../helpers/images.js';

const PROCESS = 'image.process';
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function scrape(t: TestApp): Promise<string> {
  const res = await fetch(`${t.url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

describe('queue depth and job outcomes in /metrics', () => {
  it('shows jobs waiting for a worker as pending, by type, on an instance that runs none', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    const t = await startApp({ RUN_WORKERS: 'false' }, dir);
    try {
      await uploadOne(t, fixture('jpg/Canon_40D.jpg'));
      await uploadOne(t, fixture('jpg/Nikon_D70.jpg'));
      const text = await scrape(t);
      assert.equal(sample(text, 'imgd_jobs', { type: PROCESS, status: 'pending' }), 2);
      assert.equal(sample(text, 'imgd_jobs', { type: PROCESS, status: 'running' }), 0);
      assert.equal(sample(text, 'imgd_jobs', { type: PROCESS, status: 'failed' }), 0);
      assert.equal(sample(text, 'imgd_job_runs_total', { type: PROCESS, outcome: 'done' }), undefined, 'this instance ran nothing');

      // A third upload is seen by the next scrape: the gauge is read then, not cached.
      await uploadOne(t, fixture('tiff/Arbitro.tiff'));
      assert.equal(sample(await scrape(t), 'imgd_jobs', { type: PROCESS, status: 'pending' }), 3);
    } finally {
      await t.close();
    }
  });

  it('counts done, retried and failed runs, and the failed job stays in the depth', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    // Two uploads queued while no worker runs; the second loses its original, so processing it cannot succeed.
    // A job's number of tries is fixed when it is queued.
    const producer = await startApp({ RUN_WORKERS: 'false', JOB_ATTEMPTS: '2' }, dir);
    await uploadOne(producer, fixture('jpg/Canon_40D.jpg'));
    const broken = await uploadOne(producer, fixture('jpg/Nikon_D70.jpg'));
    await producer.app.store.delete(originalKey(broken.sha256));
    await producer.close();

    const worker = await startApp({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' }, dir);
    try {
      const text = await waitFor('both jobs to finish', async () => {
        const body = await scrape(worker);
        const settled = sample(body, 'imgd_jobs', { type: PROCESS, status: 'pending' }) === 0 && sample(body, 'imgd_jobs', { type: PROCESS, status: 'running' }) === 0;
        return settled ? body : undefined;
      });
      assert.equal(sample(text, 'imgd_job_runs_total', { type: PROCESS, outcome: 'done' }), 1);
      assert.equal(sample(text, 'imgd_job_runs_total', { type: PROCESS, outcome: 'retried' }), 1, 'the first of two tries');
      assert.equal(sample(text, 'imgd_job_runs_total', { type: PROCESS, outcome: 'failed' }), 1, 'the last try');
      assert.equal(sample(text, 'imgd_jobs', { type: PROCESS, status: 'failed' }), 1);
      // The queue marks the job's row failed, then runs its failure handler, which marks the image: a moment apart.
      await waitFor('the image to be marked failed', async () => {
        const image = (await (await fetch(`${worker.url}/api/v1/images/${broken.id}`, { headers: worker.auth })).json()) as { status: string };
        return image.status === 'failed' ? true : undefined;
      });
    } finally {
      await worker.close();
    }
  });

  it('has `imgd worker` serve the outcomes of the jobs it ran on WORKER_METRICS_PORT', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    const producer = await startApp({ RUN_WORKERS: 'false' }, dir);
    await uploadOne(producer, fixture('jpg/Canon_40D.jpg'));
    await producer.close();

    const port = await freePort();
    const worker = spawnCli(['worker'], { ...(await servicesFor(dir)), DATA_DIR: dir, WORKER_METRICS_PORT: String(port), JOB_POLL_MS: '50' });
    await worker.waitForStdout(/"metrics":"http:\/\/127\.0\.0\.1:\d+\/metrics"/, 'the address of the worker metrics');
    const text = await waitFor('the worker to run the job', async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return sample(body, 'imgd_job_runs_total', { type: PROCESS, outcome: 'done' }) === 1 ? body : undefined;
    });
    assert.equal(sample(text, 'imgd_jobs', { type: PROCESS, status: 'pending' }), 0);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/images`)).status, 404, 'nothing but metrics and health');
    worker.child.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
  });
});
