import type { App } from '../model/entities.js';
import { StoreConflictError } from '../store/store.js';
import type { Deps } from './deps.js';

/**
 * Apps Latchkey registers in every tenant itself (its admin API, the web console's app), made the first
 * time they are needed: no secrets, no implicit or password flow, single-tenant; only what is given.
 */
export function builtInApp(fields: Pick<App, 'clientId' | 'tenantId' | 'name' | 'type'> & Partial<App>, now: number): App {
  return {
    secrets: [],
    webRedirectUris: [],
    spaRedirectUris: [],
    publicClientRedirectUris: [],
    postLogoutRedirectUris: [],
    identifierUri: null,
    allowImplicit: false,
    allowRopc: false,
    logoutUrl: null,
    thirdParty: false,
    multiTenant: false,
    createdAt: now,
    ...fields,
  };
}

/** Stores a built-in app; two instances making it at once is no error (the other one's is kept). */
export async function createBuiltInApp(d: Pick<Deps, 'store'>, app: App): Promise<void> {
  try {
    await d.store.createApp(app);
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
  }
}
