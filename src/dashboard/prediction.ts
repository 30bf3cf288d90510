/**
 * The dashboard's prediction panel model (pure): the served prediction from pred:{SYM} and the aggregator's
 * online score of the model for that symbol (from its /health), in the units the page shows.
 */

export interface PredictionScore {
  scored: number;
  accuracy: number | null;
  baselineAccuracy: number | null;
  macroF1: number | null;
  baselineMacroF1: number | null;
  mse: number | null;
  baselineMse: number | null;
  r2: number | null;
}

export interface PredictionView {
  modelId: string | null;
  pDown: number | null;
  pFlat: number | null;
  pUp: number | null;
  direction: string | null;
  /** Expected return over the horizon, basis points. */
  expectedRetBp: number | null;
  bandBp: number | null;
  horizonSeconds: number | null;
  /** Wall-clock age of the feature vector the prediction scored (now − feature_ts). */
  ageMs: number | null;
  score: PredictionScore | null;
}

/** pred:{SYM} sits beside feat:{SYM} (same hash tag in cluster mode). */
export function predKeyOfFeat(featKey: string): string {
  return featKey.startsWith('feat:') ? `pred:${featKey.slice('feat:'.length)}` : `pred:${featKey}`;
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first service whose /health carries a predictor component scoring this symbol. */
export function scoreFromHealth(health: Readonly<Record<string, unknown>>, symbol: string): { modelId: string | null; horizonSeconds: number | null; score: PredictionScore } | null {
  for (const h of Object.values(health)) {
    if (!isObject(h) || !isObject(h.components)) continue;
    const p = h.components.predictor;
    if (!isObject(p) || !isObject(p.symbols)) continue;
    const s = p.symbols[symbol];
    if (!isObject(s)) continue;
    return {
      modelId: typeof p.model_id === 'string' ? p.model_id : null,
      horizonSeconds: num(p.horizon_seconds),
      score: {
        scored: num(s.scored) ?? 0,
        accuracy: num(s.accuracy),
        baselineAccuracy: num(s.baseline_accuracy),
        macroF1: num(s.macro_f1),
        baselineMacroF1: num(s.baseline_macro_f1),
        mse: num(s.mse),
        baselineMse: num(s.baseline_mse),
        r2: num(s.r2),
      },
    };
  }
  return null;
}

/** null when there is neither a prediction nor a score (no model served): the page shows no panel then. */
export function predictionView(pred: Readonly<Record<string, string>>, health: Readonly<Record<string, unknown>>, symbol: string, nowMs: number): PredictionView | null {
  const fromHealth = scoreFromHealth(health, symbol);
  if (Object.keys(pred).length === 0 && !fromHealth) return null;
  const retKey = Object.keys(pred).find((k) => /^expected_ret_\d+s$/.test(k));
  const ret = retKey ? num(pred[retKey]) : null;
  const featureTs = num(pred.feature_ts);
  return {
    modelId: pred.model_id ?? fromHealth?.modelId ?? null,
    pDown: num(pred.p_down),
    pFlat: num(pred.p_flat),
    pUp: num(pred.p_up),
    direction: pred.direction ?? null,
    expectedRetBp: ret === null ? null : ret * 10_000,
    bandBp: num(pred.band_bp),
    horizonSeconds: retKey ? Number(/\d+/.exec(retKey)?.[0]) : (fromHealth?.horizonSeconds ?? null),
    ageMs: featureTs === null ? null : Math.max(0, nowMs - featureTs * 1000),
    score: fromHealth?.score ?? null,
  };
}
