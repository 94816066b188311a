import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from '../main';

/** The Temporal CLI release we build; later tags carry `replace` directives that `go install` rejects. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

/** Outside the repository, so fresh clones and CI runs on the same machine reuse one build. */
export function temporalCliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'social-media-cache', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Finds a Temporal CLI without building: TEMPORAL_CLI_PATH, `temporal` on PATH,
 * `~/go/bin/temporal`, then our cache.
 */
export function findTemporalCli(cliPath?: string): string | undefined {
  if (cliPath) {
    if (!isExecutable(cliPath)) throw new StartupError(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file`);
    return cliPath;
  }
  const candidates = [
    onPath('temporal'),
    path.join(process.env.GOPATH || path.join(os.homedir(), 'go'), 'bin', 'temporal'),
    path.join(temporalCliCacheDir(), 'temporal'),
  ];
  return candidates.find((file): file is string => !!file && isExecutable(file));
}

/**
 * Finds the Temporal CLI, or builds it with `go install` into the cache when Go is present.
 * Returns undefined when there is neither a binary nor Go.
 */
export async function findOrBuildTemporalCli(
  options: { cliPath?: string; log?: (line: string) => void } = {},
): Promise<string | undefined> {
  const found = findTemporalCli(options.cliPath);
  if (found) return found;
  const go = onPath('go') ?? ['/usr/local/go/bin/go'].find(isExecutable);
  if (!go) return undefined;
  return buildTemporalCli(go, options.log ?? ((line) => process.stderr.write(`${line}\n`)));
}

/** The message for a machine with neither a Temporal CLI nor Go. */
export const NO_TEMPORAL_CLI_MESSAGE =
  'no Temporal CLI found and no Go toolchain to build one. Either install Go >= 1.25 ' +
  `(the next start builds ${TEMPORAL_CLI_MODULE} once, into ${temporalCliCacheDir()}), ` +
  'put a `temporal` binary on PATH or set TEMPORAL_CLI_PATH, or point TEMPORAL_ADDRESS at a running Temporal server.';

async function buildTemporalCli(go: string, log: (line: string) => void): Promise<string> {
  const target = temporalCliCacheDir();
  // Each build gets its own GOBIN and is renamed into place, so concurrent builds cannot collide.
  fs.mkdirSync(target, { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(target), '.build-'));
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${target} (first run only; takes a few minutes)…`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: staging, GOFLAGS: process.env.GOFLAGS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines += 1;
        // Module downloads print hundreds of lines; a heartbeat every 25 keeps the user informed.
        if (!line.startsWith('go: downloading') || lines % 25 === 0) log(`  go: ${line.replace(/^go: /, '')}`);
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    const heartbeat = setInterval(() => log(`  still building (${Math.round((Date.now() - started) / 1000)} s)…`), 30_000);
    child.on('error', (err) => {
      clearInterval(heartbeat);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(heartbeat);
      if (code === 0) resolve();
      else reject(new StartupError(`go install ${TEMPORAL_CLI_MODULE} failed with exit code ${code}`));
    });
  });
  const built = path.join(target, 'temporal');
  fs.renameSync(path.join(staging, 'temporal'), built);
  fs.rmSync(staging, { recursive: true, force: true });
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${built}`);
  return built;
}
