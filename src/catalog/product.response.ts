import { ApiProperty } from '@nestjs/swagger';
import type { Product } from './product.entity';

export class ProductResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'BEANS-250' }) sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ description: 'Price in minor units (cents; whole yen for JPY)', example: 1450 })
  unitAmount!: number;
  @ApiProperty({ description: 'ISO 4217, lowercase as Stripe writes it', example: 'usd' })
  currency!: string;

  static from(product: Product): ProductResponse {
    return {
      id: product.id,
      sku: product.sku,
      name: product.name,
      description: product.description,
      unitAmount: product.price.amount,
      currency: product.price.currency,
    };
  }
}
