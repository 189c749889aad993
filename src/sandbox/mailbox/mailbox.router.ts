import { Router } from 'express';
import type { SandboxStore } from '../sandbox.store';
import { mailboxPage } from './mailbox.view';
import { receiptEmails } from './receipts';

/**
 * The receipts Stripe would have e-mailed: the mailbox page at `/mailbox`, and the same as JSON at
 * `GET /_sandbox/emails` (`{emails: [...]}`, newest first).
 */
export function mailboxRouter(deps: { store: SandboxStore }): Router {
  const router = Router();
  router.get('/mailbox', (_req, res) => {
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(mailboxPage(receiptEmails(deps.store)));
  });
  router.get('/_sandbox/emails', (_req, res) => {
    res.json({ emails: receiptEmails(deps.store) });
  });
  return router;
}
