import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatParams, formatTokens, formatTokPerSec, speedWord } from '../../src/estimator/format';

test('speed words follow the agreement: <3 wet cement, ~10 slow, ~30 comfortable', () => {
  assert.equal(speedWord(1.1), 'wet cement');
  assert.equal(speedWord(2.99), 'wet cement');
  assert.equal(speedWord(10), 'slow');
  assert.equal(speedWord(30), 'comfortable');
  assert.equal(speedWord(0), 'stalled');
  assert.equal(speedWord(NaN), 'stalled');
});

test('units: binary GB like engine logs, token counts in k, params in B', () => {
  assert.equal(formatBytes(24 * 1024 ** 3), '24.0 GB');
  assert.equal(formatBytes(-3.5 * 1024 ** 3), '-3.5 GB');
  assert.equal(formatBytes(607744), '0.6 MB');
  assert.equal(formatBytes(234 * 1024 ** 2), '234 MB');
  assert.equal(formatBytes(512 * 1024 ** 3), '512 GB');
  assert.equal(formatTokens(32768), '32k');
  assert.equal(formatTokens(1048576), '1M');
  assert.equal(formatTokens(18500), '19k');
  assert.equal(formatParams(30532122624), '30.5B');
  assert.equal(formatParams(1e12), '1.0T');
  assert.equal(formatTokPerSec(2.345), '2.3 tok/s');
  assert.equal(formatTokPerSec(137.8), '138 tok/s');
});
