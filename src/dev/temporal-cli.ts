import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StartupError } from '../boot/run-main';

/** The Temporal CLI release we build; later tags carry `replace` directives that `go install` rejects. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

/** Outside the repository, so fresh clones and CI runs on the same machine reuse one build. */
export function temporalCliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'social-media-cache', `temporal-${TEMPORAL_CLI_VERSION}`);
}

/** True for an executable regular file. */
export function isExecutable(file: string): boolean {
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
  const go = findGo();
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
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${target} (first run only; takes a few minutes)…`,
  );
  const started = Date.now();
  await goInstall({ go, packages: [TEMPORAL_CLI_MODULE], targetDir: target, binaries: { temporal: 'temporal' }, log });
  const built = path.join(target, 'temporal');
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${built}`);
  return built;
}

/** The Go toolchain on PATH (or where the official tarball puts it), if any. */
export function findGo(): string | undefined {
  return onPath('go') ?? ['/usr/local/go/bin/go'].find(isExecutable);
}

/**
 * `go install packages` into a staging GOBIN of its own, then each built binary renamed into
 * `targetDir` under its final name (`binaries`: built name → final name), so concurrent builds
 * cannot collide and a half-built binary is never found.
 */
export async function goInstall(options: {
  go: string;
  packages: string[];
  targetDir: string;
  binaries: Record<string, string>;
  log: (line: string) => void;
}): Promise<void> {
  const { go, packages, targetDir, log } = options;
  fs.mkdirSync(targetDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(targetDir), '.build-'));
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(go, ['install', ...packages], {
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
      const heartbeat = setInterval(
        () => log(`  still building (${Math.round((Date.now() - started) / 1000)} s)…`),
        30_000,
      );
      child.on('error', (err) => {
        clearInterval(heartbeat);
        reject(err);
      });
      child.on('close', (code) => {
        clearInterval(heartbeat);
        if (code === 0) resolve();
        else reject(new StartupError(`go install ${packages.join(' ')} failed with exit code ${code}`));
      });
    });
    for (const [built, final] of Object.entries(options.binaries)) {
      fs.renameSync(path.join(staging, built), path.join(targetDir, final));
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
