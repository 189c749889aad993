export * from './events';
export { PaymentsModule } from './payments.module';
