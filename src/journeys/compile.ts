import type { Journey, Step } from './journey.js';
import type { Policy } from './policy-schema.js';
import { localSignIn } from './steps/local-sign-in.js';

/** Kinds are presets: each expands to an ordered list of steps. */
export function compileJourney(policy: Policy): Journey | undefined {
  let steps: Step[];
  switch (policy.kind) {
    case 'signIn':
      steps = [localSignIn()];
      break;
    case 'signUpOrSignIn':
      steps = [localSignIn()];
      break;
    default:
      return undefined;
  }
  return { policy, steps };
}

const compiled = new WeakMap<Policy, Journey | undefined>();

/** Compiled once per loaded policy object; a reloaded policy is a new object and compiles anew. */
export function journeyFor(policy: Policy): Journey | undefined {
  if (!compiled.has(policy)) compiled.set(policy, compileJourney(policy));
  return compiled.get(policy);
}
