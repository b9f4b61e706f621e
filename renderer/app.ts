// The launcher UI: the user's consoles, their live state, the password prompt and diagnostics.
// Talks only to window.api (the preload contract); builds DOM with textContent, never innerHTML.
import type { Api, Check, ConsoleState, DiagnosticsReport, KeyringStatus, VmEntry, ViewSnapshot } from '../electron/contract.js';

declare global {
  interface Window {
    api: Api;
  }
}

/** Lists longer than this get a search box. */
export const SEARCH_THRESHOLD = 5;

const api = window.api;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface UiState {
  view: ViewSnapshot | null;
  consoles: Record<string, ConsoleState>;
  alreadyOpen: Set<string>;
  keyring: KeyringStatus | null;
  query: string;
}
const ui: UiState = { view: null, consoles: {}, alreadyOpen: new Set(), keyring: null, query: '' };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { class?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function announce(text: string): void {
  $('live').textContent = text;
}

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

// Re-renders the list from `ui`, keeping keyboard focus on the same button.
function render(): void {
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

// ---- password prompt -------------------------------------------------------------------------------------------

function askPassword(vm: VmEntry, keyring: KeyringStatus): Promise<{ password: string; remember: boolean } | null> {
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
    const finish = (result: { password: string; remember: boolean } | null): void => {
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

// ---- actions -----------------------------------------------------------------------------------------------------

async function openVm(vmId: string): Promise<void> {
  const vm = ui.view?.status === 'ok' ? ui.view.vms.find((v) => v.id === vmId) : undefined;
  if (!vm) return;
  let result = await api.openConsole({ vmId });
  if (result.kind === 'needs-password') {
    const answer = await askPassword(vm, result.keyring);
    if (!answer) {
      (document.querySelector<HTMLElement>(`[data-vm="${vmId}"][data-action="open"]`))?.focus();
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

async function forget(vmId: string): Promise<void> {
  ui.keyring = await api.forgetPassword(vmId);
  announce('Password forgotten. You will be asked next time.');
  render();
  (document.querySelector<HTMLElement>(`[data-vm="${vmId}"][data-action="open"]`))?.focus();
}

// ---- diagnostics -------------------------------------------------------------------------------------------------

const ICON: Record<Check['status'], string> = { ok: '✓', problem: '✕', unknown: '?' };
const VERDICT: Record<Check['status'], string> = { ok: 'OK', problem: 'Problem', unknown: 'Not checked' };

function renderDiagnostics(report: DiagnosticsReport | null): void {
  const list = $('diag-list');
  if (!report) {
    list.replaceChildren(el('li', { class: 'check', text: 'Checking…' }));
    return;
  }
  list.replaceChildren(
    ...report.checks.map((c) =>
      el(
        'li',
        { class: `check check-${c.status}` },
        el('span', { class: 'check-icon', text: ICON[c.status], attrs: { 'aria-hidden': 'true' } }),
        el('div', {}, el('strong', { text: `${c.title}: ` }), el('span', { class: 'verdict', text: VERDICT[c.status] }), el('p', { class: 'small', text: c.detail })),
      ),
    ),
  );
}

async function runDiagnostics(): Promise<void> {
  renderDiagnostics(null);
  renderDiagnostics(await api.runDiagnostics());
}

function showDiagnostics(show: boolean): void {
  $('diagnostics').hidden = !show;
  $('diag-toggle').setAttribute('aria-expanded', String(show));
  $('diag-toggle').textContent = show ? 'Hide diagnostics' : 'Diagnostics';
  if (show) {
    void runDiagnostics();
    $('diag-title').setAttribute('tabindex', '-1');
    $('diag-title').focus();
  }
}

// ---- keyboard ----------------------------------------------------------------------------------------------------

// "/" jumps to search; ↑/↓ move between the consoles' main buttons, like a list.
function onKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (e.key === '/' && !typing && !$('search-row').hidden) {
    e.preventDefault();
    $('search').focus();
    return;
  }
  if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && (target.closest('#vm-list') || target.id === 'search')) {
    const rows = Array.from(document.querySelectorAll<HTMLElement>('#vm-list li.vm'));
    if (rows.length === 0) return;
    const current = rows.findIndex((r) => r.contains(target));
    const next = e.key === 'ArrowDown' ? Math.min(current + 1, rows.length - 1) : Math.max(current - 1, 0);
    const row = rows[current === -1 ? 0 : next];
    const button = row?.querySelector<HTMLElement>('button:not([disabled])') ?? row;
    if (row && !row.hasAttribute('tabindex')) row.setAttribute('tabindex', '-1');
    button?.focus();
    e.preventDefault();
  }
}

// ---- start -------------------------------------------------------------------------------------------------------

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
