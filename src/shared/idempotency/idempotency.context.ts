import { AsyncLocalStorage } from 'node:async_hooks';

/** The idempotent request being served, for the commit hook that marks its effect as done. */
export interface IdempotentRequest {
  keyHash: string;
  /** True once a transaction of this request committed (with the mark). */
  effectCommitted: boolean;
}

export const idempotentRequest = new AsyncLocalStorage<IdempotentRequest>();
