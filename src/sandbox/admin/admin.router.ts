import express, { type Request, type Response, Router } from 'express';
import type { SandboxScheduler } from '../sandbox.scheduler';
import type { EventRecord, SandboxStore } from '../sandbox.store';
import type { WebhookDispatcher } from '../webhooks/webhook.dispatcher';
import { FaultInputError, type FaultSwitches } from '../api/faults';
import { dashboardPage } from './dashboard.view';

function eventSummary(event: EventRecord) {
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    objectId: event.objectId,
    deliveries: event.deliveries,
  };
}

function badRequest(res: Response, param: string, message: string): void {
  res.status(400).json({ error: { type: 'invalid_request_error', message, param } });
}

/**
 * The sandbox's own pages and test controls (not Stripe's): the dashboard at `/`, the event log as
 * JSON, the clock and the chaos switches under `/_sandbox/…`. Forms post back to the dashboard.
 */
export function adminRouter(deps: {
  store: SandboxStore;
  scheduler: SandboxScheduler;
  dispatcher: WebhookDispatcher;
  faults: FaultSwitches;
  baseUrl: () => string;
  /** Forgets everything, stored state included. */
  reset: () => Promise<void>;
}): Router {
  const { store, scheduler, dispatcher, faults } = deps;
  const router = Router();
  const fromForm = (req: Request) =>
    req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';
  router.use(
    '/_sandbox',
    express.json({ limit: '10kb' }),
    express.urlencoded({ extended: false, limit: '10kb' }),
  );

  router.get('/', (_req, res) => {
    res.type('html').send(
      dashboardPage({
        baseUrl: deps.baseUrl(),
        webhookUrl: dispatcher.url,
        sessions: [...store.sessions.values()].reverse(),
        events: [...store.events.values()].reverse(),
        chaos: dispatcher.chaos,
        advancedSeconds: scheduler.advancedSeconds,
        pendingTimers: scheduler.pending,
      }),
    );
  });

  router.get('/_sandbox/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/_sandbox/events', (_req, res) => {
    res.json({ webhookUrl: dispatcher.url, events: [...store.events.values()].map(eventSummary) });
  });

  router.get('/_sandbox/events/:id', (req, res) => {
    const event = store.events.get(String(req.params.id));
    if (!event) {
      res
        .status(404)
        .json({ error: { type: 'invalid_request_error', message: `No such event: '${req.params.id}'` } });
      return;
    }
    res.json({ ...eventSummary(event), event: event.json });
  });

  router.get('/_sandbox/clock', (_req, res) => {
    res.json({
      now: scheduler.unixNow(),
      advancedSeconds: scheduler.advancedSeconds,
      pendingTimers: scheduler.pending,
    });
  });

  /** `{seconds}`: fast-forwards the timers; what fell due (expiries, settlements, retries) has run when it answers. */
  router.post('/_sandbox/clock/advance', async (req, res) => {
    const seconds = Number((req.body as { seconds?: unknown } | undefined)?.seconds);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 30 * 86_400) {
      return badRequest(res, 'seconds', 'seconds must be a number from 0 to 2592000');
    }
    const ran = await scheduler.advance(seconds);
    if (fromForm(req)) return res.redirect(303, '/');
    return res.json({ advancedSeconds: scheduler.advancedSeconds, ran, pendingTimers: scheduler.pending });
  });

  router.get('/_sandbox/chaos', (_req, res) => {
    res.json(dispatcher.chaos);
  });

  /** `{duplicates?, outOfOrder?, delaySeconds?}`: changes the given switches, answers all of them. */
  router.post('/_sandbox/chaos', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const flag = (name: 'duplicates' | 'outOfOrder') => {
      const value = body[name];
      if (value === undefined) return dispatcher.chaos[name];
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      throw new Error(name);
    };
    try {
      const duplicates = flag('duplicates');
      const outOfOrder = flag('outOfOrder');
      const delaySeconds =
        body.delaySeconds === undefined ? dispatcher.chaos.delaySeconds : Number(body.delaySeconds);
      if (!Number.isFinite(delaySeconds) || delaySeconds < 0 || delaySeconds > 86_400)
        throw new Error('delaySeconds');
      Object.assign(dispatcher.chaos, { duplicates, outOfOrder, delaySeconds });
    } catch (error) {
      return badRequest(res, (error as Error).message, `${(error as Error).message} has an invalid value`);
    }
    if (fromForm(req)) return res.redirect(303, '/');
    return res.json(dispatcher.chaos);
  });

  /** Starts the sandbox empty: objects, events, deliveries, timers, idempotency keys, clock, faults. */
  router.post('/_sandbox/reset', async (req, res) => {
    await deps.reset();
    if (fromForm(req)) return res.redirect(303, '/');
    return res.json({ reset: true });
  });

  /** The faults switched on, with how many calls each still applies to. */
  router.get('/_sandbox/faults', (_req, res) => {
    res.json({ faults: faults.list(), operations: faults.knownOperations() });
  });

  /** `{operation, fault: "status"|"timeout"|"drop_response", status?, count?}`: see api/faults.ts. */
  router.post('/_sandbox/faults', (req, res) => {
    if (!req.is('application/json')) {
      return badRequest(res, 'body', 'Send the fault as JSON (Content-Type: application/json)');
    }
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return badRequest(res, 'body', 'The body must be a JSON object');
    }
    try {
      const fault = faults.add(body as Record<string, unknown>);
      return res.json({ fault, faults: faults.list() });
    } catch (error) {
      if (error instanceof FaultInputError) return badRequest(res, error.param, error.message);
      throw error;
    }
  });

  /** Switches every fault off. */
  router.delete('/_sandbox/faults', (_req, res) => {
    faults.clear();
    res.json({ faults: [] });
  });

  return router;
}
