// The diagnostics panel: each check with an icon, a verdict in words, and its detail.
import type { Check, DiagnosticsReport } from '../electron/contract.js';
import { $, el } from './dom.js';
import { api } from './state.js';

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

/** Runs every check again and shows "Checking…" meanwhile. */
export async function runDiagnostics(): Promise<void> {
  renderDiagnostics(null);
  renderDiagnostics(await api.runDiagnostics());
}

/** Opens (and runs) or closes the panel; opening moves the focus to its title. */
export function showDiagnostics(show: boolean): void {
  $('diagnostics').hidden = !show;
  $('diag-toggle').setAttribute('aria-expanded', String(show));
  $('diag-toggle').textContent = show ? 'Hide diagnostics' : 'Diagnostics';
  if (show) {
    void runDiagnostics();
    $('diag-title').setAttribute('tabindex', '-1');
    $('diag-title').focus();
  }
}
