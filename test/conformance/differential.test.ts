/**
 * Divergences from `helm package` found by packaging a corpus of real-world-shaped charts with
 * helm and chartsync: each case is a minimal chart on which the two must agree — the same
 * archive (Chart.yaml and Chart.lock byte-identical) or both refusing the chart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartYaml } from '../harness/chart-fixtures.ts';
import { agreementSuite } from './conform.ts';

const { agree } = agreementSuite('chartsync-differential-');

const chart = (extra = ''): string =>
  `${chartYaml({ apiVersion: 'v2', name: 'c', version: '1.0.0' })}${extra}`;
const lock = (deps: string): string =>
  `dependencies:${deps}\ndigest: sha256:aaa\ngenerated: "2020-01-01T00:00:00Z"\n`;

/**
 * YAML that go-yaml v2 reads otherwise than YAML 1.2 does: characters its reader refuses
 * (a form feed is the one editors leave behind), and its own escapes (`\'` yes, `\/` no).
 */
const YAML_TEXT: [string, string][] = [
  ['a form feed in a comment', 'a: 1\n# page\f\n'],
  ['a DEL in a string', 'a: "x\x7fy"\n'],
  ['a C1 control', 'a: x\u0085y\u0080\n'],
  ['a NUL', 'a: 1 # \0\n'],
  ['U+FFFE', 'a: "\ufffe"\n'],
  ['escaped quote', 'a: "it\\\'s"\n'],
  ['escaped slash (JSON-style)', 'a: "https:\\/\\/example.com"\n'],
  ['surrogate pair escapes', 'a: "\\ud83d\\ude00"\n'],
  ['escape past U+10FFFF', 'a: "\\U00110000"\n'],
  [
    'every go-yaml escape',
    'a: "\\0\\a\\b\\t\\n\\v\\f\\r\\e\\ \\"\\\'\\\\\\N\\_\\L\\P\\x41\\u00e9\\U0001F600"\n',
  ],
  ['an escaped line break', 'a: "x\\\n  y"\n'],
  ['a bad escape in a comment and a block scalar', 'a: 1 # "\\/"\nb: |\n  "\\/"\n'],
  ['a bad escape in a second document', 'a: 1\n---\nb: "\\/"\n'],
  // escapes both read alike, or both refuse, and markers the first document starts with
  ['a regex in a plain scalar', 'a: ^https?:\\/\\/[a-z]+\\.example\\.com$\nb: "\\\\d+"\n'],
  ['an escape both refuse', 'a: "\\d+"\n'],
  ['a leading --- and a form feed in a second document', '---\na: 1\n---\nb: "\f"\n'],
  ['a leading --- and a bad escape in the first document', '--- # values\na: 1\nb: "\\/"\n'],
  ['a document end marker', 'a: "x"\n...\n# \f\n'],
  [
    "a form feed in a second document past the reader's chunk",
    `a: 1\n---\n${'# pad\n'.repeat(200)}b: "\f"\n`,
  ],
];

/**
 * Line breaks as go-yaml reads them: a quoted scalar's or a flow collection's continuation
 * lines need no indentation (a long description wrapped at column 0), and NEL (U+0085) ends a
 * line, comments included.
 */
const LINE_BREAKS: [string, string][] = [
  ['a double-quoted description wrapped at column 0', 'description: "A chart that deploys\nthe thing"\n'],
  ['a single-quoted description wrapped at column 0', "description: 'It''s a chart\nfor things'\n"],
  ['a nested quoted value wrapped at column 0', 'annotations:\n  a: "x\ny"\n  b: \'p\n q\'\n'],
  ['a wrapped quote in a flow list', 'keywords: ["a\nb", \'c\nd\']\n'],
  ['a document marker in a wrapped quote', 'description: "x\n--- y"\n'],
  ['flow list items at column 0', 'keywords: [\na,\nb]\n'],
  ['a flow map wrapped at column 0', 'annotations: {a: "x, y",\nb: \'[z]\', # c\nc: d}\n'],
  ['NEL ending lines', 'description: x\u0085annotations:\u0085  a: "p\u0085q"\u0085'],
  ['NEL ending a comment', '# note\u0085description: from the comment\n'],
  ['NEL in a plain scalar', 'description: x\u0085y\n'],
  // LS and PS break lines as NEL does
  ['LS ending a line', 'description: x\u2028annotations:\u2028  a: b\n'],
  ['LS in a double-quoted description', 'description: "a\u2028b"\n'],
  ['PS in a plain description', 'description: a\u2029  b\n'],
  ['LS in a block scalar', 'description: |\n  a\u2028  b\n'],
  ['LS ending a comment', '# note\u2028description: from the comment\n'],
];

