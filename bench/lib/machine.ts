/** The machine a benchmark ran on, as every results file records it. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
}

export function machineInfo(): Machine {
  const cpuModel =
    /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ??
    'unknown';
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel,
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: os.release(),
  };
}
