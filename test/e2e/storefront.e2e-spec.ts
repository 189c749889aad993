import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/app';

const PUBLIC = join(__dirname, '..', '..', 'src', 'storefront', 'public');
const PAGES = ['/', '/checkout/success?orderId=x&session_id=cs_test_1', '/checkout/cancel?orderId=x'];

/** Local scripts, stylesheets and module imports a text refers to (absolute paths only). */
function references(text: string): string[] {
  const found = [
    ...text.matchAll(/\b(?:src|href)="(\/[^"]*)"/g),
    ...text.matchAll(/\bfrom\s+'(\/[^']+|\.\/[^']+)'/g),
  ].map((match) => match[1]);
  return found.map((ref) => (ref.startsWith('./') ? `/js/${ref.slice(2)}` : ref));
}

describe('Storefront (static pages served at /)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each(PAGES)('serves %s as HTML, with a content security policy', async (path) => {
    const response = await request(t.http()).get(path).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.text).toMatch(/^<!doctype html>/i);
    expect(response.text).toContain('<html lang="en">');
  });

  it('gives browser tests their hooks', async () => {
    const shop = (await request(t.http()).get('/').expect(200)).text;
    for (const hook of ['cart', 'pay', 'email', 'error', 'retry', 'products']) {
      expect([hook, shop.includes(`data-testid="${hook}"`)]).toEqual([hook, true]);
    }
    const success = (await request(t.http()).get('/checkout/success').expect(200)).text;
    const cancel = (await request(t.http()).get('/checkout/cancel').expect(200)).text;
    for (const page of [success, cancel]) {
      expect(page).toContain('data-testid="order-status"');
      expect(page).toContain('aria-live="polite"');
      expect(page).toContain('data-testid="error"');
      expect(page).toContain('data-testid="retry"');
    }
    expect(cancel).toContain('data-testid="cancel-order"');
  });

  it('serves every script, stylesheet and module the pages load, with the right type', async () => {
    const seen = new Set<string>();
    const queue = [...PAGES];
    while (queue.length) {
      const path = queue.shift()!;
      const response = await request(t.http()).get(path);
      expect([path, response.status]).toEqual([path, 200]);
      if (path.endsWith('.js')) expect([path, response.headers['content-type']]).toEqual([path, expect.stringMatching(/^(application|text)\/javascript/)]); // prettier-ignore
      if (path.endsWith('.css')) expect(response.headers['content-type']).toMatch(/^text\/css/);
      const text = path.endsWith('.min.js') ? '' : response.text;
      for (const ref of references(text)) {
        if (!seen.has(ref)) {
          seen.add(ref);
          queue.push(ref);
        }
      }
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        '/styles.css',
        '/js/shop.js',
        '/js/success.js',
        '/js/cancel.js',
        '/js/order-view.js',
        '/socket.io/socket.io.esm.min.js',
      ]),
    );
  });

  it('has only modules that parse', () => {
    const dir = join(PUBLIC, 'js');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.js'))) {
      expect(() =>
        execFileSync(process.execPath, ['--input-type=module', '--check'], {
          input: readFileSync(join(dir, file)),
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ).not.toThrow();
    }
  });

  it.each(['/socket.io/socket.io.min.js', '/socket.io/socket.io.esm.min.js'])(
    'serves the Socket.IO client at %s, from the Socket.IO server itself',
    async (path) => {
      const response = await request(t.http()).get(path).expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/javascript/);
      expect(response.text.length).toBeGreaterThan(10_000);
    },
  );

  describe('leaves /api to the API', () => {
    it('answers the API as before', async () => {
      const response = await request(t.http()).get('/api/products').expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(Array.isArray(response.body)).toBe(true);
    });

    it('keeps the API’s own errors for bad bodies (not turned into 404s)', async () => {
      const malformed = await request(t.http())
        .post('/api/orders')
        .set('Content-Type', 'application/json')
        .send('{"items": [')
        .expect(400);
      expect(malformed.body).toEqual({
        statusCode: 400,
        code: 'HTTP.BAD_REQUEST',
        message: 'The request body could not be read: send JSON (Content-Type: application/json).',
        requestId: malformed.headers['x-request-id'],
      });
      const huge = await request(t.http())
        .post('/api/orders')
        .send({ padding: 'x'.repeat(200 * 1024) })
        .expect(413);
      expect(huge.body).toMatchObject({ statusCode: 413, code: 'HTTP.PAYLOAD_TOO_LARGE' });
    });

    it.each([
      ['GET', '/api'],
      ['GET', '/api/'],
      ['GET', '/api/nope'],
      ['GET', '/api/index.html'],
      ['GET', '/api/styles.css'],
      ['POST', '/api/nope'],
      ['GET', '/api/orders/00000000-0000-4000-8000-000000000000/nope'],
    ])('%s %s is a JSON 404', async (method, path) => {
      const response = await request(t.http())[method === 'GET' ? 'get' : 'post'](path).expect(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body).toEqual({
        statusCode: 404,
        code: 'HTTP.NOT_FOUND',
        message: 'No such endpoint.',
        requestId: response.headers['x-request-id'],
      });
    });
  });

  it.each(['/nope', '/checkout/nope', '/js/nope.js', '/..%2f..%2fpackage.json', '/.env', '/admin-nope'])(
    'answers %s with the HTML 404 page, a way back to the shop and no shop page',
    async (path) => {
      const response = await request(t.http()).get(path).expect(404);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.headers['x-request-id']).toEqual(expect.any(String));
      expect(response.text).toContain('<h1>Page not found</h1>');
      expect(response.text).toContain('<a href="/" class="button-link primary">Back to the shop</a>');
      expect(response.text).not.toContain('data-testid="products"');
      expect(response.text).not.toMatch(/"name"|DATABASE_URL/);
    },
  );

  it('answers an unknown POST outside /api with the same page', async () => {
    const response = await request(t.http()).post('/nope').send({ a: 1 }).expect(404);
    expect(response.text).toContain('<h1>Page not found</h1>');
  });
});
