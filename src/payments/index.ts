export * from './events';
export { PaymentsModule } from './payments.module';
export {
  type AttemptSnapshot,
  type DisputeSnapshot,
  type LedgerSnapshot,
  PaymentsAdmin,
  type RefundSnapshot,
  type ReplaySnapshot,
} from './payments-admin';
export type { RefundCommand } from './refunds/refunds.service';
