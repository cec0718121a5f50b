/** The strict exposition parser the metrics tests rely on: what it accepts and what it refuses. */
import { describe, expect, it } from 'vitest';
import { ExpositionError, parseExposition, sampleSum } from '../../support/prom-text.js';

const GOOD = `# HELP a_total Things.
# TYPE a_total counter
a_total{kind="x"} 3
a_total{kind="y\\"q\\\\\\n"} 1.5e2
# HELP h Latency.
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 3
h_bucket{le="+Inf"} 4
h_sum 2.5
h_count 4
# TYPE g gauge
g NaN
g{x="1"} -Inf 1700000000000
`;

describe('parseExposition', () => {
  it('parses counters, histograms, gauges, escapes and timestamps', () => {
    const f = parseExposition(GOOD);
    expect(f.get('a_total')?.type).toBe('counter');
    expect(f.get('a_total')?.help).toBe('Things.');
    expect(f.get('a_total')?.samples[1].labels.kind).toBe('y"q\\\n');
    expect(sampleSum(f, 'a_total')).toBe(153);
    expect(sampleSum(f, 'h_count')).toBe(4);
    expect(f.get('h')?.samples).toHaveLength(5);
    expect(sampleSum(f, 'g', { x: '1' })).toBe(-Infinity);
  });

  it.each([
    ['no final newline', 'a 1'],
    ['bad metric name', '1a 1\n'],
    ['bad value', 'a one\n'],
    ['bad escape', 'a{x="\\t"} 1\n'],
    ['unterminated label', 'a{x="1} 1\n'],
    ['repeated label', 'a{x="1",x="2"} 1\n'],
    ['duplicate series', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['negative counter', '# TYPE c counter\nc -1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['unknown type', '# TYPE a thing\n'],
    ['interleaved families', 'a 1\nb 1\na{x="1"} 1\n'],
    ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['histogram not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['histogram count mismatch', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['histogram without count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\n'],
    ['garbage after value', 'a 1 2 3\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });
});
