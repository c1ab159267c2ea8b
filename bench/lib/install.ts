/**
 * What the benchmarks need on a fresh machine, and installing it: Debian packages with apt-get
 * (as root; `apt-get update` first only when an install fails, so a warm machine does no network
 * round trip) and the npm peers into bench/node_modules (`npm ci --prefix bench`). Used by
 * bench/run.ts and bench/c10k.ts; `--no-install` turns it off and only reports what is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { have } from './proc.js';

/** A command and the Debian package it comes in. */
export interface Tool {
  bin: string;
  pkg: string;
}

export const TOOLS = {
  wrk: { bin: 'wrk', pkg: 'wrk' },
  taskset: { bin: 'taskset', pkg: 'util-linux' },
  ab: { bin: 'ab', pkg: 'apache2-utils' },
  h2load: { bin: 'h2load', pkg: 'nghttp2-client' },
  ss: { bin: 'ss', pkg: 'iproute2' },
  nginx: { bin: 'nginx', pkg: 'nginx-light' },
  h2o: { bin: 'h2o', pkg: 'h2o' },
} as const satisfies Record<string, Tool>;

/** The npm packages of bench/package.json the peers load (bun brings its binary). */
export const NPM_PEERS = [
  'fastify',
  '@fastify/static',
  'express',
  'hono',
  '@hono/node-server',
  'bun',
];

/** The Debian packages of the tools that are not on PATH, each once, in order. */
export function missingPackages(tools: readonly Tool[], present = have): string[] {
  const out: string[] = [];
  for (const t of tools) if (!present(t.bin) && !out.includes(t.pkg)) out.push(t.pkg);
  return out;
}

export interface InstallOptions {
  root: string;
  tools: readonly Tool[];
  /** Also make sure bench/node_modules holds NPM_PEERS. */
  npm: boolean;
  noInstall: boolean;
  log: (msg: string) => void;
}

/** Install what is missing; returns the tools still missing afterwards (by command name). */
export function ensureInstalled(o: InstallOptions): string[] {
  const apt = missingPackages(o.tools);
  if (apt.length > 0) {
    if (o.noInstall) o.log(`missing ${apt.join(' ')} (apt-get install ${apt.join(' ')})`);
    else if (process.getuid?.() === 0 && have('apt-get')) {
      o.log(`installing ${apt.join(' ')} (apt-get)`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const install = () =>
        spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...apt], {
          stdio: 'inherit',
          env,
        }).status;
      if (install() !== 0) {
        spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
        install();
      }
    } else {
      o.log(`missing ${apt.join(' ')}: install them as root (apt-get install ${apt.join(' ')})`);
    }
  }
  if (o.npm) {
    const dir = join(o.root, 'bench');
    const absent = NPM_PEERS.filter(
      (p) => !existsSync(join(dir, 'node_modules', p, 'package.json')),
    );
    if (absent.length > 0 && !o.noInstall) {
      o.log(`installing the npm peers into bench/node_modules (npm ci --prefix bench)`);
      spawnSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
    }
  }
  return o.tools.filter((t) => !have(t.bin)).map((t) => t.bin);
}
