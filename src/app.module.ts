import { Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { CatalogModule } from './catalog';
import { AppConfig, ConfigModule } from './config';
import { FulfilmentModule } from './fulfilment';
import { HealthModule } from './health/health.module';
import { NotificationsModule } from './notifications';
import { OrdersModule } from './orders';
import { PaymentsModule } from './payments';
import { SandboxModule } from './sandbox';
import { DatabaseModule } from './shared/database/database.module';
import { IdempotencyModule } from './shared/idempotency';
import { OutboxModule } from './shared/outbox';
import { ShutdownModule } from './shared/shutdown';
import { FlushLogsOnShutdown, loggerParams } from './shared/logging';
import { StaffModule } from './staff';
import { MetricsModule } from './metrics';
import { StorefrontModule } from './storefront';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerParams }),
    EventEmitterModule.forRoot(),
    ScheduleModule.forRoot(),
    DatabaseModule,
    OutboxModule,
    IdempotencyModule,
    ShutdownModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ ttl: 60_000, limit: config.rateLimitPerMinute }],
        skipIf: () => config.rateLimitPerMinute === 0,
      }),
    }),
    HealthModule,
    CatalogModule,
    OrdersModule,
    PaymentsModule,
    // Starts the offline Stripe on SANDBOX_PORT when no STRIPE_SECRET_KEY is set (see src/sandbox).
    SandboxModule,
    NotificationsModule,
    StorefrontModule,
    // The worked example of a durable subscriber to orders.paid (FULFILMENT_EXAMPLE=true).
    FulfilmentModule,
    StaffModule,
    MetricsModule,
  ],
  providers: [FlushLogsOnShutdown],
})
export class AppModule {}
