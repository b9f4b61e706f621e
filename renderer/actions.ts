// What the buttons in a row do: open a console (asking for a password when main says so) and forget a password.
import { announce, focusOpenButton } from './dom.js';
import { render } from './list.js';
import { askPassword } from './password.js';
import { api, ui } from './state.js';

/** Opens a console; a second viewer is never started, main answers "already open" instead. */
export async function openVm(vmId: string): Promise<void> {
  const vm = ui.view?.status === 'ok' ? ui.view.vms.find((v) => v.id === vmId) : undefined;
  if (!vm) return;
  let result = await api.openConsole({ vmId });
  if (result.kind === 'needs-password') {
    const answer = await askPassword(vm, result.keyring);
    if (!answer) {
      focusOpenButton(vmId);
      return;
    }
    result = await api.openConsole({ vmId, password: answer.password, remember: answer.remember });
  }
  if (result.kind === 'state') {
    if (result.alreadyOpen) ui.alreadyOpen.add(vmId);
    else ui.alreadyOpen.delete(vmId);
    ui.consoles[vmId] = result.state;
    render();
    if (result.alreadyOpen) announce(`${vm.title} is already open.`);
  }
}

/** Removes a remembered password; the next open asks again. */
export async function forget(vmId: string): Promise<void> {
  ui.keyring = await api.forgetPassword(vmId);
  announce('Password forgotten. You will be asked next time.');
  render();
  focusOpenButton(vmId);
}
