/**
 * Instrument definitions of the simulated venue. Internally prices are integer ticks and quantities integer
 * lots; outward they become Binance's fixed 8-decimal strings and, on the SBE wire, mantissas at the
 * instrument's own price and quantity exponents (-8 for BTCUSDT as live; others differ, as on the venue).
 */

export interface SymbolSpec {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  /** Decimals of the tick size: 2 → tickSize 0.01. */
  tickDecimals: number;
  /** Decimals of the lot (step) size: 5 → stepSize 0.00001. */
  lotDecimals: number;
  /** Band the random walk stays in, and where it starts, in ticks. */
  minPriceTicks: number;
  maxPriceTicks: number;
  initialPriceTicks: number;
  /** SBE wire exponents; -priceExponent ≥ tickDecimals and -qtyExponent ≥ lotDecimals. */
  priceExponent: number;
  qtyExponent: number;
}

/** Default exponent of price and quantity mantissas on the SBE wire (as live BTCUSDT). */
export const WIRE_EXPONENT = -8;
/** Binance renders REST prices and quantities with 8 decimals. */
export const REST_DECIMALS = 8;

const KNOWN: Record<string, Omit<SymbolSpec, 'symbol'>> = {
  BTCUSDT: {
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    tickDecimals: 2,
    lotDecimals: 5,
    minPriceTicks: 60_000_00,
    maxPriceTicks: 100_000_00,
    initialPriceTicks: 85_000_00,
    priceExponent: WIRE_EXPONENT,
    qtyExponent: WIRE_EXPONENT,
  },
  ETHUSDT: {
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    tickDecimals: 2,
    lotDecimals: 4,
    minPriceTicks: 1_500_00,
    maxPriceTicks: 6_000_00,
    initialPriceTicks: 3_000_00,
    priceExponent: WIRE_EXPONENT,
    qtyExponent: WIRE_EXPONENT,
  },
  // Whole-coin lots and a 5-decimal tick: quantity exponent 0, price exponent -5.
  DOGEUSDT: {
    baseAsset: 'DOGE',
    quoteAsset: 'USDT',
    tickDecimals: 5,
    lotDecimals: 0,
    minPriceTicks: 10_000,
    maxPriceTicks: 90_000,
    initialPriceTicks: 35_000,
    priceExponent: -5,
    qtyExponent: 0,
  },
  // A BTC-quoted pair: 6-decimal tick at exponent -6, 4-decimal lot at the venue's usual -8.
  ETHBTC: {
    baseAsset: 'ETH',
    quoteAsset: 'BTC',
    tickDecimals: 6,
    lotDecimals: 4,
    minPriceTicks: 20_000,
    maxPriceTicks: 90_000,
    initialPriceTicks: 35_000,
    priceExponent: -6,
    qtyExponent: WIRE_EXPONENT,
  },
};

/** Symbols of different tick sizes and exponents that the rough profile serves by default. */
export const ROUGH_SYMBOLS: readonly string[] = ['BTCUSDT', 'DOGEUSDT', 'ETHBTC'];

const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY'];

export class SymbolError extends Error {
  override readonly name = 'SymbolError';
}

/** The spec of a symbol; unknown but well-formed symbols get a generic instrument around 100.00. */
export function symbolSpec(symbol: string): SymbolSpec {
  if (!/^[A-Z0-9]{2,20}$/.test(symbol)) {
    throw new SymbolError(`invalid symbol ${JSON.stringify(symbol)}: expected 2-20 upper-case letters/digits`);
  }
  const known = KNOWN[symbol];
  if (known) return { symbol, ...known };
  const quote = QUOTES.find((q) => symbol.endsWith(q) && symbol.length > q.length) ?? 'USDT';
  const base = symbol.endsWith(quote) ? symbol.slice(0, -quote.length) : symbol;
  return {
    symbol,
    baseAsset: base,
    quoteAsset: quote,
    tickDecimals: 2,
    lotDecimals: 3,
    minPriceTicks: 50_00,
    maxPriceTicks: 200_00,
    initialPriceTicks: 100_00,
    priceExponent: WIRE_EXPONENT,
    qtyExponent: WIRE_EXPONENT,
  };
}

/** A non-negative integer `n` scaled by 10^-decimals, rendered with exactly `width` decimals. */
export function fixedDecimal(n: number, decimals: number, width = REST_DECIMALS): string {
  const s = String(n);
  const pad = s.length <= decimals ? '0'.repeat(decimals - s.length + 1) + s : s;
  const int = pad.slice(0, pad.length - decimals);
  const frac = pad.slice(pad.length - decimals);
  // Whole lots rendered at width 0 have no decimal point at all.
  return width === 0 ? int : `${int}.${frac}${'0'.repeat(width - decimals)}`;
}

/** Same as fixedDecimal for values beyond 2^53 (quote volumes). */
export function fixedDecimalBig(n: bigint, decimals: number, width = REST_DECIMALS): string {
  const s = n.toString();
  const pad = s.length <= decimals ? '0'.repeat(decimals - s.length + 1) + s : s;
  return `${pad.slice(0, pad.length - decimals)}.${pad.slice(pad.length - decimals)}${'0'.repeat(width - decimals)}`;
}

export class SymbolFormat {
  readonly tickSize: string;
  readonly stepSize: string;

  constructor(readonly spec: SymbolSpec) {
    this.tickSize = fixedDecimal(1, spec.tickDecimals);
    this.stepSize = fixedDecimal(1, spec.lotDecimals);
  }

  price(ticks: number): string {
    return fixedDecimal(ticks, this.spec.tickDecimals);
  }

  qty(lots: number): string {
    return fixedDecimal(lots, this.spec.lotDecimals);
  }

  /** price × qty exactly (ticks × lots can pass 2^53 only for absurd sizes, so BigInt is used). */
  quote(ticks: number, lots: number): string {
    return fixedDecimalBig(BigInt(ticks) * BigInt(lots), this.spec.tickDecimals + this.spec.lotDecimals);
  }

  quoteBig(ticksTimesLots: bigint): string {
    return fixedDecimalBig(ticksTimesLots, this.spec.tickDecimals + this.spec.lotDecimals);
  }

  /** Parse a REST price string back to ticks; undefined when it is not on the tick grid. */
  parsePriceTicks(text: string): number | undefined {
    return parseScaled(text, this.spec.tickDecimals);
  }
}

function parseScaled(text: string, decimals: number): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > decimals) return undefined;
  return Number(m[1] + frac.padEnd(decimals, '0'));
}
