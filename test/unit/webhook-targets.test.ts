// The SSRF rule of webhooks: which addresses deliveries may connect to, and which URLs a webhook may be made with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { checkWebhookUrl, isPublicAddress } from '../../src/core/webhooks/webhook-targets.js';
import { webhookSignature } from '../../src/core/webhooks/webhook-signing.js';

describe('isPublicAddress', () => {
  it('refuses private, loopback, link-local, unique-local, multicast, unspecified and reserved addresses', () => {
    const refused = [
      '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '0.0.0.0', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.2.10', '198.18.0.1',
      '::', '::1', 'fe80::1', 'fe80::1%eth0', 'fc00::1', 'fd12:3456::1', 'ff02::1', 'fec0::1', '2001:db8::1',
      // IPv4 inside IPv6: mapped (both spellings), NAT64 and 6to4 of private IPv4, and the old IPv4-compatible form.
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:c0a8:101::1', '::127.0.0.1',
      'not an address', '',
    ];
    for (const address of refused) assert.equal(isPublicAddress(address), false, address);
  });

  it('allows public IPv4 and IPv6, carried in IPv6 too', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      assert.equal(isPublicAddress(address), true, address);
    }
  });
});

describe('checkWebhookUrl', () => {
  const code = (url: string, allowPrivate = false): string => {
    try {
      checkWebhookUrl(url, allowPrivate);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof ImgdError);
      return err.code;
    }
  };

  it('takes absolute http(s) URLs only, without credentials or fragment', () => {
    assert.equal(code('https://hooks.example.com/imgd?x=1'), 'ok');
    assert.equal(code('http://203.0.114.7:8080/'), 'ok');
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'example.com/hook', 'http://u:p@example.com/', 'http://example.com/#x', `https://example.com/${'a'.repeat(2100)}`]) {
      assert.equal(code(url), 'invalid_webhook_url', url);
    }
  });

  it('refuses literal private addresses however they are spelled, and localhost names, unless private targets are allowed', () => {
    for (const url of ['http://127.0.0.1/', 'http://127.1/', 'http://2130706433/', 'http://0x7f.0.0.1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://localhost:8080/', 'http://a.localhost/', 'http://LOCALHOST./']) {
      assert.equal(code(url), 'webhook_target_refused', url);
      assert.equal(code(url, true), 'ok', url);
    }
  });
});

describe('webhookSignature', () => {
  it('signs "id.timestamp.body" with the base64 key after whsec_, as the Standard Webhooks specification says', () => {
    // The specification's own example (standard-webhooks spec, "Signature scheme").
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    assert.equal(webhookSignature(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
