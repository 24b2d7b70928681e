/**
 * What a page says after a change went through (`?done=…`): fixed sentences only, so nothing typed into
 * the address bar is ever shown as the console's word.
 */
export const NOTICES = {
  'user-created': 'The user was created.',
  'user-updated': 'The user was saved.',
  'user-disabled': 'The user was disabled: their sessions ended and their refresh tokens were revoked.',
  'user-enabled': 'The user was enabled.',
  'user-deleted': 'The user was deleted.',
  'directory-role-given': 'The directory role was given: it takes effect at once (and in the next tokens they get as wids).',
  'directory-role-taken': 'The directory role was taken away: the console refuses them at once if it was their last.',
  'password-set': 'The password was set.',
  'mfa-reset': "The user's second factors and passkeys were removed.",
  'sessions-revoked': "The user's sessions ended and their refresh tokens were revoked.",
  'identity-added': 'The identity was linked.',
  'identity-removed': 'The identity was unlinked.',
  'app-updated': 'The app was saved.',
  'secret-revoked': 'The secret was revoked.',
  'scope-added': 'The scope was added.',
  'role-added': 'The role was added.',
  'granted': 'The permission was granted.',
  'revoked': 'The permission was revoked.',
  'saml-app-removed': 'The SAML application was removed: its sign-in requests are refused from now on.',
  'enterprise-app-removed': 'The enterprise app was removed: its consents here were withdrawn and its tokens here end.',
  'policy-saved': 'The policy was saved and is live.',
  'providers-saved': 'The identity providers were saved and are live.',
  'key-rotated': 'The new signing key is active; the previous one stays published for its grace period.',
  'key-prepared': 'The next signing key is published; it signs after the next rotation.',
  'key-retired': 'The key was retired and is no longer published.',
  'domain-added': 'The domain was added.',
  'domain-removed': 'The domain was removed.',
  'email-domain-removed': 'The email domain was removed.',
  'settings-saved': 'The settings were saved.',
  'secret-set': 'The tenant secret was set; its value is not shown again.',
  'secret-removed': 'The tenant secret was removed.',
} as const;

export type Notice = keyof typeof NOTICES;
