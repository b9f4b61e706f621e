// The list of consoles: one row per VM with its availability and live state, the search filter, and the empty states.
import type { ConsoleState, VmEntry } from '../electron/contract.js';
import { $, el } from './dom.js';
import { ui } from './state.js';

/** Lists longer than this get a search box. */
export const SEARCH_THRESHOLD = 5;

// Plain words for each console state; failures carry their own message and hint from main.
function stateLine(vmId: string, s: ConsoleState | undefined): HTMLElement | null {
  if (!s) return null;
  const box = el('div', { class: `state state-${s.state}`, attrs: { role: 'status' } });
  switch (s.state) {
    case 'launching':
      box.append(el('span', { class: 'spinner', attrs: { 'aria-hidden': 'true' } }), el('span', { text: 'Starting the console…' }));
      break;
    case 'connected':
      box.append(el('strong', { text: ui.alreadyOpen.has(vmId) ? 'This console is already open.' : 'The console is open.' }), el('span', { text: ' Look for its window on your screen.' }));
      break;
    case 'closed':
      box.append(el('span', { text: 'Console closed.' }));
      break;
    case 'failed':
      box.append(el('strong', { text: s.message }), el('span', { class: 'hint', text: s.hint }));
      break;
  }
  return box;
}

function vmRow(vm: VmEntry): HTMLLIElement {
  const s = ui.consoles[vm.id];
  const remembered = ui.keyring?.remembered.includes(vm.id) ?? false;
  const busy = s?.state === 'launching';
  const open = el('button', { class: 'primary open', text: busy ? 'Starting…' : 'Open console', attrs: { type: 'button', 'data-action': 'open', 'data-vm': vm.id } });
  open.setAttribute('aria-describedby', `avail-${vm.id}`);
  // Outside its window the console cannot open; say when it will instead of letting the click fail.
  if (busy || !vm.availability.now) open.disabled = true;
  const actions = el('div', { class: 'vm-actions' }, open);
  if (remembered) {
    actions.append(el('button', { class: 'link', text: 'Forget password', attrs: { type: 'button', 'data-action': 'forget', 'data-vm': vm.id, 'aria-label': `Forget the saved password for ${vm.title}` } }));
  }
  const info = el(
    'div',
    { class: 'vm-info' },
    el('h2', { class: 'vm-title', text: vm.title }),
    el('p', { class: 'vm-meta', text: `${vm.server} · ${vm.schedule}` }),
    el('p', { class: `avail ${vm.availability.now ? 'avail-now' : 'avail-later'}`, attrs: { id: `avail-${vm.id}` } }, el('span', { class: 'dot', attrs: { 'aria-hidden': 'true' } }), document.createTextNode(vm.availability.label)),
  );
  const row = el('li', { class: 'vm', attrs: { 'data-vm': vm.id } }, info, actions);
  const line = stateLine(vm.id, s);
  if (line) row.append(line);
  return row;
}

function matches(vm: VmEntry, q: string): boolean {
  const needle = q.trim().toLowerCase();
  return needle === '' || [vm.title, vm.server, vm.id, vm.host].some((f) => f.toLowerCase().includes(needle));
}

function showEmpty(title: string, body: string, detail: string): void {
  $('empty-title').textContent = title;
  $('empty-body').textContent = body;
  $('empty-detail').textContent = detail;
  $('empty').hidden = false;
}

/** Re-renders the list from `ui`, keeping keyboard focus on the same button. */
export function render(): void {
  const focused = document.activeElement as HTMLElement | null;
  const refocus = focused?.dataset.vm ? `[data-vm="${focused.dataset.vm}"][data-action="${focused.dataset.action}"]` : null;
  const list = $<HTMLUListElement>('vm-list');
  const view = ui.view;
  $('empty').hidden = true;
  list.replaceChildren();
  const note = $('keyring-note');
  note.hidden = !ui.keyring || ui.keyring.available;
  note.textContent = ui.keyring?.note ?? '';
  if (!view) return;

  if (view.status === 'ok') {
    $('who').textContent = `Signed in as ${view.user} · ${view.vms.length} console${view.vms.length === 1 ? '' : 's'}`;
    $('search-row').hidden = view.vms.length <= SEARCH_THRESHOLD;
    const shown = view.vms.filter((vm) => matches(vm, ui.query));
    list.append(...shown.map(vmRow));
    if (shown.length === 0) showEmpty('No consoles match your search', `Nothing is called “${ui.query.trim()}”. Try another word.`, '');
    $('empty-diag').hidden = shown.length === 0;
  } else {
    $('search-row').hidden = true;
    $('empty-diag').hidden = false;
    if (view.status === 'no-policy') {
      $('who').textContent = 'Consoles are not set up on this computer';
      showEmpty('Consoles are not set up on this computer', 'Your administrator has not set up console access here yet. Please ask them to apply the consolegate policy on this computer.', `Missing: ${view.path}`);
    } else if (view.status === 'no-vms') {
      $('who').textContent = view.user ? `Signed in as ${view.user}` : 'No consoles assigned';
      showEmpty('No consoles are assigned to you', 'There is nothing for you to open on this computer. If you need a console, ask your administrator to give you access.', '');
    } else {
      $('who').textContent = 'Your list could not be read';
      showEmpty('Your list of consoles could not be read', 'Please ask your administrator to apply the consolegate policy on this computer again.', view.message);
    }
  }
  if (refocus) (list.querySelector<HTMLElement>(refocus) ?? list).focus();
}
