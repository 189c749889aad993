import express, { Router } from 'express';
import type { DisputesService } from '../charges/disputes.service';
import type { SandboxStore } from '../sandbox.store';
import { StripeApiError } from '../stripe/stripe-error';
import { disputeJson } from '../stripe/refund-dispute-objects';

/**
 * Test controls for what Stripe (or the card network) decides on its own: `POST
 * /_sandbox/disputes/:id/close {"outcome": "won" | "lost"}` closes a dispute as if the network had
 * ruled on the merchant's evidence, and answers the dispute.
 */
export function sandboxPaymentControls(deps: { disputes: DisputesService; store: SandboxStore }): Router {
  const { disputes, store } = deps;
  const router = Router();
  router.post('/_sandbox/disputes/:id/close', express.json({ limit: '10kb' }), async (req, res) => {
    const dispute = disputes.get(String(req.params.id));
    if (!dispute) {
      res.status(404).json({
        error: { type: 'invalid_request_error', message: `No such dispute: '${String(req.params.id)}'` },
      });
      return;
    }
    const outcome = (req.body as { outcome?: unknown } | undefined)?.outcome;
    if (outcome !== 'won' && outcome !== 'lost') {
      res.status(400).json({
        error: {
          type: 'invalid_request_error',
          message: 'outcome must be "won" or "lost"',
          param: 'outcome',
        },
      });
      return;
    }
    try {
      const closed = disputes.close(dispute, outcome);
      // Stored (and its events handed to the dispatcher) before the answer, as every API answer.
      await store.flush();
      res.json(disputeJson(closed));
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      res.status(error.statusCode).json(error.toJSON());
    }
  });
  return router;
}
