export { AppConfig } from './app-config';
export { SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET } from './sandbox-credentials';
export type { DatabaseConfig, DatabaseLimits, OutboxConfig, SandboxConfig, StripeConfig } from './app-config';
export { ConfigModule } from './config.module';
export { ConfigError, parseEnv } from './env';
