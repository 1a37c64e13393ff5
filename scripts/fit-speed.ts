// Fits the speed model to the published decode runs and writes src/estimator/speed-params.json:
// the constants (fitted on all usable rows), the error-band statistics (leave-one-model-family-out residuals),
// prefill efficiencies, and the cross-validated metrics the tests re-check. Run: npx tsx scripts/fit-speed.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allSpeedRows } from '../test/support/speed-published';
import { fitParams, crossValidate, usableRows, bandsFrom, crossValidatedBands, metricsOf, describeMaturity, fitPrefill, prefillRows, crossValidatePrefill, quantile, START } from '../test/support/speed-fit';

export function fitAll() {
  const rows = allSpeedRows();
  const use = usableRows(rows);
  const params = describeMaturity(fitParams(use), rows);
  params.prefillEfficiency = { ...START.prefillEfficiency, ...fitPrefill(prefillRows(rows)) };
  const cv = crossValidate(rows);
  const bands = bandsFrom(cv);
  const metrics = metricsOf(cv, crossValidatedBands(cv));
  const pcv = crossValidatePrefill(rows);
  const prefillBand = { n: pcv.length, lo: quantile(pcv.map((x) => x.ratio), 0.1), hi: quantile(pcv.map((x) => x.ratio), 0.9) };
  return { rows, cv, params, bands, metrics, prefillBand, excluded: rows.filter((r) => r.excluded).map((r) => `${r.label}: ${r.excluded}`) };
}

const round = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e5) / 1e5 : v);

if (require.main === module) {
  const f = fitAll();
  const out = {
    about:
      'Speed model constants (src/estimator/speed-model.ts) fitted by scripts/fit-speed.ts on test/fixtures/research/speed-published.csv (+ speed-calibration.csv); bands and metrics from leave-one-model-family-out cross-validation. Do not edit by hand.',
    params: f.params,
    bands: f.bands,
    prefillBand: f.prefillBand,
    metrics: f.metrics,
    excluded: f.excluded,
  };
  writeFileSync(join(__dirname, '..', 'src', 'estimator', 'speed-params.json'), JSON.stringify(out, round, 2) + '\n');
  process.stdout.write(JSON.stringify(f.metrics, round, 2) + '\n');
}
