// What the benchmarks share: the load knobs, and small measuring helpers.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
export const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const CB = 'http://127.0.0.1:9/cb';
export const API = 'https://bench.example/api';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * User + system CPU time of a process and all its threads so far (or of one thread), in ms
 * (/proc/PID/stat, clock ticks of 10 ms); 0 for a process that has ended.
 */
export function cpuMs(pid: number, tid?: number): number {
  try {
    const fields = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
