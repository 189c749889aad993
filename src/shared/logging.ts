import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config';

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * Gives the request its id (the caller's `X-Request-Id` if it is sane) and echoes it in the
 * response. Runs before the body parsers, so that an unreadable body's error carries it too.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  requestId(req, res);
  next();
}

function requestId(req: IncomingMessage, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Logs, one line per event: JSON, or readable lines (pino-pretty) when the output is a terminal. Each request gets an id (the caller's `X-Request-Id` if it is
 * sane), echoed in the response. Headers that carry secrets are redacted; bodies are never logged.
 */
export function loggerParams(config: AppConfig): Params {
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      level: config.logLevel,
      // A person at a terminal reads lines; anything else (a file, a collector) gets JSON.
      ...(process.stdout.isTTY
        ? {
            transport: {
              target: 'pino-pretty',
              options: { singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
            },
          }
        : {}),
      genReqId: requestId,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["stripe-signature"]'],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      autoLogging: { ignore: (req) => !req.url?.startsWith('/api/') || req.url.startsWith('/api/health') },
    },
  };
}
