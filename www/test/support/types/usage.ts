// Type-checked by sdk-types.test.mjs (never run): every entry point as an application uses it.
import { Client, Engine, VexilError, init, type ChangeEvent, type VariantEvaluation } from '@vexil/sdk';
import * as slim from '@vexil/sdk/slim';
import { VexilProvider } from '@vexil/sdk/openfeature/server';
import { VexilWebProvider } from '@vexil/sdk/openfeature/web';
import { OpenFeature } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';

export async function usage(wasm: WebAssembly.Module): Promise<void> {
  await init(wasm);
  slim.initFromModule(wasm);
  const client: Client = await Client.start({
    url: 'http://127.0.0.1:8080', namespace: 'default', token: 'secret-token-123456',
    seed: new Uint8Array(), publicKeys: ['ZmFrZS1rZXktZmFrZS1rZXktZmFrZS1rZXktZmFrZS0'], stream: true, pollIntervalMs: 30_000,
    backoff: { initialMs: 500 }, fetch: (input, requestInit) => fetch(input, requestInit),
  });
  const variant: VariantEvaluation = client.evaluateVariant({ flagKey: 'new-checkout', entityId: 'u1', context: { plan: 'pro', seats: 3 } });
  const key: string = variant.variantKey;
  const enabled: boolean = client.evaluateBoolean({ flagKey: 'dark-mode', entityId: 'u1' }).enabled;
  for (const item of client.evaluateBatch([{ flagKey: 'dark-mode', entityId: 'u1' }]).responses) {
    if (item.type === 'BOOLEAN_EVALUATION_RESPONSE_TYPE') console.log(item.booleanResponse.enabled);
  }
  const off = client.on('change', (event: ChangeEvent) => console.log(event.digest, event.previousDigest));
  client.on('error', (error) => console.log(error.code satisfies VexilError['code']));
  off();
  const changed: boolean = await client.refresh();
  console.log(key, enabled, changed, client.digest, client.stale, client.listFlags()[0]?.type, client.getFlag('x')?.enabled);

  const engine = new Engine();
  console.log(engine.load(new Uint8Array()).digest, engine.evaluateVariant('f', 'e', {}).segmentKeys.length);
  const verified: Promise<{ digest: string }> = engine.load(new ArrayBuffer(0), { publicKeys: [new Uint8Array(32)], environment: 'default' });
  console.log((await verified).digest);
  engine.free();

  await OpenFeature.setProviderAndWait(new VexilProvider(client, { closeClient: true }));
  const details = await OpenFeature.getClient().getStringDetails('new-checkout', 'classic', { targetingKey: 'u1' });
  console.log(details.reason);
  await WebOpenFeature.setProviderAndWait(new VexilWebProvider(client));
  const flag: boolean = WebOpenFeature.getClient().getBooleanValue('dark-mode', false);
  console.log(flag);
  client.close();
}
