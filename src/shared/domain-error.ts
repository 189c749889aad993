/**
 * A broken business rule. Each subclass carries a stable `code` (`'ORDERS.NOT_PAYABLE'`) that clients
 * may rely on; `DomainErrorFilter` maps the kind to an HTTP status. Services throw these, never
 * `HttpException`.
 */
export type DomainErrorKind = 'bad_request' | 'not_found' | 'conflict' | 'unprocessable' | 'bad_gateway';

export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly kind: DomainErrorKind;

  constructor(
    message: string,
    /** Where the input was at fault, when it was (`items[1].productId`). */
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
