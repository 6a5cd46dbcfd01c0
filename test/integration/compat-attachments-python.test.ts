// COMPAT attachments driven by a client nobody here wrote: Python's requests, as the seed README's example uses it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startCompatApp, type CompatTestApp } from '../helpers/app.js';
import { python, type Json } from '../helpers/seed-clients.js';

const PHOTO = fixture('jpg/Canon_40D.jpg');

/** The README's "Using Python requests" example, carried on to download and delete, the way a Python user writes it. */
const SCRIPT = String.raw`
import json
import sys

import requests

base_url = sys.argv[1]
image_path = sys.argv[2]

# Register
response = requests.post(f"{base_url}/register", json={
    "username": "testuser",
    "email": "test@example.com",
    "password": "password123"
})
response.raise_for_status()
user = response.json()

# Login
response = requests.post(f"{base_url}/token", data={
    "username": "testuser",
    "password": "password123"
})
response.raise_for_status()
token = response.json()["access_token"]

# Upload image
headers = {"Authorization": f"Bearer {token}"}
with open(image_path, "rb") as f:
    response = requests.post(
        f"{base_url}/upload",
        headers=headers,
        files={"file": f},
        data={"description": "My image"}
    )
response.raise_for_status()
uploaded = response.json()

# List images
response = requests.get(f"{base_url}/images", headers=headers)
images = response.json()

# Get image details
details = requests.get(f"{base_url}/images/{uploaded['id']}", headers=headers).json()

# Download image
response = requests.get(f"{base_url}/download/{uploaded['filename']}", headers=headers)
response.raise_for_status()
downloaded = response.content
disposition = response.headers["Content-Disposition"]
content_type = response.headers["Content-Type"]

# Delete image
deleted = requests.delete(f"{base_url}/images/{uploaded['id']}", headers=headers).json()
after = requests.get(f"{base_url}/images", headers=headers).json()
gone = requests.get(f"{base_url}/download/{uploaded['filename']}", headers=headers)

print(json.dumps({
    "user": user,
    "token_type": "bearer",
    "uploaded": uploaded,
    "images": images,
    "details": details,
    "downloaded_size": len(downloaded),
    "downloaded_head": downloaded[:3].hex(),
    "disposition": disposition,
    "content_type": content_type,
    "deleted": deleted,
    "after": after,
    "gone": [gone.status_code, gone.json()],
}))
`;

describe('attachments from Python requests', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('attachments:own', { REGISTRATION: 'open', PROCESSING: 'false' });
  });
  after(() => t.close());

  it('registers, signs in, uploads, lists, downloads and deletes as the README does', async () => {
    const out = JSON.parse(await python(SCRIPT, [t.at('attachments'), PHOTO])) as Json;
    assert.equal(out.user.username, 'testuser');
    assert.ok(Number.isInteger(out.user.id));
    assert.equal(out.uploaded.original_filename, 'Canon_40D.jpg');
    assert.equal(out.uploaded.description, 'My image');
    assert.deepEqual(out.images, [out.uploaded]);
    assert.deepEqual(out.details, out.uploaded);
    const bytes = await readFile(PHOTO);
    assert.equal(out.downloaded_size, bytes.length);
    assert.equal(out.downloaded_head, 'ffd8ff');
    assert.equal(out.disposition, 'attachment; filename="Canon_40D.jpg"');
    assert.equal(out.content_type, 'image/jpeg');
    assert.deepEqual(out.deleted, { message: 'Image deleted successfully' });
    assert.deepEqual(out.after, []);
    assert.deepEqual(out.gone, [404, { detail: 'Image not found' }]);
  });
});
