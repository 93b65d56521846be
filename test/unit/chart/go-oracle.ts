/** Expected values recorded from Go 1.26 (path/filepath.Match, strconv.FormatFloat, go-yaml v2 Marshal). */
export const GO_MATCH: { pattern: string; name: string; match: boolean; bad: boolean }[] = [
  { bad: false, match: true, name: 'a.txt', pattern: '*.txt' },
  { bad: false, match: false, name: 'dir/a.txt', pattern: '*.txt' },
  { bad: false, match: true, name: 'abc', pattern: 'a?c' },
  { bad: false, match: false, name: 'a/c', pattern: 'a?c' },
  { bad: false, match: true, name: 'bx', pattern: '[a-c]x' },
  { bad: false, match: false, name: 'bx', pattern: '[^a-c]x' },
  { bad: false, match: false, name: 'dx', pattern: '[!a-c]x' },
  { bad: false, match: true, name: '*x', pattern: '\\*x' },
  { bad: false, match: true, name: 'axxbyyc', pattern: 'a*b*c' },
  { bad: false, match: false, name: 'a/b', pattern: 'a*' },
  { bad: false, match: true, name: 'a/b', pattern: '*/b' },
  { bad: true, match: false, name: 'a', pattern: '[' },
  { bad: true, match: false, name: 'a', pattern: 'a[' },
  { bad: true, match: false, name: ']', pattern: '[]a]' },
  { bad: true, match: false, name: 'a', pattern: '[a-]' },
  { bad: false, match: true, name: 'üx', pattern: 'ü?' },
  { bad: false, match: true, name: 'ü', pattern: '?' },
  { bad: false, match: true, name: '', pattern: '*' },
  { bad: false, match: true, name: '', pattern: '' },
  { bad: true, match: false, name: 'x', pattern: 'x\\' },
  { bad: false, match: true, name: ']', pattern: '[\\]]' },
  { bad: false, match: true, name: 'templates/.a', pattern: 'templates/.?*' },
  { bad: false, match: false, name: 'templates/.', pattern: 'templates/.?*' },
  { bad: false, match: false, name: 'templates/.a/b', pattern: 'templates/.?*' },
  // Go reports a malformed chunk only when the match reaches it; stars never skip a separator.
  { bad: false, match: false, name: 'abc', pattern: 'x*[' },
  { bad: true, match: false, name: 'abc', pattern: '*[' },
  { bad: false, match: false, name: '/*b', pattern: '*b' },
  { bad: false, match: false, name: 'a/b', pattern: '*b' },
  { bad: false, match: false, name: 'a/xb', pattern: 'a*b' },
  { bad: false, match: true, name: 'x.yaml.yaml', pattern: '*.yaml' },
  { bad: false, match: true, name: 'abcbc', pattern: 'a*b*c' },
  { bad: false, match: true, name: 'aaaaaaaaab', pattern: '*a*a*a*a*b' },
  { bad: false, match: false, name: 'aaaaaaaaaa', pattern: '*a*a*a*a*b' },
  { bad: false, match: true, name: 'a/b', pattern: '*/b' },
  { bad: false, match: true, name: 'ab/xc', pattern: 'a*/*c' },
  { bad: false, match: true, name: 'aab', pattern: '*ab' },
  { bad: false, match: true, name: '/x', pattern: '[^a]*' },
  { bad: false, match: true, name: 'a/b', pattern: 'a[/]b' },
  { bad: false, match: true, name: 'éx', pattern: '?*x' },
  { bad: false, match: true, name: 'aé', pattern: '*é' },
  { bad: false, match: true, name: '*ab', pattern: '\\*a*' },
];

export const GO_FLOAT32_INPUTS = [
  1.0, 1.1, 0.1, 1.2345678901, 1e6, 123456, 1234567, 0.0001, 0.00001, -2.5, 1e21, 16.04, 7244500, 2.1, 1.1,
  100,
];
export const GO_FLOAT32_OUTPUTS = [
  '1',
  '1.1',
  '0.1',
  '1.2345679',
  '1e+06',
  '123456',
  '1.234567e+06',
  '0.0001',
  '1e-05',
  '-2.5',
  '1e+21',
  '16.04',
  '7.2445e+06',
  '2.1',
  '1.1',
  '100',
];

