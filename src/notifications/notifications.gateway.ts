import { CreateRequestContext, MikroORM } from '@mikro-orm/core';
import { Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
  WebSocketServer,
} from '@nestjs/websockets';
import type { ExtendedError, Namespace, Socket } from 'socket.io';
import { AppConfig } from '../config';
import { type OrderSnapshot, OrdersReader } from '../orders';
import { DomainError } from '../shared/domain-error';
import { CrossInstanceLink } from './cross-instance-link';
import { ORDER_STATUS_EVENT, OrderStatusMessage } from './order-status.message';
import { SubscribeOrderDto } from './subscribe-order.dto';

export const ORDERS_NAMESPACE = '/orders';
export const SUBSCRIBE_MESSAGE = 'orders.subscribe';

export interface SubscriptionError {
  code: string;
  message: string;
}

/** The acknowledgement of `orders.subscribe`. */
export type SubscribeAck = { ok: true; order: OrderStatusMessage } | { ok: false; error: SubscriptionError };

/**
 * The one refusal for an unknown order, a wrong token, a missing token or a malformed request: the
 * REST API's 404 for the same cases. Nothing tells whether an order exists.
 */
export const NOT_FOUND: SubscriptionError = { code: 'ORDERS.NOT_FOUND', message: 'Order not found' };
/** The database could not be read; the client may try again. */
/** The socket sent more messages than `SOCKET_MESSAGES_PER_MINUTE` allows. */
export const RATE_LIMITED: SubscriptionError = {
  code: 'RATE_LIMITED',
  message: 'Too many messages; slow down',
};
export const UNAVAILABLE: SubscriptionError = {
  code: 'UNAVAILABLE',
  message: 'The order status cannot be read right now; try again',
};

interface ClientToServerEvents {
  [SUBSCRIBE_MESSAGE]: (body: unknown, ack?: (answer: SubscribeAck) => void) => void;
}

interface ServerToClientEvents {
  [ORDER_STATUS_EVENT]: (message: OrderStatusMessage) => void;
}

interface SocketData {
  /** The handshake's request, once the middleware admitted it. */
  handshake?: SubscribeOrderDto;
}

type OrdersNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, object, SocketData>;
type OrdersSocket = Socket<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

const ROOM_PREFIX = 'order:';
const roomOf = (orderId: string): string => `${ROOM_PREFIX}${orderId}`;
/** Orders read at once when this instance's followers are brought up to date. */
const RESYNC_BATCH = 500;
/** How long an admitted socket waits at most between two tries to read its order's status. */
const FOLLOW_RETRY_MAX_MS = 10_000;

/** What the client's `connect_error` receives: `err.message` and `err.data` ({code, message}). */
function refusal(error: SubscriptionError): ExtendedError {
  return Object.assign(new Error(error.message), { data: error });
}

/**
 * Live order status over Socket.IO, namespace `/orders` (ARCHITECTURE.md, "Public contract").
 *
 * - Handshake `auth: {orderId, token}`. Refused (unknown order, wrong or no token, malformed): the
 *   client's `connect_error` carries `message` "Order not found" and `data.code` "ORDERS.NOT_FOUND",
 *   and the socket joins nothing.
 * - Admitted: the socket joins the order's room and gets `order.status` at once.
 * - `orders.subscribe` `{orderId, token}` (re)subscribes without reconnecting: acknowledged with
 *   `{ok: true, order}` (and `order.status` is emitted) or `{ok: false, error: {code, message}}`.
 * - Every status change is pushed as `order.status` to that order's room only (see the listener).
 * - When the Redis link comes back, every order followed here gets its current status again: the
 *   other instances' pushes of the meantime did not reach this one.
 *
 * It reads orders through `OrdersReader` and writes nothing.
 */
