import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildIndex, compareVersions, toVersion } from '@chartsync/sidecar';
import { parseConstraint, satisfies } from '@chartsync/sidecar/chart/dependencies';

// Expected answers follow Masterminds/semver v3's documented rules (the library helm uses).
const cases: [constraint: string, version: string, expected: boolean][] = [
  // x-ranges and wildcards
  ['*', '3.4.5', true],
  ['1.x', '1.9.0', true],
  ['1.x', '2.0.0', false],
  ['1.2.x', '1.2.7', true],
  ['1.2.x', '1.3.0', false],
  ['1.2', '1.2.9', true], // a partial version means ~1.2
  ['1.2', '1.3.0', false],
  ['1.2.3', '1.2.3', true],
  ['=1.2.3', '1.2.4', false],
  ['v1.2.3', '1.2.3', true],
  // caret
  ['^1.2', '1.9.9', true],
  ['^1.2', '1.1.9', false],
  ['^1.2', '2.0.0', false],
  ['^0.2.3', '0.2.9', true],
  ['^0.2.3', '0.3.0', false],
  ['^0.0.3', '0.0.3', true],
  ['^0.0.3', '0.0.4', false],
  ['^0', '0.9.0', true],
  ['^0', '1.0.0', false],
  // tilde
  ['~1.2.3', '1.2.9', true],
  ['~1.2.3', '1.3.0', false],
  ['~1.2.3', '1.2.2', false],
  ['~1', '1.9.0', true],
  ['~1', '2.0.0', false],
  ['~>1.2', '1.2.5', true],
  // comparisons, AND with comma or space, OR
  ['>= 1.2, < 2.0', '1.9.9', true],
  ['>= 1.2, < 2.0', '2.0.0', false],
  ['>=1.2 <2.0', '1.1.0', false],
  ['=> 1.2', '1.2.0', true],
  ['=< 1.2', '1.2.5', true], // <=1.2 covers all of 1.2.x
  ['<= 1.2', '1.3.0', false],
  ['> 1.2', '1.2.9', false], // >1.2 means >=1.3.0
  ['> 1.2', '1.3.0', true],
  ['> 1', '1.9.0', false],
  ['> 1.2.3', '1.2.4', true],
  ['< 1.2', '1.1.9', true],
  ['!= 1.2.3', '1.2.3', false],
  ['!= 1.2.x', '1.2.7', false],
  ['!= 1.2.x', '1.3.0', true],
  ['!=4.1-alpha', '4.1.0-alpha', false],
  ['!=4.1-alpha', '4.1.1-alpha', false], // same prerelease within the excluded 4.1.x
  ['!=4.1-alpha', '4.1.1-beta', true],
  ['!=4.1-alpha', '4.1.0', true],
  ['^1.0 || ^3.0', '3.1.0', true],
  ['^1.0 || ^3.0', '2.1.0', false],
  ['>=1.1, <2, !=1.2.3 || >3', '1.2.3', false],
  ['>=1.1, <2, !=1.2.3 || >3', '4.0.0', true],
  // hyphen ranges
  ['1.1 - 2', '2.0.0', true],
  ['1.1 - 2', '2.5.0', true], // the upper bound <=2 covers 2.x
  ['1.1 - 2', '3.0.0', false],
  ['1.1 - 2', '1.0.9', false],
  // prereleases are only considered by OR groups that name one
  ['^1.2', '1.5.0-beta.1', false],
  ['*', '1.0.0-rc.1', false],
  ['>= 1.0.0-0', '1.5.0-beta.1', true],
  ['^1.2.0-alpha', '1.5.0-beta.1', true],
  ['>= 1.0.0 <= 2.0.0-beta', '1.0.1-beta', true],
  ['^1.2.0-alpha || ^2.0', '2.1.0-rc', false],
  ['~1.1.1-beta', '1.1.1-alpha', false],
  ['~1.1.1-beta', '1.1.1', true],
  ['>= 2.0.0-rc.1', '2.0.0-rc.10', true], // numeric identifiers compare as numbers
  ['>= 2.0.0-rc.10', '2.0.0-rc.9', false],
];

describe('Masterminds constraints', () => {
  for (const [constraint, version, expected] of cases) {
    test(`${JSON.stringify(constraint)} ${expected ? 'accepts' : 'rejects'} ${version}`, () => {
      const v = toVersion(version);
      assert.ok(v, `version ${version} parses`);
      assert.equal(satisfies(v, parseConstraint(constraint)), expected);
    });
  }

  test('invalid constraints are refused with the offending text', () => {
    for (const bad of ['', 'latest', '>= 1.2 <', '1.2.3.4', 'a || b']) {
      assert.throws(() => parseConstraint(bad), /improper constraint/, bad);
    }
    assert.throws(() => parseConstraint(`${'1.0.0 || '.repeat(40)}1.0.0`), /too many constraint groups/);
  });

  test('loose versions parse like Masterminds NewVersion and keep their original text', () => {
    const v = toVersion('v2.1');
    assert.deepEqual(v && [v.major, v.minor, v.patch, v.prerelease, v.original], [2n, 1n, 0n, '', 'v2.1']);
    assert.equal(toVersion('1.02.3')?.minor, 2n);
    assert.equal(toVersion('1.2.3-01'), undefined); // leading zero in a numeric prerelease
    assert.equal(toVersion('not-a-version'), undefined);
  });

  test('numbers beyond 2^53 are neither refused nor rounded: one ordering for the index and constraints', () => {
    // 9007199254740993 = 2^53 + 1: a JS number rounds it to ...992.
    const big = '1.0.9007199254740993';
    const below = '1.0.9007199254740992';
    const v = toVersion(big);
    assert.ok(v, `${big} is a version (helm reads segments as uint64)`);
    assert.equal(v.patch, 9007199254740993n);
    assert.equal(compareVersions(v, toVersion(below) as NonNullable<typeof v>), 1);
    assert.equal(satisfies(v, parseConstraint(`> ${below}`)), true, 'the constraint sees it as newer');
    assert.equal(satisfies(toVersion(below) as NonNullable<typeof v>, parseConstraint(`>= ${big}`)), false);
    assert.equal(toVersion('1.0.18446744073709551616'), undefined, 'beyond uint64: refused like helm');
    // The index orders the same way the constraints do.
    const chart = (version: string) => ({
      metadata: { apiVersion: 'v2', name: 'big', version },
      digest: 'a'.repeat(64),
      fileName: `big-${version}.tgz`,
    });
    const index = buildIndex([chart(below), chart(big)], { generated: new Date(0) });
    assert.deepEqual(
      index.entries.big?.map((e) => e.metadata.version),
      [big, below],
    );
  });
});
