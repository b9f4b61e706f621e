// The launcher UI's entry point: wires the page's controls and main's events to the parts in this folder, then loads
// the first view. Talks only to window.api (the preload contract).
import { forget, openVm } from './actions.js';
import { runDiagnostics, showDiagnostics } from './diagnostics.js';
import { $, announce } from './dom.js';
import { onKey } from './keyboard.js';
import { render } from './list.js';
import { api, ui } from './state.js';

function init(): void {
  $('vm-list').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    if (!b || b.disabled || !b.dataset.vm) return;
    if (b.dataset.action === 'open') void openVm(b.dataset.vm);
    if (b.dataset.action === 'forget') void forget(b.dataset.vm);
  });
  $<HTMLInputElement>('search').addEventListener('input', (e) => {
    ui.query = (e.target as HTMLInputElement).value;
    render();
  });
  $('diag-toggle').addEventListener('click', () => showDiagnostics($('diagnostics').hidden));
  $('diag-run').addEventListener('click', () => void runDiagnostics());
  $('empty-diag').addEventListener('click', () => showDiagnostics(true));
  document.addEventListener('keydown', onKey);

  api.on('viewChanged', (view) => {
    ui.view = view;
    render();
  });
  api.on('consoleState', ({ vmId, state }) => {
    ui.consoles[vmId] = state;
    if (state.state !== 'connected') ui.alreadyOpen.delete(vmId);
    render();
    const title = ui.view?.status === 'ok' ? (ui.view.vms.find((v) => v.id === vmId)?.title ?? vmId) : vmId;
    if (state.state === 'failed') announce(`${title}: ${state.message}`);
    if (state.state === 'connected') announce(`${title} is open.`);
  });
  api.on('keyringChanged', (k) => {
    ui.keyring = k;
    render();
  });

  void Promise.all([api.getView(), api.consoleStates(), api.keyringStatus()]).then(([view, consoles, keyring]) => {
    ui.view = view;
    ui.consoles = { ...consoles, ...ui.consoles };
    ui.keyring = keyring;
    document.body.dataset.ready = 'true';
    render();
  });
}

init();
