export { AppConfig, SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET } from './app-config';
export type { DatabaseConfig, DatabaseLimits, OutboxConfig, SandboxConfig, StripeConfig } from './app-config';
export { ConfigModule } from './config.module';
export { ConfigError, parseEnv } from './env';
