import { randomFill } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The event loop first, the CPU-heavy helpers after it.
 *
 * Every request passes through the one event-loop thread, while RS256 signatures run on libuv's
 * thread pool (four threads by default). Under load, with more busy threads than cores, the kernel
 * shares the CPU evenly between them: the event loop was seen runnable 90% of the time but running
 * about half of it, so requests queued behind signatures that had nowhere to go. Giving the helper
 * threads a higher nice value makes the kernel run the event loop whenever it has work and the
 * signatures in the time left; the total work is the same, the serial part no longer waits.
 *
 * Linux keeps a nice value per thread, and `setpriority` with a thread id sets that one thread. This
 * runs once at start, after libuv's pool exists (its threads are all created on first use), and
 * lowers every thread of the process but the main one: the pool, V8's helper threads and worker
 * threads already started. Password hashing lowers its own threads further (see crypto/password.ts).
 * Elsewhere it does nothing.
 */
export const HELPER_NICE = 5;

export async function prioritizeEventLoop(): Promise<{ lowered: number }> {
  if (process.platform !== 'linux') return { lowered: 0 };
  // One tiny job on the pool, so that libuv has created its threads.
  await new Promise<void>((resolve) => randomFill(Buffer.alloc(1), () => resolve()));
  let lowered = 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return { lowered: 0 };
  }
  for (const tid of tids) {
    const id = Number(tid);
    if (!Number.isInteger(id) || id === process.pid) continue;
    try {
      setPriority(id, HELPER_NICE);
      lowered++;
    } catch {
      // A thread that ended meanwhile, or a system that refuses: the server works as before.
    }
  }
  return { lowered };
}
