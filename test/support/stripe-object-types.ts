import type Stripe from 'stripe';

/*
 * The pinned stripe SDK's object types that the sandbox sends: the names `stripe-schemas.ts` turns
 * into JSON schemas (ts-json-schema-generator) to validate every object and event against.
 */
export type CheckoutSession = Stripe.Checkout.Session;
export type PaymentIntent = Stripe.PaymentIntent;
export type Charge = Stripe.Charge;
export type PaymentMethod = Stripe.PaymentMethod;
export type Product = Stripe.Product;
export type Price = Stripe.Price;
export type LineItem = Stripe.LineItem;
export type WebhookEndpoint = Stripe.WebhookEndpoint;
export type DeletedWebhookEndpoint = Stripe.DeletedWebhookEndpoint;
export type Event = Stripe.Event;
export type Customer = Stripe.Customer;
export type Refund = Stripe.Refund;
export type Dispute = Stripe.Dispute;
