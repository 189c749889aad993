import { Global, Module } from '@nestjs/common';
import { GracefulShutdown } from './graceful-shutdown';

@Global()
@Module({ providers: [GracefulShutdown], exports: [GracefulShutdown] })
export class ShutdownModule {}
