import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { HELPER_NICE } from '../../thread-priorities.js';

/**
 * WAL checkpoints on a worker thread with its own connection.
 *
 * A checkpoint copies the write-ahead log back into the database file and, with `synchronous=NORMAL`,
 * waits for the disk twice (fsync of the log, then of the database). Run by SQLite's automatic
 * checkpoint, that wait happens inside whichever commit crossed 1,000 pages, on the event loop: under
 * token load the server's main thread was seen in uninterruptible disk sleep while the CPU sat idle.
 * Here the server's connection turns automatic checkpoints off and this thread runs a PASSIVE checkpoint
 * a few times a second when the log has changed. PASSIVE never blocks writers or readers, so commits
 * go on while it copies; the log restarts from its beginning at the first commit after a checkpoint
 * that caught up, as it does with automatic checkpoints. Durability is unchanged: commits are in the
 * log before callers are answered, whichever thread later copies them.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
// Below the event loop, like libuv's pool (see thread-priorities.ts); setPriority(0) is this thread.
try { require('node:os').setPriority(0, workerData.nice); } catch {}
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('synchronous = NORMAL');
const wal = workerData.path + '-wal';
let seen = -1;
const tick = () => {
  try {
    const st = statSync(wal, { throwIfNoEntry: false });
    const stamp = st ? st.mtimeMs * 1e6 + st.size : -1;
    if (st && stamp !== seen) {
      seen = stamp;
      db.pragma('wal_checkpoint(PASSIVE)');
    }
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'close') {
    clearInterval(timer);
    db.close();
    parentPort.postMessage('closed');
    parentPort.close();
  }
});
parentPort.postMessage('ready');`;

export class BackgroundCheckpointer {
  /**
   * The server's connection still checkpoints, rarely: a PASSIVE checkpoint cannot restart a log that
   * commits keep appending to, so without this the log would only grow. When it reaches this many
   * pages the committing thread copies what the worker has not yet copied (a fraction of a second of
   * commits), syncs, and the next commit starts the log again from its beginning.
   */
  static readonly mainThreadPages = 4000;
  private readonly worker: Worker;
  private closed = false;

  /** `onFailure` is called once if the thread cannot checkpoint; the caller then checkpoints itself. */
  constructor(path: string, onFailure: (reason: string) => void, intervalMs = 50) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs, nice: HELPER_NICE } });
    this.worker.unref();
    let failed = false;
    const fail = (reason: string) => {
      if (failed || this.closed) return;
      failed = true;
      onFailure(reason);
      void this.worker.terminate();
    };
    this.worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'error' in m) fail(String((m as { error: unknown }).error));
    });
    this.worker.on('error', (err) => fail(err.message));
  }

  /** Stops the thread and closes its connection, so the server's own close is the last one. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      this.worker.once('exit', done);
      this.worker.on('message', (m: unknown) => m === 'closed' && done());
      this.worker.postMessage('close');
      // A thread that is stuck or already gone must not hold the shutdown.
      setTimeout(() => void this.worker.terminate().then(done, done), 2000).unref();
    });
  }
}
