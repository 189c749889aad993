import request from 'supertest';
import type { TestApp } from './app';

export interface ProductBody {
  id: string;
  sku: string;
  name: string;
  unitAmount: number;
  currency: string;
}

export interface PlacedOrderBody {
  id: string;
  status: string;
  currency: string;
  totalAmount: number;
  accessToken: string;
  items: { productId: string; quantity: number; unitAmount: number; lineAmount: number }[];
}

export async function products(t: TestApp): Promise<ProductBody[]> {
  const response = await request(t.http()).get('/api/products').expect(200);
  return response.body as ProductBody[];
}

export async function productBySku(t: TestApp, sku: string): Promise<ProductBody> {
  const product = (await products(t)).find((p) => p.sku === sku);
  if (!product) throw new Error(`no product ${sku} in the catalog`);
  return product;
}

/** Places an order through the API (default: two espresso bags and a mug, in USD). */
export async function placeOrder(
  t: TestApp,
  items: { sku: string; quantity: number }[] = [
    { sku: 'BEANS-250', quantity: 2 },
    { sku: 'MUG-CERAMIC', quantity: 1 },
  ],
  customerEmail = 'buyer@example.com',
): Promise<PlacedOrderBody> {
  const catalog = await products(t);
  const response = await request(t.http())
    .post('/api/orders')
    .send({
      customerEmail,
      items: items.map(({ sku, quantity }) => ({
        productId: catalog.find((p) => p.sku === sku)!.id,
        quantity,
      })),
    })
    .expect(201);
  return response.body as PlacedOrderBody;
}
