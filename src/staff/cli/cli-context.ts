import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ConfigError, ConfigModule } from '../../config';
import { DomainError } from '../../shared/domain-error';
import { DatabaseModule } from '../../shared/database/database.module';
import { StaffAuthService } from '../staff-auth.service';
import { StaffAuthModule } from '../staff-auth.module';

/** Just what the staff commands need: configuration, the (migrated) database and staff accounts. */
@Module({ imports: [ConfigModule, EventEmitterModule.forRoot(), DatabaseModule, StaffAuthModule] })
class StaffCliModule {}

/**
 * Runs a staff command against the configured database (the same `DATABASE_URL` or embedded
 * database as the service; `.env` is read as `npm start` reads it). Errors print one line and exit 1.
 */
export async function runStaffCommand(command: (auth: StaffAuthService) => Promise<void>): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    const app = await NestFactory.createApplicationContext(StaffCliModule, { logger: ['error'] });
    try {
      await command(app.get(StaffAuthService));
    } finally {
      await app.close();
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DomainError || error instanceof UsageError) {
      console.error(error.message);
    } else {
      console.error(error);
    }
    process.exitCode = 1;
  }
}

export class UsageError extends Error {}

/**
 * Reads a secret: from a terminal without echoing it (asked twice, must match), or the first line of
 * piped input.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) return line;
    throw new UsageError('No password on standard input');
  }
  const first = await askHidden(prompt);
  const second = await askHidden('Again: ');
  if (first !== second) throw new UsageError('The passwords differ');
  return first;
}

function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const output = rl as unknown as { _writeToOutput: (text: string) => void };
    let prompted = false;
    output._writeToOutput = (text: string) => {
      // The prompt is written once; what is typed after it is not echoed.
      if (!prompted) process.stdout.write(text);
      prompted = true;
    };
    rl.question(prompt, (answer) => {
      process.stdout.write('\n');
      rl.close();
      resolve(answer);
    });
  });
}
