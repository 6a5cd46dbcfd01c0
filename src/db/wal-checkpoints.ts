// WAL checkpoints of the embedded database, mostly off the event loop. SQLite's automatic checkpoint runs inside the
// commit that takes the WAL past 1,000 pages, on the connection that commits, so on the server's only thread: copying
// those pages into the database file and its fsync stopped every request for 3-14 ms, several times a second under
// uploads. A thread of its own, with a connection of its own, copies the pages as they come (PASSIVE: it never waits
// for the server, nor the server for it); the automatic checkpoint stays on and then finds almost nothing left to copy,
// and it is what lets the next commit start the WAL over (a checkpoint running beside commits never catches up with
// them, and the WAL would grow without end).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the thread checkpoints: a few hundred pages between rounds at a thousand uploads a second. */
const EVERY_MS = 100;

/**
 * The thread: its own connection, a PASSIVE checkpoint every `everyMs` (it never waits for the server's readers or
 * writer), until told to stop. CommonJS source, so that it runs as it is under the compiled build and under tsx alike.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 100');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy, or the disk refused: the next round tries again; the commits' own checkpoints bound the WAL meanwhile.
  }
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpoints {
  /** Ends the thread; resolves once its connection is closed and the thread has exited. */
  stop(): Promise<void>;
}

export function checkpointInBackground(file: string, onFailure: (err: Error) => void): WalCheckpoints {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD, { eval: true, workerData: { driver, file, everyMs: EVERY_MS } });
  worker.unref();
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Nothing to put back: without the thread, the commits' own checkpoints copy every page, as SQLite does by default.
  worker.once('error', (err) => {
    if (!stopping) onFailure(err);
  });
  return {
    stop() {
      if (!stopping) {
        stopping = true;
        // Waited for now: held, or a process with nothing else left to do would end before the thread does.
        worker.ref();
        worker.postMessage('stop');
      }
      return exited;
    },
  };
}
