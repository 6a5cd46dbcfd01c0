// Caption providers: HTTP vision-model APIs (Ollama's /api/generate, OpenAI-compatible chat completions).
import type { Config } from '../config.js';
import type { Captioner } from '../core/jobs/processing.js';

type CaptionSettings = Exclude<Config['captions'], { provider: 'none' }>;

const MAX_CAPTION = 500;

function endpoint(base: string, path: string): string {
  return base.endsWith(path) ? base : `${base}${path}`;
}

async function postJson(url: string, body: unknown, settings: CaptionSettings): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(settings.apiKey && { authorization: `Bearer ${settings.apiKey}` }) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
  if (!response.ok) throw new Error(`caption provider answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return response.json();
}

function cleaned(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim().replace(/\s+/g, ' ');
  return trimmed === '' ? undefined : trimmed.slice(0, MAX_CAPTION);
}

function ollama(settings: CaptionSettings): Captioner {
  const url = endpoint(settings.url, '/api/generate');
  return async (_image, jpeg) => {
    const answer = (await postJson(url, { model: settings.model, prompt: settings.prompt, images: [jpeg.toString('base64')], stream: false }, settings)) as {
      response?: unknown;
    };
    return cleaned(answer.response);
  };
}

function openai(settings: CaptionSettings): Captioner {
  const url = settings.url.endsWith('/chat/completions') ? settings.url : endpoint(settings.url.replace(/\/v1$/, ''), '/v1/chat/completions');
  return async (_image, jpeg) => {
    const answer = (await postJson(
      url,
      {
        model: settings.model,
        max_tokens: 120,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: settings.prompt },
              { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}` } },
            ],
          },
        ],
      },
      settings,
    )) as { choices?: { message?: { content?: unknown } }[] };
    return cleaned(answer.choices?.[0]?.message?.content);
  };
}

/** The configured captioner, or undefined when captions are off. */
export function createCaptioner(settings: Config['captions']): Captioner | undefined {
  switch (settings.provider) {
    case 'none':
      return undefined;
    case 'ollama':
      return ollama(settings);
    case 'openai':
      return openai(settings);
  }
}
