/**
 * Configuration for the MikroORM CLI (`npm run migration:create`, `migration:up`, …): the same
 * options as the service, with entities found by glob.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { defineConfig } from '@mikro-orm/postgresql';
import { AppConfig, parseEnv } from '../../config';
import { ormOptions } from './orm.config';

if (existsSync('.env')) process.loadEnvFile('.env');

export default defineConfig({
  ...ormOptions(new AppConfig(parseEnv(process.env)).database),
  entities: ['dist/**/*.entity.js'],
  entitiesTs: ['src/**/*.entity.ts'],
});
