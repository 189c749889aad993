import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AppConfig } from '../config';
import { type OrderSnapshot, OrdersReader } from '../orders';
import { emitWithinTransaction } from '../shared/domain-event';
import { CheckoutStartedEvent } from './events/checkout-started.event';
import { MIN_EXPIRY_MS, Payment, PaymentStatus } from './payment.entity';
import { CheckoutNotAllowedError, CheckoutNotOpenError, UnknownCheckoutSessionError } from './payment.errors';
import { PaymentEventsService } from './payment-events.service';
import { type CheckoutRequest, PaymentGateway } from './payment-gateway.port';

/** Extra minutes on top of the configured lifetime, so that a failed creation can be retried as sent. */
const CREATION_GRACE_MS = 5 * 60_000;
/** Stripe's longest session lifetime. */
const MAX_EXPIRY_MS = 24 * 60 * 60_000;

export interface CheckoutView {
  sessionId: string;
  url: string;
  expiresAt: Date;
}

@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly orders: OrdersReader,
    private readonly paymentEvents: PaymentEventsService,
    private readonly events: EventEmitter2,
    private readonly config: AppConfig,
  ) {}

  /**
   * Opens a Checkout Session for the order, or returns the one still open. The attempt is recorded
   * under the order's row lock; Stripe is called outside any transaction with the attempt's
   * deterministic idempotency key, so a retry after a timeout or a concurrent click reaches the same
   * session, never a second one.
   */
  async startCheckout(orderId: string, token: string | undefined): Promise<CheckoutView> {
    const order = await this.orders.getForCustomer(orderId, token);
    const attempt = await this.em.transactional(async (em) => {
      const now = new Date();
      const locked = await this.orders.lock(orderId);
      if (!locked?.payable) throw new CheckoutNotAllowedError(locked?.status ?? 'gone');
      const latest = await em.findOne(Payment, { orderId }, { orderBy: { attempt: 'desc' } });
      let payment = latest;
      if (!payment?.canServeCheckout(now)) {
        latest?.abandon(now);
        payment = new Payment(orderId, (latest?.attempt ?? 0) + 1, locked.total, this.expiryFrom(now));
        em.persist(payment);
      }
      await emitWithinTransaction(
        this.events,
        new CheckoutStartedEvent(
          orderId,
          payment.id,
          { kind: 'api', ref: payment.sessionId ?? undefined },
          now,
        ),
      );
      return payment;
    });
    if (attempt.status === PaymentStatus.Open && attempt.sessionId && attempt.url) {
      return { sessionId: attempt.sessionId, url: attempt.url, expiresAt: attempt.expiresAt };
    }

    const session = await this.gateway.createCheckout(
      this.checkoutRequest(order, attempt.expiresAt),
      `checkout:${orderId}:${attempt.attempt}`,
    );
    await this.em.transactional(async (em) => {
      const payment = await em.findOneOrFail(Payment, attempt.id, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      payment.opened(session);
    });
    this.logger.log({ orderId, sessionId: session.id, attempt: attempt.attempt }, 'Checkout session opened');
    return { sessionId: session.id, url: session.url ?? '', expiresAt: attempt.expiresAt };
  }

  /**
   * The success page's check: asks Stripe how the session stands and applies it like its webhook,
   * so a customer who is back before the webhook sees the truth.
   */
  async confirmCheckout(
    orderId: string,
    token: string | undefined,
    sessionId: string,
  ): Promise<OrderSnapshot> {
    await this.orders.getForCustomer(orderId, token);
    const payment = await this.em.findOne(Payment, { orderId, sessionId });
    if (!payment) throw new UnknownCheckoutSessionError();
    const session = await this.gateway.retrieveCheckout(sessionId);
    await this.paymentEvents.applySession(session, { kind: 'redirect', ref: sessionId });
    return this.orders.getForCustomer(orderId, token);
  }

  /**
   * A canceled order's open session is expired at Stripe, so that it can no longer be paid. Stripe
   * reports the expiry like any other (webhook, or reconciliation); if the customer paid in between,
   * that payment arrives instead and the canceled order is flagged for review.
   */
  async expireOpenCheckouts(orderId: string): Promise<void> {
    const open = (await this.em.fork().find(Payment, { orderId, sessionId: { $ne: null } })).filter(
      (payment) => payment.status === PaymentStatus.Open,
    );
    for (const payment of open) {
      try {
        const session = await this.gateway.expireCheckout(payment.sessionId!);
        this.logger.log({ orderId, sessionId: session.id }, 'Checkout session expired after cancellation');
      } catch (error) {
        const message =
          error instanceof CheckoutNotOpenError ? 'it is no longer open' : (error as Error).message;
        this.logger.warn(
          { orderId, sessionId: payment.sessionId },
          `Could not expire the session: ${message}`,
        );
      }
    }
  }

  private expiryFrom(now: Date): Date {
    const lifetime = Math.max(this.config.checkoutExpiresMinutes * 60_000, MIN_EXPIRY_MS) + CREATION_GRACE_MS;
    // Whole seconds, as Stripe keeps it: what we store is exactly what Stripe enforces.
    return new Date(Math.floor((now.getTime() + Math.min(lifetime, MAX_EXPIRY_MS)) / 1000) * 1000);
  }

  private checkoutRequest(order: OrderSnapshot, expiresAt: Date): CheckoutRequest {
    const base = this.config.publicUrl;
    const orderParam = encodeURIComponent(order.id);
    return {
      orderId: order.id,
      customerEmail: order.customerEmail,
      lineItems: order.items.map((item) => ({
        name: item.name,
        unitPrice: item.unitPrice,
        quantity: item.quantity,
      })),
      // Stripe fills in {CHECKOUT_SESSION_ID} itself; it must stay literal.
      successUrl: `${base}/checkout/success?orderId=${orderParam}&session_id={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${base}/checkout/cancel?orderId=${orderParam}`,
      expiresAt,
    };
  }
}
