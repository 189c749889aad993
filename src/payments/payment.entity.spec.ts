import { Money } from '../shared/money';
import { MIN_EXPIRY_MS, type ReportEffect, Payment, PaymentStatus } from './payment.entity';

const NOW = new Date('2030-01-01T12:00:00Z');
const session = (id = 'cs_test_1') => ({
  id,
  url: `https://checkout.example/${id}`,
  status: 'open' as const,
  paymentStatus: 'unpaid' as const,
  amount: Money.of(4700, 'usd'),
  orderId: 'order-1',
  attemptId: null,
  paymentIntentId: null,
  expiresAt: new Date(NOW.getTime() + MIN_EXPIRY_MS * 2),
});

function attemptIn(status: PaymentStatus): Payment {
  const payment = new Payment(
    'order-1',
    1,
    Money.of(4700, 'usd'),
    new Date(NOW.getTime() + MIN_EXPIRY_MS * 2),
    NOW,
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

type Report = 'succeeded' | 'processing' | 'settlementFailed' | 'expired' | 'declined';
const apply: Record<Report, (p: Payment) => ReportEffect> = {
  succeeded: (p) => p.succeeded('pi_1', NOW),
  processing: (p) => p.processing('pi_1', NOW),
  settlementFailed: (p) => p.settlementFailed('Your bank payment failed.', NOW),
  expired: (p) => p.expired(NOW),
  declined: (p) => p.declined('card_declined', 'Your card was declined.', 'pi_1', NOW),
};

const { Creating, Open, Processing, Succeeded, Failed, Expired } = PaymentStatus;
/** Every report in every state: its effect and the state after. Money always wins. */
const table: [PaymentStatus, Report, ReportEffect, PaymentStatus][] = [
  [Open, 'succeeded', 'applied', Succeeded],
  [Open, 'processing', 'applied', Processing],
  [Open, 'settlementFailed', 'applied', Failed],
  [Open, 'expired', 'applied', Expired],
  [Open, 'declined', 'applied', Open],
  [Creating, 'expired', 'applied', Expired],
  [Processing, 'succeeded', 'applied', Succeeded],
  [Processing, 'processing', 'outdated', Processing],
  [Processing, 'settlementFailed', 'applied', Failed],
  [Processing, 'expired', 'outdated', Processing],
  [Processing, 'declined', 'outdated', Processing],
  [Succeeded, 'succeeded', 'outdated', Succeeded],
  [Succeeded, 'processing', 'outdated', Succeeded],
  [Succeeded, 'settlementFailed', 'outdated', Succeeded],
  [Succeeded, 'expired', 'outdated', Succeeded],
  [Succeeded, 'declined', 'outdated', Succeeded],
  [Failed, 'processing', 'outdated', Failed],
  [Failed, 'expired', 'outdated', Failed],
  [Failed, 'succeeded', 'applied', Succeeded],
  [Expired, 'declined', 'outdated', Expired],
  [Expired, 'succeeded', 'applied', Succeeded],
];

describe('Payment (one checkout attempt)', () => {
  it.each(table)('%s + %s report → %s, %s', (from, report, effect, to) => {
    const payment = attemptIn(from);
    expect(apply[report](payment)).toBe(effect);
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

  it('links a session reported before its creation call returned', () => {
    const payment = attemptIn(Creating);
    payment.linkSession('cs_test_early', NOW);
    expect(payment).toMatchObject({ status: Open, sessionId: 'cs_test_early' });
  });

  it('is refused once and for all when Stripe answers the creation with an error', () => {
    const payment = attemptIn(Creating);
    payment.refused('Stripe answered 500', NOW);
    expect(payment).toMatchObject({
      status: PaymentStatus.Refused,
      isFinal: true,
      failureMessage: 'Stripe answered 500',
    });
    expect(payment.canServeCheckout(NOW)).toBe(false);
    expect(attemptIn(Open).isFinal).toBe(false);
  });

  it('needs review as a final state: no later report changes it', () => {
    const payment = attemptIn(Open);
    payment.needsReview('Stripe reported $1.00', NOW);
    expect(payment.status).toBe(PaymentStatus.NeedsReview);
    expect(payment.succeeded('pi_1', NOW)).toBe('applied'); // money still wins
    const stopped = attemptIn(Open);
    stopped.needsReview('mismatch', NOW);
    expect(stopped.expired(NOW)).toBe('outdated');
  });

  it('records one close request, with a domain event, for an attempt that can still take money', () => {
    const payment = attemptIn(Open);
    payment.requestClose(NOW);
    payment.requestClose(NOW);
    expect(payment.closeRequestedAt).toEqual(NOW);
    expect(payment.pullDomainEvents()).toHaveLength(1);
    const done = attemptIn(Succeeded);
    done.requestClose(NOW);
    expect(done.closeRequestedAt).toBeNull();
    expect(done.pullDomainEvents()).toHaveLength(0);
  });

  it('backs reconciliation off: 15 min, 1 h, 6 h, then daily, until the expiry plus a day', () => {
    const payment = new Payment(
      'order-1',
      1,
      Money.of(4700, 'usd'),
      new Date(NOW.getTime() + 2 * 86_400_000),
      NOW,
    );
    payment.opened(session(), NOW);
    const gaps: number[] = [];
    let at = NOW;
    while (payment.nextCheckAt) {
      payment.scheduleNextCheck(at);
      if (!payment.nextCheckAt) break;
      gaps.push((payment.nextCheckAt.getTime() - at.getTime()) / 60_000);
      at = payment.nextCheckAt;
    }
    expect(gaps).toEqual([15, 60, 360, 1440, 1440]);
    expect(payment.checks).toBe(6);
  });
});
