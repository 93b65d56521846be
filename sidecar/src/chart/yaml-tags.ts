/**
 * Tagged scalars as go-yaml v2 decodes them into interface{}. Its resolver only knows the core
 * tags (`!!str`, `!!bool`, `!!int`, `!!float`, `!!null`, `!!timestamp`): a scalar under any
 * other tag (`!custom 1.0`, `! 1.0`, `!!set 1.0`) keeps its text, not resolved (`"1.0"`, not 1).
 * `!!binary` is base64 (Go's StdEncoding: padding required, line breaks skipped, nothing else),
 * decoded to a string of its bytes; `!!timestamp` must be a timestamp, and stays its text
 * (go-yaml keeps timestamps as strings in interface{}, tagged or not). The `yaml` library would
 * turn those two into a Uint8Array and a Date: it is told not to (resolveKnownTags: false).
 */

export const BINARY_TAG = 'tag:yaml.org,2002:binary';
export const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of a `!!binary` scalar as a string, or undefined when go-yaml refuses it. */
export function decodeGoBinary(text: string): string | undefined {
  const data = text.replace(/[\r\n]/g, '');
  if (!BASE64.test(data)) return undefined;
  return goString(Buffer.from(data, 'base64'));
}

const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes as the string sigs.k8s.io/yaml's JSON step makes of them: encoding/json writes U+FFFD
 * for each byte that does not start a valid UTF-8 sequence (TextDecoder's replacement would
 * merge a cut-short sequence into one).
 */
function goString(bytes: Uint8Array): string {
  try {
    return FATAL.decode(bytes);
  } catch {
    let out = '';
    for (let i = 0; i < bytes.length; ) {
      let taken = 0;
      for (let len = 1; len <= 4 && i + len <= bytes.length && !taken; len++) {
        try {
          out += FATAL.decode(bytes.subarray(i, i + len));
          taken = len;
        } catch {}
      }
      if (taken) i += taken;
      else {
        out += '\ufffd';
        i++;
      }
    }
    return out;
  }
}
