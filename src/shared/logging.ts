import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type OnApplicationShutdown, RequestMethod } from '@nestjs/common';
import { type Params, PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';
import pino from 'pino';
import { type HttpLogger, type Options, pinoHttp } from 'pino-http';
import type { AppConfig } from '../config';
import { STRIPE_WEBHOOK_ROUTE } from './webhook-route';

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
  const options = httpLogOptions(config);
  return {
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    // A transport (the terminal's pino-pretty) writes on its own; JSON goes to the async destination.
    pinoHttp: options.transport ? options : [options, logDestination()],
  };
}

/**
 * The request log of a route served ahead of Express (`serveAhead`), as every other
 * request gets it from nestjs-pino: pino-http with the same options, on the same root logger (so
 * the same lines reach the same output), then that request's logger bound for the log lines
 * written while it is handled (they carry its `req`, with the request id).
 */
export function requestLog(
  config: AppConfig,
): ((request: IncomingMessage, response: ServerResponse, next: () => void) => void)[] {
  let log: HttpLogger | undefined;
  return [
    (request, response, next) => {
      // nestjs-pino makes its root logger when the application initialises: made from it at first use.
      if (!log) {
        const { transport: _written, ...options } = httpLogOptions(config);
        log = pinoHttp({ ...options, logger: PinoLogger.root });
      }
      log(request, response, next);
    },
    (request, _response, next) => storage.run(new Store(request.log), next),
  ];
}

let destination: ReturnType<typeof pino.destination> | undefined;

/**
 * Standard output, written asynchronously and in batches: lines gather in a buffer that a libuv
 * thread writes out once it holds 4 KB (about ten lines), and at least every 100 ms, instead of a
 * `write` per line on the event loop. Under load that takes most of the cost of logging (a system
 * call, and a thread woken, per line) off the path of every request; when idle a line leaves
 * within 100 ms. What is buffered is flushed on exit and on shutdown (`FlushLogsOnShutdown`).
 */
function logDestination(): pino.DestinationStream {
  destination ??= pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 });
  return destination;
}

/** Writes out buffered log lines when the application shuts down (before a signal ends the process). */
@Injectable()
export class FlushLogsOnShutdown implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    try {
      destination?.flushSync();
    } catch {
      // Not open yet, or already closed: nothing to write.
    }
  }
}

function httpLogOptions(config: AppConfig): Options {
  return {
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
    customLogLevel: (req, res, error) =>
      error || res.statusCode >= 500
        ? 'error'
        : res.statusCode >= 400
          ? 'warn'
          : // A webhook's outcome is logged once, by its intake, with this request's id.
            req.url === STRIPE_WEBHOOK_ROUTE.url
            ? 'silent'
            : 'info',
    autoLogging: { ignore: (req) => !req.url?.startsWith('/api/') || req.url.startsWith('/api/health') },
  };
}
