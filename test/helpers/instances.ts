import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './server.js';

/** The built server and CLI (`npm ci` builds dist/), run as separate processes, as in production. */
const root = join(import.meta.dirname, '..', '..');
export const mainJs = join(root, 'dist', 'main.js');
export const cliJs = join(root, 'dist', 'cli', 'latchkey.js');

export interface Instance {
  name: string;
  port: number;
  url: string;
  process: ChildProcess;
  /** What the process wrote (its log), for a failing test to show. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node dist/main.js` with `env` on a free port and waits until /readyz answers 200. */
export async function startInstance(name: string, env: NodeJS.ProcessEnv, port?: number): Promise<Instance> {
  port ??= await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, [mainJs], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.join('')}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 30_000) throw new Error(`${name} did not become ready: ${output.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name,
    port,
    url,
    process: child,
    output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

/** Runs the built CLI with `env`; returns its parsed --json output or throws with its error line. */
export function cli<T>(env: NodeJS.ProcessEnv, args: string[], input?: string): T {
  const r = spawnSync(process.execPath, [cliJs, ...args, '--json'], { env, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`latchkey ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface Balancer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's nginx in front of `upstreams`, round-robin, no stickiness, each answer saying which
 * instance made it (`X-Upstream`). A connection refused moves the request to the next instance; a
 * request an instance took and did not answer is not repeated elsewhere (nginx's default for POST).
 * No upstream keep-alive: a request sent on a pooled connection to a killed instance would count as
 * taken and be answered 502, where a new connection is refused and the request goes to the survivor.
 */
export async function startNginx(dir: string, upstreams: number[], port?: number): Promise<Balancer> {
  port ??= await freePort();
  const conf = join(dir, 'nginx.conf');
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(conf, `
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream latchkey {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://latchkey;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_connect_timeout 1s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`);
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0);
  if (!nginx) throw new Error("nginx is not installed: apt-get install nginx-light (Debian's package)");
  const child = spawn(nginx, ['-c', conf, '-p', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output.join('')}`);
    try {
      await fetch(`${url}/healthz`);
      break;
    } catch {
      if (Date.now() - t0 > 10_000) throw new Error(`nginx did not start: ${output.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}