/**
 * Strings helm writes back (annotations, import-values, the lock: fields it does not sanitise)
 * pass through JSON and go-yaml's reader on save: some characters fail it, NEL folds.
 */
const WRITTEN_BACK: [string, string][] = [
  ['a C1 control escaped in an annotation', 'annotations:\n  a: "x\\x80y"\n'],
  ['DEL escaped in an annotation key', 'annotations:\n  "k\\x7f": v\n'],
  ['U+FFFF escaped in an annotation', 'annotations:\n  a: "\\uFFFF"\n'],
  [
    'NEL escapes in annotations',
    'annotations:\n  a: "x \\N y"\n  b: "x\\N\\N \\Ny"\n  c: "\\Nlead"\n  d: "trail\\N"\n  e: "a\\t\\Nb"\n',
  ],
  [
    'line and paragraph separators and CR',
    'annotations:\n  a: "x\\Ly"\n  b: "x\\P\\Ly"\n  c: "x\\ry"\n  deep: "\\L"\n',
  ],
  ['NEL escaped in an annotation key', 'annotations:\n  "k\\Ney": v\n'],
  ['a document marker after an escaped NEL', 'annotations:\n  a: "x\\N--- y"\n  b: "x\\N---"\n'],
  [
    'a C1 control in import-values',
    'dependencies:\n- name: sub\n  version: 0.1.0\n  import-values: ["\\x9f"]\n',
  ],
];

/** Tags, directives and keys go-yaml judges otherwise than js-yaml and the yaml library. */
const YAML_STRUCTURE: [string, string][] = [
  ['!!int on a word', 'a: !!int abc\n'],
  ['!!bool on a word', 'a: !!bool maybe\n'],
  ['!!float on a word', 'a: !!float x\n'],
  ['!!null on a word', 'a: !!null x\n'],
  ['core tags that fit', 'a: !!int "12"\nb: !!float 1\nc: !!bool yes\nd: !!null ~\ne: !!str 1\n'],
  ['%YAML 1.2', '%YAML 1.2\n---\na: 1\n'],
  ['%YAML 1.1 then a bad escape', '%YAML 1.1\n---\na: "\\/"\n'],
  ['an unknown directive', '%FOO bar\n---\na: 1\n'],
  ['a null key', 'a: 1\nnull: x\n'],
  ['a ~ key', '~: x\n'],
  ['an empty flow key', 'a: {: b}\n'],
  ['a collection key', 'a: 1\n[b, c]: d\n'],
  ['an explicit key', '? a\n: b\n'],
  ['boolean and number keys', 'true: a\n1: b\n1.5: c\n'],
  ['spaced colons', 'a : 1\nb  :  2\n'],
  // go-yaml's scanner drops a simple key once the `:` is more than 1024 characters past its start
  ['a key of 1024 characters', `${'k'.repeat(1024)}: v\n`],
  ['a key of 1025 characters', `${'k'.repeat(1025)}: v\n`],
  ['a second key of 1025 characters', `a: 1\n${'k'.repeat(1025)}: v\n`],
  ['a nested key of 1025 characters', `a:\n  ${'k'.repeat(1025)}: v\n`],
  ['a quoted key of 1023 characters and its quotes', `"${'k'.repeat(1023)}": v\n`],
  ['a key of 1020 characters and spaces before its colon', `${'k'.repeat(1020)}      : v\n`],
  ['a key of 1000 two-byte characters', `${'é'.repeat(1000)}: v\n`],
  ['a key of 1025 two-byte characters', `${'é'.repeat(1025)}: v\n`],
  ['a key of 600 astral characters', `${'😀'.repeat(600)}: v\n`],
  ['a flow key of 1025 characters', `a: {${'k'.repeat(1025)}: v}\n`],
  ['a long value', `a: ${'v'.repeat(3000)}\n`],
];

