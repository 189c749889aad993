import {
  applyDecorators,
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
  type DocumentBuilder,
} from '@nestjs/swagger';
import { parse as parseCookies } from 'cookie';
import type { Request } from 'express';
import { type RequestContext, StaffAuthService } from './staff-auth.service';
import type { StaffPrincipal } from './staff-principal';
import { roleAllows, StaffRole } from './staff-role';

export const SESSION_COOKIE = 'payflow_staff';
export const CSRF_COOKIE = 'payflow_staff_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Names of the security schemes in the OpenAPI document (see `configureApp`). */
export const SECURITY = { token: 'staff-token', session: 'staff-session', csrf: 'staff-csrf' } as const;

const ROLE = 'staff:role';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type StaffRequest = Request & { staff?: StaffPrincipal };

/** The client's address (`trust proxy` applied) and the request id pino-http gave the request. */
export function requestContext(request: Request): RequestContext {
  const id: unknown = (request as { id?: unknown }).id;
  return {
    ip: request.ip?.slice(0, 64) ?? null,
    requestId: typeof id === 'string' || typeof id === 'number' ? String(id).slice(0, 64) : null,
  };
}

export function cookiesOf(header: string | undefined): Record<string, string | undefined> {
  return header ? parseCookies(header) : {};
}

/**
 * Admits a staff member to a route:
 * - `Authorization: Bearer pfs_…`: an API token; no CSRF token needed (a browser never sends it on
 *   its own). Any other bearer token (a customer's order token) is refused, never tried as a cookie.
 * - Otherwise the session cookie; a state-changing method also needs the session's CSRF token in
 *   the `X-CSRF-Token` header (the login answer gives it, in that header and a readable cookie).
 * Then the route's role. 401: who are you?; 403: not allowed (role, or no CSRF token).
 */
@Injectable()
export class StaffGuard implements CanActivate {
  constructor(
    private readonly auth: StaffAuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<StaffRequest>();
    const needed =
      this.reflector.getAllAndOverride<StaffRole | undefined>(ROLE, [
        context.getHandler(),
        context.getClass(),
      ]) ?? StaffRole.Operator;
    const principal = await this.authenticate(request);
    if (!roleAllows(principal.role, needed)) {
      throw new ForbiddenException(`This needs the ${needed} role`);
    }
    request.staff = principal;
    return true;
  }

  private async authenticate(request: StaffRequest): Promise<StaffPrincipal> {
    const from = requestContext(request);
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      const principal = token ? await this.auth.byApiToken(token, from) : null;
      if (!principal) throw new UnauthorizedException('Not a staff API token');
      return principal;
    }
    const sessionToken = cookiesOf(request.headers.cookie)[SESSION_COOKIE];
    const session = sessionToken ? await this.auth.bySession(sessionToken, csrfHeader(request), from) : null;
    if (!session) throw new UnauthorizedException('Log in first');
    if (!SAFE_METHODS.has(request.method) && !session.csrf) {
      throw new ForbiddenException('Missing or wrong CSRF token (X-CSRF-Token)');
    }
    return session.principal;
  }
}

function csrfHeader(request: Request): string | undefined {
  const value = request.headers[CSRF_HEADER];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * A staff-only route (or controller) for `role` and above, documented with its security schemes.
 * Reading needs `viewer`; changing anything `operator`, unless said otherwise.
 */
export function StaffOnly(role: StaffRole): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ROLE, role),
    UseGuards(StaffGuard),
    ApiBearerAuth(SECURITY.token),
    // A session cookie and, for changes, its CSRF header, together.
    ApiSecurity({ [SECURITY.session]: [], [SECURITY.csrf]: [] }),
    ApiUnauthorizedResponse({ description: 'No session, or not a staff API token' }),
    ApiForbiddenResponse({ description: `Below the ${role} role, or a session without its CSRF token` }),
  );
}

/** The authenticated staff member (routes behind `StaffOnly`). */
export const Staff = createParamDecorator((_: unknown, ctx: ExecutionContext): StaffPrincipal => {
  const staff = ctx.switchToHttp().getRequest<StaffRequest>().staff;
  if (!staff) throw new UnauthorizedException('Log in first');
  return staff;
});

/** The staff API's security schemes, for the OpenAPI document. */
export function addStaffSecuritySchemes(builder: DocumentBuilder): DocumentBuilder {
  return builder
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: 'A staff API token (`npm run staff:token`); no CSRF token needed',
      },
      SECURITY.token,
    )
    .addCookieAuth(
      SESSION_COOKIE,
      { type: 'apiKey', in: 'cookie', description: 'The session cookie set by POST /api/admin/session' },
      SECURITY.session,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-CSRF-Token',
        description: 'The CSRF token of the session (changes only)',
      },
      SECURITY.csrf,
    );
}
