// How numbers, dates and images are written for people, and the snippets that embed an image elsewhere.
import type { Image } from './types';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const formatDate = (iso: string | null): string => (iso ? dateTime.format(new Date(iso)) : '—');

export const formatMs = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;

export const imageName = (image: Image): string => image.original_name ?? image.filename;

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeMarkdown = (value: string): string => value.replace(/([\\[\]])/g, '\\$1');

export interface Snippet {
  label: string;
  text: string;
}

/** The ways to paste an image elsewhere: its URL, Markdown, HTML and BBCode. */
export function snippets(image: Image, url: string = image.url): Snippet[] {
  const alt = image.description ?? imageName(image);
  return [
    { label: 'URL', text: url },
    { label: 'Markdown', text: `![${escapeMarkdown(imageName(image))}](${url})` },
    { label: 'HTML', text: `<img src="${escapeHtml(url)}" alt="${escapeHtml(alt)}" width="${image.width}" height="${image.height}">` },
    { label: 'BBCode', text: `[img]${url}[/img]` },
  ];
}

export function bytesFromBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
