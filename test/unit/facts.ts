// Hand-made facts for pure tests: the machine as plan/ would see it, without asking the machine.
import type { Facts } from '../../helper/src/policy/facts.js';

/** Users myself, maggie, anne, carol (in accounting); server mysrv has one IPv4 and one IPv6 address. */
export function fakeFacts(overrides: Partial<Facts> = {}): Facts {
  return {
    viewerGid: 990,
    users: new Map([
      ['myself', { name: 'myself', uid: 1000, gid: 1000 }],
      ['maggie', { name: 'maggie', uid: 1001, gid: 1001 }],
      ['anne', { name: 'anne', uid: 1002, gid: 1002 }],
      ['carol', { name: 'carol', uid: 1003, gid: 1003 }],
    ]),
    groups: new Map([['accounting', ['carol', 'myself']]]),
    addresses: new Map([
      ['mysrv', ['192.0.2.10', '2001:db8::10']],
      ['local', ['127.0.0.1']],
    ]),
    ca: new Map([
      ['mysrv', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'],
      ['local', '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n'],
    ]),
    serverProblems: new Map(),
    utcOffsetMinutes: 0,
    now: new Date('2026-11-23T10:00:00Z'),
    ...overrides,
  };
}
