import { isAllowedOrigin } from './notifications-io.adapter';

describe('isAllowedOrigin', () => {
  const config = {
    corsOrigins: ['https://shop.example', 'http://localhost:5173'],
    publicUrl: 'https://pay.example',
  };
  const from = (origin: string | undefined, host = 'pay.internal:3000') => ({ headers: { origin, host } });

  it.each([
    ['no Origin (same-origin long-polling GET, or not a browser)', undefined],
    ['a listed origin', 'https://shop.example'],
    ['another listed origin', 'http://localhost:5173'],
    ['PUBLIC_URL', 'https://pay.example'],
    ['the host the request was sent to (the storefront itself)', 'http://pay.internal:3000'],
    ['that host behind TLS', 'https://pay.internal:3000'],
    ['that host in capitals', 'http://PAY.internal:3000'],
  ])('admits %s', (_name, origin) => {
    expect(isAllowedOrigin(from(origin), config)).toBe(true);
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['a listed origin on another port', 'https://shop.example:8443'],
    ['a look-alike of the host', 'http://pay.internal:3000.evil.example'],
    ['the same host name on another port', 'http://pay.internal:4000'],
    ['a sandboxed frame or a file', 'null'],
    ['garbage', 'not a url'],
  ])('refuses %s', (_name, origin) => {
    expect(isAllowedOrigin(from(origin), config)).toBe(false);
  });

  it('refuses a foreign origin when the request names no host', () => {
    expect(isAllowedOrigin({ headers: { origin: 'http://pay.internal:3000' } }, config)).toBe(false);
  });
});
