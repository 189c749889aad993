import type { PlacedOrderBody } from './factories';
import type { CheckoutBody } from './payments';

/*
 * The service's REST API over plain HTTP, for services running as child processes (supertest needs
 * an in-process server).
 */

async function call<T>(
  method: string,
  url: string,
  body?: object,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: response.headers,
  };
}

export { call as callService };

export async function catalog(baseUrl: string): Promise<{ id: string; sku: string; currency: string }[]> {
  const response = await call<{ id: string; sku: string; currency: string }[]>(
    'GET',
    `${baseUrl}/api/products`,
  );
  if (response.status !== 200) throw new Error(`GET /api/products answered ${response.status}`);
  return response.body;
}

/** Places an order of one BEANS-250 (USD) through the API. */
export async function placeOrderAt(
  baseUrl: string,
  productId: string,
  headers: Record<string, string> = {},
): Promise<PlacedOrderBody> {
  const response = await call<PlacedOrderBody>(
    'POST',
    `${baseUrl}/api/orders`,
    { customerEmail: 'buyer@example.com', items: [{ productId, quantity: 1 }] },
    headers,
  );
  if (response.status !== 201) {
    throw new Error(`POST /api/orders answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

export async function startCheckoutAt(baseUrl: string, order: PlacedOrderBody): Promise<CheckoutBody> {
  const response = await call<CheckoutBody>('POST', `${baseUrl}/api/orders/${order.id}/checkout`, undefined, {
    Authorization: `Bearer ${order.accessToken}`,
  });
  if (response.status !== 201) {
    throw new Error(`POST /checkout answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

export async function cancelAt(baseUrl: string, order: PlacedOrderBody): Promise<number> {
  const response = await call('POST', `${baseUrl}/api/orders/${order.id}/cancel`, undefined, {
    Authorization: `Bearer ${order.accessToken}`,
  });
  return response.status;
}
