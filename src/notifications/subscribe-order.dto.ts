import { plainToInstance } from 'class-transformer';
import { IsString, IsUUID, Length, Matches, validateSync } from 'class-validator';

/** What a client presents to follow an order: in the handshake's `auth`, or with `orders.subscribe`. */
export class SubscribeOrderDto {
  @IsUUID()
  orderId!: string;

  /** The order's `accessToken` (base64url). */
  @IsString()
  @Length(1, 128)
  @Matches(/^[\w-]+$/)
  token!: string;

  /** The request, or null for anything else (not an object, a field missing or of the wrong kind). */
  static parse(value: unknown): SubscribeOrderDto | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const { orderId, token } = value as Record<string, unknown>;
    const dto = plainToInstance(SubscribeOrderDto, { orderId, token });
    return validateSync(dto, { stopAtFirstError: true }).length === 0 ? dto : null;
  }
}
