import { MikroOrmModule } from '@mikro-orm/nestjs';
import {
  Global,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
  type Type,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryModule, DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyEffectMarker } from './idempotency-effect.marker';
import { IDEMPOTENT, IdempotencyMiddleware, type IdempotentOptions } from './idempotency.middleware';
import { IdempotencyStore } from './idempotency.store';

/**
 * `Idempotency-Key` for the routes marked `@Idempotent()`; keys live in PostgreSQL. At start-up
 * every route handler (or controller) marked so gets `IdempotencyMiddleware` in front of it, for its
 * method and path alone, with the options of its mark.
 */
@Global()
@Module({
  imports: [MikroOrmModule.forFeature([IdempotencyKey]), DiscoveryModule],
  providers: [IdempotencyStore, IdempotencyMiddleware, IdempotencyEffectMarker],
  exports: [IdempotencyStore],
})
export class IdempotencyModule implements NestModule {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly middleware: IdempotencyMiddleware,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    for (const route of this.idempotentRoutes()) {
      consumer
        .apply(this.middleware.for(route.options))
        .forRoutes({ path: route.path, method: route.method });
    }
  }

  /**
   * The middleware of a route served outside Express's router (`serveAhead`), which runs its route's
   * middleware itself: the one `configure` mounts for that handler, or none if it is not marked.
   */
  middlewareOf(
    controller: Type,
    handler: (...args: never[]) => unknown,
  ): ReturnType<IdempotencyMiddleware['for']> | undefined {
    const options = this.optionsOf(handler, controller);
    return options && this.middleware.for(options);
  }

  /** Every route marked `@Idempotent()`, on its handler or its controller (the handler's mark wins). */
  idempotentRoutes(): { path: string; method: RequestMethod; options: IdempotentOptions }[] {
    const routes: { path: string; method: RequestMethod; options: IdempotentOptions }[] = [];
    for (const { metatype, instance } of this.discovery.getControllers()) {
      if (!metatype || !instance) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as () => unknown;
        const options = this.optionsOf(handler, metatype as Type);
        const method = this.reflector.get<RequestMethod | undefined>(METHOD_METADATA, handler);
        if (!options || method === undefined) continue;
        for (const base of pathsOf(this.reflector.get(PATH_METADATA, metatype))) {
          for (const own of pathsOf(this.reflector.get(PATH_METADATA, handler))) {
            routes.push({ path: joinPath(base, own), method, options });
          }
        }
      }
    }
    return routes;
  }

  /** The options of a handler's mark, or of its controller's (the handler's wins); none if unmarked. */
  private optionsOf(handler: (...args: never[]) => unknown, controller: Type): IdempotentOptions | undefined {
    return this.reflector.getAllAndOverride<IdempotentOptions | undefined>(IDEMPOTENT, [handler, controller]);
  }
}

function pathsOf(path: string | string[] | undefined): string[] {
  if (path === undefined) return ['/'];
  return Array.isArray(path) ? path : [path];
}

/** A controller's path and a handler's, as Nest joins them into the route's (`orders` + `:id` → `orders/:id`). */
function joinPath(base: string, own: string): string {
  const parts = [base, own].map((part) => part.replace(/^\/+|\/+$/g, '')).filter((part) => part !== '');
  return parts.length ? parts.join('/') : '/';
}
