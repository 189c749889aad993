import { Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { parseEnv } from './env';

/**
 * Validates the environment once, when the application is assembled, and exposes the result as the
 * typed `AppConfig`. A bad value stops the boot with a message naming the variable.
 */
@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: () => new AppConfig(parseEnv(process.env)) }],
  exports: [AppConfig],
})
export class ConfigModule {}
