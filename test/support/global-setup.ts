import { Client } from 'pg';

/**
 * Runs once before all tests: refuses any database whose name lacks "test" (this wipes it), then
 * empties it, so that the first application booted applies every migration from scratch.
 */
export default async function globalSetup(): Promise<void> {
  process.loadEnvFile(`${__dirname}/../../.env.test`);
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL must be set for the tests');
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
