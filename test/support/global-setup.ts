import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { findChromium, NO_CHROMIUM } from './chromium';
import { postgresBinDir } from './private-postgres';

const E2E = join(__dirname, '..', 'e2e');
const CHAOS = join(__dirname, '..', 'chaos');
const COMPOSE = 'docker compose -f docker-compose.test.yml up -d';

/**
 * Runs once before all tests. First, what the selected tests need is checked (PostgreSQL; Redis and
 * the redis-server binary for the live-status cluster tests; Chromium for the browser tests): a
 * machine without one stops here, with one line saying what is missing and how to get it, instead
 * of a page of failing tests. Then it refuses any database whose name lacks "test" (this wipes it),
 * and empties it, so that the first application booted applies every migration from scratch.
 */
export default async function globalSetup(globalConfig: {
  selectProjects?: string[];
  testPathPatterns?: unknown;
}): Promise<void> {
  process.loadEnvFile(`${__dirname}/../../.env.test`);
  const files = selectedE2eFiles(globalConfig);
  const chaos = chaosSelected(globalConfig);
  if (files.length === 0 && !chaos) return; // unit tests only: no database, no browser
  const privateClusters = chaos || files.some((file) => file.includes('database-faults'));
  const missing = [
    files.length ? await checkPostgres() : undefined,
    files.some((file) => file.includes('notifications-cluster')) ? await checkRedis() : undefined,
    chaos ? checkRedisServer() : undefined,
    privateClusters ? checkPostgresServerBinaries() : undefined,
    files.some((file) => file.includes('browser')) && !findChromium() ? NO_CHROMIUM : undefined,
  ].filter((line): line is string => line !== undefined);
  if (missing.length) {
    console.error(`\n${[...new Set(missing)].join('\n')}`);
    process.exit(1);
  }
  if (files.length === 0) return; // the chaos run alone: it brings its own PostgreSQL and Redis

  const url = process.env.DATABASE_URL!;
  const database = new URL(url).pathname.slice(1);
  if (!database.includes('test')) {
    throw new Error(`Refusing to run tests against database "${database}": its name must contain "test"`);
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      'drop schema if exists public cascade; drop schema if exists sandbox cascade; create schema public;',
    );
  } finally {
    await client.end();
  }
}

/** The projects named after --selectProjects (none: all of them). */
function selectedProjects(): string[] {
  // Jest does not hand --selectProjects to a global setup: read it from the command line.
  const flag = process.argv.indexOf('--selectProjects');
  return flag < 0
    ? []
    : process.argv
        .slice(flag + 1)
        .filter((_, i, rest) => !rest.slice(0, i + 1).some((a) => a.startsWith('-')));
}

/** Test files of `dir` that this run will run (all of them, unless paths narrow it). */
function selectedFiles(dir: string, config: { testPathPatterns?: unknown }): string[] {
  const given = config.testPathPatterns as { patterns?: string[] } | string[] | undefined;
  const patterns = (Array.isArray(given) ? given : (given?.patterns ?? [])).map((p) => new RegExp(p, 'i'));
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.e2e-spec.ts'))
    .map((name) => join(dir, name));
  return patterns.length ? files.filter((file) => patterns.some((pattern) => pattern.test(file))) : files;
}

/** The end-to-end test files this run will run (all of them, unless projects or paths narrow it). */
function selectedE2eFiles(config: { testPathPatterns?: unknown }): string[] {
  const projects = selectedProjects();
  if (projects.length && !projects.includes('e2e')) return [];
  return selectedFiles(E2E, config);
}

/** Whether this run includes the chaos run (`npm test`, `npm run chaos`). */
function chaosSelected(config: { testPathPatterns?: unknown }): boolean {
  const projects = selectedProjects();
  if (projects.length && !projects.includes('chaos')) return false;
  return selectedFiles(CHAOS, config).length > 0;
}

async function checkPostgres(): Promise<string | undefined> {
  const url = process.env.DATABASE_URL;
  if (!url) return `DATABASE_URL is not set (see .env.test): the tests need PostgreSQL`;
  const where = new URL(url);
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    const reason = (error as { code?: string; message: string }).code ?? (error as Error).message;
    return (
      `PostgreSQL is not reachable at ${where.host}/${where.pathname.slice(1)} (DATABASE_URL; ${reason}): ` +
      `${COMPOSE} starts one, or point DATABASE_URL at yours`
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function checkRedisServer(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server not found (the live-status and chaos tests start their own): apt-get install redis-server';
  }
}

/** The fault tests and the chaos run start PostgreSQL clusters of their own (initdb, pg_ctl). */
function checkPostgresServerBinaries(): string | undefined {
  try {
    postgresBinDir();
    return undefined;
  } catch {
    return 'PostgreSQL server binaries not found under /usr/lib/postgresql/<major>/bin (the fault and chaos tests run initdb): apt-get install postgresql';
  }
}

async function checkRedis(): Promise<string | undefined> {
  const binary = checkRedisServer();
  if (binary) return binary;
  const socket = new Socket();
  const reachable = await new Promise<boolean>((resolve) => {
    socket.setTimeout(3000);
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(false));
    socket.connect(6379, '127.0.0.1');
  }).finally(() => socket.destroy());
  return reachable
    ? undefined
    : `Redis is not reachable at 127.0.0.1:6379 (the live-status cluster tests use it): ${COMPOSE} starts one, or redis-server --daemonize yes`;
}
