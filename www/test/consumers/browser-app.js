// The browser apps' common part: evaluate request.js against `?server=URL` and show the answer
// (or the error) as JSON in #result, where the test reads it.
import { Client } from '@vexil/sdk';

import { request } from './request.js';

export async function evaluate(before = async () => {}) {
  const result = document.getElementById('result');
  try {
    await before();
    const url = new URLSearchParams(location.search).get('server');
    const client = await Client.start({ url, stream: false });
    result.textContent = JSON.stringify(client.evaluateVariant(request));
    client.close();
  } catch (error) {
    result.textContent = JSON.stringify({ error: String(error?.stack ?? error) });
  }
}
