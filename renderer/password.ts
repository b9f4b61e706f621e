// The password prompt: a modal dialog with "remember" (offered only when the keyring works).
import type { KeyringStatus, VmEntry } from '../electron/contract.js';
import { $ } from './dom.js';

/** What the person typed, and whether to remember it once it works. */
export interface PasswordAnswer {
  password: string;
  remember: boolean;
}

/** Asks for a VM's console password; null when the person cancels (button or Esc). */
export function askPassword(vm: VmEntry, keyring: KeyringStatus): Promise<PasswordAnswer | null> {
  const dialog = $<HTMLDialogElement>('pw-dialog');
  const input = $<HTMLInputElement>('pw-input');
  const remember = $<HTMLInputElement>('pw-remember');
  const note = $('pw-keyring-note');
  $('pw-title').textContent = `Password for ${vm.title}`;
  input.value = '';
  remember.checked = false;
  remember.disabled = !keyring.available;
  note.hidden = keyring.available;
  note.textContent = keyring.note ?? '';
  return new Promise((resolve) => {
    const finish = (result: PasswordAnswer | null): void => {
      $('pw-form').removeEventListener('submit', onSubmit);
      $('pw-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(result);
    };
    const onSubmit = (e: Event): void => {
      e.preventDefault();
      finish({ password: input.value, remember: remember.checked && !remember.disabled });
    };
    const onCancel = (e: Event): void => {
      e.preventDefault();
      finish(null);
    };
    $('pw-form').addEventListener('submit', onSubmit);
    $('pw-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
}
