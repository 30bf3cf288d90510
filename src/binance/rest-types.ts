import { z } from 'zod';

/**
 * Binance spot REST market-data JSON shapes (`/api/v3/*`), shared by the simulator (which serves them),
 * the REST client (which validates them) and the lake (which archives them). Prices and quantities stay
 * the venue's exact decimal strings.
 */

const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string');

export const depthLevelSchema = z.tuple([decimalString, decimalString]);

export const depthResponseSchema = z.object({
  lastUpdateId: z.number().int().nonnegative(),
  bids: z.array(depthLevelSchema),
  asks: z.array(depthLevelSchema),
});
export type DepthResponse = z.infer<typeof depthResponseSchema>;

export const tradeResponseSchema = z.object({
  id: z.number().int(),
  price: decimalString,
  qty: decimalString,
  quoteQty: decimalString,
  time: z.number().int(),
  isBuyerMaker: z.boolean(),
  isBestMatch: z.boolean(),
});
export type RestTrade = z.infer<typeof tradeResponseSchema>;

export const aggTradeResponseSchema = z.object({
  a: z.number().int(),
  p: decimalString,
  q: decimalString,
  f: z.number().int(),
  l: z.number().int(),
  T: z.number().int(),
  m: z.boolean(),
  M: z.boolean(),
});
export type RestAggTrade = z.infer<typeof aggTradeResponseSchema>;

/** [openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase, takerBuyQuote, ignore] */
export const klineResponseSchema = z.tuple([
  z.number().int(),
  decimalString,
  decimalString,
  decimalString,
  decimalString,
  decimalString,
  z.number().int(),
  decimalString,
  z.number().int(),
  decimalString,
  decimalString,
  z.string(),
]);
export type RestKline = z.infer<typeof klineResponseSchema>;

/** The part of `/api/v3/exchangeInfo` the client reads: the venue's published rate limits. */
export const exchangeInfoRateLimitsSchema = z
  .object({
    rateLimits: z.array(
      z
        .object({
          rateLimitType: z.string(),
          interval: z.string(),
          intervalNum: z.number().int().positive(),
          limit: z.number().int().positive(),
        })
        .passthrough(),
    ),
  })
  .passthrough();
export type ExchangeInfoRateLimits = z.infer<typeof exchangeInfoRateLimitsSchema>;

/** REQUEST_WEIGHT per 1 MINUTE from exchangeInfo.rateLimits, or undefined when the venue publishes none. */
export function requestWeightPerMinute(info: ExchangeInfoRateLimits): number | undefined {
  const r = info.rateLimits.find((l) => l.rateLimitType === 'REQUEST_WEIGHT' && l.interval === 'MINUTE' && l.intervalNum === 1);
  return r?.limit;
}

export const binanceErrorSchema = z.object({ code: z.number().int(), msg: z.string() });
export type BinanceErrorBody = z.infer<typeof binanceErrorSchema>;

/** Binance error codes the simulator and client use. */
export const BinanceErrorCode = {
  UNKNOWN: -1000,
  TOO_MANY_REQUESTS: -1003,
  ILLEGAL_CHARS: -1100,
  TOO_MANY_PARAMETERS: -1101,
  MANDATORY_PARAM_EMPTY_OR_MALFORMED: -1102,
  UNKNOWN_PARAM: -1103,
  INVALID_INTERVAL: -1120,
  INVALID_SYMBOL: -1121,
  INVALID_PARAMETER: -1130,
} as const;