/**
 * `.helmignore` rules anchored with more than one `/`: helm strips one leading `/` each time
 * the rule is tried (its matcher trims the pattern it closed over), so `//b.txt` fails on the
 * first path it is tried on and matches as `b.txt` from the second on. Walk order decides.
 */
const ANCHORS: [string, string][] = [
  ['a rule anchored twice', '//b.txt\n'],
  ['a rule anchored three times, tried on the third path', '///b.txt\n'],
  ['a rule anchored past the walk', `${'/'.repeat(20)}b.txt\n`],
  ['a directory rule anchored twice', '//templates/\n'],
  ['a negated rule anchored twice', '!//templates/\n!//Chart.yaml\n'],
  ['a rule anchored twice after one that decides first', 'a.txt\n//b.txt\n'],
];

/**
 * Characters assigned after Unicode 15.0 (Go's tables; Node's are at 17): helm's sanitizeString
 * drops them from Chart.yaml's free-text fields as unprintable.
 */
const NEWER_UNICODE: [string, string][] = [
  ['Unicode 16 emoji in the description', 'description: "tired \u{1fae9} and a harp \u{1fa89}"\n'],
  ['Unicode 15.1 ideographic description characters', 'description: "\u{2ffc}\u{2fff} CJK"\n'],
  [
    'Unicode 16 letters in a keyword and a maintainer',
    'keywords: ["a\u{10d4a}b"]\nmaintainers:\n- name: "x\u{1e5d0}"\n',
  ],
  [
    'Unicode 17 symbols in annotations and home',
    'home: "https://e.x/\u{1fbfa}"\nannotations:\n  a: "\u{1f6d8}"\n',
  ],
  ['Unicode 15.0 characters stay', 'description: "\u{1fae8} \u{31350} \u{11f00}"\n'],
  // encoding/json matches field names by Unicode simple folding: long s is s, Kelvin sign k
  ['keys spelled with a long s and a Kelvin sign', '\u017fources: [https://s.example]\n\u212aeywords: [k]\n'],
];

/**
 * sigs.k8s.io/yaml converts YAML to JSON before decoding, and JSON has no NaN or infinity: a
 * non-finite float fails the file unless a Go string field turns it into text first. A float
 * literal past float64's range is a string to go-yaml.
 */
const NON_FINITE: [string, Record<string, string>, 'same' | 'both refuse'][] = [
  ['values.yaml: .inf', { 'values.yaml': 'a: .inf\n' }, 'both refuse'],
  ['values.yaml: -.Inf nested in a flow list', { 'values.yaml': 'a:\n  b: [1, -.Inf]\n' }, 'both refuse'],
  ['values.yaml: .NaN through an alias', { 'values.yaml': 'a: &x .NaN\nb: *x\n' }, 'both refuse'],
  ['values.yaml: !!float .inf', { 'values.yaml': 'a: !!float +.inf\n' }, 'both refuse'],
  ['values.yaml: .nan in a second document', { 'values.yaml': 'a: 1\n---\nb: .nan\n' }, 'same'],
  [
    'values.yaml: quoted, tagged !!str, a key, a block scalar',
    { 'values.yaml': 'a: ".inf"\nb: !!str .nan\n.inf: 1\nc: |\n  .inf\n' },
    'same',
  ],
  [
    'values.yaml: floats past float64 are strings',
    { 'values.yaml': 'a: 1e400\nb: -1.5e999\nc: .5e400\nd: 1e-400\n' },
    'same',
  ],
  ['values.yaml: !!float on a float past float64', { 'values.yaml': 'a: !!float 1e400\n' }, 'both refuse'],
  [
    "a subchart's values.yaml: .inf",
    {
      'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
      'charts/sub/values.yaml': 'a: .inf\n',
    },
    'both refuse',
  ],
  [
    'Chart.yaml: string fields take .inf and .nan as text',
    { 'Chart.yaml': chart('appVersion: .inf\nAnnotations: {a: -.inf, b: .nan}\nkeywords: [.Inf]\n') },
    'same',
  ],
  [
    'Chart.yaml: string fields take 1e400 as written',
    { 'Chart.yaml': chart('appVersion: 1e400\ndescription: 2e400\nkeywords: [.5e999]\n') },
    'same',
  ],
  ['Chart.yaml: .inf under an unknown key', { 'Chart.yaml': chart('x:\n  y: [.inf]\n') }, 'both refuse'],
  [
    'Chart.yaml: .nan under an unknown maintainer key',
    { 'Chart.yaml': chart('maintainers:\n- name: a\n  x: .nan\n') },
    'both refuse',
  ],
  [
    'Chart.yaml: .nan in import-values',
    {
      'Chart.yaml': chart(
        'dependencies:\n- name: sub\n  version: 0.1.0\n  import-values:\n  - child: a\n    parent: .nan\n',
      ),
      'charts/sub/Chart.yaml': 'apiVersion: v2\nname: sub\nversion: 0.1.0\n',
    },
    'both refuse',
  ],
  ['Chart.lock: .inf under an unknown key', { 'Chart.lock': `${lock(' []')}x: .inf\n` }, 'both refuse'],
];

