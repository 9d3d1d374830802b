/** Facts about the machine and the tools, recorded with every result. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function version(/** @type {string} */ pkg) {
  try {
    return /** @type {{ version: string }} */ (require(`${pkg}/package.json`)).version;
  } catch {
    return 'unknown';
  }
}

function cpuModel() {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

function nproc() {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return cpus().length;
  }
}

function os() {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

export function machineFacts() {
  return {
    nproc: nproc(),
    cpu: cpuModel(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: os(),
    node: process.version,
    wrangler: version('wrangler'),
    workerd: version('workerd'),
    partyserver: version('partyserver'),
    partysocket: version('partysocket'),
    ws: version('ws'),
    esbuild: version('esbuild'),
  };
}
