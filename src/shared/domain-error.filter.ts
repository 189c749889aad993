import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
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

/** The answer to anything unexpected: never its message or its stack. */
export const INTERNAL_ERROR: Readonly<ErrorBody> = {
  statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
  code: 'INTERNAL',
  message: 'Internal server error',
};

/**
 * What the client is told when the framework or a body parser refused the request: fixed wording,
 * never the framework's (class names, parser internals, fragments of the body it could not read).
 */
const FIXED_MESSAGES: Record<number, string> = {
  400: 'The request body could not be read: send JSON (Content-Type: application/json).',
  404: 'No such endpoint.',
  413: 'The request body is too large.',
  415: 'Unsupported body encoding: send UTF-8 JSON (Content-Type: application/json).',
  429: 'Too many requests: wait a minute, then try again.',
};

/** A dependency (the database) cannot serve right now: the request may succeed shortly. */
const UNAVAILABLE: ErrorBody = {
  statusCode: HttpStatus.SERVICE_UNAVAILABLE,
  code: 'UNAVAILABLE',
  message: 'The service is temporarily unavailable; try again shortly',
};

/** Thrown by the validation pipe: the fields at fault, by path (`items[0].quantity`). */
export class RequestValidationError extends HttpException {
  constructor(readonly errors: FieldError[]) {
    super('Request validation failed', HttpStatus.BAD_REQUEST);
  }
}

/**
 * One place where errors become HTTP answers: domain errors by their kind, Nest's HTTP exceptions
 * as they are, refusals by the framework or a body parser (malformed JSON, too large, rate limit,
 * no such route) in fixed words, anything else as an opaque 500 (logged with its stack, never sent).
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  /** `notFoundPage`: answers an unknown path outside `/api` (a person's browser) with an HTML page. */
  constructor(private readonly options: { notFoundPage?: (res: Response) => void } = {}) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string | number }>();
    const response = http.getResponse<Response>();
    // Nest's router answers a path no route serves with exactly this exception.
    const unrouted =
      exception instanceof NotFoundException &&
      exception.message === `Cannot ${request.method} ${request.originalUrl}`;
    if (unrouted && this.options.notFoundPage && !/^\/api(\/|$)/.test(request.path)) {
      return this.options.notFoundPage(response);
    }
    const body: ErrorBody = { ...this.toBody(exception, unrouted), requestId: request.id?.toString() };
    if (body.statusCode === 503) {
      // A failed readiness check's report (what is down, and why) is for the log only.
      const report = exception instanceof HttpException ? exception.getResponse() : undefined;
      this.logger.warn(
        { err: (exception as Error).message, ...(report ? { report } : {}), requestId: body.requestId },
        'Database unavailable',
      );
      response.setHeader('Retry-After', '1');
    } else if (body.statusCode >= 500 && !(exception instanceof DomainError)) {
      this.logger.error({ err: exception, requestId: body.requestId }, 'Unhandled error');
    }
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, unrouted: boolean): ErrorBody {
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
    if (exception instanceof ThrottlerException || unrouted) {
      const status = (exception as HttpException).getStatus();
      return { statusCode: status, code: httpCode(status), message: FIXED_MESSAGES[status] };
    }
    // Terminus's failed readiness check carries its report of what is down (the database's own
    // error): answered as any unavailability is, the report only logged.
    if (exception instanceof HttpException && exception.getStatus() === 503) {
      return { ...UNAVAILABLE };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest's built-in exceptions keep the readable text in their response's `message`.
      const { message } = { message: exception.message, ...asRecord(exception.getResponse()) };
      return { statusCode: status, code: httpCode(status), message: String(message) };
    }
    // The database cannot serve right now (down, frozen, out of connections): try again later.
    if (isDatabaseUnavailable(exception)) return { ...UNAVAILABLE };
    // body-parser and similar middleware raise errors carrying an HTTP status (413, 400, 415).
    const status = statusOf(exception);
    if (status && status >= 400 && status < 500) {
      return {
        statusCode: status,
        code: httpCode(status),
        message: FIXED_MESSAGES[status] ?? 'The request was refused.',
      };
    }
    return { ...INTERNAL_ERROR };
  }
}

/**
 * Express error middleware, placed right after the body parsers: their refusals (malformed JSON, a
 * body too large, an unknown charset or encoding) become HTTP exceptions in fixed words. Without
 * it, Nest would answer malformed JSON with the parser's message, which quotes the body.
 */
export function bodyParserErrors(
  error: unknown,
  _req: unknown,
  _res: unknown,
  next: (error?: unknown) => void,
): void {
  const { type } = asRecord(error);
  const status = statusOf(error);
  if (typeof type === 'string' && status && status >= 400 && status < 500) {
    return next(new HttpException(FIXED_MESSAGES[status] ?? 'The request body could not be read.', status));
  }
  next(error);
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
