import { describe, expect, it } from 'vitest';
import { appSchemeTargets, formActionSource } from '../../src/http/respond.js';

describe("a page's form targets as CSP form-action sources", () => {
  it('names scheme, host, port and path (the query and fragment are not part of a source)', () => {
    expect(formActionSource('https://app.contoso.example/auth/callback?x=1')).toBe('https://app.contoso.example/auth/callback');
    expect(formActionSource('http://127.0.0.1:5173/cb')).toBe('http://127.0.0.1:5173/cb');
    expect(formActionSource('http://localhost:3000/')).toBe('http://localhost:3000/');
    expect(formActionSource('https://login.contoso.example')).toBe('https://login.contoso.example/');
  });

  it("writes ';' and ',' percent-encoded: unencoded they would end the source or the directive", () => {
    expect(formActionSource("https://app.example/a;b,c/cb")).toBe('https://app.example/a%3Bb%2Cc/cb');
  });

  it("names a native app's own scheme whole, and never a scheme that runs code or reads local data", () => {
    expect(formActionSource('com.contoso.app:/oauth2redirect')).toBe('com.contoso.app:');
    expect(formActionSource('msal00000000-0000-0000-0000-000000000000://auth')).toBe('msal00000000-0000-0000-0000-000000000000:');
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'blob:https://a.example/1', 'file:///etc/passwd', 'about:blank', 'not a url']) {
      expect(formActionSource(bad), bad).toBeUndefined();
    }
  });

  it('leaves out an IPv6 address, which a CSP source cannot name', () => {
    expect(formActionSource('http://[::1]:8080/cb')).toBeUndefined();
  });

  it("names on a journey page only a native app's own scheme (web apps are reached through the onward page)", () => {
    expect(appSchemeTargets('https://app.contoso.example/cb')).toEqual([]);
    expect(appSchemeTargets('http://127.0.0.1:5173/cb')).toEqual([]);
    expect(appSchemeTargets('com.contoso.app:/oauth2redirect').map(formActionSource)).toEqual(['com.contoso.app:']);
  });
});
