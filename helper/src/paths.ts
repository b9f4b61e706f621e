// System paths the helper owns or reads, with the environment overrides documented in docs/interfaces.md.
import path from 'node:path';
import { DEFAULT_PATHS, STATE_DIR_ENV, TABLE_FILE, VIEWS_DIR } from './boundary/index.js';

/** Default locations (docs/design.md); open-console and the launcher share them through the boundary module. */
export const DEFAULTS = DEFAULT_PATHS;

/** Every system path the helper uses, resolved once per run. */
export interface Paths {
  policy: string;
  policyDir: string;
  stateDir: string;
  sudoersFile: string;
  openConsole: string;
}

/** Reads the overrides from the environment; `--policy` beats CONSOLEGATE_POLICY. */
export function resolvePaths(env: NodeJS.ProcessEnv, policyFlag?: string): Paths {
  const pick = (name: string, fallback: string): string => {
    const v = env[name];
    return v !== undefined && v !== '' ? path.resolve(v) : fallback;
  };
  const policy = policyFlag !== undefined ? path.resolve(policyFlag) : pick('CONSOLEGATE_POLICY', DEFAULTS.policy);
  // Fragments sit beside an overridden main file unless their own directory is given.
  const dirDefault = policy === DEFAULTS.policy ? DEFAULTS.policyDir : path.join(path.dirname(policy), 'policy.d');
  return {
    policy,
    policyDir: pick('CONSOLEGATE_POLICY_DIR', dirDefault),
    stateDir: pick(STATE_DIR_ENV, DEFAULTS.stateDir),
    sudoersFile: pick('CONSOLEGATE_SUDOERS_FILE', DEFAULTS.sudoersFile),
    openConsole: pick('CONSOLEGATE_OPEN_CONSOLE', DEFAULTS.openConsole),
  };
}

/** Files inside the state directory. */
export function statePaths(stateDir: string) {
  return {
    state: path.join(stateDir, 'state.json'),
    table: path.join(stateDir, TABLE_FILE),
    /** The firewall model in force (apply/saved.ts), root-only: boot and `watch` load it without the policy. */
    firewall: path.join(stateDir, 'firewall.json'),
    views: path.join(stateDir, VIEWS_DIR),
    /** The nft table as apply last loaded it, root-only: the next apply's starting point while the kernel still holds it. */
    loaded: path.join(stateDir, 'loaded.nft'),
    /** The last applied plan's digest and what it was rendered from (commands/plan-cache.ts), root-only. */
    planCache: path.join(stateDir, 'plan-cache.json'),
    /** The policy files' last clean parses (policy/parse-memo.ts), root-only: a changed file is parsed only where it changed. */
    parseMemo: path.join(stateDir, 'parse-memo.json'),
    lock: path.join(stateDir, 'lock'),
  };
}