/**
 * Map keys on the way to JSON: sigs.k8s.io/yaml spells non-finite float keys back in YAML
 * (`.inf`), and has no case for a uint64 key (an integer past int64), which fails the file —
 * in values.yaml's first document too. ParseUint takes no sign, so `+9223372036854775808` is a
 * float.
 */
const JSON_KEYS: [string, Record<string, string>, 'same' | 'both refuse'][] = [
  [
    'non-finite float keys in annotations',
    { 'Chart.yaml': chart('annotations:\n  .inf: a\n  -.Inf: b\n  .nan: c\n') },
    'same',
  ],
  [
    'a uint64 key in annotations',
    { 'Chart.yaml': chart('annotations:\n  18446744073709551615: a\n') },
    'both refuse',
  ],
  [
    'a uint64 key under an unknown Chart.yaml key',
    { 'Chart.yaml': chart('x: {0x8000000000000000: a}\n') },
    'both refuse',
  ],
  [
    'a uint64 key in values.yaml',
    { 'values.yaml': 'a:\n  b: [{1_8446_7440_7370_9551_615: x}]\n' },
    'both refuse',
  ],
  [
    'a uint64 key in a later values.yaml document',
    { 'values.yaml': 'a: 1\n---\n18446744073709551615: x\n' },
    'same',
  ],
  [
    'int64 and signed keys past it in values.yaml',
    { 'values.yaml': '9223372036854775807: a\n+9223372036854775808: b\n-9223372036854775809: c\n' },
    'same',
  ],
  [
    'a signed integer past int64 in string fields',
    {
      'Chart.yaml': chart(
        'appVersion: +9223372036854775808\nkeywords: [+18446744073709551615, 18446744073709551615]\n',
      ),
    },
    'same',
  ],
];

/**
 * Numbers in import-values go through JSON as float64s and back through go-yaml on save: an
 * integral value whose JSON text fits int64 or uint64 is written as an integer, anything else
 * as FormatFloat('g', -1, 64).
 */
const IMPORT_VALUE_NUMBERS = [
  '1e20',
  '1e21',
  '0.000001',
  '1e-7',
  '1234567.5',
  '123456.5',
  '0.00001234',
  '1.5e300',
  '-9223372036854775808',
  '18446744073709551615',
  '12345678901234567890',
  '9007199254740993',
  '1.0',
  '-0.0',
  '{a: 1234567.5, b: [1e20]}',
];

/**
 * Tagged scalars as go-yaml reads them: a tag outside its core set keeps the text unresolved,
 * `!!binary` is strict base64 decoded to a string, `!!timestamp` stays its text (and must be one).
 */
