import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';
import { StorefrontController } from './storefront.controller';

/**
 * Pages may load scripts, styles and data from this service only; sockets go back to it too. No
 * inline script or style anywhere, no third-party origin (the pages work offline).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function setPageHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
}

let notFoundHtml: string | undefined;

/**
 * The storefront: static pages (plain HTML, CSS and ES modules, no build step) served at `/` from
 * `public/` (copied next to the compiled code by nest-cli). `/checkout/success` and
 * `/checkout/cancel` are `checkout/*.html`.
 *
 * `/api/*` is never answered from here: only files that exist in `public/` are served (there is no
 * `public/api/`), and the module's catch-all, which would answer every unknown GET with index.html,
 * is narrowed to `/` (unknown paths are 404s, the page of `pages/not-found.html`; no single-page
 * fallback). Deliberately no `exclude`
 * option: in @nestjs/serve-static 5 it also installs an error handler that turns every error of an
 * excluded request into a 404, so a malformed JSON body sent to `/api/orders` would get 404, not 400.
 */
@Module({
  imports: [
    ServeStaticModule.forRoot({
      rootPath: join(__dirname, 'public'),
      renderPath: '/',
      serveStaticOptions: {
        extensions: ['html'],
        index: 'index.html',
        dotfiles: 'ignore',
        setHeaders: setPageHeaders,
      },
    }),
  ],
  controllers: [StorefrontController],
})
export class StorefrontModule {
  /**
   * The answer to a path nobody serves outside `/api` (given to the error filter): a page with a
   * way back to the shop, status 404. `/api` keeps its JSON errors.
   */
  static notFoundPage(res: Response): void {
    notFoundHtml ??= readFileSync(join(__dirname, 'pages', 'not-found.html'), 'utf8');
    setPageHeaders(res);
    res.status(404).type('html').setHeader('Cache-Control', 'no-store');
    res.send(notFoundHtml);
  }
}
