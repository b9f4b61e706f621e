// The machine a benchmark ran on, printed with every result: numbers without their machine mean little.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { exec } from '../../helper/src/system/exec.js';

/** What we record about the machine. */
export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  nft: string;
  iptables: string;
  sudo: string;
  node: string;
  loadAverage: string;
}

async function firstLine(argv: string[]): Promise<string> {
  const r = await exec(argv);
  return (r.stdout || r.stderr).split('\n')[0]?.trim() || 'unknown';
}

/** Gathers the description; load average is sampled now (call again at the end to see how busy it was). */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return {
    date: new Date().toISOString(),
    cpus: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    nft: await firstLine(['nft', '--version']),
    iptables: await firstLine(['iptables', '--version']),
    sudo: await firstLine(['sudo', '-V']),
    node: process.version,
    loadAverage: loadAverage(),
  };
}

/** The 1/5/15-minute load average as `uptime` prints it. */
export function loadAverage(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(', ');
}

/** One paragraph for the top of the report. */
export function machineLines(m: Machine, endLoad: string): string[] {
  return [
    `date: ${m.date}`,
    `CPU: ${m.cpus} × ${m.cpuModel}; memory ${m.memoryGiB} GiB; kernel ${m.kernel}`,
    `tools: ${m.nft}; ${m.iptables}; ${m.sudo}; node ${m.node}`,
    `load average at start: ${m.loadAverage}; at end: ${endLoad} (other work on the machine shows up as noise)`,
  ];
}
