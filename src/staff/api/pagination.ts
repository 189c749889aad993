import { ApiBadRequestResponse, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { RequestValidationError } from '../../shared/domain-error.filter';

export const DEFAULT_PAGE = 50;

/** A listing whose query (filters, `limit`, `cursor`) is validated: a bad one answers 400. */
export const ApiInvalidQueryResponse = () =>
  ApiBadRequestResponse({ description: 'A query parameter is invalid, or a cursor not one we gave out' });
export const MAX_PAGE = 200;

/** `?limit=&cursor=`: a page of at most `limit` rows after the row the cursor names. */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/**
 * Keyset pagination: the cursor is the sort key and id of the last row sent, opaque to clients
 * (base64url JSON), so that rows inserted meanwhile neither repeat nor go missing.
 */
export function encodeCursor(key: string | number, id: string | number): string {
  return Buffer.from(JSON.stringify([key, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): [string | number, string | number] | null {
  if (cursor === undefined) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((part) => typeof part === 'string' || typeof part === 'number')
    ) {
      return value as [string | number, string | number];
    }
  } catch {
    // fall through
  }
  throw new RequestValidationError([{ field: 'cursor', message: 'cursor is not one this API gave out' }]);
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}
