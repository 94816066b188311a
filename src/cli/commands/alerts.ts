import { CommandSpec, PROGRAM, stringOption } from '../args';
import { requireUuid } from '../context';
import { CliError, EXIT } from '../errors';

const eventsList: CommandSpec = {
  words: ['events', 'list'],
  summary: 'List events, newest first: what changed state, what to do, the command that fixes it',
  options: {
    type: { type: 'string', value: 'TYPE', description: 'only this event type, e.g. token.invalid' },
    client: { type: 'string', value: 'ID', description: 'only this client' },
    limit: { type: 'string', value: 'N', description: 'at most N (1-200, default 20)' },
    before: { type: 'string', value: 'CURSOR', description: 'the page after the one that printed this cursor' },
  },
  async run(ctx, { values }) {
    const client = stringOption(values, 'client');
    const limit = stringOption(values, 'limit');
    const answer = await ctx.api().listEvents({
      type: stringOption(values, 'type'),
      clientId: client ? requireUuid(client) : undefined,
      limit: limit ? Number(limit) : 20,
      before: stringOption(values, 'before'),
    });
    ctx.out.result(answer, () => [
      ...(answer.data.length ? [] : ['No events.']),
      ...answer.data.flatMap((e) => {
        const facts = e.facts as { action?: string; command?: string };
        return [
          `${e.occurredAt}  ${e.type}${e.clientName ? `  ${e.clientName} (${e.clientId})` : ''}`,
          ...(facts.action ? [`    what to do: ${facts.action}`] : []),
          ...(facts.command ? [`    fix: ${facts.command}`] : []),
        ];
      }),
      ...(answer.next ? ['', `More: ${PROGRAM} events list --before ${answer.next}`] : []),
    ]);
  },
};

const webhooksAdd: CommandSpec = {
  words: ['webhooks', 'add'],
  positionals: ['URL'],
  summary: 'Add a webhook endpoint; prints its signing secret (whsec_…) this once',
  options: {
    events: {
      type: 'string',
      value: 'TYPES',
      description: 'comma-separated event types, or * for all but cycle.completed (default *)',
    },
    format: { type: 'string', value: 'FORMAT', description: 'json (Standard Webhooks, default) or slack' },
    description: { type: 'string', value: 'TEXT', description: 'a note for people' },
  },
  details: [
    `Example: ${PROGRAM} webhooks add https://hooks.slack.com/services/T000/B000/XXXX --format slack --events token.invalid,client.failing`,
  ],
  async run(ctx, { positionals, values }) {
    const events = stringOption(values, 'events');
    const format = stringOption(values, 'format');
    if (format !== undefined && format !== 'json' && format !== 'slack')
      throw new CliError('--format is json or slack', EXIT.usage, 'invalid_option');
    const { data } = await ctx.api().addWebhook({
      url: positionals[0],
      ...(events ? { events: events.split(',').map((e) => e.trim()) } : {}),
      ...(format ? { format } : {}),
      ...(stringOption(values, 'description') ? { description: stringOption(values, 'description') } : {}),
    });
    ctx.out.result(data, [
      `Added webhook ${data.id} (${data.format}) for ${data.events.join(', ')}.`,
      `Signing secret (shown once; keep it in the receiver's secrets): ${data.secret}`,
      `Send it a signed ping: ${PROGRAM} webhooks test ${data.id}`,
    ]);
  },
};

const webhooksList: CommandSpec = {
  words: ['webhooks', 'list'],
  summary: 'List webhook endpoints and whether they are failing',
  async run(ctx) {
    const { data } = await ctx.api().listWebhooks();
    ctx.out.result(data, () =>
      data.length
        ? data.map(
            (w) =>
              `${w.id}  ${w.enabled ? 'enabled ' : 'DISABLED'}  ${w.format.padEnd(5)}  ${w.url}  [${w.events.join(', ')}]${w.failingSince ? `  failing since ${w.failingSince}: ${w.lastError}` : ''}${w.disabledReason ? `  (${w.disabledReason})` : ''}`,
          )
        : [`No webhooks. Add one: ${PROGRAM} webhooks add https://…`],
    );
  },
};

const webhooksTest: CommandSpec = {
  words: ['webhooks', 'test'],
  positionals: ['ID'],
  summary: 'Send an endpoint a signed webhook.test ping now and print what the receiver answered',
  async run(ctx, { positionals }) {
    const { data } = await ctx.api().testWebhook(requireUuid(positionals[0], 'the webhook id'));
    ctx.out.result(data, [
      data.delivered
        ? `Delivered: the receiver answered ${data.status} in ${data.latencyMs} ms.`
        : `Not delivered: ${data.error ?? `the receiver answered ${data.status}`} (${data.latencyMs} ms).`,
    ]);
    return data.delivered ? EXIT.ok : EXIT.failure;
  },
};

const webhooksEnable: CommandSpec = {
  words: ['webhooks', 'enable'],
  positionals: ['ID'],
  summary: 'Enable an endpoint again (one disabled after failing for a day, say)',
  async run(ctx, { positionals }) {
    const { data } = await ctx.api().updateWebhook(requireUuid(positionals[0], 'the webhook id'), { enabled: true });
    ctx.out.result(data, [`Enabled webhook ${data.id}: new events are delivered to it.`]);
  },
};

const webhooksRemove: CommandSpec = {
  words: ['webhooks', 'remove'],
  positionals: ['ID'],
  summary: 'Remove a webhook endpoint',
  async run(ctx, { positionals }) {
    const { data } = await ctx.api().removeWebhook(requireUuid(positionals[0], 'the webhook id'));
    ctx.out.result(data, [`Removed webhook ${data.id}.`]);
  },
};

export const alertCommands = [eventsList, webhooksAdd, webhooksList, webhooksTest, webhooksEnable, webhooksRemove];
