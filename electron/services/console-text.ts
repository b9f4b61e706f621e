// What a person reads about a console: its states, and for each failure reason the message and what to do next.

/** Why a console could not be opened; each maps to plain words in `explain`. */
export type FailureReason = 'not-entitled' | 'outside-window' | 'no-sudo-rule' | 'viewer-unavailable' | 'no-policy' | 'firewall-refused' | 'tls-error' | 'wrong-password' | 'unreachable' | 'unknown';

/** Life of one console: launching → connected → closed, or failed with a reason. */
export type ConsoleState =
  | { state: 'launching' }
  | { state: 'connected' }
  | { state: 'closed'; exitCode: number | null }
  | { state: 'failed'; reason: FailureReason; message: string; hint: string };

const TEXT: Record<FailureReason, { message: string; hint: string }> = {
  'not-entitled': { message: 'This console is not assigned to you.', hint: 'If you need it, ask your administrator to give you access.' },
  'outside-window': { message: 'This console cannot be opened at this time.', hint: 'Try again during your allowed hours, or ask your administrator.' },
  'no-sudo-rule': { message: 'This computer is not set up to open this console for you.', hint: 'Ask your administrator to apply the consolegate policy on this computer again.' },
  'viewer-unavailable': { message: 'The console viewer program is missing on this computer.', hint: 'Ask your administrator to install the console viewer (remote-viewer).' },
  'no-policy': { message: 'Consoles are not set up on this computer.', hint: 'Ask your administrator to apply the consolegate policy on this computer.' },
  'firewall-refused': { message: 'The connection to the console was refused.', hint: 'Ask your administrator to check the consolegate firewall rules (Diagnostics may help).' },
  'tls-error': { message: 'The console server could not prove who it is, so the connection was stopped.', hint: 'Do not retry. Tell your administrator: the server certificate does not match.' },
  'wrong-password': { message: 'The console password was not accepted.', hint: 'Try again with the right password. If you do not know it, ask your administrator.' },
  unreachable: { message: 'The console server could not be reached.', hint: 'Check your network connection, then try again. If it keeps happening, tell your administrator.' },
  unknown: { message: 'The console could not be opened.', hint: 'Try again. If it keeps happening, open Diagnostics and tell your administrator what it shows.' },
};

/** Builds the failed state for a reason, with its plain-words message, a detail in brackets, and the hint. */
export function explain(reason: FailureReason, detail?: string): ConsoleState & { state: 'failed' } {
  const t = TEXT[reason];
  const d = detail?.trim().slice(0, 300);
  return { state: 'failed', reason, message: d ? `${t.message} (${d})` : t.message, hint: t.hint };
}
