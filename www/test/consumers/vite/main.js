// Vite: the SDK as an app imports it (Vite copies the engine it finds through
// `new URL(..., import.meta.url)`), and the same flag through OpenFeature's React SDK with
// Vexil's web provider.
import { OpenFeature, OpenFeatureProvider, useStringFlagValue } from '@openfeature/react-sdk';
import { VexilWebProvider } from '@vexil/sdk/openfeature/web';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';

import { evaluate } from '../browser-app.js';
import { request } from '../request.js';

function Variant() {
  return createElement('pre', { id: 'react' }, useStringFlagValue(request.flagKey, 'none'));
}

async function react() {
  const url = new URLSearchParams(location.search).get('server');
  await OpenFeature.setContext({ targetingKey: request.entityId, ...request.context });
  await OpenFeature.setProviderAndWait(await VexilWebProvider.start({ url, stream: false }));
  createRoot(document.getElementById('app')).render(
    createElement(OpenFeatureProvider, null, createElement(Variant)),
  );
}

evaluate().then(react);
