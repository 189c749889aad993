import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isDatabaseUnavailable } from './database/unavailable';
import { DomainError, DomainErrorKind } from './domain-error';

const STATUS_BY_KIND: Record<DomainErrorKind, HttpStatus> = {
  bad_request: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  bad_gateway: HttpStatus.BAD_GATEWAY,
};

export interface FieldError {
  field: string;
  message: string;
}

/** Every error response has this shape. It never carries a stack trace or an internal message. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  errors?: FieldError[];
  requestId?: string;
}

/** Thrown by the validation pipe: the fields at fault, by path (`items[0].quantity`). */
export class RequestValidationError extends HttpException {
  constructor(readonly errors: FieldError[]) {
    super('Request validation failed', HttpStatus.BAD_REQUEST);
  }
}

/**
 * One place where errors become HTTP answers: domain errors by their kind, Nest's HTTP exceptions
 * as they are, anything else as an opaque 500 (logged with its stack, never sent).
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string | number }>();
    const response = http.getResponse<Response>();
    const body: ErrorBody = { ...this.toBody(exception), requestId: request.id?.toString() };
    if (body.statusCode === 503) {
      this.logger.warn(
        { err: (exception as Error).message, requestId: body.requestId },
        'Database unavailable',
      );
      response.setHeader('Retry-After', '1');
    } else if (body.statusCode >= 500 && !(exception instanceof DomainError)) {
      this.logger.error({ err: exception, requestId: body.requestId }, 'Unhandled error');
    }
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      return {
        statusCode: STATUS_BY_KIND[exception.kind],
        code: exception.code,
        message: exception.message,
        errors: exception.field ? [{ field: exception.field, message: exception.message }] : undefined,
      };
    }
    if (exception instanceof RequestValidationError) {
      return {
        statusCode: HttpStatus.BAD_REQUEST,
        code: 'REQUEST.INVALID',
        message: exception.message,
        errors: exception.errors,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest's built-in exceptions keep the readable text in their response's `message`.
      const { message } = { message: exception.message, ...asRecord(exception.getResponse()) };
      return { statusCode: status, code: httpCode(status), message: String(message) };
    }
    // The database cannot serve right now (down, frozen, out of connections): try again later.
    if (isDatabaseUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'UNAVAILABLE',
        message: 'The service is temporarily unavailable; try again shortly',
      };
    }
    // body-parser and similar middleware raise errors carrying an HTTP status (413, 400, 415).
    const status = statusOf(exception);
    if (status && status >= 400 && status < 500) {
      return { statusCode: status, code: httpCode(status), message: (exception as Error).message };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      code: 'INTERNAL',
      message: 'Internal server error',
    };
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function statusOf(exception: unknown): number | undefined {
  const { status, statusCode } = asRecord(exception);
  const value = status ?? statusCode;
  return typeof value === 'number' ? value : undefined;
}

function httpCode(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return `HTTP.${name ?? status}`;
}
