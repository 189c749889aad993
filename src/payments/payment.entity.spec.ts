import { Money } from '../shared/money';
import { MIN_EXPIRY_MS, type NewsEffect, Payment, PaymentStatus } from './payment.entity';

const NOW = new Date('2030-01-01T12:00:00Z');
const session = (id = 'cs_test_1') => ({
  id,
  url: `https://checkout.example/${id}`,
  status: 'open' as const,
  paymentStatus: 'unpaid' as const,
  amount: Money.of(4700, 'usd'),
  orderId: 'order-1',
  paymentIntentId: null,
  expiresAt: new Date(NOW.getTime() + MIN_EXPIRY_MS * 2),
});

function attemptIn(status: PaymentStatus): Payment {
  const payment = new Payment(
    'order-1',
    1,
    Money.of(4700, 'usd'),
    new Date(NOW.getTime() + MIN_EXPIRY_MS * 2),
  );
  if (status === PaymentStatus.Creating) return payment;
  payment.opened(session(), NOW);
  if (status === PaymentStatus.Processing) payment.processing('pi_1', NOW);
  if (status === PaymentStatus.Succeeded) payment.succeeded('pi_1', NOW);
  if (status === PaymentStatus.Failed) {
    payment.processing('pi_1', NOW);
    payment.settlementFailed('Your bank payment failed.', NOW);
  }
  if (status === PaymentStatus.Expired) payment.expired(NOW);
  return payment;
}

type News = 'succeeded' | 'processing' | 'settlementFailed' | 'expired' | 'declined';
const apply: Record<News, (p: Payment) => NewsEffect> = {
  succeeded: (p) => p.succeeded('pi_1', NOW),
  processing: (p) => p.processing('pi_1', NOW),
  settlementFailed: (p) => p.settlementFailed('Your bank payment failed.', NOW),
  expired: (p) => p.expired(NOW),
  declined: (p) => p.declined('card_declined', 'Your card was declined.', 'pi_1', NOW),
};

const { Creating, Open, Processing, Succeeded, Failed, Expired } = PaymentStatus;
/** Every piece of news in every state: its effect and the state after. Money always wins. */
const table: [PaymentStatus, News, NewsEffect, PaymentStatus][] = [
  [Open, 'succeeded', 'applied', Succeeded],
  [Open, 'processing', 'applied', Processing],
  [Open, 'settlementFailed', 'applied', Failed],
  [Open, 'expired', 'applied', Expired],
  [Open, 'declined', 'applied', Open],
  [Creating, 'expired', 'applied', Expired],
  [Processing, 'succeeded', 'applied', Succeeded],
  [Processing, 'processing', 'stale', Processing],
  [Processing, 'settlementFailed', 'applied', Failed],
  [Processing, 'expired', 'stale', Processing],
  [Processing, 'declined', 'stale', Processing],
  [Succeeded, 'succeeded', 'stale', Succeeded],
  [Succeeded, 'processing', 'stale', Succeeded],
  [Succeeded, 'settlementFailed', 'stale', Succeeded],
  [Succeeded, 'expired', 'stale', Succeeded],
  [Succeeded, 'declined', 'stale', Succeeded],
  [Failed, 'processing', 'stale', Failed],
  [Failed, 'expired', 'stale', Failed],
  [Failed, 'succeeded', 'applied', Succeeded],
  [Expired, 'declined', 'stale', Expired],
  [Expired, 'succeeded', 'applied', Succeeded],
];

describe('Payment (one checkout attempt)', () => {
  it.each(table)('%s + %s news → %s, %s', (from, news, effect, to) => {
    const payment = attemptIn(from);
    expect(apply[news](payment)).toBe(effect);
    expect(payment.status).toBe(to);
  });

  it('keeps the decline for the customer and the session open for another try', () => {
    const payment = attemptIn(Open);
    payment.declined('card_declined', 'Your card was declined.', 'pi_9', NOW);
    expect(payment).toMatchObject({
      status: Open,
      failureMessage: 'Your card was declined.',
      paymentIntentId: 'pi_9',
    });
  });

  it('serves a checkout while open for more than a minute, or while its creation can be retried as sent', () => {
    const open = attemptIn(Open);
    expect(open.canServeCheckout(NOW)).toBe(true);
    expect(open.canServeCheckout(new Date(open.expiresAt.getTime() - 30_000))).toBe(false);

    const creating = attemptIn(Creating);
    expect(creating.canServeCheckout(NOW)).toBe(true);
    // Stripe would refuse the same expires_at once it is less than 30 minutes ahead.
    expect(creating.canServeCheckout(new Date(creating.expiresAt.getTime() - MIN_EXPIRY_MS + 1000))).toBe(
      false,
    );
    for (const status of [Processing, Succeeded, Failed, Expired])
      expect(attemptIn(status).canServeCheckout(NOW)).toBe(false);
  });

  it('refuses a second, different session for the same attempt', () => {
    const payment = attemptIn(Open);
    expect(() => payment.opened(session('cs_test_other'), NOW)).toThrow(/already has session/);
    expect(() => payment.opened(session('cs_test_1'), NOW)).not.toThrow();
  });

  it('adopts a session reported before its creation call returned', () => {
    const payment = attemptIn(Creating);
    payment.adoptSession('cs_test_early', NOW);
    expect(payment).toMatchObject({ status: Open, sessionId: 'cs_test_early' });
  });
});
