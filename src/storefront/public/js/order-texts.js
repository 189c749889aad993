// What the order pages say for each state of an order: one heading and one message per state.

const paid = { title: 'Thank you!', message: () => 'Payment received. Thank you for your order!' };
const processing = {
  title: 'Payment on its way',
  message: () => 'Your bank payment is on its way. This page updates when it arrives.',
};
const canceled = { title: 'Order canceled', message: () => 'This order was canceled. Nothing was charged.' };

/** The success page (back from Checkout). */
export const SUCCESS_TEXTS = {
  pending: { title: 'Your order', message: () => 'Waiting for your payment to be confirmed…' },
  processing,
  paid,
  failed: {
    title: 'Payment failed',
    message: (reason) => `${reason || 'The payment did not go through.'} Nothing was charged: try again.`,
  },
  expired: {
    title: 'Time to pay ran out',
    message: () =>
      'The checkout closed before a payment was made. Nothing was charged: pay now to try again.',
  },
  canceled,
};

/** The cancel page (the customer left Checkout). */
export const CANCEL_TEXTS = {
  pending: {
    title: 'You left the payment page',
    message: () => 'Nothing was charged. Your order is kept: pay it now, or cancel it.',
  },
  processing,
  paid,
  failed: {
    title: 'Payment failed',
    message: (reason) =>
      `${reason || 'The payment did not go through.'} Nothing was charged: pay now, or cancel the order.`,
  },
  expired: {
    title: 'Time to pay ran out',
    message: () =>
      'The checkout closed before a payment was made. Nothing was charged: pay now, or cancel the order.',
  },
  canceled,
};
