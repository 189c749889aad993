import express, { type Request, type Response, Router } from 'express';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { SandboxStore } from '../sandbox.store';
import { StripeApiError } from '../stripe/stripe-error';
import { readBankAccountInput, readCardInput } from '../stripe/test-payment-methods';
import type { CheckoutService } from './checkout.service';
import {
  type CheckoutFormValues,
  checkoutPage,
  closedCheckoutPage,
  notFoundPage,
} from './checkout-page.view';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The hosted checkout page at the session's `url`. A POST of its form pays: success redirects (303)
 * to `success_url`; a decline shows the page again with Stripe's message, the session still open.
 */
export function checkoutPageRouter(deps: {
  checkout: CheckoutService;
  scheduler: SandboxScheduler;
  store: SandboxStore;
  /** The shop's name and address, for a way back from an unknown session. */
  shop: { name: string; url: string };
}): Router {
  const { checkout, scheduler, store, shop } = deps;
  const router = Router();

  const send = (res: Response, status: number, body: string) =>
    res.status(status).type('html').set('Cache-Control', 'no-store').send(body);

  router.get('/c/pay/:id', (req: Request, res: Response) => {
    const session = checkout.get(String(req.params.id));
    if (!session) return send(res, 404, notFoundPage(shop));
    if (session.status !== 'open')
      return send(res, 200, closedCheckoutPage(session, checkout.successUrl(session)));
    return send(res, 200, checkoutPage(session));
  });

  router.post(
    '/c/pay/:id',
    express.urlencoded({ extended: false, limit: '20kb' }),
    async (req: Request, res: Response) => {
      const session = checkout.get(String(req.params.id));
      if (!session) return send(res, 404, notFoundPage(shop));
      if (session.status === 'complete') return res.redirect(303, checkout.successUrl(session));
      if (session.status === 'expired')
        return send(res, 410, closedCheckoutPage(session, checkout.successUrl(session)));

      const form = (req.body ?? {}) as Record<string, string | undefined>;
      const values: CheckoutFormValues = {
        email: form.email?.trim(),
        method: form.method,
        cardNumber: form.cardNumber,
        expiry: form.expiry,
        name: form.name?.trim(),
        accountNumber: form.accountNumber,
      };
      const email = session.customerEmail ?? values.email ?? '';
      if (!EMAIL.test(email)) {
        return send(
          res,
          400,
          checkoutPage(session, values, { field: 'email', message: 'Your email address is invalid.' }),
        );
      }
      const customer = { email, name: values.name || null };

      try {
        let outcome;
        if (values.method === 'us_bank_account') {
          const input = readBankAccountInput(values);
          if ('field' in input) return send(res, 400, checkoutPage(session, values, input));
          outcome = checkout.payByBank(session, input.accountNumber, customer);
        } else {
          const input = readCardInput({ ...values, cvc: form.cvc }, new Date(scheduler.now()));
          if ('field' in input) return send(res, 400, checkoutPage(session, values, input));
          outcome = checkout.payByCard(session, input.card, customer);
        }
        // The payment and its events are stored before the customer sees the outcome.
        await store.flush();
        if (outcome.kind === 'completed') return res.redirect(303, outcome.redirectTo);
        const field =
          outcome.failure.param === 'cvc'
            ? 'cvc'
            : outcome.failure.param === 'exp_month'
              ? 'expiry'
              : 'cardNumber';
        return send(res, 402, checkoutPage(session, values, { field, message: outcome.failure.message }));
      } catch (error) {
        if (error instanceof StripeApiError) {
          return send(res, 409, checkoutPage(session, values, { message: error.message }));
        }
        throw error;
      }
    },
  );

  return router;
}
