// python-slugify's default slug (seed 000's names): entities decoded, transliterated to ASCII, lowercase, `-` between words.

/** unidecode's forms for the letters NFKD does not take apart; other scripts (CJK, Cyrillic...) are not transliterated here. */
const TRANSLITERATED: Readonly<Record<string, string>> = {
  ß: 'ss', ẞ: 'SS', Ø: 'O', ø: 'o', Æ: 'AE', æ: 'ae', Œ: 'OE', œ: 'oe', Đ: 'D', đ: 'd', Ð: 'D', ð: 'd', Ł: 'L', ł: 'l',
  Þ: 'Th', þ: 'th', ı: 'i', Ħ: 'H', ħ: 'h', Ŧ: 'T', ŧ: 't', Ŋ: 'NG', ŋ: 'ng', ĸ: 'q', '\u2018': "'", '\u2019': "'",
};

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

const codePoint = (n: number, fallback: string): string => (n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : fallback);

export function seedSlug(text: string): string {
  const decoded = text
    .replace(/&([a-z]+);/gi, (whole, name: string) => NAMED_ENTITIES[name.toLowerCase()] ?? whole)
    .replace(/&#(\d+);/g, (whole, digits: string) => codePoint(Number(digits), whole))
    .replace(/&#x([\da-f]+);/gi, (whole, hex: string) => codePoint(parseInt(hex, 16), whole));
  return [...decoded]
    .map((ch) => TRANSLITERATED[ch] ?? ch)
    .join('')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/'+/g, '-')
    .replace(/(?<=\d),(?=\d)/g, '')
    .replace(/[^-a-z0-9]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}
