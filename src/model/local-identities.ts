import type { LocalIdentity, SignInType, User } from './entities.js';

/**
 * What a user's local identities and addresses mean, written once: which names a password signs in
 * with, what an account is called on a page, and the addresses the `emails` claim lists.
 */

/** The local identities a password signs in with (email addresses and user names; a phone number uses a code). */
export function passwordIdentities(user: Pick<User, 'localIdentities'>): (LocalIdentity & { signInType: SignInType })[] {
  return user.localIdentities.filter((i): i is LocalIdentity & { signInType: SignInType } => i.signInType !== 'phoneNumber');
}

/** Whether the user has a local account (a name a password signs in with). */
export function hasLocalAccount(user: Pick<User, 'localIdentities'>): boolean {
  return passwordIdentities(user).length > 0;
}

/** How a page or message names the account: its first sign-in name, else its address, name or id. */
export function accountName(user: Pick<User, 'localIdentities' | 'email' | 'displayName' | 'id'>): string {
  return passwordIdentities(user)[0]?.issuerAssignedId ?? user.email ?? user.displayName ?? user.id;
}

/** The user's addresses as B2C's `emails` claim lists them: the contact address, then `otherMails`, each once. */
export function emailsOf(user: Pick<User, 'email' | 'otherMails'>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of [user.email, ...user.otherMails]) {
    if (e === null || e === '' || seen.has(e.toLowerCase())) continue;
    seen.add(e.toLowerCase());
    out.push(e);
  }
  return out;
}

/** A phone number as B2C stores phoneNumber identities: E.164, `+` and up to 15 digits. */
export const E164 = /^\+[1-9]\d{6,14}$/;
