import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_SECRET_KEY } from '../../src/config';
import { waitFor } from './wait';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/**
 * The CLI's own binary, found as `@stripe/cli`'s shim finds it (`node_modules/.bin/stripe` runs it
 * as a child, so signalling the shim would leave a `stripe listen` running).
 */
function stripeBinary(): string {
  const platforms = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/@stripe/cli/platforms.json'), 'utf8'),
  ) as Record<string, { pkg: string; bin: string }>;
  const platform = platforms[`${process.platform}-${process.arch}`];
  if (!platform) throw new Error(`@stripe/cli has no binary for ${process.platform}-${process.arch}`);
  return join(
    dirname(require.resolve(`${platform.pkg}/package.json`, { paths: [ROOT] })),
    'bin',
    platform.bin,
  );
}

export const STRIPE_CLI = stripeBinary();

/**
 * The official Stripe CLI (`@stripe/cli`, a dev dependency), offline: no telemetry, its config in a
 * temporary home (so no `stripe login` of the machine is used), its update check failing fast.
 */
export class StripeCli {
  private readonly home = mkdtempSync(join(tmpdir(), 'stripe-cli-'));

  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      STRIPE_CLI_TELEMETRY_OPTOUT: '1',
      HOME: this.home,
      XDG_CONFIG_HOME: this.home,
      STRIPE_API_KEY: '',
    };
  }

  /** `stripe <args> --api-key <the sandbox's> --api-base <sandbox>`; resolves to everything it printed. */
  async run(args: string[], apiBase: string, timeoutMs = 60_000): Promise<string> {
    const { stdout, stderr } = await run(
      STRIPE_CLI,
      [...args, '--api-key', SANDBOX_SECRET_KEY, '--api-base', apiBase],
      { cwd: ROOT, timeout: timeoutMs, env: this.env },
    );
    return `${stdout}${stderr}`;
  }

  /** `stripe listen …` as a long-running child; `output()` is what it printed so far. */
  listen(args: string[], apiBase: string): ListenProcess {
    const child = spawn(
      STRIPE_CLI,
      ['listen', ...args, '--api-key', SANDBOX_SECRET_KEY, '--api-base', apiBase],
      {
        cwd: ROOT,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new ListenProcess(child);
  }

  cleanUp(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

export class ListenProcess {
  private text = '';

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
  }

  output(): string {
    return this.text;
  }

  /** Waits until it printed `Ready!` and resolves to the signing secret it printed. */
  async ready(timeoutMs = 30_000): Promise<string> {
    return waitFor(
      () => {
        if (this.child.exitCode !== null) throw new Error(`stripe listen exited:\n${this.text}`);
        return /Ready!.*?(whsec_\w+)/s.exec(this.text)?.[1];
      },
      `stripe listen to be ready\n${this.text}`,
      timeoutMs,
    );
  }

  /** Waits until its output matches. */
  waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return waitFor(
      () => pattern.exec(this.text) ?? undefined,
      `stripe listen to print ${pattern}\n${this.text}`,
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }
}