/** [string, go-yaml v2 Marshal of {k: string}] */
export const GO_YAML_STRINGS: [string, string][] = [
  ['plain', 'k: plain\n'],
  ['yes', 'k: "yes"\n'],
  ['1.0', 'k: "1.0"\n'],
  ['2023-01-01', 'k: "2023-01-01"\n'],
  ['2023-01-01T10:00:00Z', 'k: "2023-01-01T10:00:00Z"\n'],
  ['a: b', "k: 'a: b'\n"],
  ['- x', "k: '- x'\n"],
  ['#x', "k: '#x'\n"],
  ['x #y', "k: 'x #y'\n"],
  ['x#y', 'k: x#y\n'],
  ['', 'k: ""\n'],
  [' lead', "k: ' lead'\n"],
  ['trail ', "k: 'trail '\n"],
  ['multi\nline', 'k: |-\n  multi\n  line\n'],
  ['multi\nline\n', 'k: |\n  multi\n  line\n'],
  ['ends\n\n', 'k: |+\n  ends\n\n'],
  ['tab\there', 'k: "tab\\there"\n'],
  ["quote'single", "k: quote'single\n"],
  ['@at', "k: '@at'\n"],
  ['`tick', "k: '`tick'\n"],
  ['ümlaut', 'k: ümlaut\n'],
  ['emoji😀', 'k: "emoji\\U0001F600"\n'],
  ['1:20', 'k: "1:20"\n'],
  ['0x1F', 'k: "0x1F"\n'],
  ['null', 'k: "null"\n'],
  ['~', 'k: "~"\n'],
  ['---', "k: '---'\n"],
  ['a,b', 'k: a,b\n'],
  ['[x]', "k: '[x]'\n"],
  ['{x}', "k: '{x}'\n"],
  ['key: value: x', "k: 'key: value: x'\n"],
  ['*star', "k: '*star'\n"],
  ['&amp', "k: '&amp'\n"],
  ['!bang', "k: '!bang'\n"],
  ['%pct', "k: '%pct'\n"],
  ['?q', 'k: ?q\n'],
  ['? q', "k: '? q'\n"],
  [':c', 'k: :c\n'],
  [': c', "k: ': c'\n"],
  ['x:', "k: 'x:'\n"],
  ['http://example.com/a', 'k: http://example.com/a\n'],
  [' nbsp', 'k:  nbsp\n'],
  ['back\\slash', 'k: back\\slash\n'],
  ['"dq"', 'k: \'"dq"\'\n'],
  ['line\r\nwin', 'k: "line\\r\\nwin"\n'],
];

/** go-yaml v2's order of these map keys. */
export const GO_KEY_ORDER = [
  '_x',
  '1',
  '2',
  '10',
  'B',
  'Zed',
  'a1',
  'a01',
  'a9',
  'a10',
  'artifacthub.io/changes',
  'b',
  'category',
];

/** [value, go-yaml v2 Marshal of it]: long scalars folded at 80 columns. */
export const GO_YAML_FOLDED: [Record<string, unknown>, string][] = [
  [
    {
      description:
        'Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
    },
    'description: Fast, reliable, scalable, and easy to use open-source relational database\n  system. MariaDB Server is intended for mission-critical, heavy-load production systems\n',
  ],
  [
    {
      description:
        'A chart: Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
    },
    "description: 'A chart: Fast, reliable, scalable, and easy to use open-source relational\n  database system. MariaDB Server is intended for mission-critical, heavy-load production\n  systems'\n",
  ],
  [
    {
      description:
        'tab\tFast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
    },
    'description: "tab\\tFast, reliable, scalable, and easy to use open-source relational\n  database system. MariaDB Server is intended for mission-critical, heavy-load production\n  systems"\n',
  ],
  [
    {
      description:
        'Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems  double  spaces  here  and  there  to  see  what  happens  with  them  end',
    },
    'description: Fast, reliable, scalable, and easy to use open-source relational database\n  system. MariaDB Server is intended for mission-critical, heavy-load production systems  double  spaces  here  and  there  to  see  what  happens  with  them  end\n',
  ],
  [
    {
      annotations: {
        'example.com/very-long-annotation-key':
          'Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
      },
    },
    'annotations:\n  example.com/very-long-annotation-key: Fast, reliable, scalable, and easy to use\n    open-source relational database system. MariaDB Server is intended for mission-critical,\n    heavy-load production systems\n',
  ],
  [
    {
      keywords: [
        'Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
      ],
    },
    'keywords:\n- Fast, reliable, scalable, and easy to use open-source relational database system.\n  MariaDB Server is intended for mission-critical, heavy-load production systems\n',
  ],
  [
    {
      maintainers: [
        {
          email: 'x@y',
          name: 'Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems',
        },
      ],
    },
    'maintainers:\n- email: x@y\n  name: Fast, reliable, scalable, and easy to use open-source relational database\n    system. MariaDB Server is intended for mission-critical, heavy-load production\n    systems\n',
  ],
  [
    {
      d: "it's Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems",
    },
    "d: it's Fast, reliable, scalable, and easy to use open-source relational database\n  system. MariaDB Server is intended for mission-critical, heavy-load production systems\n",
  ],
  [
    {
      d: 'quote " and tab\t Fast, reliable, scalable, and easy to use open-source relational database system. MariaDB Server is intended for mission-critical, heavy-load production systems more words after the end of the long text so it wraps twice over the limit',
    },
    'd: "quote \\" and tab\\t Fast, reliable, scalable, and easy to use open-source relational\n  database system. MariaDB Server is intended for mission-critical, heavy-load production\n  systems more words after the end of the long text so it wraps twice over the limit"\n',
  ],
  [
    {
      'ünïcode-key':
        'ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü',
    },
    'ünïcode-key: ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü ü\n  ü ü ü ü ü ü ü ü ü\n',
  ],
];