@WebSocketGateway({ namespace: ORDERS_NAMESPACE })
export class NotificationsGateway
  implements OnGatewayInit<OrdersNamespace>, OnGatewayConnection<OrdersSocket>
{
  private readonly logger = new Logger(NotificationsGateway.name);

  @WebSocketServer()
  private readonly namespace!: OrdersNamespace;

  private resyncing = false;
  private resyncAgain = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly orders: OrdersReader,
    private readonly config: AppConfig,
    private readonly link: CrossInstanceLink,
  ) {}

  /** Admits a connection only with a valid `{orderId, token}`; otherwise the client gets `connect_error`. */
  afterInit(namespace: OrdersNamespace): void {
    this.link.onRestored(() => void this.resync());
    namespace.on('connection', (socket: OrdersSocket) => this.limitMessages(socket));
    namespace.use((socket, next) => {
      const request = SubscribeOrderDto.parse(socket.handshake.auth);
      this.lookUp(request)
        .then((outcome) => {
          if (!outcome.ok) return next(refusal(outcome.error));
          socket.data.handshake = request ?? undefined;
          next();
        })
        .catch((error: unknown) => this.logger.error({ err: error }, 'Live-status handshake failed'));
    });
  }

  /**
   * Runs once the middleware admitted the socket. Never throws: a rejection here would be unhandled.
   * The handshake read the order, so a read that fails now is the database's moment: it is tried
   * again while the client stays, since the client, connected, would otherwise wait for nothing.
   */
  async handleConnection(socket: OrdersSocket): Promise<void> {
    const request = socket.data.handshake;
    if (!request) return;
    for (let waitMs = 250; socket.connected; waitMs = Math.min(waitMs * 2, FOLLOW_RETRY_MAX_MS)) {
      try {
        const answer = await this.follow(socket, request);
        if (answer.ok || answer.error !== UNAVAILABLE) return;
      } catch (error) {
        this.logger.error(
          { err: error, orderId: request.orderId },
          'Could not start a live-status subscription',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  @SubscribeMessage(SUBSCRIBE_MESSAGE)
  async subscribe(
    @ConnectedSocket() socket: OrdersSocket,
    @MessageBody() body: unknown,
  ): Promise<SubscribeAck> {
    try {
      const request = SubscribeOrderDto.parse(body);
      const admitted = await this.lookUp(request);
      if (!admitted.ok || !request) return admitted;
      return await this.follow(socket, request);
    } catch (error) {
      this.logger.error({ err: error }, 'orders.subscribe failed');
      return { ok: false, error: UNAVAILABLE };
    }
  }

  /**
   * At most `SOCKET_MESSAGES_PER_MINUTE` messages a minute per socket: beyond, a message is answered
   * `{ok: false, error: RATE_LIMITED}` without being looked at; at twice the limit the socket is
   * disconnected. One client cannot make everyone else's requests wait.
   */
  private limitMessages(socket: OrdersSocket): void {
    const limit = this.config.sockets.messagesPerMinute;
    let windowStart = Date.now();
    let count = 0;
    socket.use((packet, next) => {
      const now = Date.now();
      if (now - windowStart >= 60_000) {
        windowStart = now;
        count = 0;
      }
      count++;
      if (count <= limit) return next();
      const ack = packet.at(-1) as unknown;
      if (typeof ack === 'function')
        (ack as (answer: SubscribeAck) => void)({ ok: false, error: RATE_LIMITED });
      if (count > 2 * limit) {
        this.logger.warn({ messages: count }, 'Live-status socket over its message limit: disconnected');
        socket.disconnect(true);
      }
    });
  }

  /** Pushes a status to the sockets following that order, on every instance. */
  push(message: OrderStatusMessage): void {
    this.namespace.to(roomOf(message.orderId)).emit(ORDER_STATUS_EVENT, message);
  }

  /**
   * Joins the order's room, then reads the order and sends its status to this socket. Read after
   * joining: a change committed before the read is in the snapshot, one committed after it is pushed
   * to the room, so none falls in between (a push may arrive before an older snapshot; clients keep
   * the latest `updatedAt`).
   */
  private async follow(socket: OrdersSocket, request: SubscribeOrderDto): Promise<SubscribeAck> {
    const room = roomOf(request.orderId);
    await socket.join(room);
    const current = await this.lookUp(request);
    if (!current.ok) {
      await socket.leave(room);
      return current;
    }
    socket.emit(ORDER_STATUS_EVENT, current.order);
    return current;
  }

  /**
   * Sends the current status of every order followed on this instance to its followers here. Run
   * when the Redis link is back (its subscriptions in place): a change committed before the read is
   * in it, one committed after is pushed through Redis, so nothing missed meanwhile stays missed.
   * If the database cannot be read, it tries again (while the link holds; a new loss of the link
   * ends in a new run).
   */
  private async resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = true;
    try {
      for (let waitMs = 500; ; waitMs = Math.min(waitMs * 2, FOLLOW_RETRY_MAX_MS)) {
        this.resyncAgain = false;
        try {
          const followed = await this.resendFollowed();
          if (followed > 0) this.logger.log({ orders: followed }, 'Live status re-sent after Redis returned');
          if (!this.resyncAgain) return;
          continue;
        } catch (error) {
          this.logger.warn({ err: (error as Error).message }, 'Could not re-send live status yet; retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        if (this.link.isDown) return;
      }
    } finally {
      this.resyncing = false;
    }
  }

  /** Reads the orders followed here and sends each its status; returns how many. */
  private async resendFollowed(): Promise<number> {
    const orderIds = [...this.namespace.adapter.rooms.keys()]
      .filter((room) => room.startsWith(ROOM_PREFIX))
      .map((room) => room.slice(ROOM_PREFIX.length));
    for (let start = 0; start < orderIds.length; start += RESYNC_BATCH) {
      for (const state of await this.readStates(orderIds.slice(start, start + RESYNC_BATCH))) {
        this.namespace.local
          .to(roomOf(state.id))
          .emit(ORDER_STATUS_EVENT, OrderStatusMessage.fromSnapshot(state));
      }
    }
    return orderIds.length;
  }

  @CreateRequestContext()
  private async readStates(orderIds: string[]) {
    return this.orders.statesOf(orderIds);
  }

  /** The order's status if the request opens it; the uniform refusal otherwise. Never throws. */
  private async lookUp(request: SubscribeOrderDto | null): Promise<SubscribeAck> {
    if (!request) return { ok: false, error: NOT_FOUND };
    try {
      return { ok: true, order: OrderStatusMessage.fromSnapshot(await this.read(request)) };
    } catch (error) {
      // The reader's only domain error is OrderNotFoundError: unknown order and wrong token alike.
      if (error instanceof DomainError) return { ok: false, error: NOT_FOUND };
      this.logger.error({ err: error, orderId: request.orderId }, 'Could not read an order for live status');
      return { ok: false, error: UNAVAILABLE };
    }
  }

  /** A unit of work of its own for each read, so the read after joining sees the database, not a cache. */
  @CreateRequestContext()
  private async read(request: SubscribeOrderDto): Promise<OrderSnapshot> {
    return this.orders.getForCustomer(request.orderId, request.token);
  }
}
