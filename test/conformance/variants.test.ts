/**
 * Table-driven agreement with the real helm on small variations: YAML syntax and typing in
 * Chart.yaml and values.yaml, .helmignore oddities and unusual file names. For each, either
 * both tools package the same archive (Chart.yaml byte-identical) or both refuse the chart.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chartYaml, type FileTree, writeTree } from '../harness/chart-fixtures.ts';
import { agreementSuite } from './conform.ts';

const { agree, newDir } = agreementSuite('chartsync-variants-');

const CHART_YAML: [string, string][] = [
  ['leading ---', '---\napiVersion: v2\nname: c\nversion: 1.0.0\n'],
  ['trailing ...', 'apiVersion: v2\nname: c\nversion: 1.0.0\n...\n'],
  ['a second document', 'apiVersion: v2\nname: c\nversion: 1.0.0\n---\nname: other\n'],
  ['%YAML directive', '%YAML 1.1\n---\napiVersion: v2\nname: c\nversion: 1.0.0\n'],
  ['flow mapping', '{apiVersion: v2, name: c, version: 1.0.0, keywords: [a, b]}\n'],
  ['folded block', 'apiVersion: v2\nname: c\nversion: 1.0.0\ndescription: >\n  folded\n  text\n\n  para\n'],
  ['double-quoted escapes', 'apiVersion: v2\nname: c\nversion: 1.0.0\ndescription: "esc \\u00e9 \\t tab"\n'],
  ['explicit !!str', 'apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: !!str 1.0\n'],
  [
    'typed annotations',
    'apiVersion: v2\nname: c\nversion: 1.0.0\nannotations:\n  a: 1.0\n  b: true\n  c: ~\n',
  ],
  ['duplicate key', 'apiVersion: v2\nname: c\nversion: 1.0.0\nname: c\n'],
  ['CRLF', 'apiVersion: v2\r\nname: c\r\nversion: 1.0.0\r\n'],
  ['null maintainer', 'apiVersion: v2\nname: c\nversion: 1.0.0\nmaintainers:\n- ~\n'],
  ['bad alias', 'apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n- name: x\n  alias: bad.alias\n'],
  ['string for a bool', 'apiVersion: v2\nname: c\nversion: 1.0.0\ndeprecated: "true"\n'],
  ['string for a list', 'apiVersion: v2\nname: c\nversion: 1.0.0\nsources: https://x\n'],
  ['float and bool in strings', 'apiVersion: v2\nname: c\nversion: 1.0.0\nkubeVersion: 1.2\ntags: yes\n'],
  ['empty value', 'apiVersion: v2\nname: c\nversion: 1.0.0\nhome:\n'],
  ['single-quote escape', "apiVersion: v2\nname: c\nversion: 1.0.0\nicon: 'it''s'\n"],
  ['v prefix version', 'apiVersion: v2\nname: c\nversion: v1.2.3\n'],
  ['integer version', 'apiVersion: v2\nname: c\nversion: 2\n'],
  ['missing apiVersion (v1 default)', 'name: c\nversion: 1.0.0\n'],
];

const VALUES: [string, string][] = [
  ['two documents', 'a: 1\n---\nb: 2\n'],
  ['!!binary', 'a: !!binary aGVsbG8=\n'],
  ['custom tag', 'a: !vault secret\n'],
  ['merge key', 'base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n'],
  ['duplicate key', 'a: 1\na: 2\n'],
  ['tab indentation', 'a:\n\tb: 1\n'],
  ['a string', '"just a string"\n'],
  ['null', '~\n'],
  ['only a comment', '# nothing\n'],
  ['a list', '- a\n'],
  ['unclosed flow', 'a: [1, 2\n'],
  ['complex key', '? complex key\n: value\n'],
  ['bad indentation after block', 'a: |\n  text\n b: 1\n'],
];

const HELMIGNORE: [string, string][] = [
  ['inverted range', '[z-a]\n'],
  ['lone slash', '/\n'],
  ['lone bang', '!\n'],
  ['ignore all but Chart.yaml', '*\n!Chart.yaml\n'],
  ['escaped hash', '\\#hash\n'],
  ['glob in the middle', 'sub/*/c.txt\n'],
  ['nested dir rule', 'sub/dir/\n'],
  ['every dir', '*/\n'],
  ['hidden files', '.*\n'],
  ['two negations', '!*.yaml\n!values.yaml\n'],
  ['dir rule on a file', 'a.txt/\n'],
  ['templates by name', 'templates\n'],
  ['rule then its negation', 'z/zz\n!z/zz\n'],
];

const base = (): FileTree => ({
  'Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'c', version: '1.0.0' }),
  'values.yaml': 'a: 1\n',
});

describe('agreement with helm on variations', () => {
  for (const [label, text] of CHART_YAML) {
    test(`Chart.yaml: ${label}`, async () => {
      await agree({ ...base(), 'Chart.yaml': text });
    });
  }
  for (const [label, text] of VALUES) {
    test(`values.yaml: ${label}`, async () => {
      await agree({ ...base(), 'values.yaml': text });
    });
  }
  for (const [label, text] of HELMIGNORE) {
    test(`.helmignore: ${label}`, async () => {
      await agree({
        ...base(),
        '.helmignore': text,
        'a.txt': '',
        'b.md': '',
        'sub/dir/c.txt': '',
        'z/zz': '',
        '#hash': '',
        'templates/t.yaml': 'kind: ConfigMap\n',
        '.hidden': '',
      });
    });
  }
  test('a .tgz subchart written by GNU tar (directory entries, owners, a long name)', async () => {
    const src = newDir();
    await writeTree(src, {
      'gnu/Chart.yaml': chartYaml({ apiVersion: 'v2', name: 'gnu', version: '0.1.0' }),
      'gnu/values.yaml': '\uFEFFx: 1\n',
      [`gnu/files/${'long-'.repeat(30)}name.txt`]: 'long',
    });
    const tgz = join(src, 'gnu-0.1.0.tgz');
    execFileSync('tar', ['--format=gnu', '-czf', tgz, '-C', src, 'gnu']);
    const outcome = await agree({ ...base(), 'charts/gnu-0.1.0.tgz': readFileSync(tgz) });
    assert.equal(outcome, 'same');
  });

  test('unusual file names', async () => {
    const outcome = await agree({
      ...base(),
      'a\\b': '',
      '-dash': '',
      'tab\tname': '',
      'new\nline': '',
      'q\'uote"s': '',
      'ä-nfc': '',
      'a\u0308-nfd': '',
      [`${'n'.repeat(120)}.txt`]: '',
    });
    assert.equal(outcome, 'same');
  });
});
