import { describe, expect, it } from 'vitest';
import { predictionView, predKeyOfFeat, scoreFromHealth } from '../../../src/dashboard/prediction.js';

const health = {
  'ingest-sbe': { status: 'healthy', components: { sbe_websocket: {} } },
  aggregator: {
    status: 'healthy',
    components: {
      predictor: {
        status: 'serving',
        model_id: 'abcdef0123456789',
        horizon_seconds: 10,
        symbols: { BTCUSDT: { scored: 40, accuracy: 0.5, baseline_accuracy: 0.3, macro_f1: 0.41, baseline_macro_f1: 0.2, mse: 2e-8, baseline_mse: 2.1e-8, r2: 0.04 } },
      },
    },
  },
};

describe('prediction panel model', () => {
  it('pred key beside feat, cluster hash tag kept', () => {
    expect(predKeyOfFeat('feat:BTCUSDT')).toBe('pred:BTCUSDT');
    expect(predKeyOfFeat('feat:{BTCUSDT}')).toBe('pred:{BTCUSDT}');
  });

  it('reads the online score of the symbol from whichever service serves it', () => {
    expect(scoreFromHealth(health, 'BTCUSDT')).toEqual({
      modelId: 'abcdef0123456789',
      horizonSeconds: 10,
      score: { scored: 40, accuracy: 0.5, baselineAccuracy: 0.3, macroF1: 0.41, baselineMacroF1: 0.2, mse: 2e-8, baselineMse: 2.1e-8, r2: 0.04 },
    });
    expect(scoreFromHealth(health, 'ETHUSDT')).toBeNull();
    expect(scoreFromHealth({ aggregator: { status: 'unreachable', error: 'x' } }, 'BTCUSDT')).toBeNull();
  });

  it('turns pred:SYM into numbers: probabilities, expected return in bp, age', () => {
    const pred = { p_down: '0.2', p_flat: '0.5', p_up: '0.3', direction: 'flat', expected_ret_10s: '0.00012', band_bp: '0.25', model_id: 'abcdef0123456789', feature_ts: '1000' };
    const v = predictionView(pred, health, 'BTCUSDT', 1_002_500);
    expect(v).toMatchObject({ pDown: 0.2, pFlat: 0.5, pUp: 0.3, direction: 'flat', bandBp: 0.25, horizonSeconds: 10, ageMs: 2500, modelId: 'abcdef0123456789' });
    expect(v?.expectedRetBp).toBeCloseTo(1.2, 12);
    expect(v?.score?.scored).toBe(40);
  });

  it('no panel without a model; a score alone (pred expired) still shows', () => {
    expect(predictionView({}, {}, 'BTCUSDT', 0)).toBeNull();
    const v = predictionView({}, health, 'BTCUSDT', 0);
    expect(v).toMatchObject({ pUp: null, expectedRetBp: null, modelId: 'abcdef0123456789', horizonSeconds: 10 });
  });
});
