// Transliteration to ASCII as Python's Unidecode gives it (python-slugify's, so seed 000's names): npm `unidecode` plus corrections.
import unidecode from 'unidecode';

/**
 * Where npm `unidecode` 1.1.0 (Text::Unidecode's tables) and Python's Unidecode 1.3 give a different slug for a
 * character that NFKD leaves whole (every such character of the BMP): Hepburn kana (`し` shi, `ツ` tsu), Hebrew,
 * `Є`, currency signs, Latin Extended-C, symbols that Python reads as punctuation or drops.
 */
const PYTHON_FORMS: Readonly<Record<string, string>> = {
  '\u02e5': '', '\u02e6': '', '\u02e7': '', '\u02e8': '', '\u02e9': '', '\u02ea': '', '\u02eb': '', '\u02ef': '',
  '\u02f0': '', '\u02f1': '', '\u02f2': '', '\u02f3': '', '\u02f4': '', '\u02f5': '', '\u02f6': '', '\u02f7': '',
  '\u02f8': '', '\u02f9': '', '\u02fa': '', '\u02fb': '', '\u02fc': '', '\u02fd': '', '\u02fe': '', '\u02ff': '',
  '\u03f6': '', '\u03f7': '', '\u03f8': '', '\u03fc': '', '\u03fd': '', '\u03fe': '', '\u03ff': '', '\u0404': 'Ie',
  '\u05b0': '', '\u05ba': 'o', '\u05be': '-', '\u05c6': 'n', '\u05c7': 'o', '\u05d0': 'A', '\u05d7': 'H',
  '\u05da': 'KH', '\u05db': 'KH', '\u05e7': 'k', '\u05ef': 'YYY', '\u05f2': 'EY', '\u06ff': '', '\u0af0': '',
  '\u0af1': '', '\u0af9': '', '\u13f5': '', '\u13f8': '', '\u13f9': '', '\u13fa': '', '\u13fb': '', '\u13fc': '',
  '\u13fd': '', '\u1d00': 'A', '\u1d01': 'AE', '\u1d02': 'ae', '\u1d03': 'B', '\u1d04': 'C', '\u1d05': 'D',
  '\u1d06': 'D', '\u1d07': 'E', '\u1d08': 'e', '\u1d09': 'i', '\u1d0a': 'J', '\u1d0b': 'K', '\u1d0c': 'L',
  '\u1d0d': 'M', '\u1d0e': 'N', '\u1d0f': 'O', '\u1d11': 'O', '\u1d13': 'O', '\u1d14': 'Oe', '\u1d15': 'Ou',
  '\u1d18': 'P', '\u1d19': 'R', '\u1d1a': 'R', '\u1d1b': 'T', '\u1d1c': 'U', '\u1d1d': 'u', '\u1d1e': 'u',
  '\u1d1f': 'm', '\u1d20': 'V', '\u1d21': 'W', '\u1d22': 'Z', '\u1d2f': 'B', '\u1d3b': 'N', '\u1d4e': 'i',
  '\u1d6c': 'b', '\u1d6d': 'd', '\u1d6e': 'f', '\u1d6f': 'm', '\u1d70': 'n', '\u1d71': 'p', '\u1d72': 'r',
  '\u1d73': 'r', '\u1d74': 's', '\u1d75': 't', '\u1d76': 'z', '\u1d77': 'g', '\u1d7d': 'p', '\u1d80': 'b',
  '\u1d81': 'd', '\u1d82': 'f', '\u1d83': 'g', '\u1d84': 'k', '\u1d85': 'l', '\u1d86': 'm', '\u1d87': 'n',
  '\u1d88': 'p', '\u1d89': 'r', '\u1d8a': 's', '\u1d8c': 'v', '\u1d8d': 'x', '\u1d8e': 'z', '\u1e9c': '',
  '\u1e9d': '', '\u1e9f': '', '\u1efa': '', '\u1efb': '', '\u1efc': '', '\u1efd': '', '\u1efe': '', '\u1eff': '',
  '\u204a': '&', '\u204e': '*', '\u2052': '%', '\u2053': '~', '\u20b0': 'Pf', '\u20b1': 'P', '\u20b2': 'G',
  '\u20b3': 'A', '\u20b4': 'UAH', '\u20b5': 'C|', '\u20b6': 'L', '\u20b7': 'Sm', '\u20b8': 'T', '\u20b9': 'Rs',
  '\u20ba': 'L', '\u20bb': 'M', '\u20bc': 'm', '\u20bd': 'R', '\u20be': 'l', '\u20bf': 'BTC', '\u2117': '(p)',
  '\u212e': 'e', '\u2132': 'F', '\u214e': 'F', '\u2212': '-', '\u2215': '/', '\u2216': '\\', '\u2217': '*',
  '\u2223': '|', '\u2236': ':', '\u223c': '~', '\u2264': '<=', '\u2265': '>=', '\u2266': '<=', '\u2267': '>=',
  '\u2303': '^', '\u24eb': '11', '\u24ec': '12', '\u24ed': '13', '\u24ee': '14', '\u24ef': '15', '\u24f0': '16',
  '\u24f1': '17', '\u24f2': '18', '\u24f3': '19', '\u24f4': '20', '\u24f5': '1', '\u24f6': '2', '\u24f7': '3',
  '\u24f8': '4', '\u24f9': '5', '\u24fa': '6', '\u24fb': '7', '\u24fc': '8', '\u24fd': '9', '\u24fe': '10',
  '\u24ff': '0', '\u25f4': '#', '\u25f5': '#', '\u25f6': '#', '\u25f7': '#', '\u25f8': '', '\u25f9': '', '\u25fa': '',
  '\u25fb': '', '\u25fc': '', '\u25fd': '', '\u25fe': '', '\u25ff': '', '\u266f': '#', '\u2731': '*', '\u2758': '|',
  '\u275d': '"', '\u275e': '"', '\u275f': ',', '\u2760': ',,', '\u2762': '!', '\u27e6': '[', '\u27e8': '<',
  '\u27e9': '> ', '\u2983': '{', '\u2984': '} ', '\u2c60': 'L', '\u2c61': 'l', '\u2c62': 'L', '\u2c63': 'P',
  '\u2c64': 'R', '\u2c65': 'a', '\u2c66': 't', '\u2c67': 'H', '\u2c68': 'h', '\u2c69': 'K', '\u2c6a': 'k',
  '\u2c6b': 'Z', '\u2c6c': 'z', '\u2c6e': 'M', '\u2c6f': 'A', '\u2e00': 'r', '\u2e01': 'r.', '\u2e06': 'T',
  '\u2e07': 'T.', '\u2e09': 's', '\u2e0b': '[]', '\u2e0c': '\\', '\u2e0d': '/', '\u2e0f': '__', '\u2e12': '>',
  '\u2e13': '%', '\u2e16': '>', '\u2e17': '=', '\u2e19': '/', '\u2e1a': '-', '\u2e1b': '~', '\u2e1c': '\\',
  '\u2e1d': '/', '\u2e1e': '~', '\u2e1f': '~', '\u2e20': '|-', '\u2e21': '-|', '\u2e26': '<=', '\u2e27': '=>',
  '\u2e28': '((', '\u2e29': '))', '\u2e2c': '::', '\u2e2e': '?', '\u2e30': 'o', '\u2e31': '.', '\u2e32': ',',
  '\u2e33': '.', '\u2e34': ',', '\u2e35': ';', '\u2e3a': '----', '\u2e3b': '------', '\u2e3c': 'x', '\u2e3d': '|',
  '\u2e40': '=', '\u2e41': ',', '\u2e42': '"', '\u2e43': '`--', '\u3057': 'shi', '\u3061': 'chi', '\u3063': 'tsu',
  '\u3064': 'tsu', '\u30b7': 'shi', '\u30c1': 'chi', '\u30c3': 'tsu', '\u30c4': 'tsu', '\ufdfd': '',
};

/** One NFKD-normalized character, not ASCII, as Python's Unidecode writes it. */
function transliterated(ch: string): string {
  // C1 controls: Python drops them; the npm tables read them as Windows-1252 (0x80 as EUR).
  if (ch <= '\u009f') return '';
  const form = PYTHON_FORMS[ch] ?? unidecode(ch);
  // The npm tables' mark for a character they do not know, where Python's gives nothing.
  return /^\[\?\]\s*$/.test(form) ? '' : form;
}

/** `照片` → `Zhao Pian `, `Привет` → `Privet`; expects NFKD text (python-slugify normalizes first). */
export function transliterate(text: string): string {
  let out = '';
  for (const ch of text) out += ch < '\u0080' ? ch : transliterated(ch);
  return out;
}
