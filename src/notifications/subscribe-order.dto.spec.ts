import { SubscribeOrderDto } from './subscribe-order.dto';

describe('SubscribeOrderDto.parse', () => {
  const orderId = '3f1c2b7e-8a4d-4c1e-9b2a-5d6e7f8a9b0c';
  const token = 'Abc_-123'.repeat(5);

  it('takes an order id and a token, and nothing else', () => {
    expect(SubscribeOrderDto.parse({ orderId, token, extra: 'ignored' })).toEqual({ orderId, token });
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'orders'],
    ['a number', 42],
    ['an array', [orderId, token]],
    ['no token', { orderId }],
    ['an empty token', { orderId, token: '' }],
    ['a token too long', { orderId, token: 'a'.repeat(129) }],
    ['a token with other characters', { orderId, token: 'abc def' }],
    ['a token that is not a string', { orderId, token: { $ne: null } }],
    ['an order id that is not a UUID', { orderId: 'order-1', token }],
    ['an order id that is not a string', { orderId: 7, token }],
  ])('refuses %s', (_name, value) => {
    expect(SubscribeOrderDto.parse(value)).toBeNull();
  });
});
