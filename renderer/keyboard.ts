// Keyboard: "/" jumps to search; ↑/↓ move between the consoles' main buttons, like a list.
import { $ } from './dom.js';

/** The page-wide keydown handler. */
export function onKey(e: KeyboardEvent): void {
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
