export { GracefulShutdown } from './graceful-shutdown';
export { ShutdownModule } from './shutdown.module';
