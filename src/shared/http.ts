import {
  type ArgumentMetadata,
  createParamDecorator,
  type ExecutionContext,
  ParseUUIDPipe,
  ValidationPipe,
} from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import type { Request } from 'express';
import { type FieldError, RequestValidationError } from './domain-error.filter';

/** The bearer token of the request (`Authorization: Bearer <token>`), or undefined. */
export const BearerToken = createParamDecorator(function bearerToken(
  _: unknown,
  ctx: ExecutionContext,
): string | undefined {
  return bearerTokenOf(ctx.switchToHttp().getRequest<Request>().headers.authorization);
});

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** `:id` route parameters: a malformed id is a 400 naming the field, before anything is looked up. */
export const ParseId = new ParseUUIDPipe({
  exceptionFactory: () => new RequestValidationError([{ field: 'id', message: 'id must be a UUID' }]),
});

/**
 * Request bodies: unknown fields refused, values converted to their declared types, and every field
 * at fault reported by its path (`items[0].quantity`).
 */
export function createValidationPipe(): ValidationPipe {
  return new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(flatten(errors)),
  });
}

/** In `u` mode a surrogate pair reads as one code point: only a lone surrogate falls in this range. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Deepest nesting a body may have (ours have three levels); deeper is refused before validation. */
export const MAX_BODY_DEPTH = 8;

class BodyValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new RequestValidationError([{ field: 'body', message: 'the body must be a JSON object' }]);
      }
      const fault = inspectBody(value);
      if (fault) throw new RequestValidationError([fault]);
    }
    return super.transform(value, metadata);
  }
}

/**
 * What validators and the database cannot be trusted with: nesting beyond `MAX_BODY_DEPTH` (costly
 * to validate) and strings that are not well-formed Unicode (a lone UTF-16 surrogate cannot be
 * stored). Walks without recursion and stops at the first fault.
 */
export function inspectBody(body: object): FieldError | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 1 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) return { field: path || 'body', message: 'must be valid Unicode text' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_BODY_DEPTH) {
      return { field: path || 'body', message: `nested deeper than ${MAX_BODY_DEPTH} levels` };
    }
    for (const [key, inner] of Object.entries(value)) {
      const field = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      stack.push({ value: inner, path: field, depth: depth + 1 });
    }
  }
  return null;
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = !parent
      ? error.property || 'body'
      : /^\d+$/.test(error.property)
        ? `${parent}[${error.property}]`
        : `${parent}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
