import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Runs an entry file of `src/` with tsx, as the npm scripts do; `stdin: 'pipe'` to write to it. */
export function spawnEntry(
  entry: string,
  env: NodeJS.ProcessEnv,
  options: { args?: string[]; stdin?: 'pipe' | 'ignore' } = {},
): ChildProcess {
  return spawn(TSX, [path.join(ROOT, 'src', entry), ...(options.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and resolves with it and the exit code when it ends. */
export function collect(child: ChildProcess): {
  output: () => string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { output: () => stdout + stderr, exited };
}
