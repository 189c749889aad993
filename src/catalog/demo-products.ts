import { Money } from '../shared/money';

/** The demo catalog seeded on first start, so a fresh clone has something to buy. */
export const DEMO_PRODUCTS = [
  {
    sku: 'BEANS-250',
    name: 'Espresso beans, 250 g',
    description: 'Dark roast, chocolate and cherry notes.',
    price: Money.of(1450, 'usd'),
  },
  {
    sku: 'MUG-CERAMIC',
    name: 'Ceramic mug',
    description: 'Hand-glazed, 330 ml.',
    price: Money.of(1800, 'usd'),
  },
  {
    sku: 'KETTLE-POUR',
    name: 'Pour-over kettle',
    description: 'Gooseneck spout, 1 l, stovetop.',
    price: Money.of(4900, 'usd'),
  },
  {
    sku: 'STROOP-TIN',
    name: 'Stroopwafel tin',
    description: 'Twelve caramel waffles from Gouda.',
    price: Money.of(1250, 'eur'),
  },
  {
    sku: 'MATCHA-30',
    name: 'Ceremonial matcha, 30 g',
    description: 'Stone-ground in Uji.',
    price: Money.of(2400, 'jpy'),
  },
] as const;
