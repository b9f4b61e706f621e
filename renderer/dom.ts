// DOM helpers: elements by id, new elements built with textContent (never innerHTML), and the screen-reader line.

/** The element with this id in index.html. */
export const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** A new element with a class, text, attributes and children; text always goes in as textContent. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { class?: string; text?: string; attrs?: Record<string, string> } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** Says `text` to screen readers through the polite live region. */
export function announce(text: string): void {
  $('live').textContent = text;
}

/** Puts the focus back on a console's Open button (after a dialog or a re-render). */
export function focusOpenButton(vmId: string): void {
  document.querySelector<HTMLElement>(`[data-vm="${vmId}"][data-action="open"]`)?.focus();
}
