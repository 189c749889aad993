import { type RequestHandler, Router } from 'express';
import type { Handler } from '../api/api-context';
import { allowParams } from '../api/payments.params';
import { paramError } from '../stripe/stripe-error';
import { type StripeCliHub, WEBHOOK_FEATURE } from './stripe-cli.hub';

type Route = (operation: string, handler: Handler) => RequestHandler;

/** `POST /v1/stripecli/sessions`: what `stripe listen` asks first (with the API key), as Stripe answers it. */
export function stripeCliRoutes(router: Router, route: Route, hub: StripeCliHub): void {
  router.post(
    '/stripecli/sessions',
    route('stripeCli.sessions.create', ({ params }) => {
      allowParams(
        params,
        ['device_name', 'websocket_features', 'forward_to_url', 'forward_connect_to_url'],
        ['filters', 'forward_thin_to_url', 'forward_thin_connect_to_url'],
      );
      const deviceName = params.string('device_name', { required: true, maxLength: 200 })!;
      const features = params.strings('websocket_features');
      if (!features.length) throw paramError.missing('websocket_features');
      features.forEach((feature, index) => {
        if (feature !== WEBHOOK_FEATURE) {
          throw paramError.invalid(
            `websocket_features[${index}]`,
            `The Stripe sandbox serves the websocket feature \`${WEBHOOK_FEATURE}\` only (\`stripe listen\`), not \`${feature}\`.`,
          );
        }
      });
      return hub.createSession({ deviceName, forwardUrl: params.string('forward_to_url') ?? null });
    }),
  );
}

/** `GET /_sandbox/stripe-cli`: the `stripe listen` sessions and what their CLIs reported back. */
export function stripeCliAdminRouter(hub: StripeCliHub): Router {
  const router = Router();
  router.get('/_sandbox/stripe-cli', (_req, res) => {
    res.json(hub.status());
  });
  return router;
}
