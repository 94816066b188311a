import { runCli } from './cli/index';
import { runMain } from './boot/run-main';

/** `social-media-cache` / `npm run cli --`: the operator's command line. */
async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
}

runMain(main);
