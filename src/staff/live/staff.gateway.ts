import { Logger } from '@nestjs/common';
import { type OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { ExtendedError, Namespace, Socket } from 'socket.io';
import { OrderFlaggedForReviewEvent, OrderPlacedEvent, OrderStatusChangedEvent } from '../../orders';
import { OnDurableEvent } from '../../shared/outbox';
import { StaffAuthService } from '../staff-auth.service';
import { cookiesOf, SESSION_COOKIE } from '../staff-auth.guard';
import type { StaffPrincipal } from '../staff-principal';

export const STAFF_NAMESPACE = '/staff';
const EVERYONE = 'staff';
const sessionRoom = (hash: string) => `session:${hash}`;

/** What staff consoles hear, live. */
export interface StaffServerEvents {
  /** A new order was placed. */
  'order.placed': (message: {
    orderId: string;
    totalAmount: number;
    currency: string;
    occurredAt: string;
  }) => void;
  /** An order's status or reason changed (paid, refunded…). */
  'order.updated': (message: {
    orderId: string;
    status: string;
    reason: string | null;
    updatedAt: string;
  }) => void;
  /** Something about an order needs a person. */
  'review.flagged': (message: { orderId: string; reason: string; occurredAt: string }) => void;
}

interface SocketData {
  staff?: StaffPrincipal;
}

type StaffNamespace = Namespace<object, StaffServerEvents, object, SocketData>;
type StaffSocket = Socket<object, StaffServerEvents, object, SocketData>;

function refusal(): ExtendedError {
  return Object.assign(new Error('Log in first'), {
    data: { code: 'STAFF.UNAUTHENTICATED', message: 'Log in first' },
  });
}

/**
 * Live updates for the staff console, namespace `/staff`. Admitted by the staff session cookie the
 * browser sends with the handshake (same origin; SameSite=Strict), or by `auth: {token}` with a staff
 * API token; anything else gets `connect_error` "Log in first". Pushes are durable reactions (the
 * outbox): a crash right after a commit still tells the consoles. Logging out disconnects the
 * session's sockets. Order ids, statuses and amounts only: never a customer's token.
 */
@WebSocketGateway({ namespace: STAFF_NAMESPACE })
export class StaffGateway implements OnGatewayInit<StaffNamespace> {
  private readonly logger = new Logger(StaffGateway.name);

  @WebSocketServer()
  private readonly namespace!: StaffNamespace;

  constructor(private readonly auth: StaffAuthService) {}

  afterInit(namespace: StaffNamespace): void {
    namespace.use((socket: StaffSocket, next) => {
      this.admit(socket)
        .then((staff) => {
          if (!staff) return next(refusal());
          socket.data.staff = staff;
          void socket.join(EVERYONE);
          if (staff.sessionHash) void socket.join(sessionRoom(staff.sessionHash));
          next();
        })
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'Staff live handshake failed');
          next(refusal());
        });
    });
  }

  /** Disconnects the sockets of a session that ended (logout). */
  endSession(sessionHash: string): void {
    this.namespace.in(sessionRoom(sessionHash)).disconnectSockets(true);
  }

  @OnDurableEvent(OrderPlacedEvent, 'staff.push-order-placed')
  orderPlaced(event: OrderPlacedEvent): void {
    this.emit('order.placed', {
      orderId: event.orderId,
      totalAmount: event.totalAmount,
      currency: event.currency,
      occurredAt: event.occurredAt.toISOString(),
    });
  }

  @OnDurableEvent(OrderStatusChangedEvent, 'staff.push-order-updated')
  orderUpdated(event: OrderStatusChangedEvent): void {
    this.emit('order.updated', {
      orderId: event.orderId,
      status: event.status,
      reason: event.reason,
      updatedAt: event.updatedAt.toISOString(),
    });
  }

  @OnDurableEvent(OrderFlaggedForReviewEvent, 'staff.push-review-flagged')
  reviewFlagged(event: OrderFlaggedForReviewEvent): void {
    this.emit('review.flagged', {
      orderId: event.orderId,
      reason: event.reason,
      occurredAt: event.occurredAt.toISOString(),
    });
  }

  private emit<E extends keyof StaffServerEvents>(
    event: E,
    ...message: Parameters<StaffServerEvents[E]>
  ): void {
    try {
      this.namespace.to(EVERYONE).emit(event, ...message);
    } catch (error) {
      // A console that missed it shows it on its next load; not worth a retry.
      this.logger.error({ err: error, event }, 'Could not push to staff consoles');
    }
  }

  private async admit(socket: StaffSocket): Promise<StaffPrincipal | null> {
    const context = { ip: socket.handshake.address?.slice(0, 64) ?? null, requestId: null };
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string') return this.auth.byApiToken(token, context);
    const session = cookiesOf(socket.handshake.headers.cookie)[SESSION_COOKIE];
    return session ? ((await this.auth.bySession(session, undefined, context))?.principal ?? null) : null;
  }
}
