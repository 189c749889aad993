import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProperty,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import type { CookieOptions, Request, Response } from 'express';
import { AppConfig } from '../../config';
import { StaffGateway } from '../live/staff.gateway';
import { MAX_PASSWORD_LENGTH } from '../password';
import { LOGIN_WINDOW_MS, StaffAuthService } from '../staff-auth.service';
import {
  CSRF_COOKIE,
  CSRF_HEADER,
  requestContext,
  SESSION_COOKIE,
  Staff,
  StaffOnly,
} from '../staff-auth.guard';
import type { StaffPrincipal } from '../staff-principal';
import { StaffRole } from '../staff-role';

export class LoginDto {
  @ApiProperty({ format: 'email' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_PASSWORD_LENGTH)
  password!: string;
}

export class StaffMeResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: StaffRole }) role!: StaffRole;
}

@ApiTags('staff')
@Controller('admin/session')
export class SessionController {
  constructor(
    private readonly auth: StaffAuthService,
    private readonly config: AppConfig,
    private readonly live: StaffGateway,
  ) {}

  /**
   * Logs in: 204 with the session cookie (HttpOnly, SameSite=Strict) and the CSRF token, both in the
   * `X-CSRF-Token` response header and in a readable cookie; send it back as `X-CSRF-Token` with every
   * change. 401 for a wrong e-mail or password alike; 429 after too many failures.
   */
  @Post()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Logged in: session cookie set, CSRF token in X-CSRF-Token' })
  @ApiUnauthorizedResponse({ description: 'Wrong e-mail or password' })
  @ApiTooManyRequestsResponse({ description: 'Too many failed logins for this e-mail or address lately' })
  async login(
    @Body() body: LoginDto,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    const result = await this.auth.login(body.email, body.password, requestContext(request));
    if (!result.ok && result.reason === 'rate_limited') {
      response.setHeader('Retry-After', String(LOGIN_WINDOW_MS / 1000));
      throw new HttpException('Too many failed logins; try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    if (!result.ok) throw new UnauthorizedException('Wrong e-mail or password');
    const maxAge = result.expiresAt.getTime() - Date.now();
    response.cookie(SESSION_COOKIE, result.sessionToken, { ...this.cookieOptions(), httpOnly: true, maxAge });
    response.cookie(CSRF_COOKIE, result.csrfToken, { ...this.cookieOptions(), httpOnly: false, maxAge });
    response.setHeader(CSRF_HEADER, result.csrfToken);
  }

  @Get()
  @StaffOnly(StaffRole.Viewer)
  @ApiOkResponse({ type: StaffMeResponse, description: 'Who is logged in' })
  me(@Staff() staff: StaffPrincipal): StaffMeResponse {
    return { id: staff.memberId, email: staff.email, role: staff.role };
  }

  /** Logs out: the session is deleted on the server and both cookies cleared. */
  @Delete()
  @StaffOnly(StaffRole.Viewer)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Logged out' })
  async logout(
    @Staff() staff: StaffPrincipal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    await this.auth.logout(staff);
    if (staff.sessionHash) this.live.endSession(staff.sessionHash);
    response.clearCookie(SESSION_COOKIE, { ...this.cookieOptions(), httpOnly: true });
    response.clearCookie(CSRF_COOKIE, this.cookieOptions());
  }

  private cookieOptions(): CookieOptions {
    return { sameSite: 'strict', secure: this.config.publicUrl.startsWith('https:'), path: '/' };
  }
}