const TAGGED: [string, Record<string, string>, 'same' | 'both refuse'][] = [
  ['Chart.yaml: a local tag keeps the text', { 'Chart.yaml': chart('appVersion: !custom 1.0\n') }, 'same'],
  ['Chart.yaml: the non-specific tag keeps the text', { 'Chart.yaml': chart('appVersion: ! 1.0\n') }, 'same'],
  [
    'Chart.yaml: !!set on a scalar keeps the text',
    { 'Chart.yaml': chart('appVersion: !!set 1.0\n') },
    'same',
  ],
  [
    'Chart.yaml: !!binary decodes to a string',
    { 'Chart.yaml': chart('appVersion: !!binary MS4w\n') },
    'same',
  ],
  [
    'Chart.yaml: !!binary over lines',
    { 'Chart.yaml': chart('description: !!binary |\n  MS4w\n  MS4w\n') },
    'same',
  ],
  [
    'Chart.yaml: !!binary with a space',
    { 'Chart.yaml': chart('description: !!binary YWJj ZA==\n') },
    'both refuse',
  ],
  [
    'Chart.yaml: !!timestamp stays text',
    { 'Chart.yaml': chart("appVersion: !!timestamp 2024-01-01\ndescription: !!timestamp '2024-01-02'\n") },
    'same',
  ],
  [
    'Chart.yaml: !!timestamp on a number',
    { 'Chart.yaml': chart('appVersion: !!timestamp 123\n') },
    'both refuse',
  ],
  ['values.yaml: !!binary without padding', { 'values.yaml': 'a: !!binary YQ\n' }, 'both refuse'],
  [
    'values.yaml: !!binary with padding inside',
    { 'values.yaml': 'a: !!binary |\n  YQ==\n  YQ==\n' },
    'both refuse',
  ],
  ['values.yaml: !!binary starting with =', { 'values.yaml': 'a: !!binary =YQ=\n' }, 'both refuse'],
  ['values.yaml: !!int past uint64', { 'values.yaml': 'a: !!int 99999999999999999999\n' }, 'both refuse'],
  [
    'values.yaml: !!int on hex, !!float on an int, !!bool on yes',
    { 'values.yaml': 'a: !!int 0x1F\nb: !!float 1\nc: !!bool yes\n' },
    'same',
  ],
  [
    'values.yaml: valid !!binary',
    { 'values.yaml': 'a: !!binary YQ==\nb: !!binary |\n  YWJj\n  ZA==\n' },
    'same',
  ],
];

