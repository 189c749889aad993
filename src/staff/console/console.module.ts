import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Response } from 'express';

/** As the storefront's: this service's own scripts, styles, data and sockets only; never framed. */
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

/**
 * The staff console: static files (plain HTML, CSS and ES modules) from `public/`, served at
 * `/admin`. The page itself holds nothing secret; everything it shows comes from `/api/admin`,
 * behind the staff session.
 */
@Module({
  imports: [
    ServeStaticModule.forRoot({
      rootPath: join(__dirname, 'public'),
      serveRoot: '/admin',
      renderPath: '/',
      serveStaticOptions: {
        index: 'index.html',
        dotfiles: 'ignore',
        setHeaders: (res: Response) => {
          res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
          res.setHeader('X-Content-Type-Options', 'nosniff');
          res.setHeader('Referrer-Policy', 'same-origin');
          res.setHeader('Cache-Control', 'no-store');
        },
      },
    }),
  ],
})
export class StaffConsoleModule {}
