import type { INestApplication } from '@nestjs/common';
import {
  ApiProperty,
  ApiPropertyOptional,
  DocumentBuilder,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import type { OperationObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

export class FieldErrorResponse {
  @ApiProperty({ example: 'items[0].quantity' }) field!: string;
  @ApiProperty({ example: 'quantity must not be greater than 100' }) message!: string;
}

/** The one shape of every error the API answers (see DomainErrorFilter). */
export class ErrorResponse {
  @ApiProperty({ type: 'integer', example: 404 }) statusCode!: number;
  @ApiProperty({ description: 'Stable code: ORDERS.NOT_FOUND, REQUEST.INVALID, HTTP.TOO_MANY_REQUESTS…' })
  code!: string;
  @ApiProperty({ description: 'What went wrong, for a person' }) message!: string;
  @ApiPropertyOptional({ type: [FieldErrorResponse], description: 'The fields at fault' })
  errors?: FieldErrorResponse[];
  @ApiProperty({ description: 'Also in the X-Request-Id response header, and in the logs' })
  requestId!: string;
}

const ERROR_SCHEMA = { $ref: '#/components/schemas/ErrorResponse' };

/** Errors every API operation may answer, by what the operation is like. */
const COMMON_ERRORS: [applies: (method: string, path: string) => boolean, status: string, description: string][] = [
  [(_, path) => path.includes('{id}'), '400', 'The request is invalid (an id that is not a UUID, a body field at fault)'],
  [(method) => method === 'post', '400', 'The body is invalid: malformed JSON, or fields at fault (REQUEST.INVALID)'],
  [(_, path) => path.includes('{id}'), '404', 'No such order, or a missing or wrong token (ORDERS.NOT_FOUND)'],
  [(method) => method === 'post', '413', 'The body is larger than 100 kB'],
  [(method) => method === 'post', '415', 'The body is not UTF-8 JSON'],
  [() => true, '500', 'An unexpected error (logged with its requestId)'],
  [() => true, '503', 'A dependency (the database) is unavailable for a moment: retry'],
]; // prettier-ignore

/**
 * The OpenAPI document as served at `/api/docs` (`/api/docs-json`): every operation lists the
 * errors it answers, each with the error schema, so that clients and the response-validation test
 * read the truth. The health checks list only their own answers, and their 503 has the same error
 * schema: the application's filter answers Terminus's report of what is down as any error is
 * answered, so that a stranger never reads the database's error. Built when first asked for (and
 * kept), not at start-up: scanning every controller and DTO is work no request needs.
 */
export function setupOpenApi(
  app: INestApplication,
  /** More security schemes (the staff API's). */
  extend: (builder: DocumentBuilder) => DocumentBuilder = (builder) => builder,
): void {
  SwaggerModule.setup('api/docs', app, () => buildDocument(app, extend));
}

function buildDocument(
  app: INestApplication,
  extend: (builder: DocumentBuilder) => DocumentBuilder,
): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    extend(new DocumentBuilder())
      .setTitle('Payment flow service')
      .setDescription('Orders paid through Stripe Checkout, with live status over Socket.IO (/orders).')
      .setVersion('1')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description: "The order's accessToken (an opaque secret, not a JWT)",
      })
      .build(),
    { extraModels: [ErrorResponse] },
  );
  documentErrors(document);
  return document;
}

function documentErrors(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    const healthCheck = path.startsWith('/api/health');
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation: OperationObject | undefined = item[method];
      if (!operation) continue;
      if (!healthCheck) {
        for (const [applies, status, description] of COMMON_ERRORS) {
          if (applies(method, path) && !operation.responses[status])
            operation.responses[status] = { description };
        }
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response || Number(status) < 400 || '$ref' in response) continue;
        response.content = { 'application/json': { schema: ERROR_SCHEMA } };
      }
    }
  }
}
