import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../config';

export class SandboxLinksResponse {
  @ApiProperty({
    description: "The sandbox's mailbox: the receipts Stripe would have e-mailed",
    example: 'http://127.0.0.1:12111/mailbox',
  })
  mailboxUrl!: string;
}

export class StorefrontSettingsResponse {
  @ApiPropertyOptional({
    type: SandboxLinksResponse,
    nullable: true,
    description: 'Present when the offline Stripe sandbox plays Stripe (no e-mail is sent then)',
  })
  sandbox!: SandboxLinksResponse | null;
}

/** What the storefront's pages need to know about this service beyond the orders API. */
@ApiTags('storefront')
@Controller('storefront')
export class StorefrontController {
  constructor(private readonly config: AppConfig) {}

  @Get()
  @ApiOkResponse({ type: StorefrontSettingsResponse })
  settings(): StorefrontSettingsResponse {
    const { enabled, publicUrl, port } = this.config.sandbox;
    const sandboxUrl = publicUrl ?? `http://127.0.0.1:${port}`;
    return { sandbox: enabled ? { mailboxUrl: `${sandboxUrl}/mailbox` } : null };
  }
}
