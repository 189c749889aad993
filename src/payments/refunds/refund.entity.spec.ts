import { Money } from '../../shared/money';
import { Refund, RefundState, REFUND_KEY_LIFETIME_MS } from './refund.entity';

const MINUTE = 60_000;

function unconfirmedRefund(createdAt: Date): Refund {
  const refund = new Refund({
    orderId: '7c4f2a1e-2d1b-4d7a-9a53-0d1f4b0f9a11',
    paymentId: '0b9e3a52-9f6e-4b8e-8f5e-2f3c1d0a7b22',
    sequence: 1,
    amount: Money.of(1000, 'usd'),
    reason: 'Scratched mug',
    requestedBy: null,
    requestKey: null,
  });
  Object.assign(refund, { createdAt, nextCheckAt: new Date(createdAt.getTime() + 2 * MINUTE) });
  return refund;
}

describe('Refund: asking Stripe again about a refund it never confirmed', () => {
  const created = new Date('2026-11-29T10:00:00Z');

  it('backs off, and stops a minute before Stripe forgets the key', () => {
    const refund = unconfirmedRefund(created);
    const delays: number[] = [];
    let now = refund.nextCheckAt!;
    for (;;) {
      const result = refund.scheduleNextCheck(now);
      if (result === 'unconfirmed') break;
      expect(result).toBe('scheduled');
      delays.push((refund.nextCheckAt!.getTime() - now.getTime()) / MINUTE);
      now = refund.nextCheckAt!;
    }
    expect(delays.slice(0, 4)).toEqual([5, 15, 60, 180]);
    expect(now.getTime()).toBe(created.getTime() + REFUND_KEY_LIFETIME_MS - MINUTE);
    expect(refund.nextCheckAt).toBeNull();
    expect(refund.canAskAgain(now)).toBe(true);
    expect(refund.canAskAgain(new Date(created.getTime() + REFUND_KEY_LIFETIME_MS))).toBe(false);
  });

  it('is not asked about again once Stripe has answered', () => {
    const refund = unconfirmedRefund(created);
    refund.learn({ id: 're_1', status: 'pending' } as never, new Date(created.getTime() + MINUTE));
    expect(refund.status).toBe(RefundState.Pending);
    expect(refund.nextCheckAt).toBeNull();
    expect(refund.scheduleNextCheck()).toBe('settled');
    expect(refund.canAskAgain()).toBe(false);
  });

  it('is not asked about again once Stripe has declined it', () => {
    const refund = unconfirmedRefund(created);
    refund.declined('charge_already_refunded');
    expect(refund.nextCheckAt).toBeNull();
    expect(refund.scheduleNextCheck()).toBe('settled');
  });
});
