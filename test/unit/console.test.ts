import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { placeProblems } from '../../src/console/pages/json-editor.js';
import { consoleReturnTo } from '../../src/console/session.js';
import type { AuditEvent } from '../../src/model/entities.js';
import { Audit } from '../../src/security/audit.js';
import type { Store } from '../../src/store/store.js';

/** The web console's pieces that need no server: problems placed at their lines, and the audit trail stamped with the administrator. */
describe('placing a JSON problem at its line', () => {
  const text = '{\n  "id": "B2C_1_signin",\n  "tokens": {\n    "idTokenMinutes": 2\n  },\n  "list": [1, 2,\n    3]\n}\n';

  it("points at the line of the property a path names, an array element's line, and the nearest existing parent of a missing one", () => {
    const placed = placeProblems(text, [
      { path: '$.tokens.idTokenMinutes', message: 'too small' },
      { path: '$.list[2]', message: 'bad' },
      { path: '$.tokens.missing', message: 'required' },
      { path: '$', message: 'whole file' },
    ]);
    expect(placed.map((p) => p.line)).toEqual([4, 7, 3, 1]);
  });

  it('points a syntax error at the position the parser names', () => {
    const broken = '{\n  "a": 1,\n  "b": \n}';
    let message = '';
    try {
      JSON.parse(broken);
    } catch (err) {
      message = `not valid JSON: ${(err as Error).message}`;
    }
    const [p] = placeProblems(broken, [{ path: '$', message }]);
    // Node's message names the position when it knows it; the line is then that position's.
    if (/at position \d+/.test(message)) expect(p!.line).toBe(4);
    else expect(p!.line).toBe(1);
  });
});

describe('an audit trail acting for someone', () => {
  it('stamps every event with the actor, and the address, app and surface where the event names none', async () => {
    const rows: Omit<AuditEvent, 'id'>[] = [];
    const store = { addAuditEvent: async (e: Omit<AuditEvent, 'id'>) => void rows.push(e) } as unknown as Store;
    const audit = new Audit(store, { now: () => 1000 }, pino({ level: 'silent' }));
    const acting = audit.as({ actor: 'admin-oid', ip: '192.0.2.1', clientId: 'console-app', surface: 'console' });
    await acting.record({ tenantId: 't', event: 'key_rotated', outcome: 'success', detail: 'kid-1' });
    await acting.record({ tenantId: 't', event: 'app_created', outcome: 'success', clientId: 'new-app', ip: '198.51.100.7', detail: 'web Contoso' });
    await acting.record({ tenantId: 't', event: 'user_disabled', outcome: 'success', subject: 'u', detail: 'console' });
    await audit.record({ tenantId: 't', event: 'signin', outcome: 'success', subject: 'u' });
    expect(rows.map((r) => [r.actor, r.ip, r.clientId, r.detail])).toEqual([
      ['admin-oid', '192.0.2.1', 'console-app', 'kid-1 (console)'],
      ['admin-oid', '198.51.100.7', 'new-app', 'web Contoso (console)'],
      ['admin-oid', '192.0.2.1', 'console-app', 'console'],
      [null, null, null, null],
    ]);
  });
});

describe('where a console sign-in goes back to', () => {
  it("keeps a page of the tenant's console, and sends anything else, as the browser would resolve it, to the console's home", () => {
    expect(consoleReturnTo('demo', '/console/demo/users?q=ann')).toBe('/console/demo/users?q=ann');
    for (const wanted of [
      undefined,
      'https://evil.example/console/demo/',
      '//evil.example/console/demo/',
      '/console/demo/../other/',
      '/console/demo/%2e%2e/%2e%2e/demo/oauth2/v2.0/logout',
      '/console/demo/%2E%2E/other/',
      '/console/demo/.%2e/.%2E/x',
      '/console/demo/\\evil.example',
      '/console/demox/',
    ]) {
      expect(consoleReturnTo('demo', wanted), String(wanted)).toBe('/console/demo/');
    }
  });
});
