/** The Go behaviours the engine reproduces, checked against values recorded from Go itself. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BadPatternError,
  compareKeys,
  emitGoYaml,
  formatFloat32,
  goMatch,
  parseGoYaml,
  parseHelmignore,
  resolveGoScalar,
} from '@chartsync/sidecar';
import {
  GO_FLOAT32_INPUTS,
  GO_FLOAT32_OUTPUTS,
  GO_KEY_ORDER,
  GO_MATCH,
  GO_YAML_FOLDED,
  GO_YAML_STRINGS,
} from './go-oracle.ts';

describe('filepath.Match port', () => {
  for (const c of GO_MATCH) {
    test(`${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.name)}`, () => {
      if (c.bad) assert.throws(() => goMatch(c.pattern, c.name), BadPatternError);
      else assert.equal(goMatch(c.pattern, c.name), c.match);
    });
  }

  test('no backtracking blow-up: long chunks, many stars, long names match in milliseconds', () => {
    const cpu = () => process.cpuUsage().user / 1000;
    const start = cpu();
    assert.equal(goMatch(`*${'a'.repeat(5000)}b`, 'a'.repeat(10000)), false);
    assert.equal(goMatch(`${'*a'.repeat(200)}*b`, 'a'.repeat(250)), false);
    assert.equal(goMatch(`${'*[a]'.repeat(50)}*b`, `${'a'.repeat(240)}b`), true);
    // Before: the 5000-byte chunk alone took 20 s (every start re-read the whole chunk).
    assert.ok(cpu() - start < 2000, `${cpu() - start} ms of CPU`);
  });

  test('.helmignore matching is bounded: past the budget the chart is refused, not matched for minutes', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `*[a]*[a]*[a]*[a]*[a]*b${i}`).join('\n');
    const rules = parseHelmignore(lines, 1_000_000);
    assert.throws(
      () => {
        for (let i = 0; i < 1000; i++) rules.ignores(`${'a'.repeat(200)}${i}`, false);
      },
      { name: 'HelmignoreTooCostly', message: /more than 1000000 steps/ },
    );
    // Within the (default) budget the result is Go's.
    const ok = parseHelmignore(`${Array.from({ length: 500 }, (_, i) => `*a*a*a*b${i}`).join('\n')}\n*7\n`);
    assert.equal(ok.ignores(`${'a'.repeat(200)}7`, false), true);
    assert.equal(ok.ignores(`${'a'.repeat(200)}8`, false), false);
  });
});

describe('strconv.FormatFloat(v, g, -1, 32)', () => {
  test('matches Go for every recorded value', () => {
    assert.deepEqual(GO_FLOAT32_INPUTS.map(formatFloat32), GO_FLOAT32_OUTPUTS);
  });
});

describe('go-yaml v2 scalar resolution', () => {
  const cases: [string, unknown][] = [
    ['yes', true],
    ['On', true],
    ['n', false],
    ['OFF', false],
    ['~', null],
    ['', null],
    ['0755', 493n],
    ['1_000', 1000n],
    ['0x1F', 31n],
    ['-0b11', -3n],
    ['1.0', 1],
    ['.5', 0.5],
    ['1e3', 1000],
    ['08', 8],
    ['1.2.3', '1.2.3'],
    ['2023-01-01', '2023-01-01'],
    ['2023-01-01T10:00:00Z', '2023-01-01T10:00:00Z'],
    ['1:20', '1:20'],
    ['hello', 'hello'],
    ['18446744073709551615', 18446744073709551615n],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} -> ${String(expected)}`, () =>
      assert.equal(resolveGoScalar(text), expected));
  }

  test('quoted scalars stay strings, merge keys merge, errors name file and line', () => {
    const v = parseGoYaml('a: "yes"\nb: yes\nbase: &b {x: 1}\nm:\n  <<: *b\n  z: 2\n', 'f.yaml') as Record<
      string,
      unknown
    >;
    assert.equal(v.a, 'yes');
    assert.equal(v.b, true);
    assert.deepEqual({ ...(v.m as object) }, { x: 1n, z: 2n });
    assert.throws(() => parseGoYaml('a: [1\n', 'bad.yaml'), /bad\.yaml:\d+: /);
  });
});

describe('go-yaml v2 marshalling', () => {
  for (const [value, expected] of GO_YAML_STRINGS) {
    test(`string ${JSON.stringify(value)}`, () => {
      assert.equal(emitGoYaml({ k: value }), expected);
    });
  }

  GO_YAML_FOLDED.forEach(([value, expected], i) => {
    test(`long scalar folded at 80 columns like go-yaml (case ${i})`, () => {
      assert.equal(emitGoYaml(value as never), expected);
    });
  });

  test('map key order', () => {
    const shuffled = [...GO_KEY_ORDER].reverse();
    assert.deepEqual(shuffled.sort(compareKeys), GO_KEY_ORDER);
  });

  test('nested maps and lists exactly as go-yaml writes them (recorded from Go), reading back the same', () => {
    const data = {
      dependencies: [{ name: 'a', repository: '', tags: ['x', 'y'], iv: [['p', 'q'], {}] }],
      empty: [],
      none: {},
      n: 1.5,
      b: false,
      nested: { inner: { list: ['a'], text: 'multi\nline' } },
    };
    const text = emitGoYaml(data);
    assert.equal(
      text,
      [
        'b: false',
        'dependencies:',
        '- iv:',
        '  - - p',
        '    - q',
        '  - {}',
        '  name: a',
        '  repository: ""',
        '  tags:',
        '  - x',
        '  - "y"',
        'empty: []',
        '"n": 1.5',
        'nested:',
        '  inner:',
        '    list:',
        '    - a',
        '    text: |-',
        '      multi',
        '      line',
        'none: {}',
        '',
      ].join('\n'),
    );
    const back = parseGoYaml(text, 'x') as Record<string, unknown>;
    assert.equal((back.dependencies as Record<string, unknown>[])[0]?.repository, '');
    assert.equal(
      ((back.nested as Record<string, Record<string, unknown>>).inner as Record<string, unknown>).text,
      'multi\nline',
    );
  });
});
