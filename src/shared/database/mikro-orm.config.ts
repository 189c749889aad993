/**
 * Configuration for the MikroORM CLI (`npm run migration:create`, `migration:up`, …): the same
 * options as the service, with entities found by glob.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig } from '@mikro-orm/postgresql';
import { AppConfig, parseEnv } from '../../config';
import { migrationsList } from './migrations';
import { ormOptions } from './orm.config';

if (existsSync('.env')) process.loadEnvFile('.env');

const options = ormOptions(new AppConfig(parseEnv(process.env)).database);

export default defineConfig({
  ...options,
  extensions: [Migrator],
  migrations: { ...options.migrations, migrationsList },
  entities: ['dist/**/*.entity.js'],
  entitiesTs: ['src/**/*.entity.ts'],
});
