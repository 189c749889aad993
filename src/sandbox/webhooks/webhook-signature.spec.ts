import Stripe from 'stripe';
import { signatureHeader } from './webhook-signature';

describe('signatureHeader', () => {
  const secret = 'whsec_test_secret_for_signatures';
  const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'checkout.session.completed' }, null, 2);

  it('is Stripe’s format, and stripe-node verifies it', () => {
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader(body, secret, now);
    expect(header).toMatch(new RegExp(`^t=${now},v1=[0-9a-f]{64}$`));
    const event = new Stripe('sk_test_unit').webhooks.constructEvent(body, header, secret);
    expect(event.id).toBe('evt_1');
  });

  it('matches the header stripe-node generates for the same payload and time', () => {
    const stripe = new Stripe('sk_test_unit');
    const timestamp = 1_795_712_834;
    expect(signatureHeader(body, secret, timestamp)).toBe(
      stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
    );
  });

  it('does not verify with another secret or a changed body', () => {
    const stripe = new Stripe('sk_test_unit');
    const header = signatureHeader(body, secret, Math.floor(Date.now() / 1000));
    expect(() => stripe.webhooks.constructEvent(body, header, 'whsec_other')).toThrow();
    expect(() => stripe.webhooks.constructEvent(body.replace('evt_1', 'evt_2'), header, secret)).toThrow();
  });
});
