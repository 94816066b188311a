import fs from 'node:fs';
import path from 'node:path';
import { ReplayResult, Worker } from '@temporalio/worker';
import { historyText, quietRuntime } from './helpers/temporal';
import { HistoryFixture, historyFromPlain } from './replay/history-json';

const FIXTURES_DIR = path.join(__dirname, 'fixtures/histories');

/** Sandbox tokens (`test-token-…`), real Meta tokens (`EAA…`) and any access_token parameter. */
const TOKEN_PATTERNS = [/test-token-/i, /EAA[A-Za-z0-9]{10,}/, /access_token/i];

function loadFixtures(): { file: string; text: string; fixture: HistoryFixture }[] {
  return fs
    .readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(FIXTURES_DIR, file), 'utf8');
      return { file, text, fixture: JSON.parse(text) as HistoryFixture };
    });
}

async function replay(
  histories: { workflowId: string; history: HistoryFixture['history'] }[],
): Promise<ReplayResult[]> {
  quietRuntime();
  const results: ReplayResult[] = [];
  const replaying = Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! }, replayName: 'replay-test' },
    histories.map(({ workflowId, history }) => ({ workflowId, history: historyFromPlain(history) })),
  );
  for await (const result of replaying) results.push(result);
  return results;
}

describe('replaying recorded workflow histories', () => {
  const fixtures = loadFixtures();

  it('has recorded histories of both workflows, finished and still running', () => {
    const kinds = new Set(
      fixtures.map(({ fixture }) => `${fixture.workflowType}:${fixture.complete ? 'complete' : 'running'}`),
    );
    expect([...kinds].sort()).toEqual([
      'refreshAllClients:complete',
      'refreshAllClients:running',
      'refreshClient:complete',
      'refreshClient:running',
    ]);
  });

  it('keeps every Meta access token out of the recorded histories', () => {
    for (const { file, text, fixture } of fixtures) {
      // Payloads are base64 in the files: scan them decoded as well as raw.
      for (const scanned of [text, historyText(fixture.history)]) {
        for (const pattern of TOKEN_PATTERNS)
          expect({ file, found: pattern.exec(scanned)?.[0] }).toEqual({ file, found: undefined });
      }
    }
  });

  it('replays every recorded history against the current workflow code without a nondeterminism error', async () => {
    expect(fixtures.length).toBeGreaterThan(0);
    const results = await replay(fixtures.map(({ fixture }) => fixture));

    expect(results).toHaveLength(fixtures.length);
    const outcomes = results.map((result, i) => ({
      file: fixtures[i].file,
      error: result.error ? String(result.error) : undefined,
    }));
    expect(outcomes).toEqual(fixtures.map(({ file }) => ({ file, error: undefined })));
  });

  it('reports a nondeterminism error when the code would schedule something other than the history holds', async () => {
    // A cycle: a client refresh schedules no activity (its steps are local activities, markers).
    const { fixture } = fixtures.find(
      ({ fixture }) => fixture.workflowType === 'refreshAllClients' && fixture.complete,
    )!;
    // As if the code had renamed the activity it schedules first.
    const events = structuredClone(fixture.history.events) as {
      activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    }[];
    events.find(
      (e) => e.activityTaskScheduledEventAttributes,
    )!.activityTaskScheduledEventAttributes!.activityType.name = 'renamedActivity';
    const [result] = await replay([{ workflowId: fixture.workflowId, history: { events } }]);
    expect(String(result.error)).toMatch(/nondetermin/i);
  });
});
