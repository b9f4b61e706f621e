// consolegate-helper: argv → command. The only place that maps outcomes and errors to exit codes.
import { parseArgs } from 'node:util';
import { apply } from './commands/apply.js';
import { audit } from './commands/audit.js';
import { host } from './commands/host.js';
import type { Context, Outcome, Output } from './commands/context.js';
import { plan } from './commands/plan.js';
import { remove } from './commands/remove.js';
import { restore } from './commands/restore.js';
import { status } from './commands/status.js';
import { validate } from './commands/validate.js';
import { watch } from './commands/watch.js';
import { ConsolegateError, formatDiagnostic, messageOf, type ErrorCode } from './errors.js';
import { resolvePaths } from './paths.js';
import { exec } from './system/exec.js';

const COMMANDS = { validate, plan, apply, status, remove, audit, restore, watch } as const;

/** Exit codes: the contract in DESIGN.md, plus 64 for usage errors (sysexits EX_USAGE). */
export const EXIT = { ok: 0, failed: 1, changesPending: 2, drift: 3, usage: 64 } as const;

const OUTCOME_EXIT: Record<Outcome, number> = { ok: EXIT.ok, 'changes-pending': EXIT.changesPending, drift: EXIT.drift };
const ERROR_EXIT: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  POLICY_INVALID: EXIT.failed,
  POLICY_UNREADABLE: EXIT.failed,
  APPLY_FAILED: EXIT.failed,
  LOCK_TIMEOUT: EXIT.failed,
  NOT_ROOT: EXIT.failed,
  BACKEND_UNAVAILABLE: EXIT.failed,
  SYSTEM: EXIT.failed,
};

const USAGE = `usage: consolegate-helper <command> [--policy FILE] [--json] [--strict] [--since TIME]

commands:
  validate   parse and check the policy, resolve users/groups/hosts     exit 0 ok, 1 invalid
  plan       show what apply would change                               exit 0 nothing to do, 2 changes pending
  apply      make the system match the policy, atomically               exit 0 ok, 1 failed (previous state kept)
  status     compare the live system with the policy                    exit 0 in sync, 3 drift
  remove     remove everything consolegate owns, restore the viewer     exit 0
  audit      recent denied connection attempts from the kernel log      exit 0
  restore    load the rules the last apply saved, without the policy    exit 0 (boot: before the policy is read)
  watch      put our rules back at once when another tool changes them  runs until stopped (exit 0); 1 if nft is missing
  host plan|apply|status|remove --server NAME
             on the hypervisor: console ports only from \`clients\`,      exit codes as plan, apply, status, remove
             guest bridge ports bound to their MAC/IPs (docs/host.md)

options:
  --policy FILE  main policy file (default /etc/consolegate/policy.yaml, or $CONSOLEGATE_POLICY)
  --json         one JSON document on stdout
  --strict       users, groups or hosts that do not resolve are errors, not warnings
  --since TIME   audit: only attempts after TIME (e.g. "1 hour ago", an ISO date)
  --server NAME  host: this hypervisor's server id in the policy (default $CONSOLEGATE_SERVER)`;

/** Runs the CLI and returns the exit code; never calls process.exit itself (main below does). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let json = false;
  const out: Output = {
    line: (t) => void process.stdout.write(`${t}\n`),
    warn: (t) => void process.stderr.write(`${t}\n`),
    json: (v) => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        policy: { type: 'string' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        since: { type: 'string' },
        server: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    json = values.json === true;
    if (values.help) {
      out.line(USAGE);
      return EXIT.ok;
    }
    const [name, ...extra] = positionals;
    const isHost = name === 'host'; // `host <action>`: the one command with a subcommand
    if (name === undefined || !(isHost || name in COMMANDS) || extra.length > (isHost ? 1 : 0)) {
      throw new ConsolegateError('USAGE', name === undefined ? 'no command given' : extra.length > (isHost ? 1 : 0) ? `unexpected argument \`${extra[isHost ? 1 : 0]}\`` : `unknown command \`${name}\``);
    }
    const ctx: Context = {
      paths: resolvePaths(env, values.policy),
      exec,
      out,
      json,
      strict: values.strict === true,
      since: values.since ?? null,
    };
    if (isHost) return OUTCOME_EXIT[await host(ctx, { action: extra[0], server: values.server ?? env.CONSOLEGATE_SERVER, virsh: env.CONSOLEGATE_VIRSH || undefined })];
    return OUTCOME_EXIT[await COMMANDS[name as keyof typeof COMMANDS](ctx)];
  } catch (err) {
    const e = err instanceof ConsolegateError ? err : new ConsolegateError(isUsage(err) ? 'USAGE' : 'SYSTEM', messageOf(err), { cause: err });
    if (json) {
      out.json({ error: { code: e.code, message: e.message, diagnostics: e.diagnostics.map((d) => ({ ...d.pos, message: d.message })) } });
    } else {
      for (const d of e.diagnostics) out.warn(formatDiagnostic(d));
      out.warn(`consolegate-helper: ${e.message}`);
      if (e.code === 'USAGE') out.warn(USAGE);
    }
    return ERROR_EXIT[e.code];
  }
}

function isUsage(err: unknown): boolean {
  return typeof err === 'object' && err !== null && String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}
