import { DomainError } from '../shared/domain-error';

/** Also what a wrong or missing access token gets: an order's existence is not revealed. */
export class OrderNotFoundError extends DomainError {
  readonly code = 'ORDERS.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('Order not found');
  }
}

export class OrderNotPayableError extends DomainError {
  readonly code = 'ORDERS.NOT_PAYABLE';
  readonly kind = 'conflict';
  constructor(status: string) {
    super(`The order is ${status} and cannot be paid`);
  }
}

export class OrderNotCancelableError extends DomainError {
  readonly code = 'ORDERS.NOT_CANCELABLE';
  readonly kind = 'conflict';
  constructor(status: string, detail = '') {
    super(`The order is ${status} and cannot be canceled${detail ? `: ${detail}` : ''}`);
  }
}

export class UnknownProductError extends DomainError {
  readonly code = 'ORDERS.UNKNOWN_PRODUCT';
  readonly kind = 'unprocessable';
  constructor(productId: string, field: string) {
    super(`No product ${productId} is for sale`, field);
  }
}

export class MixedCurrenciesError extends DomainError {
  readonly code = 'ORDERS.MIXED_CURRENCIES';
  readonly kind = 'unprocessable';
  constructor(expected: string, found: string, field: string) {
    super(`All items of an order must be in one currency: ${found} does not match ${expected}`, field);
  }
}

export class OrderTooLargeError extends DomainError {
  readonly code = 'ORDERS.TOTAL_TOO_LARGE';
  readonly kind = 'unprocessable';
  constructor() {
    super('The order total exceeds the largest amount that can be charged', 'items');
  }
}
