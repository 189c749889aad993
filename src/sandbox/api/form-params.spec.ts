import { StripeApiError } from '../stripe/stripe-error';
import { fingerprint, ParamReader, parseStripeForm } from './form-params';

describe('parseStripeForm', () => {
  it('nests bracketed keys and turns indexed hashes into lists, as stripe-node encodes them', () => {
    const body =
      'mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=1450' +
      '&line_items[0][price_data][product_data][name]=Beans%20%26%20more&line_items[0][quantity]=2' +
      '&line_items[1][price]=price_1&line_items[1][quantity]=1&metadata[orderId]=o-1&expand[0]=line_items';
    expect(parseStripeForm(body)).toEqual({
      mode: 'payment',
      line_items: [
        {
          price_data: { currency: 'usd', unit_amount: '1450', product_data: { name: 'Beans & more' } },
          quantity: '2',
        },
        { price: 'price_1', quantity: '1' },
      ],
      metadata: { orderId: 'o-1' },
      expand: ['line_items'],
    });
  });

  it('reads empty brackets as a list, and an empty value as not given', () => {
    expect(parseStripeForm('expand[]=a&expand[]=b&customer_email=')).toEqual({ expand: ['a', 'b'] });
  });

  it('refuses a key given both as a value and as a hash', () => {
    expect(() => parseStripeForm('metadata=x&metadata[a]=b')).toThrow(StripeApiError);
  });

  it('fingerprints parameters regardless of their order', () => {
    expect(fingerprint(parseStripeForm('a=1&b[x]=2&b[y]=3'))).toBe(
      fingerprint(parseStripeForm('b[y]=3&a=1&b[x]=2')),
    );
    expect(fingerprint(parseStripeForm('a=1'))).not.toBe(fingerprint(parseStripeForm('a=2')));
  });
});

describe('ParamReader', () => {
  const read = (body: string) => ParamReader.root(parseStripeForm(body));
  const errorOf = (action: () => unknown) => {
    try {
      action();
    } catch (error) {
      return (error as StripeApiError).body;
    }
    throw new Error('no error');
  };

  it('names nested parameters as Stripe does in its errors', () => {
    const items = read('line_items[0][price_data][unit_amount]=-5').list('line_items')!;
    const priceData = items[0].hash('price_data')!;
    expect(errorOf(() => priceData.integer('unit_amount', { min: 0 }))).toMatchObject({
      param: 'line_items[0][price_data][unit_amount]',
      message: 'This value must be greater than or equal to 0.',
    });
  });

  it('reports missing, unknown and malformed parameters with their codes', () => {
    expect(errorOf(() => read('').string('success_url', { required: true }))).toMatchObject({
      code: 'parameter_missing',
      message: 'Missing required param: success_url.',
    });
    expect(errorOf(() => read('colour=blue').allowOnly(['mode']))).toMatchObject({
      code: 'parameter_unknown',
      param: 'colour',
    });
    expect(errorOf(() => read('expires_at=soon').integer('expires_at'))).toMatchObject({
      code: 'parameter_invalid_integer',
      message: 'Invalid integer: soon',
    });
  });

  it('limits metadata as Stripe does', () => {
    expect(read('metadata[orderId]=o-1').metadata('metadata')).toEqual({ orderId: 'o-1' });
    expect(errorOf(() => read(`metadata[${'k'.repeat(41)}]=v`).metadata('metadata'))).toMatchObject({
      message: 'Metadata keys can have a maximum length of 40 characters.',
    });
  });
});
