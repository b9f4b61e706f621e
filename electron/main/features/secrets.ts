// Remembered passwords: whether the keyring works, and "forget" per VM.
import type { SecretStore } from '../../services/secrets.js';
import type { Feature } from './feature.js';

/** Lets the user see and remove remembered passwords; remembering happens in the console feature. */
export function secretsFeature(deps: { secrets: SecretStore }): Feature<'keyringStatus' | 'forgetPassword'> {
  return {
    handlers: {
      keyringStatus: () => deps.secrets.status(),
      forgetPassword: (vmId) => deps.secrets.forget(vmId),
    },
  };
}