describe('differential: agreement with helm on real-world shapes', () => {
  test('numbers in import-values, written back as go-yaml writes JSON numbers', async () => {
    const values = IMPORT_VALUE_NUMBERS.map((v) => `\n  - ${v}`).join('');
    const deps = `dependencies:\n- name: sub\n  version: 0.1.0\n  import-values:${values}\n`;
    assert.equal(
      await agree({
        'Chart.yaml': chart(deps),
        'charts/sub/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'sub', version: '0.1.0' }),
      }),
      'same',
    );
  });
  for (const [label, files, expected] of TAGGED) {
    test(`tagged scalars: ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), ...files }), expected);
    });
  }
  for (const [label, files, expected] of JSON_KEYS) {
    test(`keys through JSON: ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), ...files }), expected);
    });
  }
  for (const [label, files, expected] of NON_FINITE) {
    test(`non-finite floats: ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), ...files }), expected);
    });
  }
  for (const [label, text] of NEWER_UNICODE) {
    test(`Chart.yaml: ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(text) }), 'same');
    });
  }
  for (const [label, rules] of ANCHORS) {
    test(`.helmignore: ${label}`, async () => {
      await agree({
        'Chart.yaml': chart(),
        '.helmignore': rules,
        'a.txt': 'a\n',
        'b.txt': 'b\n',
        'templates/b.txt': 'b\n',
        'templates/cm.yaml': 'kind: ConfigMap\n',
      });
    });
  }
  for (const [label, text] of YAML_STRUCTURE) {
    test(`values.yaml: ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(), 'values.yaml': text });
    });
  }
  for (const [label, text] of [
    ['a tag that does not fit', 'description: !!int abc\n'],
    ['a tag that fits', 'appVersion: !!float 1\n'],
  ]) {
    test(`Chart.yaml: ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(text as string) });
    });
  }
  test('Chart.yaml: %YAML 1.2', async () => {
    const text = `%YAML 1.2\n---\n${chart()}`;
    assert.equal(await agree({ 'Chart.yaml': text }), 'both refuse');
  });
  for (const [label, text] of WRITTEN_BACK) {
    test(`Chart.yaml: ${label}`, async () => {
      await agree({
        'Chart.yaml': chart(text),
        'charts/sub/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'sub', version: '0.1.0' }),
      });
    });
  }
  test('Chart.lock: a DEL escaped in the digest', async () => {
    const text = 'dependencies: []\ndigest: "sha256:\\x7f"\ngenerated: "2020-01-01T00:00:00Z"\n';
    assert.equal(await agree({ 'Chart.yaml': chart(), 'Chart.lock': text }), 'both refuse');
  });
  for (const [label, text] of LINE_BREAKS) {
    test(`Chart.yaml: ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(text) });
    });
    test(`values.yaml (through the go-yaml path): ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(), 'values.yaml': `t: !custom x\n${text}` });
    });
  }
  for (const [label, text] of YAML_TEXT) {
    test(`values.yaml: ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(), 'values.yaml': text });
    });
    test(`Chart.yaml: ${label}`, async () => {
      await agree({ 'Chart.yaml': chart(text.replace(/^a:/, 'description:').replace(/\nb:[\s\S]*/, '\n')) });
    });
  }
  // Go keeps an empty list apart from a missing one: `dependencies: []` stays `[]`.
  for (const [label, deps, expected] of [
    ['an empty list', ' []', 'same'],
    ['null', '', 'same'],
  ] as const) {
    test(`Chart.lock with dependencies as ${label}`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), 'Chart.lock': lock(deps) }), expected);
    });
  }
  for (const [label, text] of [
    ['empty', ''],
    ['only a comment', '# no dependencies\n'],
    ['null', '~\n'],
  ] as const) {
    test(`Chart.lock ${label}: no lock is written`, async () => {
      assert.equal(await agree({ 'Chart.yaml': chart(), 'Chart.lock': text }), 'same');
    });
  }
  // `generated` goes through Go's time.Time: calendar and clock ranges checked, nanoseconds kept
  for (const generated of [
    '2024-02-30T00:00:00Z',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '0000-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-02-01T24:00:00Z',
    '2024-02-01T23:60:00Z',
    '2016-12-31T23:59:60Z',
    '2024-02-01T10:00:00+24:00',
    '2024-02-01T10:00:00+23:59',
    '2024-02-01T10:00:00-05:60',
    '2024-02-01T10:00:00+05:61',
    '2024-02-01T10:00:00+23:60',
    '2024-02-01T10:00:00-00:00',
    '2024-01-10T12:34:56.1234567891Z',
    '2024-01-10T12:34:56.1234567890Z',
    '2024-01-10T12:34:56.0000000001Z',
  ]) {
    test(`Chart.lock generated ${generated}`, async () => {
      const text = `dependencies: []\ndigest: sha256:aaa\ngenerated: "${generated}"\n`;
      await agree({ 'Chart.yaml': chart(), 'Chart.lock': text });
    });
  }
  test('an empty requirements.lock after a Chart.lock in a v2 chart', async () => {
    assert.equal(
      await agree({ 'Chart.yaml': chart(), 'Chart.lock': lock(' []'), 'requirements.lock': '' }),
      'same',
    );
  });
  for (const [depth, expected] of [
    [10_000, 'same'],
    [10_001, 'both refuse'],
  ] as const) {
    test(`values.schema.json nested ${depth} levels`, async () => {
      const schema = `${'['.repeat(depth - 1)}{"a": "[{"}${']'.repeat(depth - 1)}`;
      assert.equal(await agree({ 'Chart.yaml': chart(), 'values.schema.json': schema }), expected);
    });
  }
  // Two subchart directories whose Chart.yaml give the same name (a vendored copy next to the
  // directory a file:// dependency points at) both land in charts/<name>/, in helm's random
  // order: the archives hold the same entries twice, compared as multisets.
  test('two subchart directories with the same chart name', async () => {
    const sub = (version: string) => chartYaml({ apiVersion: 'v2', name: 's', version });
    assert.equal(
      await agree({
        'Chart.yaml': chart(),
        'charts/s/Chart.yaml': sub('0.0.1'),
        'charts/s/values.yaml': 'stub: true\n',
        'charts/real/Chart.yaml': sub('2.0.0'),
        'charts/real/values.yaml': 'real: true\n',
        'charts/real/templates/cm.yaml': 'kind: ConfigMap\n',
      }),
      'same',
    );
  });
  test('requirements.lock with an empty dependency list in a v2 chart', async () => {
    assert.equal(await agree({ 'Chart.yaml': chart(), 'requirements.lock': lock(' []') }), 'same');
  });
});
