import { inspectBody, MAX_BODY_DEPTH } from './http';

describe('inspectBody', () => {
  it('accepts an ordinary order, emoji included', () => {
    expect(
      inspectBody({ customerEmail: 'añna😀@example.com', items: [{ productId: 'x', quantity: 1 }] }),
    ).toBeNull();
  });

  it('refuses a lone UTF-16 surrogate, naming the field', () => {
    expect(inspectBody({ customerEmail: 'a\uD800@example.com' })).toEqual({
      field: 'customerEmail',
      message: 'must be valid Unicode text',
    });
    expect(inspectBody({ items: [{ productId: '\uDC00' }] })?.field).toBe('items[0].productId');
  });

  it(`refuses nesting deeper than ${MAX_BODY_DEPTH} levels without recursing`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(inspectBody({ items: deep })).toEqual({
      field: expect.stringMatching(/^items(\[0\])+$/),
      message: `nested deeper than ${MAX_BODY_DEPTH} levels`,
    });
    let fine: unknown = 1;
    for (let i = 0; i < MAX_BODY_DEPTH - 1; i++) fine = [fine];
    expect(inspectBody({ items: fine })).toBeNull();
  });
});
