// Running one batch through each evaluator and bringing the answers to one shape.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FliptClient, ErrorStrategy } from '@flipt-io/flipt-client-js';

/**
 * Flipt's engine (the wasm evaluator inside @flipt-io/flipt-client-js). One client serves
 * every namespace: `load` swaps the snapshot in through the client's own refresh path.
 */
export class FliptOracle {
  static async create(namespaceKey, snapshot) {
    const oracle = new FliptOracle();
    oracle.current = snapshot;
    const fetcher = async () => ({
      ok: true,
      status: 200,
      statusText: 'OK',
      headers: { get: () => null }, // no ETag: every refresh takes the new snapshot
      json: async () => oracle.current,
    });
    // The wasm loader warns about a deprecated init signature on every start; it is not ours.
    const warn = console.warn;
    console.warn = () => {};
    try {
      oracle.client = await FliptClient.init({ namespace: namespaceKey, fetcher, errorStrategy: ErrorStrategy.Fail });
    } finally {
      console.warn = warn;
    }
    return oracle;
  }

  async load(snapshot) {
    this.current = snapshot;
    await this.client.refresh();
    const loaded = this.client.listFlags().length;
    if (loaded !== snapshot.flags.length) {
      throw new Error(`Flipt loaded ${loaded} flags of ${snapshot.flags.length}: snapshot not taken`);
    }
  }

  evaluate(requests) {
    return this.client.evaluateBatch(requests).responses.map(normalizeFlipt);
  }

  close() {
    this.client.close();
  }
}

/** Runs `vexil evaluate --snapshot S --batch B` and returns the normalized answers. */
export function evaluateWithVexil(vexilBin, dir, name, snapshot, requests) {
  const snapshotFile = join(dir, `${name}.snapshot.json`);
  const batchFile = join(dir, `${name}.batch.json`);
  writeFileSync(snapshotFile, JSON.stringify(snapshot, null, 1));
  writeFileSync(batchFile, JSON.stringify({ requests }, null, 1));
  let stdout;
  try {
    stdout = execFileSync(vexilBin, ['evaluate', '--snapshot', snapshotFile, '--batch', batchFile], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = error.stderr ? String(error.stderr).trim() : '';
    throw new Error(`vexil evaluate failed (${error.status ?? error.code}) on ${snapshotFile}, ${batchFile}:\n${stderr || error.message}`);
  }
  let parsed;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`vexil evaluate printed no JSON for ${snapshotFile}, ${batchFile}:\n${stdout.slice(0, 2000)}`);
  }
  if (!Array.isArray(parsed.responses)) {
    throw new Error(`vexil evaluate printed no "responses" array:\n${stdout.slice(0, 2000)}`);
  }
  return { files: { snapshotFile, batchFile }, answers: parsed.responses.map(normalizeVexil) };
}

/**
 * The same snapshot compiled by `vexil snapshot --from-snapshot` (after `evaluateWithVexil`
 * wrote it) and loaded into the SDK's wasm engine, which answers the batch: so the engine's own
 * code (the compiled reader, its CRC-32, float parsing and numeric path) meets Flipt too.
 */
export function evaluateWithWasm(vexilBin, engine, { snapshotFile }, requests) {
  const compiled = execFileSync(vexilBin, ['snapshot', '--from-snapshot', snapshotFile, '--format', 'compiled'], {
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  engine.load(new Uint8Array(compiled));
  return engine.evaluateBatch(requests).responses.map(normalizeVexil);
}

// Both sides become {type, flagKey, ...fields of that type}; segmentKeys sorted, since Flipt's
// order is random.

const sortedKeys = (keys) => (Array.isArray(keys) ? [...keys].sort() : keys);

function normalize(type, body) {
  if (body === undefined || body === null) return { type, missingBody: true };
  switch (type) {
    case 'VARIANT_EVALUATION_RESPONSE_TYPE':
      return {
        type,
        flagKey: body.flagKey,
        match: body.match,
        reason: body.reason,
        variantKey: body.variantKey,
        variantAttachment: body.variantAttachment,
        segmentKeys: sortedKeys(body.segmentKeys),
      };
    case 'BOOLEAN_EVALUATION_RESPONSE_TYPE':
      return {
        type,
        flagKey: body.flagKey,
        enabled: body.enabled,
        reason: body.reason,
        segmentKeys: sortedKeys(body.segmentKeys),
      };
    case 'ERROR_EVALUATION_RESPONSE_TYPE':
      return { type, flagKey: body.flagKey, namespaceKey: body.namespaceKey, reason: body.reason };
    default:
      return { type, unknownType: true, body };
  }
}

const BODY = {
  flipt: {
    VARIANT_EVALUATION_RESPONSE_TYPE: 'variantEvaluationResponse',
    BOOLEAN_EVALUATION_RESPONSE_TYPE: 'booleanEvaluationResponse',
    ERROR_EVALUATION_RESPONSE_TYPE: 'errorEvaluationResponse',
  },
  // Flipt's HTTP API names, which Vexil's batch output follows.
  vexil: {
    VARIANT_EVALUATION_RESPONSE_TYPE: 'variantResponse',
    BOOLEAN_EVALUATION_RESPONSE_TYPE: 'booleanResponse',
    ERROR_EVALUATION_RESPONSE_TYPE: 'errorResponse',
  },
};

export function normalizeFlipt(response) {
  const answer = normalize(response.type, response[BODY.flipt[response.type]]);
  // The JS client's engine leaves out an empty attachment; Flipt's HTTP API sends "".
  if (answer.type === 'VARIANT_EVALUATION_RESPONSE_TYPE' && answer.variantAttachment === undefined) {
    answer.variantAttachment = '';
  }
  return answer;
}

export function normalizeVexil(response) {
  return normalize(response.type, response[BODY.vexil[response.type]]);
}
