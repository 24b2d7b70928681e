import { createHash, randomBytes } from 'node:crypto';

/** A minimal cookie-keeping HTTP agent for driving the hosted pages without a browser. */
export class Agent {
  readonly cookies = new Map<string, string>();

  /** `send`: another fetch, such as one that reaches test host names (helpers/hosts.ts). */
  constructor(private readonly send: typeof fetch = fetch) {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.send(url, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no csrf token on the page');
  return m[1]!;
}

export function absolute(base: string, location: string): string {
  return new URL(location, base).toString();
}

/**
 * Runs an authorize request through the sign-in page with the given credentials and returns the
 * final redirect (to the app) as a URL.
 */
export async function signInViaPages(agent: Agent, baseUrl: string, authorizeUrl: string, email: string, password: string): Promise<URL> {
  let res = await agent.fetch(authorizeUrl);
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  let location = absolute(baseUrl, res.headers.get('location')!);
  if (!location.includes('/journey/')) return new URL(location);
  const page = await (await agent.fetch(location)).text();
  res = await agent.post(location, { csrf: csrfOf(page), email, password, action: 'signin' });
  if (res.status !== 302) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
  location = absolute(baseUrl, res.headers.get('location')!);
  return new URL(location);
}
